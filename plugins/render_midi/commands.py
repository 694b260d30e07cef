"""``python -m p4core midi ...``: lint, decode, play or render a MIDI file (registered as a command)."""

from __future__ import annotations

import sys
from pathlib import Path

from p4core.errors import P4coreError

USAGE = """usage: python -m p4core midi lint FILE.mid [...]   check a MIDI file against the SMF rules
       python -m p4core midi decode FILE.mid       the course recovered from a p4core MIDI file (CSV)
       python -m p4core midi play FILE.mid [--port NAME] [--no-virtual] [--speed X]
       python -m p4core midi wav FILE.mid OUT.wav [--audio numpy|fluidsynth|auto]"""


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("lint", "decode", "play", "wav"):
        print(USAGE)
        return 2
    cmd, rest = argv[0], argv[1:]
    try:
        if cmd == "lint":
            from .lint import main as lint_main

            return lint_main(rest)
        if cmd == "play":
            from .live import main as play_main

            return play_main(rest)
        if cmd == "decode":
            from . import decode

            if len(rest) != 1:
                print(USAGE)
                return 2
            try:
                decode(rest[0]).to_csv(sys.stdout, index=False)
            except BrokenPipeError:  # e.g. piped into head: the reader has what it wanted
                sys.stdout = None  # type: ignore[assignment]
            return 0
        from .synth import render_audio

        if len(rest) < 2:
            print(USAGE)
            return 2
        engine = rest[rest.index("--audio") + 1] if "--audio" in rest else "numpy"
        print(render_audio(Path(rest[0]), Path(rest[1]), engine))
        return 0
    except (P4coreError, OSError, ValueError) as exc:
        print(f"p4core midi {cmd}: {exc}", file=sys.stderr)
        return 2
