"""Play a p4core MIDI file live to a MIDI port (a synth, a DAW), with MIDI clock.

    python -m p4core midi play course.mid [--port NAME] [--no-virtual] [--speed 2]

Opens a virtual output port named ``p4core`` by default (connect your DAW or synth to it; needs
``pip install "p4core[live]"``, which brings python-rtmidi), sends MIDI clock (24 per quarter note at
the file's tempo) between start and stop, the file's channel events at their times (meta events
cannot be sent to ports), and all-notes-off on every channel at the end, on an error or on Ctrl-C.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import mido

from p4core.errors import InputError


def schedule(mid: mido.MidiFile, clock: bool = True) -> list[tuple[float, mido.Message]]:
    """(seconds, message) of every channel event, and of the clock, in playing order."""
    tempo = next((m.tempo for m in mid.tracks[0] if m.type == "set_tempo"), 500000)
    out: list[tuple[float, int, int, mido.Message]] = []
    end = 0
    seq = 0
    for track in mid.tracks:
        t = 0
        for msg in track:
            t += msg.time
            end = max(end, t)
            if not msg.is_meta:
                seq += 1
                prio = 0 if msg.type == "note_off" or (msg.type == "note_on" and msg.velocity == 0) else 2
                out.append((t, prio, seq, msg))
    if clock:
        step = mid.ticks_per_beat / 24
        n = int(end / step) + 1
        out += [(round(i * step), 1, 0, mido.Message("clock")) for i in range(n)]
    out.sort(key=lambda e: (e[0], e[1], e[2]))
    return [(mido.tick2second(t, mid.ticks_per_beat, tempo), m) for t, _, _, m in out]


def all_notes_off(port: Any) -> None:
    for ch in range(16):
        port.send(mido.Message("control_change", channel=ch, control=64, value=0))
        port.send(mido.Message("control_change", channel=ch, control=123, value=0))


def play(
    mid: mido.MidiFile,
    port: Any = None,
    *,
    port_name: str = "p4core",
    virtual: bool = True,
    clock: bool = True,
    speed: float = 1.0,
    now: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Send ``mid`` to ``port`` (or open ``port_name``) in real time; returns the messages sent."""
    opened = None
    if port is None:
        try:
            import rtmidi  # noqa: F401
        except ImportError as exc:
            raise InputError('live MIDI output needs python-rtmidi: pip install "p4core[live]"') from exc
        try:
            port = opened = mido.open_output(port_name, virtual=virtual)
        except (OSError, SystemError) as exc:
            raise InputError(
                f"cannot open MIDI output {port_name!r} ({exc}); available: {mido.get_output_names()}"
            ) from exc
    sent = 0
    try:
        if clock:
            port.send(mido.Message("start"))
        start = now()
        for when, msg in schedule(mid, clock):
            wait = when / speed - (now() - start)
            if wait > 0:
                sleep(wait)
            port.send(msg)
            sent += 1
        if clock:
            port.send(mido.Message("stop"))
    finally:
        all_notes_off(port)
        if opened is not None:
            opened.close()
    return sent


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m p4core midi play", description=__doc__)
    ap.add_argument("file")
    ap.add_argument("--port", default="p4core", help="output port name (virtual by default)")
    ap.add_argument("--no-virtual", action="store_true", help="connect to an existing port instead")
    ap.add_argument("--no-clock", action="store_true")
    ap.add_argument("--speed", type=float, default=1.0)
    args = ap.parse_args(argv)
    try:
        play(
            mido.MidiFile(args.file),
            port_name=args.port,
            virtual=not args.no_virtual,
            clock=not args.no_clock,
            speed=args.speed,
        )
    except KeyboardInterrupt:
        print("stopped (all notes off)")
        return 130
    return 0
