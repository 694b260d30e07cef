"""The properties of ../shared/SONIFICATION.md, each tested on the bytes written."""

from __future__ import annotations

import types
import wave

import mido
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p4core.errors import InputError
from p4core.model import Trajectories
from p4core.plugins.render_midi import (
    EARCONS,
    SCALES,
    MidiConfig,
    compose,
    decode,
    quantise,
    read_legend,
    render,
)
from p4core.plugins.render_midi.harmony import CHORDS, composite, ladder, roughness, tension
from p4core.plugins.render_midi.lint import lint
from p4core.plugins.render_midi.synth import synthesise, write_wav


def course(times, curves, events=None, band=0.1) -> types.SimpleNamespace:
    """curves: {(scenario, celltype): values}; celltype 'burden' drives the pad."""
    rows = []
    for (scen, ct), v in curves.items():
        for t, x in zip(times, v, strict=True):
            rows.append((scen, float(t), ct, x, x - band, x + band))
    table = pd.DataFrame(rows, columns=["scenario", "time", "celltype", "mean", "lower", "upper"])
    scen = list(dict.fromkeys(s for s, _ in curves))
    cts = list(dict.fromkeys(c for _, c in curves if c != "burden"))
    ev = pd.DataFrame(
        events
        if events is not None
        else [(0.0, "sampling", "sampling"), (14.0, "treatment_start", "start drugA")],
        columns=["time", "kind", "label"],
    )
    return types.SimpleNamespace(
        trajectories=Trajectories(table=table, events=ev, scenarios=scen, celltypes=cts),
        patient=types.SimpleNamespace(pseudonym="P-TEST"),
    )


@pytest.fixture
def effective():
    """An effective drug: every cell type, and the burden, fall after day 14 under drugA."""
    t = np.arange(-28, 169, 1.0)
    rise = np.clip((t + 28) / 28, 0, 1)
    fall = np.where(t > 14, np.exp(-(t - 14) / 30), 1.0)
    curves = {}
    for scen in ("untreated", "drugA"):
        for i, ct in enumerate(["T cells", "B cells", "macrophages"]):
            curves[(scen, ct)] = rise * (0.6 + 0.2 * i) * (fall if scen == "drugA" else 1.0)
        curves[(scen, "burden")] = rise * 0.8 * (fall if scen == "drugA" else 1.0)
    return course(t, curves)


def write(tmp_path, result, name="c.mid", **kw):
    cfg = MidiConfig(**{"audio": "none", "file": name, **kw})
    return render(result, tmp_path, cfg)[0]


def abs_events(track):
    t = 0
    for m in track:
        t += m.time
        yield t, m


def test_file_passes_the_linter_in_every_mode(tmp_path, effective):
    for mode in ("sequential", "stereo", "effect"):
        for preset in ("musician", "clinical"):
            path = write(tmp_path, effective, name=f"{mode}-{preset}.mid", mode=mode, preset=preset)
            assert lint(path) == [], (mode, preset)


def test_linter_finds_broken_files(tmp_path):
    mid = mido.MidiFile(type=1)
    t0, t1 = mido.MidiTrack(), mido.MidiTrack()
    t0.append(mido.Message("note_on", channel=0, note=60, velocity=64))  # channel event in the conductor
    t1.append(mido.MetaMessage("set_tempo", tempo=500000))  # tempo outside track 0, no name
    t1.append(
        mido.Message("note_on", channel=9, note=60, velocity=64, time=10)
    )  # melody on channel 10, never closed
    mid.tracks += [t0, t1]
    path = tmp_path / "bad.mid"
    mid.save(path)
    problems = " | ".join(lint(path))
    for needle in ("conductor", "track_name", "set_tempo", "channel 10", "never closed", "program"):
        assert needle in problems, needle


def test_decode_recovers_the_course_within_the_declared_bound(tmp_path, effective):
    for preset in ("musician", "clinical"):
        path = write(tmp_path, effective, name=f"{preset}.mid", preset=preset)
        dec = decode(path)
        bound = dec.attrs["bound"]
        table = effective.trajectories.table
        for row in dec.itertuples(index=False):
            true = table[
                (table.scenario == row.scenario) & (table.celltype == row.celltype) & (table.time == row.time)
            ]
            assert abs(row.value - float(true["mean"].iloc[0])) <= bound + 1e-9


