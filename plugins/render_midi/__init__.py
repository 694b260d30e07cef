"""Renderer ``midi``: the simulated disease course as a Standard MIDI File (and WAV), after
../shared/SONIFICATION.md.

* type 1, 840 ticks per beat, one beat per ``days_per_beat`` days (one day = 120 ticks at the
  default of 7), one constant tempo;
* track 0 (conductor): sequence name (pseudonym only), tempo, 4/4, key signature, markers for the
  scenarios and clinical events (threshold crossings included), cue points for imaging, and a JSON legend in
  a text event ``p4core-legend/1 {...}`` from which :func:`decode` recovers the course;
* one named track and channel per cell type (channel 10 is never a voice), with the setup block at
  tick 0 (bank select, program, volume, pan, expression, sustain off, RPN pitch-bend range);
* pitch = disease activity (``polarity=disease``) or its negation, a health index
  (``polarity=health``, the ``clinical`` preset: falling = worse), on ONE global domain for all
  voices and scenarios, quantised to a scale with hysteresis; legato while the level holds,
  re-struck at bar lines; a missing value is a rest; CC11 follows activity, CC1 carries the width of
  the ensemble band (uncertainty);
* a harmony pad whose chord, changed at bar lines, climbs a tension ladder (harmony.py: roughness of
  the synth's own partials + spiral-array tension) with the burden;
* channel 10 earcons at every event, distinct per kind, at the tick of their marker;
* treated vs untreated: ``sequential`` (untreated, then each treatment), ``stereo`` (untreated left,
  each treatment right, same timbres, in one segment per treatment) or ``effect`` (each treatment,
  with the pad driven by its burden relative to untreated: it resolves as the drug helps).

Every event's tick is computed from its time, events are sorted by (tick, priority) with
note-offs first, and only then turned into delta times: no drift, identical bytes for identical
input.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
import pandas as pd

from p4core.audio import encode, midi_bytes
from p4core.errors import InputError, require
from p4core.hooks import hookimpl
from p4core.io import atomic_path
from p4core.model import RunResult, Sound

from .harmony import ladder

SCALES = {
    "pentatonic": (0, 2, 4, 7, 9, 12, 14, 16, 19, 21, 24),  # major pentatonic, two octaves, 11 levels
    "major": (0, 2, 4, 5, 7, 9, 11, 12, 14, 16, 17, 19, 21, 23, 24),  # two octaves, 15 levels
    "minor": (0, 2, 3, 5, 7, 8, 10, 12, 14, 15, 17, 19, 20, 22, 24),
}
PROGRAMS = (42, 73, 71, 68, 40, 70, 60, 11, 46, 24, 56, 0)  # cello, flute, clarinet, oboe, violin, ...
#: General MIDI names of the programs used (voices and the default pad), for legends
PROGRAM_NAMES = {
    42: "cello",
    73: "flute",
    71: "clarinet",
    68: "oboe",
    40: "violin",
    70: "bassoon",
    60: "French horn",
    11: "vibraphone",
    46: "harp",
    24: "nylon guitar",
    56: "trumpet",
    0: "piano",
    89: "warm pad",
}
#: General MIDI percussion notes, pairwise distinct (tests check it)
EARCONS = {
    "onset": 49,  # crash cymbal
    "sampling": 76,  # hi wood block
    "diagnosis": 52,  # Chinese cymbal
    "treatment_start": 81,  # open triangle
    "treatment_stop": 80,  # mute triangle
    "imaging": 62,  # mute hi conga
    "flare": 57,  # crash cymbal 2
    "threshold": 56,  # cowbell
    "scenario": 39,  # hand clap
    "month": 42,  # closed hi-hat
}
#: what each earcon sounds like (General MIDI percussion names)
EARCON_NAMES = {
    "onset": "crash cymbal",
    "sampling": "high wood block",
    "diagnosis": "Chinese cymbal",
    "treatment_start": "open triangle",
    "treatment_stop": "muted triangle",
    "imaging": "muted high conga",
    "flare": "crash cymbal 2",
    "threshold": "cowbell",
    "scenario": "hand clap",
    "month": "closed hi-hat",
}
PRESETS = {"musician": {"polarity": "disease"}, "clinical": {"polarity": "health"}}
PERCUSSION_CHANNEL = 9
# priorities at equal ticks: note-offs first, then meta, setup/controllers, note-ons
P_OFF, P_META, P_CTRL, P_ON = 0, 1, 2, 3
LEGEND_PREFIX = "p4core-legend/1 "


@dataclass
class MidiConfig:
    #: ``musician`` (pitch up = more disease) or ``clinical`` (a health index: falling = worse)
    preset: str = "musician"
    #: overrides the preset: ``disease`` or ``health``
    polarity: str | None = None
    #: treated vs untreated: ``sequential``, ``stereo`` or ``effect``
    mode: str = "sequential"
    tempo: float = 96.0  # beats per minute
    days_per_beat: float = 7.0
    ticks_per_beat: int = 840
    #: time between melody samples, in days
    step_days: float = 7.0
    #: ``pentatonic`` (11 levels), ``major`` or ``minor`` (15 levels)
    scale: str = "pentatonic"
    #: lowest note of the lowest voice; voices rise by register_step semitones
    base_note: int = 43
    register_step: int = 5
    hysteresis: float = 0.3
    velocity: int = 84
    pitch_bend_range: int = 2
    key: str = "C"
    #: harmony pad on the burden (tension ladder); its General MIDI program and lowest note
    pad: bool = True
    pad_program: int = 89
    pad_root: int = 48
    #: CC11 expression follows activity; CC1 carries the ensemble band's width
    expression: bool = True
    uncertainty: bool = True
    #: a closed hi-hat every 30 days
    month_ticks: bool = True
    file: str = "course.mid"
    #: audio: ``numpy`` (built-in synth), ``fluidsynth`` (needs the program and a GM soundfont),
    #: ``auto`` (fluidsynth when found, else numpy) or ``none``
    audio: str = "numpy"
    wav_file: str = "course.wav"
    sample_rate: int = 22050

    def __post_init__(self) -> None:
        require(
            self.preset in PRESETS,
            "render.midi.preset",
            f"must be one of {sorted(PRESETS)}, got {self.preset!r}",
        )
        if self.polarity is None:
            self.polarity = PRESETS[self.preset]["polarity"]
        require(
            self.polarity in ("disease", "health"),
            "render.midi.polarity",
            f"must be disease or health, got {self.polarity!r}",
        )
        require(
            self.mode in ("sequential", "stereo", "effect"),
            "render.midi.mode",
            f"must be sequential, stereo or effect, got {self.mode!r}",
        )
        require(
            self.scale in SCALES, "render.midi.scale", f"must be one of {sorted(SCALES)}, got {self.scale!r}"
        )
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
            0 <= self.pad_program <= 127, "render.midi.pad_program", f"must be 0-127, got {self.pad_program}"
        )
        require(12 <= self.pad_root <= 100, "render.midi.pad_root", f"must be 12-100, got {self.pad_root}")
        require(
            self.audio in ("numpy", "fluidsynth", "auto", "none"),
            "render.midi.audio",
            f"must be numpy, fluidsynth, auto or none, got {self.audio!r}",
        )
        require(8000 <= self.sample_rate <= 96000, "render.midi.sample_rate", "must be 8000-96000 Hz")
        for key, ext in (("file", ".mid"), ("wav_file", ".wav")):
            name = getattr(self, key)
            require(
                Path(name).name == name and name.endswith(ext),
                f"render.midi.{key}",
                f"must be a plain file name ending in {ext}, got {name!r}",
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


def sonify(result: RunResult, cfg: MidiConfig, *, audio: bool) -> Sound:
    """The course's score (and, with ``audio``, its sound through ``cfg.audio``'s engine; p4core's
    synth when that is ``none``): made once per run for every renderer that needs it."""
    mid = compose(result.trajectories, cfg, result.patient.pseudonym)
    data = midi_bytes(mid)
    pcm, engine = None, "none"
    if audio:
        from .synth import score_pcm

        pcm, engine = score_pcm(data, cfg.audio if cfg.audio != "none" else "numpy", cfg.sample_rate)
    return Sound(
        midi=data,
        pcm=pcm,
        sample_rate=cfg.sample_rate,
        legend=read_legend(mid),
        tempo=float(cfg.tempo),
        preset=cfg.preset,
        labels={"programs": dict(PROGRAM_NAMES), "earcons": dict(EARCON_NAMES)},
        engine=engine,
    )


def render(result: RunResult, outdir: Path, cfg: MidiConfig) -> list[Path]:
    """course.mid (and course.wav unless ``audio=none``) from the run's sonification."""
    sound = getattr(result, "sound", None)
    if sound is None:  # called outside a run (the pipeline makes the sound before the renderers)
        sound = sonify(result, cfg, audio=cfg.audio != "none")
    path = outdir / cfg.file
    with atomic_path(path) as tmp:
        tmp.write_bytes(sound.midi)
    files = [path]
    if cfg.audio != "none" and sound.pcm is not None:
        wav = outdir / cfg.wav_file
        with atomic_path(wav) as tmp:
            tmp.write_bytes(encode(sound.pcm, sound.sample_rate, "wav"))
        files.append(wav)
    return files


