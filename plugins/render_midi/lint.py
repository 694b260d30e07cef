"""A linter for Standard MIDI Files, for p4core's files and anyone else's.

    python -m p4core midi lint FILE.mid [FILE.mid ...]

Checks the rules that DAWs and strict readers rely on (../shared/SONIFICATION.md): type 1 with a
conductor track 0 that holds tempo, time and key signatures and no channel events; every other
track named at tick 0, on channels of its own; channel 10 only for percussion; the setup block
(program, pitch-bend range by RPN) before the first note; every note closed before the end of its
track and, at one tick, a note's off before its next on; one constant tempo. Returns problems as
strings (empty: the file is clean).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import mido

PERCUSSION = 9
CONDUCTOR_ONLY = {"set_tempo", "time_signature", "key_signature", "smpte_offset"}


def _abs(track: mido.MidiTrack) -> list[tuple[int, mido.Message | mido.MetaMessage]]:
    t, out = 0, []
    for msg in track:
        t += msg.time
        out.append((t, msg))
    return out


def lint(
    path: str | Path, percussion_tracks: tuple[str, ...] = ("events", "percussion", "drums")
) -> list[str]:
    """Problems found in the MIDI file at ``path`` (an empty list when there are none)."""
    problems: list[str] = []
    try:
        mid = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError) as exc:
        return [f"{path}: not a readable Standard MIDI File ({exc})"]
    if mid.type != 1:
        problems.append(f"type {mid.type}: use type 1 (a conductor track and one track per voice)")
    if not mid.tracks:
        return problems + ["no tracks"]
    tempos = [m for _, m in _abs(mid.tracks[0]) if m.type == "set_tempo"]
    if len({m.tempo for m in tempos}) > 1:
        problems.append(
            f"track 0: {len(tempos)} tempo changes; keep one constant tempo (DAW importers mishandle tempo maps)"
        )
    for t, msg in _abs(mid.tracks[0]):
        if not msg.is_meta:
            problems.append(
                f"track 0 (conductor): channel event {msg.type} at tick {t}; channel events belong to voice tracks"
            )
            break
    channel_owner: dict[int, int] = {}
    for i, track in enumerate(mid.tracks):
        events = _abs(track)
        if not events or events[-1][1].type != "end_of_track":
            problems.append(f"track {i}: no end_of_track")
        if i == 0:
            continue
        name = next((m.name for t, m in events if m.type == "track_name" and t == 0), None)
        if name is None:
            problems.append(f"track {i}: no track_name at tick 0")
        for t, msg in events:
            if msg.is_meta and msg.type in CONDUCTOR_ONLY:
                problems.append(f"track {i}: {msg.type} at tick {t} outside the conductor track")
        channels = sorted({m.channel for _, m in events if not m.is_meta and hasattr(m, "channel")})
        is_perc = (name or "").lower() in percussion_tracks
        for ch in channels:
            if ch == PERCUSSION and not is_perc:
                problems.append(f"track {i} ({name}): melodic events on channel 10 (General MIDI percussion)")
            if ch in channel_owner and channel_owner[ch] != i:
                problems.append(
                    f"track {i} ({name}): channel {ch + 1} is also used by track {channel_owner[ch]}"
                )
            channel_owner.setdefault(ch, i)
        first_note = next((t for t, m in events if m.type == "note_on" and m.velocity > 0), None)
        if first_note is not None and not is_perc:
            setup = [(t, m) for t, m in events if t <= first_note and not m.is_meta]
            has_program = any(m.type == "program_change" for _, m in setup)
            has_rpn = any(
                m.type == "control_change" and m.control == 101 and m.value == 0 for _, m in setup
            ) and any(m.type == "control_change" and m.control == 6 for _, m in setup)
            if not has_program:
                problems.append(f"track {i} ({name}): no program change before the first note")
            if not has_rpn:
                problems.append(f"track {i} ({name}): no pitch-bend range (RPN 0) before the first note")
        sounding: dict[tuple[int, int], int] = defaultdict(int)
        for t, m in events:
            if m.type == "note_on" and m.velocity > 0:
                key = (m.channel, m.note)
                if sounding[key]:
                    problems.append(
                        f"track {i} ({name}): note {m.note} on channel {m.channel + 1} struck again at tick {t} "
                        "while sounding (at one tick, its note-off must come first)"
                    )
                sounding[key] += 1
            elif m.type == "note_off" or (m.type == "note_on" and m.velocity == 0):
                key = (m.channel, m.note)
                if sounding[key]:
                    sounding[key] -= 1
        open_notes = [k for k, v in sounding.items() if v]
        if open_notes:
            problems.append(
                f"track {i} ({name}): {len(open_notes)} note(s) never closed, e.g. {open_notes[0][1]}"
            )
    return problems


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m p4core midi lint FILE.mid [FILE.mid ...]")
        return 2
    bad = 0
    for f in argv:
        problems = lint(f)
        print(f"{f}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
        for p in problems:
            print(f"  - {p}")
        bad += bool(problems)
    return 1 if bad else 0
