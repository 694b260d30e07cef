"""The course recovered from a p4core MIDI file (its legend and its notes): ``python -m p4core midi decode``."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pandas as pd

from p4core.plugins.render_midi.score import read_legend


def decode(path: str | Path) -> pd.DataFrame:
    """Recover the course from a p4core MIDI file's bytes alone: one row per (scenario, side,
    celltype, time) with the decoded value (NaN for a rest) and the declared bound (half a step
    plus the hysteresis, in the units of the data)."""
    mid = mido.MidiFile(str(path))
    leg = read_legend(mid)
    tm, pitch = leg["time"], leg["pitch"]
    lo, hi = pitch["domain"]
    scale = pitch["scale"]
    sign = 1.0 if pitch["polarity"] == "disease" else -1.0
    samples = np.arange(tm["t0_days"], tm["t1_days"] + 1e-9, tm["step_days"])
    rows = []
    for v in leg["voices"]:
        notes = []  # (on, off, note)
        t, open_ = 0, {}
        for msg in mid.tracks[v["track"]]:
            t += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                open_[msg.note] = t
            elif msg.type in ("note_off", "note_on") and msg.note in open_:
                notes.append((open_.pop(msg.note), t, msg.note))
        for seg in leg["segments"]:
            scen = seg["voices"].get(v["side"])
            if scen is None:
                continue
            for day in samples:
                tick = seg["start_tick"] + int(round((day - tm["t0_days"]) * tm["ticks_per_day"]))
                hit = [n for on, off, n in notes if on <= tick < off]
                value = np.nan
                if hit:
                    level = scale.index(hit[0] - v["base_note"])
                    value = sign * (lo + level / (len(scale) - 1) * (hi - lo)) + 0.0  # no -0.0
                rows.append(
                    {
                        "scenario": scen,
                        "side": v["side"],
                        "celltype": v["celltype"],
                        "time": float(day),
                        "value": value,
                    }
                )
    out = pd.DataFrame(rows)
    out.attrs["bound"] = pitch["decode_bound"]
    return out
