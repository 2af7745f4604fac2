"""Operating points of the board's authentication policies at a target false-accept rate.

Inputs are genuine and impostor cosine scores per modality (eyeauth.explore.scores). The face
data and the voice data are different people, so a multi-modal user is *chimeric*: a face
identity paired with a voice identity, and the face and voice scores of one attempt are taken
as independent (the usual assumption for chimeric evaluation; real users' modalities may be
correlated, e.g. a bad day for both). Under it the fused distributions are exact over all pairs
of per-modality trials: the pairs are counted (sorted scores, binary search), never listed, so
10^8 impostor pairs cost milliseconds.

Policies: the firmware's five (``firmware/eyeauth_fw/fusion.py``, the same names), with the
thresholds chosen here to meet the FAR target instead of the shipped ``thresholds.json``.
Margins are scores minus thresholds (tf face, tv voice):

* ``face`` / ``voice``: the score >= its threshold.
* ``sum``: (f - tf) + (v - tv) >= 0, i.e. f + v >= tf + tv: one threshold on the raw sum, the
  lowest whose FAR <= target.
* ``both``: f >= tf and v >= tv; the pair minimising FRR with FAR <= target.
* ``cascade``: the face first; f - tf >= m accepts, f - tf <= -m rejects, in between the board
  asks for the voice and accepts when the margins' sum >= 0 (f + v >= tf + tv). Operating points
  over tf (quantiles of the face scores), m (``MARGINS``) and tf + tv (a grid of ``C_STEPS``
  over the pair sums) trade FRR against how often the voice is needed; the explorer picks, per
  board, the one with the shortest time to unlock. (The board's cascade also sends a frame
  without a usable face to the voice alone; these scores hold no such frames.)

Every policy's threshold(s) are chosen on the same scores the FRR is measured on (an optimistic
but common protocol for small held-out sets; the report says so).
"""
from __future__ import annotations

import numpy as np

from eyeauth.evaluation import scoring as metrics

POLICIES = ("face", "voice", "sum", "both", "cascade")  # as firmware/eyeauth_fw/fusion.py
MULTI = ("sum", "both", "cascade")
MARGINS = (0.01, 0.02, 0.03, 0.05, 0.08, 0.11, 0.15, 0.2, 0.25, 0.3)
C_STEPS = 512


def frr_at_far(genuine, impostor, far_target):
    """(frr, far): the lowest FRR over thresholds whose FAR <= far_target (accept s >= t).

    Same definition as eyeauth.evaluation.scoring.frr_at_far, in O(n) (np.partition)."""
    g = np.asarray(genuine, np.float64).reshape(-1)
    i = np.asarray(impostor, np.float64).reshape(-1)
    k = int(np.floor(far_target * i.size + 1e-9))  # impostors that may be accepted
    if k >= i.size:
        return 0.0, 1.0
    cut = np.partition(i, i.size - 1 - k)[i.size - 1 - k]  # the (k+1)-th highest impostor
    return float(np.mean(g <= cut)), float(np.mean(i > cut))


def single(g, i, far):
    frr, far_ = frr_at_far(g, i, far)
    return {"frr": frr, "far": far_, "eer": metrics.eer(g, i), "p_second": 0.0}


def _first_above(a, b_sorted, t, strict):
    """Per x in a: the first index j of the sorted b with x + b[j] > t (strict) or >= t, the sum
    taken in floating point exactly as a listed pair would be (a binary search of t - x, then
    nudged where rounding puts the boundary one place off)."""
    t = np.broadcast_to(np.asarray(t, np.float64), a.shape)
    j = np.searchsorted(b_sorted, t - a, side="right" if strict else "left")
    n = b_sorted.size
    passes = (lambda s, tt: s > tt) if strict else (lambda s, tt: s >= tt)
    for _ in range(16):  # equal b values move together: jump over the whole run of them
        prev, cur = b_sorted[np.maximum(j - 1, 0)], b_sorted[np.minimum(j, n - 1)]
        lower = (j > 0) & passes(a + prev, t)
        higher = (j < n) & ~passes(a + cur, t)
        if not (lower.any() or higher.any()):
            break
        j = np.where(lower, np.searchsorted(b_sorted, prev, side="left"), j)
        j = np.where(higher, np.searchsorted(b_sorted, cur, side="right"), j)
    return j


