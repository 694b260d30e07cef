"""A plain numpy/scipy implementation of the kernel's model, used by the tests as ground truth.

Written for clarity, not speed: every function here mirrors one in :mod:`p4core.kernel`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def propagate(a: sp.csr_array, u: np.ndarray, alpha: float, steps: int) -> np.ndarray:
    """``sum_{k=0..steps} (alpha a)^k u`` by repeated sparse products."""
    x = u.astype(np.float64).copy()
    p = x.copy()
    a64 = sp.csr_array(a, dtype=np.float64)
    for _ in range(steps):
        p = alpha * (a64 @ p)
        x += p
    return x


def reversal_scores(
    x: np.ndarray, s: np.ndarray, w: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``-cos_W(x_b, s)`` per column and its split over cell-type blocks."""
    x = np.asarray(x, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    denom = np.sqrt((w[:, None] * x * x).sum(0)) * np.sqrt((w * s * s).sum())
    n_ct = len(offsets) - 1
    parts = np.zeros((x.shape[1], n_ct))
    for c in range(n_ct):
        sl = slice(offsets[c], offsets[c + 1])
        num = (w[sl, None] * s[sl, None] * x[sl]).sum(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            parts[:, c] = np.where(denom > 0, -num / denom, 0.0)
    return parts.sum(1), parts


def drug_views(
    a: sp.csr_array,
    u: np.ndarray,
    s: np.ndarray,
    w: np.ndarray,
    own: np.ndarray,
    alpha: float,
    steps: int,
    scales: dict[str, float] | None = None,
    marker_weight: float = 0.75,
) -> dict[str, float]:
    """The screen's views of one perturbation ``u`` (the drug's signed targets, every cell type):
    ``marker`` = -<u, s>_W / |s|_W; ``programme`` = -cos_W(x, s) of the downstream response
    x = sum_{k>=1} (alpha a)^k u with every node of the drug's own targets (``own``) set to 0;
    ``combined`` = w marker / scale_m + (1 - w) programme / scale_p when ``scales`` are given."""
    s = np.asarray(s, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64).ravel()
    s_norm = np.sqrt(np.sum(w * s * s))
    x = propagate(a, u[:, None], alpha, steps)[:, 0] - u
    x[own] = 0.0
    norm = np.sqrt(np.sum(w * x * x))
    out = {
        "marker": float(-np.sum(w * s * u) / s_norm) if s_norm > 0 else 0.0,
        "programme": float(-np.sum(w * s * x) / (norm * s_norm)) if norm > 1e-12 and s_norm > 0 else 0.0,
    }
    if scales is not None:
        out["combined"] = (
            marker_weight * out["marker"] / scales["marker"]
            + (1 - marker_weight) * out["programme"] / scales["programme"]
        )
    return out


def simulate(
    a: sp.csr_array,
    x0: np.ndarray,
    drive: np.ndarray,
    drive_schedule: np.ndarray,
    inputs: np.ndarray,
    input_schedule: np.ndarray,
    projection: np.ndarray,
    offsets: np.ndarray,
    *,
    dt: float,
    beta: float,
    gamma: float,
    record_every: int = 1,
) -> np.ndarray:
    """RK4 integration of ``dx/dt = gamma (tanh(beta A x + r(t) drive + e_s(t) u_s) - x)``."""
    a64 = sp.csr_array(a, dtype=np.float64)
    n_steps = (len(drive_schedule) - 1) // 2
    n_ct = len(offsets) - 1
    pp = np.array([(projection[offsets[c] : offsets[c + 1]] ** 2).sum() for c in range(n_ct)], dtype=float)
    out = np.zeros((inputs.shape[0], n_steps // record_every + 1, n_ct))

    def activity(x: np.ndarray) -> np.ndarray:
        num = np.array(
            [
                (x[offsets[c] : offsets[c + 1]] * projection[offsets[c] : offsets[c + 1]]).sum()
                for c in range(n_ct)
            ]
        )
        return np.where(pp > 0, num / np.where(pp > 0, pp, 1), 0.0)

    for s in range(inputs.shape[0]):
        u = inputs[s].astype(np.float64)

        def f(x: np.ndarray, j: int, s: int = s, u: np.ndarray = u) -> np.ndarray:
            return gamma * (
                np.tanh(beta * (a64 @ x) + drive_schedule[j] * drive + input_schedule[s, j] * u) - x
            )

        x = x0.astype(np.float64).copy()
        out[s, 0] = activity(x)
        for step in range(n_steps):
            j = 2 * step
            k1 = f(x, j)
            k2 = f(x + dt / 2 * k1, j + 1)
            k3 = f(x + dt / 2 * k2, j + 1)
            k4 = f(x + dt * k3, j + 2)
            x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            if (step + 1) % record_every == 0:
                out[s, (step + 1) // record_every] = activity(x)
    return out


def fit_ridge_signed(expr, targets, indptr, indices, signs, lam) -> np.ndarray:
    """Active-set sign-constrained ridge, one target at a time (mirror of the kernel)."""
    out = np.zeros(len(indices))
    n = expr.shape[1]
    for row, tgt in enumerate(targets):
        e0, e1 = indptr[row], indptr[row + 1]
        if e1 == e0:
            continue
        x = expr[indices[e0:e1]].astype(float).T
        y = expr[tgt].astype(float)
        active = np.ones(e1 - e0, dtype=bool)
        coef = np.zeros(e1 - e0)
        for _ in range(e1 - e0 + 1):
            coef[:] = 0
            if not active.any():
                break
            xa = x[:, active]
            coef[active] = np.linalg.solve(xa.T @ xa + lam * n * np.eye(active.sum()), xa.T @ y)
            v = coef * signs[e0:e1]
            if v.min() >= 0:
                break
            active[np.argmin(v)] = False
        out[e0:e1] = coef
    return out
