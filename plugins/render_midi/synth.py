"""Audio from a MIDI score: p4core's own synth (:mod:`p4core.audio`), or FluidSynth when installed.

FluidSynth (Debian ``fluidsynth``, with a General MIDI soundfont such as ``timgm6mb-soundfont``) is
used for ``audio=fluidsynth`` (``auto``: when found). Its options go before the soundfont and the
MIDI file: ``fluidsynth -ni -F out.wav -r RATE SOUNDFONT in.mid``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import mido
import numpy as np

from p4core import audio
from p4core.errors import InputError
from p4core.io import atomic_path

# the synth's names, kept here for the plugin's own modules and tests
notes_of, synthesise, write_wav = audio.notes_of, audio.synthesise, audio.write_wav

SOUNDFONTS = (
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)


def find_fluidsynth() -> tuple[str, str] | None:
    """(program, soundfont) when FluidSynth and a General MIDI soundfont are installed
    (``$P4CORE_SOUNDFONT`` names another soundfont)."""
    exe = shutil.which("fluidsynth")
    fonts = [os.environ.get("P4CORE_SOUNDFONT", ""), *SOUNDFONTS]
    font = next((f for f in fonts if f and Path(f).is_file()), None)
    return (exe, font) if exe and font else None


def _fluidsynth(fs: tuple[str, str], midi_path: Path, wav_path: Path, sample_rate: int) -> None:
    exe, font = fs
    proc = subprocess.run(
        [exe, "-ni", "-F", str(wav_path), "-r", str(sample_rate), font, str(midi_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode:
        raise InputError(f"fluidsynth failed on {midi_path.name}: {proc.stderr[-500:]}")


def _engine(engine: str) -> tuple[str, str] | None:
    fs = find_fluidsynth() if engine in ("fluidsynth", "auto") else None
    if engine == "fluidsynth" and fs is None:
        raise InputError(
            "render.midi.audio=fluidsynth: FluidSynth or a General MIDI soundfont was not found; install them "
            "(Debian: apt install fluidsynth), set $P4CORE_SOUNDFONT, or use render.midi.audio=numpy"
        )
    return fs


def score_pcm(midi: bytes, engine: str = "numpy", sample_rate: int = 22050) -> tuple[np.ndarray, str]:
    """The score's audio as 16-bit PCM (n, 2) and the engine that made it (numpy, or fluidsynth for
    ``fluidsynth``/``auto`` when installed)."""
    fs = _engine(engine)
    if fs is None:
        return audio.to_pcm(audio.synthesise(audio.midi_from_bytes(midi), sample_rate)), "numpy"
    with tempfile.TemporaryDirectory(prefix="p4core-fluidsynth-") as tmp:
        mid, wav = Path(tmp) / "score.mid", Path(tmp) / "score.wav"
        mid.write_bytes(midi)
        _fluidsynth(fs, mid, wav, sample_rate)
        with wave.open(str(wav), "rb") as w:
            frames = w.readframes(w.getnframes())
            pcm = np.frombuffer(frames, dtype="<i2").reshape(-1, w.getnchannels())
    return pcm, "fluidsynth"


def render_audio(midi_path: Path, wav_path: Path, engine: str = "numpy", sample_rate: int = 22050) -> Path:
    """Render ``midi_path`` to ``wav_path`` with ``engine`` (numpy, fluidsynth or auto)."""
    fs = _engine(engine)
    if fs is not None:
        with atomic_path(wav_path) as tmp:
            _fluidsynth(fs, midi_path, tmp, sample_rate)
        return Path(wav_path)
    return write_wav(synthesise(mido.MidiFile(str(midi_path)), sample_rate), wav_path, sample_rate)