def test_one_polarity_per_file_as_declared(tmp_path, effective):
    up = mido.MidiFile(write(tmp_path, effective, name="m.mid", preset="musician"))
    down = mido.MidiFile(write(tmp_path, effective, name="c.mid", preset="clinical"))
    assert read_legend(up)["pitch"]["polarity"] == "disease"
    assert read_legend(down)["pitch"]["polarity"] == "health"

    def first_and_peak(mid):
        notes = [m.note for _, m in abs_events(mid.tracks[1]) if m.type == "note_on" and m.velocity > 0]
        return notes[0], notes[len(notes) // 4]

    a0, a1 = first_and_peak(up)
    b0, b1 = first_and_peak(down)
    assert a1 > a0 and b1 < b0  # the disease rises: the musician's voice climbs, the clinician's falls


def test_melody_in_scale_notes_and_controllers_in_range(tmp_path, effective):
    mid = mido.MidiFile(write(tmp_path, effective, scale="major"))
    leg = read_legend(mid)
    for v in leg["voices"]:
        for _, m in abs_events(mid.tracks[v["track"]]):
            if m.type == "note_on":
                assert m.note - v["base_note"] in SCALES["major"]
                assert 0 < m.velocity <= 127
            if m.type == "control_change":
                assert 0 <= m.value <= 127
    lanes = {m.control for m in mid.tracks[1] if m.type == "control_change" and m.time >= 0}
    assert {1, 11} <= lanes  # uncertainty and expression lanes


def test_onsets_exact_no_drift_over_ten_thousand_irregular_times(tmp_path):
    rng = np.random.default_rng(1)
    times = np.sort(rng.uniform(0, 3000, 10_000))
    events = [(float(t), "flare", f"e{i}") for i, t in enumerate(times)]
    t = np.arange(0, 3008, 7.0)  # the course covers every event
    res = course(t, {("untreated", "T cells"): np.linspace(0, 1, len(t))}, events=events)
    cfg = MidiConfig(audio="none", month_ticks=False)
    mid = compose(res.trajectories, cfg)
    tpd = cfg.ticks_per_beat / cfg.days_per_beat
    markers = {
        m.text: tick for tick, m in abs_events(mid.tracks[0]) if m.type == "marker" and m.text.startswith("e")
    }
    for i, when in enumerate(times):
        assert abs(markers[f"e{i}"] - (when - 0.0) * tpd) <= 0.5 + 1e-9  # within one tick, no accumulation


def test_earcons_distinct_and_aligned_with_markers(tmp_path, effective):
    assert len(set(EARCONS.values())) == len(EARCONS)
    mid = mido.MidiFile(write(tmp_path, effective, month_ticks=False))
    marks = [t for t, m in abs_events(mid.tracks[0]) if m.type == "marker"]
    hits = {t for t, m in abs_events(mid.tracks[-1]) if m.type == "note_on" and m.velocity > 0}
    assert marks and all(t in hits for t in marks)
    assert {m.channel for m in mid.tracks[-1] if not m.is_meta} == {9}


def test_unique_channels_and_percussion_only_on_ten(tmp_path, effective):
    mid = mido.MidiFile(write(tmp_path, effective, mode="stereo"))
    owner = {}
    for i, tr in enumerate(mid.tracks[1:-1], start=1):
        chans = {m.channel for m in tr if not m.is_meta}
        assert len(chans) == 1 and 9 not in chans
        (c,) = chans
        assert c not in owner
        owner[c] = i


def test_identical_bytes_and_equal_data_equal_notes(tmp_path, effective):
    a = write(tmp_path, effective, name="a.mid").read_bytes()
    b = write(tmp_path, effective, name="b.mid").read_bytes()
    assert a == b
    t = np.arange(0, 100, 1.0)
    v = np.linspace(0.1, 0.9, len(t))
    same = course(t, {("untreated", "T cells"): v, ("drugA", "T cells"): v.copy()})
    mid = mido.MidiFile(write(tmp_path, same, name="same.mid", month_ticks=False))
    seg = read_legend(mid)["time"]["segment_ticks"]
    notes = [(tick, m.note) for tick, m in abs_events(mid.tracks[1]) if m.type == "note_on"]
    first = [(tick, n) for tick, n in notes if tick < seg]
    second = [(tick - seg, n) for tick, n in notes if tick >= seg]
    assert first == second


def test_missing_data_is_a_rest(tmp_path):
    t = np.arange(0, 70, 1.0)
    v = np.linspace(0.1, 0.9, len(t))
    v[21:42] = np.nan
    mid = mido.MidiFile(write(tmp_path, course(t, {("untreated", "T cells"): v}), month_ticks=False))
    dec = decode(tmp_path / "c.mid")
    assert dec.loc[(dec.time >= 21) & (dec.time < 42), "value"].isna().all()
    assert dec.loc[dec.time < 21, "value"].notna().all()
    assert mid


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=60))
def test_mapping_is_monotone(values):
    levels = quantise(np.sort(np.array(values)), 0.0, 1.0, 11, 0.0)
    assert np.all(np.diff(levels) >= 0)