def compose(traj, cfg: MidiConfig, title: str = "") -> mido.MidiFile:  # noqa: C901 - one score, read top-down
    """The score of the trajectories ``traj`` (:class:`p4core.model.Trajectories`) as a MIDI file."""
    tab = traj.table
    voices = list(traj.celltypes)
    treated = [s for s in traj.scenarios if s != "untreated"]
    if cfg.mode == "sequential":
        segments = [[("untreated", "centre")]] + [[(s, "centre")] for s in treated]
    elif cfg.mode == "stereo":
        segments = [[("untreated", "left"), (s, "right")] for s in treated] or [[("untreated", "centre")]]
    else:  # effect: each treatment, its pad driven by its burden relative to untreated
        segments = [[(s, "centre")] for s in treated] or [[("untreated", "centre")]]
    sides = sorted({side for seg in segments for _, side in seg}, key=["left", "centre", "right"].index)
    n_voice_tracks = len(voices) * len(sides)
    if n_voice_tracks + int(cfg.pad) > 15:
        raise InputError(
            f"render.midi: {len(voices)} cell types x {len(sides)} sides"
            f"{' + the pad' if cfg.pad else ''} need more than the 15 melodic channels; "
            "use mode=sequential or render.midi.pad=false"
        )
    scale = SCALES[cfg.scale]
    n_levels = len(scale)
    top = cfg.base_note + cfg.register_step * (len(voices) - 1) + scale[-1]
    if top > 127:
        raise InputError(
            f"render.midi: {len(voices)} voices from base_note={cfg.base_note} rising by "
            f"register_step={cfg.register_step} reach note {top} > 127; lower either"
        )
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
            }
            for t, ch, n, sd, b, pr, pn in voice_tracks
        ],
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


