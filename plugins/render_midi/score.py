"""The disease course as a MIDI score: voices per cell type, the harmony pad, controller lanes,\nearcons and markers, and the JSON legend embedded in the file."""

from __future__ import annotations

import json
import math

import mido
import numpy as np

from p4core.errors import InputError
from p4core.plugins.render_midi.config import (
    EARCONS,
    LEGEND_PREFIX,
    P_CTRL,
    P_META,
    P_OFF,
    P_ON,
    PERCUSSION_CHANNEL,
    PRESETS,
    PROGRAMS,
    SCALES,
    MidiConfig,
)

from .harmony import ladder
from .voices import choose_voices, voice_limit, with_groups


class Score:
    """Events with absolute ticks, per track; turned into a MIDI file only at the end."""

    def __init__(self, n_tracks: int) -> None:
        self.events: list[list[tuple[int, int, int, mido.Message | mido.MetaMessage]]] = [
            [] for _ in range(n_tracks)
        ]
        self._seq = 0

    def add(self, track: int, tick: int, priority: int, msg: mido.Message | mido.MetaMessage) -> None:
        self._seq += 1
        self.events[track].append((int(tick), priority, self._seq, msg))

    def note(self, track: int, channel: int, note: int, on: int, off: int, velocity: int) -> None:
        self.add(track, on, P_ON, mido.Message("note_on", channel=channel, note=note, velocity=velocity))
        self.add(track, off, P_OFF, mido.Message("note_off", channel=channel, note=note, velocity=0))

    def to_midi(self, ticks_per_beat: int) -> mido.MidiFile:
        mid = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
        for events in self.events:
            track = mido.MidiTrack()
            last = 0
            for tick, _, _, msg in sorted(events, key=lambda e: (e[0], e[1], e[2])):
                track.append(msg.copy(time=tick - last))
                last = tick
            track.append(mido.MetaMessage("end_of_track", time=0))
            mid.tracks.append(track)
        return mid


def quantise(values: np.ndarray, lo: float, hi: float, n_levels: int, hysteresis: float) -> np.ndarray:
    """Levels 0..n_levels-1 of ``values`` on the domain [lo, hi]; a level changes only when the
    value moves more than ``0.5 + hysteresis`` levels from the held one. NaN gives -1 (a rest)."""
    span = hi - lo if hi > lo else 1.0
    raw = (values - lo) / span * (n_levels - 1)
    out = np.full(len(values), -1, dtype=int)
    held = None
    for i, r in enumerate(raw):
        if not np.isfinite(r):
            held = None
            continue
        r = float(np.clip(r, 0, n_levels - 1))
        if held is None or abs(r - held) > 0.5 + hysteresis:
            held = int(round(r))
        out[i] = held
    return out


def _domain(values: np.ndarray) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if not len(v):
        return 0.0, 1.0
    lo, hi = float(np.floor(v.min() * 10) / 10), float(np.ceil(v.max() * 10) / 10)
    return (lo, hi) if hi > lo else (lo, lo + 0.1)


def _scenario_of(label: str, scenarios: list[str]) -> str | None:
    """The scenario an event belongs to (``start/stop <scenario>``, ``<scenario>: ...``), or None."""
    owners = [s for s in scenarios if label in (f"start {s}", f"stop {s}") or label.startswith(f"{s}: ")]
    return max(owners, key=len) if owners else None


def _setup(score: Score, track: int, ch: int, program: int, pan: int, cfg: MidiConfig) -> None:
    for kind, kw in [
        ("control_change", dict(control=0, value=0)),
        ("control_change", dict(control=32, value=0)),
        ("program_change", dict(program=program)),
        ("control_change", dict(control=7, value=100)),
        ("control_change", dict(control=10, value=pan)),
        ("control_change", dict(control=11, value=110)),
        ("control_change", dict(control=64, value=0)),
        ("control_change", dict(control=101, value=0)),
        ("control_change", dict(control=100, value=0)),
        ("control_change", dict(control=6, value=cfg.pitch_bend_range)),
        ("control_change", dict(control=38, value=0)),
        ("control_change", dict(control=101, value=127)),
        ("control_change", dict(control=100, value=127)),
    ]:
        score.add(track, 0, P_CTRL, mido.Message(kind, channel=ch, **kw))


