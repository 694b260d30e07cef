"""Renderer ``midi``: the simulated disease course as a Standard MIDI File.

First version of ../shared/SONIFICATION.md's design:

* type 1, 840 ticks per beat, one beat per ``days_per_beat`` days (one day = 120 ticks at the
  default of 7), constant tempo;
* track 0 (conductor): sequence name (pseudonym only), tempo, 4/4, key signature, markers for the
  scenarios and clinical events, and a JSON legend in a text event ``p4core-legend/1 {...}``;
* one named track and channel per cell type (channel 10 is never a voice), with the setup block
  at tick 0 (bank select, program, volume, pan, expression, sustain off, RPN pitch-bend range);
* pitch = disease activity on ONE global domain for all voices and scenarios, quantised to a
  major pentatonic scale over two octaves (11 levels) with hysteresis; legato while the level
  holds, re-struck at bar lines; a missing value is a rest;
* channel 10 earcons at every event (distinct GM percussion notes);
* scenarios in sequence: untreated, then each treatment, separated by a marker and a bar of rest.

Every event's tick is computed from its time, events are sorted by (tick, priority) with
note-offs first, and only then turned into delta times: no drift, identical bytes for
identical input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from p4core.errors import InputError, require
from p4core.hookspecs import hookimpl
from p4core.io import atomic_path
from p4core.model import RunResult

PENTATONIC = (0, 2, 4, 7, 9, 12, 14, 16, 19, 21, 24)
PROGRAMS = (42, 73, 71, 68, 40, 70, 60, 11, 46, 24, 56, 0)  # cello, flute, clarinet, oboe, violin, ...
EARCONS = {"onset": 49, "sampling": 76, "treatment_start": 81, "treatment_stop": 80, "scenario": 56}
PERCUSSION_CHANNEL = 9
# priorities at equal ticks: note-offs first, then meta, setup/controllers, note-ons
P_OFF, P_META, P_CTRL, P_ON = 0, 1, 2, 3


@dataclass
class MidiConfig:
    tempo: float = 96.0  # beats per minute
    days_per_beat: float = 7.0
    ticks_per_beat: int = 840
    #: time between melody samples, in days
    step_days: float = 7.0
    #: lowest note of the lowest voice; voices rise by register_step semitones
    base_note: int = 43
    register_step: int = 5
    hysteresis: float = 0.3
    velocity: int = 84
    pitch_bend_range: int = 2
    key: str = "C"
    file: str = "course.mid"

    def __post_init__(self) -> None:
        require(
            20 <= self.tempo <= 400, "render.midi.tempo", f"must be 20-400 beats per minute, got {self.tempo}"
        )
        require(self.days_per_beat > 0, "render.midi.days_per_beat", f"must be > 0, got {self.days_per_beat}")
        require(self.step_days > 0, "render.midi.step_days", f"must be > 0, got {self.step_days}")
        require(
            self.ticks_per_beat in (96, 120, 192, 240, 384, 480, 840, 960),
            "render.midi.ticks_per_beat",
            f"must be a usual resolution (480, 840, 960, ...), got {self.ticks_per_beat}",
        )
        require(
            0 <= self.base_note <= 127 - 24, "render.midi.base_note", f"must be 0-103, got {self.base_note}"
        )
        require(
            0 <= self.register_step <= 12,
            "render.midi.register_step",
            f"must be 0-12, got {self.register_step}",
        )
        require(
            0 <= self.hysteresis < 1, "render.midi.hysteresis", f"must be in [0, 1), got {self.hysteresis}"
        )
        require(1 <= self.velocity <= 127, "render.midi.velocity", f"must be 1-127, got {self.velocity}")
        require(0 <= self.pitch_bend_range <= 24, "render.midi.pitch_bend_range", "must be 0-24 semitones")
        require(
            Path(self.file).name == self.file and self.file.endswith(".mid"),
            "render.midi.file",
            f"must be a plain file name ending in .mid, got {self.file!r}",
        )
        try:
            mido.MetaMessage("key_signature", key=self.key)
        except ValueError:
            raise InputError(
                f"render.midi.key: {self.key!r} is not a key mido accepts (e.g. C, Am, F#m)"
            ) from None


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


def render(result: RunResult, outdir: Path, cfg: MidiConfig) -> list[Path]:
    traj = result.trajectories
    tab = traj.table
    voices = list(traj.celltypes)
    if len(voices) > 15:
        raise InputError(f"render.midi: {len(voices)} cell types but MIDI has 15 melodic channels")
    top = cfg.base_note + cfg.register_step * (len(voices) - 1) + PENTATONIC[-1]
    if top > 127:
        raise InputError(
            f"render.midi: {len(voices)} voices from base_note={cfg.base_note} rising by "
            f"register_step={cfg.register_step} reach note {top} > 127; lower either"
        )
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
    seg_len = (seg_ticks // bar + 2) * bar  # whole bars, plus one bar of rest between scenarios
    cell = tab[tab["celltype"].isin(voices)]
    lo, hi = float(np.floor(cell["mean"].min() * 10) / 10), float(np.ceil(cell["mean"].max() * 10) / 10)
    n_levels = len(PENTATONIC)

    score = Score(1 + len(voices) + 1)
    perc = len(voices) + 1
    meta = score.add
    meta(
        0, 0, P_META, mido.MetaMessage("track_name", name=f"p4core disease course {result.patient.pseudonym}")
    )
    meta(0, 0, P_META, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(cfg.tempo)))
    meta(0, 0, P_META, mido.MetaMessage("time_signature", numerator=4, denominator=4))
    meta(0, 0, P_META, mido.MetaMessage("key_signature", key=cfg.key))
    channels = [c for c in range(16) if c != PERCUSSION_CHANNEL][: len(voices)]
    for v, (name, ch) in enumerate(zip(voices, channels, strict=True), start=1):
        score.add(v, 0, P_META, mido.MetaMessage("track_name", name=name))
        setup = [
            ("control_change", dict(control=0, value=0)),
            ("control_change", dict(control=32, value=0)),
            ("program_change", dict(program=PROGRAMS[(v - 1) % len(PROGRAMS)])),
            ("control_change", dict(control=7, value=100)),
            (
                "control_change",
                dict(control=10, value=int(round(16 + 96 * (v - 1) / max(1, len(voices) - 1)))),
            ),
            ("control_change", dict(control=11, value=110)),
            ("control_change", dict(control=64, value=0)),
            ("control_change", dict(control=101, value=0)),
            ("control_change", dict(control=100, value=0)),
            ("control_change", dict(control=6, value=cfg.pitch_bend_range)),
            ("control_change", dict(control=38, value=0)),
            ("control_change", dict(control=101, value=127)),
            ("control_change", dict(control=100, value=127)),
        ]
        for kind, kw in setup:
            score.add(v, 0, P_CTRL, mido.Message(kind, channel=ch, **kw))
    score.add(perc, 0, P_META, mido.MetaMessage("track_name", name="events"))

    def earcon(tick: int, kind: str) -> None:
        note = EARCONS.get(kind, 75)
        score.add(
            perc, tick, P_ON, mido.Message("note_on", channel=PERCUSSION_CHANNEL, note=note, velocity=100)
        )
        score.add(
            perc,
            tick + tpb // 4,
            P_OFF,
            mido.Message("note_off", channel=PERCUSSION_CHANNEL, note=note, velocity=0),
        )

    for k, scen in enumerate(traj.scenarios):
        start = k * seg_len
        meta(0, start, P_META, mido.MetaMessage("marker", text=f"scenario: {scen}"))
        earcon(start, "scenario")
        for ev in traj.events.itertuples(index=False):
            if ev.kind == "treatment_start" and not (scen != "untreated" and ev.label == f"start {scen}"):
                continue
            tick = start + int(round((float(ev.time) - t0) * ticks_per_day))
            meta(0, tick, P_META, mido.MetaMessage("marker", text=ev.label))
            earcon(tick, ev.kind)
        sub = tab[tab["scenario"] == scen]
        for v, (name, ch) in enumerate(zip(voices, channels, strict=True), start=1):
            series = sub[sub["celltype"] == name].set_index("time")["mean"]
            vals = np.interp(sample_times, series.index.to_numpy(float), series.to_numpy(float))
            levels = quantise(vals, lo, hi, n_levels, cfg.hysteresis)
            base = cfg.base_note + cfg.register_step * (v - 1)
            ticks = [start + int(round((t - t0) * ticks_per_day)) for t in sample_times] + [start + seg_ticks]
            current = None  # (note, on_tick)
            for i, lev in enumerate(levels):
                tick = ticks[i]
                restrike = current is not None and (tick // bar) != (current[1] // bar)
                note = base + PENTATONIC[lev] if lev >= 0 else None
                if current is not None and (note != current[0] or restrike):
                    score.add(
                        v, tick, P_OFF, mido.Message("note_off", channel=ch, note=current[0], velocity=0)
                    )
                    current = None
                if note is not None and current is None:
                    score.add(
                        v, tick, P_ON, mido.Message("note_on", channel=ch, note=note, velocity=cfg.velocity)
                    )
                    current = (note, tick)
            if current is not None:
                score.add(
                    v, ticks[-1], P_OFF, mido.Message("note_off", channel=ch, note=current[0], velocity=0)
                )

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
        "scenarios": traj.scenarios,
        "pitch": {
            "quantity": "disease activity (1 = observed disease state, 0 = reference)",
            "polarity": "higher = more disease",
            "domain": [lo, hi],
            "scale": list(PENTATONIC),
            "hysteresis": cfg.hysteresis,
        },
        "voices": [
            {
                "track": v,
                "celltype": name,
                "channel": ch + 1,
                "base_note": cfg.base_note + cfg.register_step * (v - 1),
                "program": PROGRAMS[(v - 1) % len(PROGRAMS)],
            }
            for v, (name, ch) in enumerate(zip(voices, channels, strict=True), start=1)
        ],
        "earcons": {k: {"channel": 10, "note": n} for k, n in EARCONS.items()},
    }
    text = "p4core-legend/1 " + json.dumps(legend, separators=(",", ":"), ensure_ascii=True)
    meta(0, 0, P_META, mido.MetaMessage("text", text=text))
    mid = score.to_midi(tpb)
    path = outdir / cfg.file
    with atomic_path(path) as tmp:
        mid.save(filename=str(tmp))
    return [path]


@hookimpl
def p4core_register_renderers(register):
    register("midi", render, schema=MidiConfig, description="Standard MIDI File of the disease course (mido)")