def test_tension_ladder_is_monotone_in_roughness_plus_tension():
    order = [n for n, _ in ladder()]
    c = composite(CHORDS)
    assert [c[n] for n in order] == sorted(c[n] for n in order)
    assert order[0] == "open fifth" and order[1] == "major" and order[2] == "minor"
    # roughness alone barely separates major from minor; key tension does
    r_maj, r_min = roughness([48, 52, 55]), roughness([48, 51, 55])
    assert abs(r_maj - r_min) < 0.05 * r_maj
    assert tension([48, 51, 55]) > tension([48, 52, 55]) + 0.2
    assert roughness([48, 49, 50, 51]) > 2 * r_maj  # a cluster is rough


def test_effective_drug_ends_lower_and_its_harmony_resolves(tmp_path, effective):
    mid = mido.MidiFile(write(tmp_path, effective))
    leg = read_legend(mid)
    names = [s["name"] for s in leg["harmony"]["ladder"]]
    intervals = {tuple(s["intervals"]): i for i, s in enumerate(leg["harmony"]["ladder"])}
    seg = leg["time"]["segment_ticks"]
    chords: dict[int, list[int]] = {}
    for tick, m in abs_events(mid.tracks[leg["harmony"]["track"]]):
        if m.type == "note_on" and m.velocity > 0:
            chords.setdefault(tick, []).append(m.note - leg["harmony"]["root"])
    steps = {tick: intervals[tuple(sorted(n))] for tick, n in chords.items()}
    last_untreated = steps[max(t for t in steps if t < seg)]
    last_treated = steps[max(t for t in steps if t >= seg)]
    assert last_treated < last_untreated, (names[last_treated], names[last_untreated])
    dec = decode(tmp_path / "c.mid")
    end = dec.time.max()
    assert (
        dec[(dec.scenario == "drugA") & (dec.time == end)].value.mean()
        < dec[(dec.scenario == "untreated") & (dec.time == end)].value.mean()
    )


def test_audio_pitch_within_ten_cents_and_onsets_within_ten_ms(tmp_path):
    sr = 22050
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    t0 = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000)])
    tr = mido.MidiTrack([mido.MetaMessage("track_name", name="v")])
    notes = [(0, 57), (960, 64), (1920, 69)]  # 0 s, 1 s, 2 s (120 bpm): A3, E4, A4
    last = 0
    for on, n in notes:
        tr.append(mido.Message("note_on", note=n, velocity=100, time=on - last))
        tr.append(mido.Message("note_off", note=n, velocity=0, time=720))
        last = on + 720
    mid.tracks += [t0, tr]
    audio = synthesise(mid, sr)[:, 0]
    path = write_wav(np.stack([audio, audio], 1), tmp_path / "t.wav", sr)
    with wave.open(str(path)) as w:
        assert w.getframerate() == sr and w.getnchannels() == 2
    env = np.abs(audio)
    for k, (on, n) in enumerate(notes):
        start = on / 960  # seconds
        seg = audio[int((start + 0.2) * sr) : int((start + 0.6) * sr)]
        spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), 1 << 20))
        freqs = np.fft.rfftfreq(1 << 20, 1 / sr)
        f0 = 440 * 2 ** ((n - 69) / 12)
        band = (freqs > f0 * 0.9) & (freqs < f0 * 1.1)
        peak = freqs[band][np.argmax(spec[band])]
        assert abs(1200 * np.log2(peak / f0)) < 10
        w0 = max(0.0, start - 0.05)
        window = env[int(w0 * sr) : int((start + 0.05) * sr)]
        onset = np.argmax(window > 0.1 * window.max()) / sr + w0
        assert abs(onset - start) < 0.010, k