def decode(path: str | Path) -> pd.DataFrame:
    """Recover the course from a p4core MIDI file's bytes alone: one row per (scenario, side,
    celltype, time) with the decoded value (NaN for a rest) and the declared bound (half a step
    plus the hysteresis, in the units of the data)."""
    mid = mido.MidiFile(str(path))
    leg = read_legend(mid)
    tm, pitch = leg["time"], leg["pitch"]
    lo, hi = pitch["domain"]
    scale = pitch["scale"]
    sign = 1.0 if pitch["polarity"] == "disease" else -1.0
    samples = np.arange(tm["t0_days"], tm["t1_days"] + 1e-9, tm["step_days"])
    rows = []
    for v in leg["voices"]:
        notes = []  # (on, off, note)
        t, open_ = 0, {}
        for msg in mid.tracks[v["track"]]:
            t += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                open_[msg.note] = t
            elif msg.type in ("note_off", "note_on") and msg.note in open_:
                notes.append((open_.pop(msg.note), t, msg.note))
        for seg in leg["segments"]:
            scen = seg["voices"].get(v["side"])
            if scen is None:
                continue
            for day in samples:
                tick = seg["start_tick"] + int(round((day - tm["t0_days"]) * tm["ticks_per_day"]))
                hit = [n for on, off, n in notes if on <= tick < off]
                value = np.nan
                if hit:
                    level = scale.index(hit[0] - v["base_note"])
                    value = sign * (lo + level / (len(scale) - 1) * (hi - lo)) + 0.0  # no -0.0
                rows.append(
                    {
                        "scenario": scen,
                        "side": v["side"],
                        "celltype": v["celltype"],
                        "time": float(day),
                        "value": value,
                    }
                )
    out = pd.DataFrame(rows)
    out.attrs["bound"] = pitch["decode_bound"]
    return out


def _needs(cfg: MidiConfig) -> set[str]:
    return {"sound", "audio"} if cfg.audio != "none" else {"sound"}


@hookimpl
def p4core_register_renderers(register):
    register(
        "midi",
        render,
        schema=MidiConfig,
        description="Standard MIDI File (+ WAV) of the disease course (mido)",
        needs=_needs,
    )


@hookimpl
def p4core_register_sonifiers(register):
    register("midi", sonify, schema=MidiConfig, description="the course as a MIDI score and its audio")


@hookimpl
def p4core_register_commands(register):
    from .commands import main

    register("midi", main, description="lint, decode, play or render a MIDI file (python -m p4core midi)")