def _lane(score: Score, track: int, ch: int, control: int, ticks: list[int], values: np.ndarray) -> None:
    """A controller lane thinned to changes of at least 4 (and the first value)."""
    last = None
    for tick, v in zip(ticks, values, strict=False):
        if not np.isfinite(v):
            continue
        v = int(np.clip(round(float(v)), 0, 127))
        if last is None or abs(v - last) >= 4:
            score.add(
                track, tick, P_CTRL, mido.Message("control_change", channel=ch, control=control, value=v)
            )
            last = v


def compose(traj, cfg: MidiConfig, title: str = "") -> mido.MidiFile:  # noqa: C901 - one score, read top-down
    """The score of the trajectories ``traj`` (:class:`p4core.model.Trajectories`) as a MIDI file."""
    tab = traj.table
    treated = [s for s in traj.scenarios if s != "untreated"]
    if cfg.mode == "sequential":
        segments = [[("untreated", "centre")]] + [[(s, "centre")] for s in treated]
    elif cfg.mode == "stereo":
        segments = [[("untreated", "left"), (s, "right")] for s in treated] or [[("untreated", "centre")]]
    else:  # effect: each treatment, its pad driven by its burden relative to untreated
        segments = [[(s, "centre")] for s in treated] or [[("untreated", "centre")]]
    sides = sorted({side for seg in segments for _, side in seg}, key=["left", "centre", "right"].index)
    scale = SCALES[cfg.scale]
    n_levels = len(scale)
    shares = (getattr(traj, "params", None) or {}).get("burden_share")
    limit = voice_limit(len(sides), cfg.pad, cfg.base_note, cfg.register_step, scale[-1], cfg.voices)
    chosen = choose_voices(list(traj.celltypes), shares, limit)
    voices = chosen.labels
    tab = with_groups(tab, chosen, shares)
    n_voice_tracks = len(voices) * len(sides)
    polarity = cfg.polarity or PRESETS[cfg.preset]["polarity"]
    sign = 1.0 if polarity == "disease" else -1.0
    tpb = cfg.ticks_per_beat
    ticks_per_day = tpb / cfg.days_per_beat
    bar = 4 * tpb
    times = np.sort(tab["time"].unique())
    t0, t1 = float(times[0]), float(times[-1])
    sample_times = np.arange(t0, t1 + 1e-9, cfg.step_days)
    step_ticks = int(round(cfg.step_days * ticks_per_day))
    seg_ticks = (
        int(round((sample_times[-1] - t0) * ticks_per_day)) + step_ticks
    )  # the last note sounds one step
    seg_len = (seg_ticks // bar + 2) * bar  # whole bars, plus one bar of rest between segments

    def series(scen: str, name: str, col: str = "mean") -> np.ndarray:
        sub = tab[(tab["scenario"] == scen) & (tab["celltype"] == name)].set_index("time")[col]
        return np.interp(sample_times, sub.index.to_numpy(float), sub.to_numpy(float))

    cell = tab[tab["celltype"].isin(voices)]
    lo, hi = _domain(sign * cell["mean"].to_numpy(float))
    burden = {s: series(s, "burden") for s in traj.scenarios} if "burden" in set(tab["celltype"]) else {}
    pad_ladder = ladder(cfg.pad_root)
    if cfg.mode == "effect":
        pad_quantity = "burden of the treatment relative to untreated (0 = resolved, 1 = as untreated)"
        b_lo, b_hi = 0.0, 1.0
    else:
        pad_quantity = "disease burden"
        b_lo, b_hi = _domain(np.concatenate(list(burden.values()))) if burden else (0.0, 1.0)

    n_tracks = 1 + n_voice_tracks + int(cfg.pad) + 1
    score = Score(n_tracks)
    meta = score.add
    meta(0, 0, P_META, mido.MetaMessage("track_name", name=f"p4core disease course {title}".strip()))
    meta(0, 0, P_META, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(cfg.tempo)))
    meta(0, 0, P_META, mido.MetaMessage("time_signature", numerator=4, denominator=4))
    meta(0, 0, P_META, mido.MetaMessage("key_signature", key=cfg.key))
    melodic = [c for c in range(16) if c != PERCUSSION_CHANNEL]
    voice_tracks = []  # (track, channel, celltype, side, base note, program, pan)
    for si, side in enumerate(sides):
        for v, name in enumerate(voices):
            k = si * len(voices) + v
            pan = {"left": 8, "right": 119}.get(side, int(round(16 + 96 * v / max(1, len(voices) - 1))))
            voice_tracks.append(
                (
                    1 + k,
                    melodic[k],
                    name,
                    side,
                    cfg.base_note + cfg.register_step * v,
                    PROGRAMS[v % len(PROGRAMS)],
                    pan,
                )
            )
    for track, ch, name, side, _, program, pan in voice_tracks:
        score.add(
            track,
            0,
            P_META,
            mido.MetaMessage("track_name", name=name if len(sides) == 1 else f"{name} ({side})"),
        )
        _setup(score, track, ch, program, pan, cfg)
    pad_track = 1 + n_voice_tracks if cfg.pad else None
    pad_ch = melodic[n_voice_tracks] if cfg.pad else None
    if pad_track is not None:
        score.add(pad_track, 0, P_META, mido.MetaMessage("track_name", name="harmony (burden)"))
        _setup(score, pad_track, pad_ch, cfg.pad_program, 64, cfg)
    perc = n_tracks - 1
    score.add(perc, 0, P_META, mido.MetaMessage("track_name", name="events"))

    earcons: dict[tuple[int, int], int] = {}  # (tick, note) -> velocity; one strike per tick and note

    def earcon(tick: int, kind: str, velocity: int = 100) -> None:
        key = (tick, EARCONS.get(kind, 75))
        earcons[key] = max(velocity, earcons.get(key, 0))

    def tick_of(start: int, t: float) -> int:
        return start + int(round((t - t0) * ticks_per_day))

    seg_info = []
    for k, seg in enumerate(segments):
        start = k * seg_len
        label = " | ".join(f"{s} ({side})" if len(seg) > 1 else s for s, side in seg)
        meta(0, start, P_META, mido.MetaMessage("marker", text=f"scenario: {label}"))
        earcon(start, "scenario")
        seg_info.append({"start_tick": start, "voices": {side: s for s, side in seg}})
        shown = {s for s, _ in seg}
        for ev in traj.events.itertuples(index=False):
            owner = _scenario_of(str(ev.label), traj.scenarios)
            if owner is not None and owner not in shown:  # another scenario's event
                continue
            if not t0 <= float(ev.time) <= t1:  # outside the simulated period
                continue
            tick = tick_of(start, float(ev.time))
            if ev.kind == "imaging":
                meta(0, tick, P_META, mido.MetaMessage("cue_marker", text=str(ev.label)))
            meta(0, tick, P_META, mido.MetaMessage("marker", text=str(ev.label)))
            earcon(tick, str(ev.kind))
        if cfg.month_ticks:
            for day in np.arange(math.ceil(t0 / 30) * 30, t1 + 1e-9, 30.0):
                earcon(tick_of(start, float(day)), "month", velocity=40)
        ticks = [tick_of(start, float(t)) for t in sample_times] + [start + seg_ticks]
        for track, ch, name, side, base, _, _ in voice_tracks:
            scen = next((s for s, sd in seg if sd == side), None)
            if scen is None:
                continue
            vals = sign * series(scen, name)
            levels = quantise(vals, lo, hi, n_levels, cfg.hysteresis)
            current = None  # (note, on_tick)
            for i, lev in enumerate(levels):
                tick = ticks[i]
                restrike = current is not None and (tick // bar) != (current[1] // bar)
                note = base + scale[lev] if lev >= 0 else None
                if current is not None and (note != current[0] or restrike):
                    score.add(
                        track, tick, P_OFF, mido.Message("note_off", channel=ch, note=current[0], velocity=0)
                    )
                    current = None
                if note is not None and current is None:
                    score.add(
                        track,
                        tick,
                        P_ON,
                        mido.Message("note_on", channel=ch, note=note, velocity=cfg.velocity),
                    )
                    current = (note, tick)
            if current is not None:
                score.add(
                    track, ticks[-1], P_OFF, mido.Message("note_off", channel=ch, note=current[0], velocity=0)
                )
            if cfg.expression:
                frac = (vals - lo) / (hi - lo)
                _lane(score, track, ch, 11, ticks, 40 + 87 * np.clip(frac, 0, 1))
            if cfg.uncertainty:
                width = series(scen, name, "upper") - series(scen, name, "lower")
                _lane(score, track, ch, 1, ticks, 127 * np.clip(width / (hi - lo), 0, 1))
        if pad_track is not None and burden:
            main = seg[-1][0]
            if cfg.mode == "effect" and main != "untreated":
                with np.errstate(divide="ignore", invalid="ignore"):
                    driver = np.clip(burden[main] / burden["untreated"], 0, 1)
            else:
                driver = burden[main]
            bars = range(start, start + seg_ticks, bar)
            at = [
                float(np.nanmean(driver[(np.array(ticks[:-1]) >= b) & (np.array(ticks[:-1]) < b + bar)]))
                for b in bars
            ]
            steps = quantise(np.array(at), b_lo, b_hi, len(pad_ladder), cfg.hysteresis)
            for b, stp in zip(bars, steps, strict=True):
                if stp < 0:
                    continue
                end = min(b + bar, start + seg_ticks)
                for iv in pad_ladder[stp][1]:
                    score.note(pad_track, pad_ch, cfg.pad_root + iv, b, end, 56)

    # earcons last a sixteenth, or until the same drum's next strike
    keys = sorted(earcons)
    for i, (tick, note) in enumerate(keys):
        nxt = next((t for t, n in keys[i + 1 :] if n == note), None)
        off = tick + tpb // 4 if nxt is None else min(tick + tpb // 4, nxt)
        score.note(perc, PERCUSSION_CHANNEL, note, tick, off, earcons[(tick, note)])

    legend = {
        "time": {
            "days_per_beat": cfg.days_per_beat,
            "ticks_per_beat": tpb,
            "ticks_per_day": ticks_per_day,
            "t0_days": t0,
            "t1_days": t1,
            "segment_ticks": seg_len,
            "step_days": cfg.step_days,
        },
        "mode": cfg.mode,
        "scenarios": traj.scenarios,
        "segments": seg_info,
        "pitch": {
            "quantity": "disease activity (1 = observed disease state, 0 = reference)",
            "polarity": polarity,
            "transform": "identity" if sign > 0 else "negate (health index: higher = healthier)",
            "domain": [lo, hi],
            "scale": list(scale),
            "hysteresis": cfg.hysteresis,
            "decode_bound": (0.5 + cfg.hysteresis) * (hi - lo) / (n_levels - 1),
        },
        "voices": [
            {
                "track": t,
                "celltype": n,
                "side": sd,
                "channel": ch + 1,
                "base_note": b,
                "program": pr,
                "pan": pn,
                **({"members": chosen.members[n]} if n in chosen.members else {}),
            }
            for t, ch, n, sd, b, pr, pn in voice_tracks
        ],
        "voice_selection": chosen.legend,
        "controllers": {
            "11": "expression: 40 + 87 x position of the value in the pitch domain"
            if cfg.expression
            else None,
            "1": "uncertainty: 127 x (upper - lower) of the 95% ensemble band / domain width"
            if cfg.uncertainty
            else None,
        },
        "harmony": {
            "track": pad_track,
            "channel": None if pad_ch is None else pad_ch + 1,
            "quantity": pad_quantity,
            "domain": [b_lo, b_hi],
            "ladder": [{"name": n, "intervals": list(iv)} for n, iv in pad_ladder],
            "root": cfg.pad_root,
        },
        "earcons": {k: {"channel": 10, "note": n} for k, n in EARCONS.items()},
    }
    meta(
        0,
        0,
        P_META,
        mido.MetaMessage(
            "text", text=LEGEND_PREFIX + json.dumps(legend, separators=(",", ":"), ensure_ascii=True)
        ),
    )
    return score.to_midi(tpb)


def read_legend(mid: mido.MidiFile) -> dict:
    for msg in mid.tracks[0]:
        if msg.type == "text" and msg.text.startswith(LEGEND_PREFIX):
            return json.loads(msg.text[len(LEGEND_PREFIX) :])
    raise InputError("no p4core legend in track 0 (a text event starting with 'p4core-legend/1')")