def test_fluidsynth_requested_but_missing_is_clear(tmp_path, effective, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(InputError, match="fluidsynth"):
        render(effective, tmp_path, MidiConfig(audio="fluidsynth"))


def test_bad_mapping_options_are_clear():
    with pytest.raises(ValueError, match="render.midi.mode"):
        MidiConfig(mode="surround")
    with pytest.raises(ValueError, match="render.midi.preset"):
        MidiConfig(preset="jazz")


class FakePort:
    """A MIDI output port that records what it is sent; raises KeyboardInterrupt after ``stop_after``."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.sent: list[mido.Message] = []
        self.stop_after = stop_after

    def send(self, msg: mido.Message) -> None:
        if self.stop_after is not None and len(self.sent) >= self.stop_after and msg.type != "control_change":
            raise KeyboardInterrupt
        self.sent.append(msg)


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def test_live_play_with_clock_and_all_notes_off(tmp_path, effective):
    from p4core.plugins.render_midi.live import play

    mid = mido.MidiFile(write(tmp_path, effective))
    port, clock = FakePort(), FakeClock()
    play(mid, port, now=clock.now, sleep=clock.sleep)
    types_ = [m.type for m in port.sent]
    assert types_[0] == "start" and "stop" in types_
    ons = sum(1 for m in port.sent if m.type == "note_on" and m.velocity > 0)
    offs = sum(1 for m in port.sent if m.type == "note_off")
    assert ons == offs > 0
    beats = clock.t * 96 / 60  # the file plays at 96 bpm
    assert abs(types_.count("clock") - 24 * beats) <= 25
    tail = port.sent[-32:]
    assert {(m.channel, m.control) for m in tail if m.type == "control_change"} >= {
        (c, 123) for c in range(16)
    }
    assert all(not m.is_meta for m in port.sent)


def test_live_play_ctrl_c_still_silences(tmp_path, effective):
    from p4core.plugins.render_midi.live import play

    mid = mido.MidiFile(write(tmp_path, effective))
    port, clock = FakePort(stop_after=50), FakeClock()
    with pytest.raises(KeyboardInterrupt):
        play(mid, port, now=clock.now, sleep=clock.sleep)
    assert {(m.channel, m.control) for m in port.sent[-32:] if m.type == "control_change"} >= {
        (c, 123) for c in range(16)
    }


@pytest.mark.slow
def test_midi_command_line(tmp_path, effective):
    import subprocess
    import sys

    path = write(tmp_path, effective)
    ok = subprocess.run(
        [sys.executable, "-m", "p4core", "midi", "lint", str(path)], capture_output=True, text=True
    )
    assert ok.returncode == 0 and "ok" in ok.stdout
    dec = subprocess.run(
        [sys.executable, "-m", "p4core", "midi", "decode", str(path)], capture_output=True, text=True
    )
    assert dec.returncode == 0 and dec.stdout.startswith("scenario,side,celltype,time,value")
    wav = subprocess.run(
        [sys.executable, "-m", "p4core", "midi", "wav", str(path), str(tmp_path / "o.wav")],
        capture_output=True,
        text=True,
    )
    assert wav.returncode == 0 and (tmp_path / "o.wav").stat().st_size > 1000


def test_fluidsynth_renders_when_installed(tmp_path, effective):
    """Real instruments through FluidSynth (options before soundfont and MIDI file); skipped where
    FluidSynth or a General MIDI soundfont is not installed (Debian: apt install fluidsynth)."""
    from p4core.plugins.render_midi.synth import find_fluidsynth

    if find_fluidsynth() is None:
        pytest.skip("fluidsynth with a GM soundfont is not installed")
    files = render(effective, tmp_path, MidiConfig(audio="fluidsynth", sample_rate=22050))
    with wave.open(str(files[1])) as w:
        assert w.getframerate() == 22050 and w.getnframes() > 22050
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert np.abs(frames).max() > 1000  # not silence


def many_celltypes(n: int = 18) -> types.SimpleNamespace:
    """``n`` cell types (a fine-grained annotation); cell type k carries share ~ (k + 1) of the burden."""
    t = np.arange(0, 120, 1.0)
    fall = np.where(t > 14, np.exp(-(t - 14) / 30), 1.0)
    cts = [f"ct{k:02d}" for k in range(n)]
    curves = {}
    for scen in ("untreated", "drugA"):
        for k, ct in enumerate(cts):
            curves[(scen, ct)] = (0.3 + 0.04 * k) * (fall if scen == "drugA" else np.ones_like(t))
        curves[(scen, "burden")] = 0.7 * (fall if scen == "drugA" else np.ones_like(t))
    res = course(t, curves)
    total = sum(range(1, n + 1))
    res.trajectories.params = {"burden_share": {ct: (k + 1) / total for k, ct in enumerate(cts)}}
    return res


@pytest.mark.parametrize(
    ("mode", "pad", "channels"), [("sequential", True, 14), ("stereo", True, 7), ("effect", False, 15)]
)
def test_many_cell_types_choose_voices_and_say_which(tmp_path, mode, pad, channels):
    register = (127 - MidiConfig().base_note - SCALES["pentatonic"][-1]) // MidiConfig().register_step + 1
    limit = min(channels, register)
    res = many_celltypes(18)
    path = write(tmp_path, res, name=f"{mode}.mid", mode=mode, pad=pad)
    assert lint(path) == []
    leg = read_legend(mido.MidiFile(path))
    labels = list(dict.fromkeys(v["celltype"] for v in leg["voices"]))
    assert len(labels) == limit
    own, group = labels[:-1], labels[-1]
    assert own == [f"ct{k:02d}" for k in range(18 - (limit - 1), 18)]  # the largest shares keep a voice
    members = leg["voice_selection"]["grouped"][group]
    assert set(members) | set(own) == {f"ct{k:02d}" for k in range(18)} and not set(members) & set(own)
    # the grouped voice decodes to the share-weighted mean of its members
    dec = decode(path)
    table = res.trajectories.table
    shares = res.trajectories.params["burden_share"]
    w = np.array([shares[m] for m in members])
    for row in dec[dec.celltype == group].itertuples(index=False):
        at = table[(table.scenario == row.scenario) & (table.time == row.time)].set_index("celltype")["mean"]
        want = float((at[members].to_numpy() * w).sum() / w.sum())
        assert abs(row.value - want) <= dec.attrs["bound"] + 1e-9


def test_voice_cap_and_register_limit_the_voices(tmp_path):
    res = many_celltypes(18)
    leg = read_legend(mido.MidiFile(write(tmp_path, res, name="v4.mid", voices=4)))
    assert len(leg["voices"]) == 4 and len(leg["voice_selection"]["grouped"]["other 15 cell types"]) == 15
    high = read_legend(mido.MidiFile(write(tmp_path, res, name="hi.mid", base_note=90, register_step=6)))
    assert max(v["base_note"] for v in high["voices"]) + max(high["pitch"]["scale"]) <= 127
    few = read_legend(mido.MidiFile(write(tmp_path, many_celltypes(5), name="few.mid")))
    assert len(few["voices"]) == 5 and "grouped" not in few["voice_selection"]


def test_background_encoding_gives_the_same_bytes():
    """encode_soon starts the MP3 in a thread; encode on the same array takes it (the same bytes as a
    direct encoding), and a different array with equal samples is encoded on its own."""
    from p4core import audio

    rng = np.random.default_rng(0)
    pcm = np.round(rng.uniform(-3000, 3000, size=(22050, 2))).astype("<i2")
    direct = audio.encode(pcm, 22050, "mp3")
    audio.encode_soon(pcm, 22050, "mp3")
    assert audio.encode(pcm, 22050, "mp3") == direct
    assert audio.encode(pcm, 22050, "mp3") == direct  # taken once; then encoded again, the same
    audio.encode_soon(pcm, 22050, "wav")
    other = pcm.copy()
    other[0, 0] += 1
    assert audio.encode(other, 22050, "wav") != audio.encode(pcm, 22050, "wav")
