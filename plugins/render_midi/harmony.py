"""The harmony pad's tension ladder: chords ordered by a composite of sensory roughness and tonal tension.

* **Roughness** (Plomp & Levelt 1965 as parametrised by Sethares 1993): every pair of partials of
  the chord's notes, with the partials of p4core's own synth (:data:`PARTIALS`), contributes
  ``min(a1, a2) (exp(-b1 s df) - exp(-b2 s df))`` with ``s = d* / (s1 f1 + s2)``.
* **Tonal tension** (Chew's spiral array, as used by Herremans & Chew 2016): pitch classes sit on a
  helix along the line of fifths; a key has a centre of effect built from its tonic, dominant and
  subdominant triads; a chord's tension is the distance of its centre of effect from the key's
  (tensile strain) plus the spread of its pitches (cloud diameter).

Roughness alone cannot tell major from minor (they are almost equally rough); key tension alone
ranks a cluster below a distant triad. The ladder is therefore ordered by the sum of both, each
scaled to [0, 1] over the candidate chords, and this order is checked by the tests.
"""

from __future__ import annotations

import math

import numpy as np

#: amplitudes of the harmonics of p4core's additive synth (synth.py uses the same table)
PARTIALS = (1.0, 0.5, 0.33, 0.25, 0.2, 0.16)

#: candidate chords, semitones above the root (the root is the key's tonic)
CHORDS = {
    "open fifth": (0, 7, 12),
    "major": (0, 4, 7),
    "minor": (0, 3, 7),
    "minor 7": (0, 3, 7, 10),
    "half-diminished": (0, 3, 6, 10),
    "C-Db-Eb-Gb": (0, 1, 3, 6),
    "diminished 7": (0, 3, 6, 9),
    "cluster": (0, 1, 2, 3),
}

# Sethares (1993) constants
_DSTAR, _S1, _S2, _B1, _B2 = 0.24, 0.0207, 18.96, 3.51, 5.75
# spiral array (Chew 2000): radius 1, rise per fifth h = sqrt(2/15); chord/key weights
_H = math.sqrt(2.0 / 15.0)
_W = (0.536, 0.274, 0.19)


def midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12)


def roughness(notes: tuple[int, ...] | list[int], partials: tuple[float, ...] = PARTIALS) -> float:
    """Sensory roughness of the notes (MIDI numbers) played together with the synth's partials."""
    f, a = [], []
    for n in notes:
        for k, amp in enumerate(partials, start=1):
            f.append(k * midi_hz(n))
            a.append(amp)
    f_arr, a_arr = np.array(f), np.array(a)
    order = np.argsort(f_arr)
    f_arr, a_arr = f_arr[order], a_arr[order]
    total = 0.0
    for i in range(len(f_arr)):
        df = f_arr[i + 1 :] - f_arr[i]
        s = _DSTAR / (_S1 * f_arr[i] + _S2)
        total += float(
            (np.minimum(a_arr[i], a_arr[i + 1 :]) * (np.exp(-_B1 * s * df) - np.exp(-_B2 * s * df))).sum()
        )
    return total


def _fifths_index(pc: int, tonic: int) -> int:
    """Position of pitch class ``pc`` on the line of fifths, spelled closest to the key's tonic."""
    k = (pc - tonic) * 7 % 12  # fifths above the tonic, 0..11
    k = k - 12 if k > 6 else k  # -5..6: flats on the subdominant side
    return k


def _pitch(k: float) -> np.ndarray:
    return np.array([math.sin(k * math.pi / 2), math.cos(k * math.pi / 2), k * _H])


def _triad_centre(root: int) -> np.ndarray:  # major triad on fifths index root: root, fifth, third
    return _W[0] * _pitch(root) + _W[1] * _pitch(root + 1) + _W[2] * _pitch(root + 4)


def key_centre() -> np.ndarray:
    """Centre of effect of the major key whose tonic is fifths index 0."""
    return _W[0] * _triad_centre(0) + _W[1] * _triad_centre(1) + _W[2] * _triad_centre(-1)


def tension(notes: tuple[int, ...] | list[int], tonic: int = 0) -> float:
    """Tonal tension on the spiral array (Herremans & Chew 2016): the tensile strain (distance of the
    chord's centre of effect from the key's) plus the cloud diameter (largest distance between two
    of its pitches; a symmetric chord such as a diminished seventh has its centre near the key's but
    spreads over nine fifths)."""
    pcs = sorted({n % 12 for n in notes})
    pts = np.array([_pitch(_fifths_index(pc, tonic)) for pc in pcs])
    strain = float(np.linalg.norm(pts.mean(axis=0) - key_centre()))
    diameter = max((float(np.linalg.norm(a - b)) for a in pts for b in pts), default=0.0)
    return strain + diameter


def composite(chords: dict[str, tuple[int, ...]], root: int = 48) -> dict[str, float]:
    """Roughness + tension of each chord (voiced from ``root``), each scaled to [0, 1] over ``chords``."""
    r = {k: roughness([root + i for i in v]) for k, v in chords.items()}
    t = {k: tension([root + i for i in v], tonic=root % 12) for k, v in chords.items()}

    def scale(d: dict[str, float]) -> dict[str, float]:
        lo, hi = min(d.values()), max(d.values())
        return {k: (v - lo) / (hi - lo) if hi > lo else 0.0 for k, v in d.items()}

    rs, ts = scale(r), scale(t)
    return {k: rs[k] + ts[k] for k in chords}


def ladder(root: int = 48) -> list[tuple[str, tuple[int, ...]]]:
    """The candidate chords from least to most tense (composite order)."""
    c = composite(CHORDS, root)
    return [(name, CHORDS[name]) for name in sorted(CHORDS, key=lambda k: (c[k], k))]
