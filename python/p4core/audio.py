"""Audio for p4core's sonification: a small deterministic additive synthesiser and the encodings a
report embeds. Core API shared by the renderers (the MIDI renderer writes the WAV, the report embeds
an MP3), so that no renderer reads another's files.

The synth plays every melodic note as an additive tone with the partials :data:`PARTIALS` (the ones
the MIDI renderer's harmony ladder was validated with), an ADSR envelope, the note's velocity and its
track's pan (CC10, constant power), and every channel-10 note as a short pitched click. No system
dependency, the same bytes for the same score.
"""

from __future__ import annotations

import io
import tempfile
import threading
import wave
import weakref
from concurrent.futures import Future
from pathlib import Path

import mido
import numpy as np

from p4core.io import atomic_path

#: amplitudes of the harmonics of the additive synth
PARTIALS = (1.0, 0.5, 0.33, 0.25, 0.2, 0.16)
ATTACK, DECAY, SUSTAIN, RELEASE = 0.01, 0.05, 0.7, 0.08


def midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12)


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


def note_tone(note: int, n: int, dur: float, percussion: bool, sample_rate: int) -> np.ndarray:
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
            tone = tones[key] = note_tone(note, n, dur, percussion, sample_rate)
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


def to_pcm(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] as 16-bit PCM (what a WAV holds)."""
    return np.clip(np.round(audio * 32767), -32768, 32767).astype("<i2")


def pcm_to_float(pcm: np.ndarray) -> np.ndarray:
    """16-bit PCM as float32 in [-1, 1) (as an audio library reads a 16-bit WAV)."""
    return pcm.astype(np.float32) / np.float32(32768)


#: encodings started by :func:`encode_soon`, by (id of the PCM array, sample rate, format): a weak
#: reference to the array (an id is only that array's while it lives) and the encoding's future
_PENDING: dict[tuple[int, int, str], tuple[weakref.ref, Future]] = {}
_PENDING_LOCK = threading.RLock()  # re-entrant: a weakref callback may run while this thread holds it


def encode_soon(pcm: np.ndarray, sample_rate: int, fmt: str) -> None:
    """Start encoding ``pcm`` (as :func:`encode` would) in a thread of its own; :func:`encode` with the
    same array, rate and format then takes that encoding (waiting for it if needed) instead of
    encoding again. libsndfile releases the GIL while it encodes, so an MP3 is made on a second core
    while the renderers run. The same bytes either way; an error is raised by :func:`encode`."""
    key = (id(pcm), int(sample_rate), fmt)
    fut: Future = Future()

    def drop(_ref: weakref.ref) -> None:  # the array is gone: so is its pending encoding
        with _PENDING_LOCK:
            if key in _PENDING and _PENDING[key][0] is _ref:
                del _PENDING[key]

    def work() -> None:
        try:
            fut.set_result(_encode_now(pcm, sample_rate, fmt))
        except BaseException as exc:  # noqa: BLE001 (handed to the caller of encode)
            fut.set_exception(exc)

    with _PENDING_LOCK:
        _PENDING[key] = (weakref.ref(pcm, drop), fut)
    threading.Thread(target=work, name="p4core-encode", daemon=False).start()


def encode(pcm: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    """16-bit PCM (n, channels) as the bytes of a ``wav`` or ``mp3`` file (the one :func:`encode_soon`
    started for this array, when it did)."""
    with _PENDING_LOCK:
        entry = _PENDING.pop((id(pcm), int(sample_rate), fmt), None)
    if entry is not None and entry[0]() is pcm:
        return entry[1].result()
    return _encode_now(pcm, sample_rate, fmt)


def _encode_now(pcm: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    if fmt == "wav":
        with wave.open(buf, "wb") as w:
            w.setnchannels(pcm.shape[1])
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(np.ascontiguousarray(pcm, dtype="<i2").tobytes())
        return buf.getvalue()
    with tempfile.TemporaryDirectory(prefix="p4core-audio-") as tmp:  # libsndfile's MP3 writer needs a file
        out = Path(tmp) / f"sound.{fmt}"
        sf.write(out, pcm_to_float(pcm), sample_rate, format="MP3", subtype="MPEG_LAYER_III")
        return out.read_bytes()


def midi_bytes(mid: mido.MidiFile) -> bytes:
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def midi_from_bytes(data: bytes) -> mido.MidiFile:
    return mido.MidiFile(file=io.BytesIO(data))
