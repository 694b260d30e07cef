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

Modules: ``config`` (MidiConfig, the vocabulary), ``score`` (compose, the legend), ``decode``, ``harmony``,
``synth`` (FluidSynth or p4core's synth), ``lint``, ``live``, ``commands``.
"""

from __future__ import annotations

from pathlib import Path

from p4core.audio import encode, midi_bytes
from p4core.hooks import hookimpl
from p4core.io import atomic_path
from p4core.model import RunResult, Sound
from p4core.plugins.render_midi.config import (
    EARCON_NAMES,
    EARCONS,
    LEGEND_PREFIX,
    PRESETS,
    PROGRAM_NAMES,
    PROGRAMS,
    SCALES,
    MidiConfig,
)
from p4core.plugins.render_midi.decode import decode
from p4core.plugins.render_midi.score import Score, compose, quantise, read_legend

__all__ = [
    "EARCONS",
    "EARCON_NAMES",
    "LEGEND_PREFIX",
    "PRESETS",
    "PROGRAMS",
    "PROGRAM_NAMES",
    "SCALES",
    "MidiConfig",
    "Score",
    "compose",
    "decode",
    "quantise",
    "read_legend",
    "render",
    "sonify",
]


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
