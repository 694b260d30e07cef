"""The MIDI renderer's options (``render.midi``) and the score's fixed vocabulary: scales, instruments,\nearcons, presets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mido

from p4core.errors import InputError, require

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
P_OFF = 0


P_META = 1


P_CTRL = 2


P_ON = 3


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
    #: the most cell-type voices (0: as many as the channels and the register hold); beyond it the cell
    #: types with the largest share of the burden keep their own voice and the rest share one (voices.py)
    voices: int = 0
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
        if self.audio == "fluidsynth":  # known before any work, not after the run
            from .synth import find_fluidsynth

            require(
                find_fluidsynth() is not None,
                "render.midi.audio",
                "fluidsynth: FluidSynth or a General MIDI soundfont was not found; install them (Debian: apt "
                "install fluidsynth), set $P4CORE_SOUNDFONT, or use render.midi.audio=numpy",
            )
        try:
            mido.MetaMessage("key_signature", key=self.key)
        except ValueError:
            raise InputError(
                f"render.midi.key: {self.key!r} is not a key mido accepts (e.g. C, Am, F#m)"
            ) from None
