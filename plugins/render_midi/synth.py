"""Audio from a MIDI file: a small deterministic numpy synth, or FluidSynth when installed.

The numpy synth plays every melodic note as the additive tone whose partials the harmony ladder
was validated with (:data:`harmony.PARTIALS`), with an ADSR envelope, velocity and the track's pan
(CC10, constant power), and every channel-10 note as a short pitched click; it writes 16-bit stereo
WAV through the standard ``wave`` module. No system dependency, same bytes for the same file.

FluidSynth (Debian ``fluidsynth``, with a General MIDI soundfont such as ``timgm6mb-soundfont``) is
used for ``audio=fluidsynth`` (``auto``: when found). Its options go before the soundfont and the
MIDI file: ``fluidsynth -ni -F out.wav -r RATE SOUNDFONT in.mid``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import wave
from pathlib import Path

import mido
import numpy as np

from p4core.errors import InputError
from p4core.io import atomic_path

from .harmony import PARTIALS, midi_hz

SOUNDFONTS = (
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)
ATTACK, DECAY, SUSTAIN, RELEASE = 0.01, 0.05, 0.7, 0.08


def notes_of(mid: mido.MidiFile) -> list[tuple[float, float, int, int, int, float]]:
    """(start s, end s, note, velocity, channel, pan 0-1) of every note, in seconds from the tempo."""
    tempo = next((m.tempo for m in mid.tracks[0] if m.type == "set_tempo"), 500000)
    out = []
    for track in mid.tracks:
        t, pan, open_ = 0, {}, {}
        for msg in track:
            t += msg.time
            if msg.type == "control_change" and msg.control == 10:
                pan[msg.channel] = msg.value / 127
            elif msg.type == "note_on" and msg.velocity > 0:
                open_[(msg.channel, msg.note)] = (t, msg.velocity)
            elif msg.type in ("note_off", "note_on") and (msg.channel, msg.note) in open_:
                on, vel = open_.pop((msg.channel, msg.note))
                sec = mido.tick2second
                out.append(
                    (
                        sec(on, mid.ticks_per_beat, tempo),
                        sec(t, mid.ticks_per_beat, tempo),
                        msg.note,
                        vel,
                        msg.channel,
                        pan.get(msg.channel, 0.5),
                    )
                )
    return sorted(out)


def _tone(note: int, n: int, dur: float, percussion: bool, sample_rate: int) -> np.ndarray:
    """One note's waveform (before velocity and pan): ``n`` samples."""
    t = np.arange(n) / sample_rate
    if percussion:  # a short pitched click, decaying in 15 ms
        return np.sin(2 * np.pi * midi_hz(note + 24) * t) * np.exp(-t / 0.015)
    f = midi_hz(note)
    # sin(k*w*t) for k = 1, 2, ... by the Chebyshev recurrence s_k = 2 cos(wt) s_(k-1) - s_(k-2):
    # one sin and one cos per note instead of one sin per partial
    s1 = np.sin(2 * np.pi * f * t)
    two_c = 2 * np.cos(2 * np.pi * f * t)
    prev, cur = np.zeros_like(s1), s1
    tone = np.zeros_like(s1)
    for k, a in enumerate(PARTIALS, start=1):
        if k * f >= sample_rate / 2:
            break
        tone += a * cur
        prev, cur = cur, two_c * cur - prev
    env = np.interp(t, [0, ATTACK, ATTACK + DECAY, dur, dur + RELEASE], [0, 1, SUSTAIN, SUSTAIN, 0])
    return tone * env


def synthesise(mid: mido.MidiFile, sample_rate: int = 22050) -> np.ndarray:
    """Stereo float audio (n, 2) of the MIDI file, peak-normalised to 0.9. A score repeats its
    notes (same pitch, same length), so each distinct tone is computed once."""
    notes = notes_of(mid)
    length = max((end for _, end, *_ in notes), default=0.0) + RELEASE + 0.5
    audio = np.zeros((int(length * sample_rate) + 1, 2))
    tones: dict[tuple[int, int, bool], np.ndarray] = {}
    for start, end, note, vel, ch, pan in notes:
        i0 = int(round(start * sample_rate))
        percussion = ch == 9
        dur = 0.08 if percussion else max(end - start, ATTACK + DECAY)
        n = int(dur * sample_rate) if percussion else int((dur + RELEASE) * sample_rate)
        key = (note, n, percussion)
        tone = tones.get(key)
        if tone is None:
            tone = tones[key] = _tone(note, n, dur, percussion, sample_rate)
        amp = vel / 127
        left, right = np.cos(pan * np.pi / 2), np.sin(pan * np.pi / 2)
        seg = audio[i0 : i0 + len(tone)]
        seg[:, 0] += amp * left * tone[: len(seg)]
        seg[:, 1] += amp * right * tone[: len(seg)]
    peak = np.abs(audio).max()
    return audio * (0.9 / peak) if peak > 0 else audio


def write_wav(audio: np.ndarray, path: str | Path, sample_rate: int) -> Path:
    pcm = np.clip(np.round(audio * 32767), -32768, 32767).astype("<i2")
    with atomic_path(path) as tmp, wave.open(str(tmp), "wb") as w:
        w.setnchannels(pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return Path(path)


def find_fluidsynth() -> tuple[str, str] | None:
    """(program, soundfont) when FluidSynth and a General MIDI soundfont are installed
    (``$P4CORE_SOUNDFONT`` names another soundfont)."""
    exe = shutil.which("fluidsynth")
    fonts = [os.environ.get("P4CORE_SOUNDFONT", ""), *SOUNDFONTS]
    font = next((f for f in fonts if f and Path(f).is_file()), None)
    return (exe, font) if exe and font else None


def render_audio(midi_path: Path, wav_path: Path, engine: str = "numpy", sample_rate: int = 22050) -> Path:
    """Render ``midi_path`` to ``wav_path`` with ``engine`` (numpy, fluidsynth or auto)."""
    fs = find_fluidsynth() if engine in ("fluidsynth", "auto") else None
    if engine == "fluidsynth" and fs is None:
        raise InputError(
            "render.midi.audio=fluidsynth: FluidSynth or a General MIDI soundfont was not found; install them "
            "(Debian: apt install fluidsynth), set $P4CORE_SOUNDFONT, or use render.midi.audio=numpy"
        )
    if fs is not None:
        exe, font = fs
        with atomic_path(wav_path) as tmp:
            proc = subprocess.run(
                [exe, "-ni", "-F", str(tmp), "-r", str(sample_rate), font, str(midi_path)],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if proc.returncode:
                raise InputError(f"fluidsynth failed on {midi_path.name}: {proc.stderr[-500:]}")
        return Path(wav_path)
    return write_wav(synthesise(mido.MidiFile(str(midi_path)), sample_rate), wav_path, sample_rate)
