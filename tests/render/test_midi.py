"""The MIDI renderer, tested on the bytes it writes."""

from __future__ import annotations

import json
import types

import mido
import numpy as np
import pandas as pd
import pytest

from p4core.model import Trajectories
from p4core.plugins.render_midi import SCALES, MidiConfig, quantise, render

PENTATONIC = SCALES["pentatonic"]


def make_result(values: dict[tuple[str, str], np.ndarray], times: np.ndarray) -> types.SimpleNamespace:
    rows = []
    for (scen, ct), v in values.items():
        for t, x in zip(times, v, strict=True):
            rows.append((scen, t, ct, x, x - 0.1, x + 0.1))
    table = pd.DataFrame(rows, columns=["scenario", "time", "celltype", "mean", "lower", "upper"])
    scen = list(dict.fromkeys(s for s, _ in values))
    cts = list(dict.fromkeys(c for _, c in values if c != "burden"))
    events = pd.DataFrame(
        [(0.0, "sampling", "sampling"), (14.0, "treatment_start", "start drugA")],
        columns=["time", "kind", "label"],
    )
    traj = Trajectories(table=table, events=events, scenarios=scen, celltypes=cts)
    return types.SimpleNamespace(trajectories=traj, patient=types.SimpleNamespace(pseudonym="P-TEST"))


@pytest.fixture
def course():
    times = np.arange(-30, 61, 1.0)
    rng = np.random.default_rng(0)
    vals = {}
    for scen, slope in (("untreated", 0.0), ("drugA", -0.01)):
        for i, ct in enumerate(["T cells", "B cells", "macrophages"]):
            base = np.clip((times + 30) / 30, 0, 1) * (0.5 + 0.2 * i)
            vals[(scen, ct)] = (
                base + np.where(times > 14, slope * (times - 14), 0) + rng.normal(0, 0.01, len(times))
            )
    return make_result(vals, times)


def write(tmp_path, result, **kw):
    cfg = MidiConfig(**{"audio": "none", **kw})
    path = render(result, tmp_path, cfg)[0]
    return path, mido.MidiFile(path)


def absolute(track):
    t = 0
    for msg in track:
        t += msg.time
        yield t, msg


def test_structure_follows_smf_rules(tmp_path, course):
    path, mid = write(tmp_path, course)
    assert mid.type == 1 and mid.ticks_per_beat == 840
    conductor = mid.tracks[0]
    assert not any(not m.is_meta for m in conductor), "track 0 carries no channel events"
    kinds = {m.type for m in conductor}
    assert {"set_tempo", "time_signature", "key_signature", "marker", "text", "track_name"} <= kinds
    voices = mid.tracks[1:4]
    channels = []
    for tr in voices:
        assert tr[0].type == "track_name"
        chans = {m.channel for m in tr if hasattr(m, "channel")}
        assert len(chans) == 1
        channels.append(chans.pop())
        assert not any(m.type in ("set_tempo", "time_signature", "key_signature") for m in tr)
        setup = [m for t, m in absolute(tr) if t == 0 and m.type in ("program_change", "control_change")]
        ccs = [(m.control, m.value) for m in setup if m.type == "control_change"]
        assert (101, 0) in ccs and (100, 0) in ccs and (6, 2) in ccs and (101, 127) in ccs
        assert any(m.type == "program_change" for m in setup)
    assert len(set(channels)) == 3 and 9 not in channels
    perc = mid.tracks[-1]
    assert perc[0].name == "events"
    assert {m.channel for m in perc if hasattr(m, "channel")} == {9}


def test_notes_closed_offs_first_and_in_scale(tmp_path, course):
    _, mid = write(tmp_path, course)
    legend = json.loads(next(m.text for m in mid.tracks[0] if m.type == "text").split(" ", 1)[1])
    for v, tr in enumerate(mid.tracks[1:4]):
        base = legend["voices"][v]["base_note"]
        open_notes: dict[int, int] = {}
        last_tick, last_kind = -1, None
        for t, m in absolute(tr):
            if m.type == "note_on" and m.velocity > 0:
                assert m.note - base in PENTATONIC
                assert m.note not in open_notes
                open_notes[m.note] = t
                last_tick, last_kind = t, "on"
            elif m.type == "note_off" or (m.type == "note_on" and m.velocity == 0):
                assert m.note in open_notes and t > open_notes.pop(m.note)
                assert not (t == last_tick and last_kind == "on"), "note-off must precede note-on at a tick"
        assert not open_notes


def test_identical_bytes_for_identical_input(tmp_path, course):
    a, _ = write(tmp_path / "a", course)
    b, _ = write(tmp_path / "b", course)
    assert a.read_bytes() == b.read_bytes()


def test_one_global_domain_equal_data_equal_notes(tmp_path):
    times = np.arange(0, 57, 1.0)
    v = np.linspace(0, 1, len(times))
    res = make_result(
        {("untreated", "A"): v, ("untreated", "B"): v, ("drug", "A"): v, ("drug", "B"): v}, times
    )
    _, mid = write(tmp_path, res, register_step=0)
    legend = json.loads(next(m.text for m in mid.tracks[0] if m.type == "text").split(" ", 1)[1])
    seg = legend["time"]["segment_ticks"]
    a = [(t % seg, m.note) for t, m in absolute(mid.tracks[1]) if m.type == "note_on"]
    b = [(t % seg, m.note) for t, m in absolute(mid.tracks[2]) if m.type == "note_on"]
    assert a == b
    first_half = [n for t, n in a[: len(a) // 2]]
    assert first_half == sorted(first_half), "monotone mapping"


def test_quantise_hysteresis_and_rest():
    v = np.array([0.0, 0.049, 0.051, 0.11, np.nan, 1.0])
    lv = quantise(v, 0.0, 1.0, 11, hysteresis=0.3)
    assert lv[0] == 0 and lv[1] == 0 and lv[2] == 0  # within hysteresis of the held level
    assert lv[3] == 1 and lv[4] == -1 and lv[5] == 10


def test_bad_key_is_clear(tmp_path, course):
    from p4core.errors import InputError

    with pytest.raises(InputError, match="render.midi.key"):
        write(tmp_path, course, key="H-major")