def _pairs_above(a, b_sorted, t, strict):
    """How many pairs (x in a, y in b) have x + y > t (strict) or >= t, without listing them."""
    return int(b_sorted.size * a.size - _first_above(a, b_sorted, t, strict).sum())


def _pair_cut(a, b_sorted, k):
    """The (k+1)-th highest pair sum x + y (0-based k) without listing the pairs: bisection on
    the value with counted pairs, then the few pairs left in the final interval."""
    lo = float(a.min() + b_sorted[0]) - 1.0  # > k pairs above it
    hi = float(a.max() + b_sorted[-1])       # no pair above it
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid <= lo or mid >= hi:
            break
        if _pairs_above(a, b_sorted, mid, strict=True) <= k:
            hi = mid
        else:
            lo = mid
        if _pairs_above(a, b_sorted, lo, strict=True) - _pairs_above(a, b_sorted, hi, strict=True) <= 4096:
            break
    # the pairs with lo < x + y <= hi, listed; the answer is the smallest of them with <= k above
    j0 = _first_above(a, b_sorted, lo, strict=True)
    j1 = _first_above(a, b_sorted, hi, strict=True)
    cand = np.unique(np.concatenate([a[n] + b_sorted[j0[n]:j1[n]] for n in np.flatnonzero(j1 > j0)]
                                    or [np.array([hi])]))
    for c in cand[::-1]:  # descending: the first value with more than k pairs at or above it
        if _pairs_above(a, b_sorted, c, strict=False) > k:
            return float(c)
    return float(cand[0])


def score_sum(gf, if_, gv, iv, far):
    """The board's ``sum``: one threshold on face + voice (raw scores; the margins' sum is the
    same rule with the thresholds folded into it)."""
    gf, if_, gv, iv = (np.asarray(x, np.float64).reshape(-1) for x in (gf, if_, gv, iv))
    g = np.sort((gf[:, None] + gv[None, :]).reshape(-1))  # genuine pairs: few (1e4-1e5)
    ivs = np.sort(iv)
    n = if_.size * iv.size
    k = int(np.floor(far * n + 1e-9))
    if k >= n:
        frr, far_ = 0.0, 1.0
    else:
        cut = _pair_cut(if_, ivs, k)
        frr = float(np.searchsorted(g, cut, side="right") / g.size)
        far_ = _pairs_above(if_, ivs, cut, strict=True) / n
    return {"frr": frr, "far": far_, "eer": _sum_eer(g, if_, ivs), "p_second": 1.0}


def _sum_eer(g_sorted, if_, iv_sorted, iters=60):
    """EER of the summed scores (accept s >= t): bisection on t where FAR(t) meets FRR(t)."""
    n = if_.size * iv_sorted.size
    lo = min(g_sorted[0], if_.min() + iv_sorted[0])
    hi = max(g_sorted[-1], if_.max() + iv_sorted[-1])
    far = frr = 0.0
    for _ in range(iters):
        t = (lo + hi) / 2
        far = _pairs_above(if_, iv_sorted, t, strict=False) / n
        frr = np.searchsorted(g_sorted, t, side="left") / g_sorted.size
        if far > frr:
            lo = t
        else:
            hi = t
    return float((far + frr) / 2)


def _best_frr_under(far_curve, frr_curve, budgets):
    """For each FAR budget, the lowest FRR of a curve point with FAR <= budget (1.0 if none)."""
    order = np.argsort(far_curve, kind="stable")
    fs = far_curve[order]
    best = np.minimum.accumulate(frr_curve[order])
    idx = np.searchsorted(fs, budgets, side="right") - 1
    out = np.where(idx >= 0, best[np.clip(idx, 0, None)], 1.0)
    far_at = np.where(idx >= 0, fs[np.clip(idx, 0, None)], 0.0)
    return out, far_at


def both(gf, if_, gv, iv, far):
    _, far_f, frr_f = metrics.rates(gf, if_)
    _, far_v, frr_v = metrics.rates(gv, iv)
    with np.errstate(divide="ignore"):
        budget = np.where(far_f > 0, far / np.maximum(far_f, 1e-300), np.inf)
    frr_vb, far_vb = _best_frr_under(far_v, frr_v, budget)
    frr = 1.0 - (1.0 - frr_f) * (1.0 - frr_vb)
    k = int(np.argmin(frr))
    return {"frr": float(frr[k]), "far": float(far_f[k] * far_vb[k]), "eer": None,
            "p_second": 1.0}


def _band_pairs(f_sorted, v_sorted, c, lo_idx, hi_idx):
    """For each band [lo_idx, hi_idx) of the sorted face scores: the pairs (f in band, v) with
    f + v >= c."""
    w = v_sorted.size - _first_above(f_sorted, v_sorted, c, strict=False)
    cum = np.concatenate([[0], np.cumsum(w)])
    return cum[hi_idx] - cum[lo_idx]


def cascade_points(gf, if_, gv, iv, far, grid=40, margins=MARGINS, c_steps=C_STEPS):
    """Operating points (frr, far, p_second) of the board's cascade, on the lower frontier of
    FRR against p_second (how often a genuine user is asked for the voice)."""
    gf, if_, gv, iv = (np.sort(np.asarray(x, np.float64).reshape(-1)) for x in (gf, if_, gv, iv))
    pooled = np.concatenate([gf, if_])
    tf = np.unique(np.quantile(pooled, np.linspace(0.02, 0.98, grid)))
    m = np.asarray(margins, np.float64)
    lo, hi = (tf[:, None] - m[None, :]).reshape(-1), (tf[:, None] + m[None, :]).reshape(-1)
    idx = {}
    for name, f in (("g", gf), ("i", if_)):
        acc = f.size - np.searchsorted(f, hi, side="left")          # f - tf >= m: accepted
        b0 = np.searchsorted(f, lo, side="right")                    # band: lo < f < hi
        b1 = np.searchsorted(f, hi, side="left")
        idx[name] = (acc, b0, np.maximum(b1, b0))
    acc_i, bi0, bi1 = idx["i"]
    acc_g, bg0, bg1 = idx["g"]
    n_i, n_g = if_.size * iv.size, gf.size * gv.size
    cs = np.linspace(if_[0] + iv[0], max(if_[-1] + iv[-1], gf[-1] + gv[-1]), c_steps)
    chosen_far = np.full(lo.size, np.nan)
    chosen_frr = np.full(lo.size, np.nan)
    open_ = (acc_i / if_.size) <= far  # the face alone must not exceed the budget
    for c in cs:  # ascending c: the first one under the FAR target is the lowest-FRR choice
        if not open_.any():
            break
        fa = (acc_i * iv.size + _band_pairs(if_, iv, c, bi0, bi1)) / n_i
        hit = open_ & (fa <= far)
        if hit.any():
            fr = 1.0 - (acc_g * gv.size + _band_pairs(gf, gv, c, bg0, bg1)) / n_g
            chosen_far[hit], chosen_frr[hit] = fa[hit], fr[hit]
            open_ &= ~hit
    p2 = (bg1 - bg0) / gf.size
    ok = ~np.isnan(chosen_frr) & (p2 > 0) & (p2 < 1)
    pts = sorted(zip(p2[ok], chosen_frr[ok], chosen_far[ok]))
    out, best = [], 2.0
    for p_second, f, fa in pts:  # ascending p_second: keep points that lower the FRR
        if f < best - 1e-12:
            out.append({"frr": float(f), "far": float(fa), "eer": None,
                        "p_second": float(p_second)})
            best = f
    return out


def operating_points(policy, face=None, voice=None, far=0.01):
    """List of operating points of ``policy`` given (genuine, impostor) score pairs."""
    if policy == "face":
        return [single(*face, far)]
    if policy == "voice":
        return [single(*voice, far)]
    if policy == "sum":
        return [score_sum(*face, *voice, far)]
    if policy == "both":
        return [both(*face, *voice, far)]
    if policy == "cascade":
        return cascade_points(*face, *voice, far)
    raise ValueError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
