"""Operating points of the authentication policies at a target false-accept rate.

Inputs are genuine and impostor cosine scores per modality (eyeauth.explore.scores). The face
data (ORL) and the voice data (FSDD) are different people, so a multi-modal user is *chimeric*:
a face identity paired with a voice identity, and the face and voice scores of one attempt are
taken as independent (the usual assumption for chimeric evaluation; real users' modalities may
be correlated, e.g. a bad day for both). Under it the fused distributions are exact over all
pairs of per-modality trials, with no sampling.

Policies (accept when ...). ``face``, ``voice`` and ``both`` are the firmware's rules
(firmware/eyeauth_fw/fusion.py) with thresholds chosen here; ``zsum`` and ``handoff`` are the
explorer's own rules and are named apart on purpose: the board's ``sum`` adds margins over each
model's fitted threshold, and its ``cascade`` lets the face decide outside a fixed margin and
*adds* the voice margin inside it (``eyeauth eval fusion`` evaluates those exact rules).

* ``face`` / ``voice``: the score >= a threshold.
* ``zsum``: z-normalised face + voice >= threshold (z with the impostor mean and spread of each
  modality; equal weights, fitted to nothing, so nothing is over-fitted to the small data).
* ``both``: face >= tf and voice >= tv; the pair minimising FRR with FAR <= target.
* ``handoff``: face first; accept when face >= hi, reject when face < lo, else ask for the voice
  and decide on it alone (>= tv). Its operating points trade FRR against how often the second
  modality is needed; the explorer picks, per board, the one with the shortest time to unlock.

Every policy's threshold(s) are chosen on the same scores the FRR is measured on (an optimistic
but common protocol for small held-out sets; the report says so).
"""
from __future__ import annotations

import numpy as np

from eyeauth.evaluation import scoring as metrics

POLICIES = ("face", "voice", "zsum", "both", "handoff")
MULTI = ("zsum", "both", "handoff")


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


def znorm(genuine, impostor):
    mu, sd = float(np.mean(impostor)), float(np.std(impostor)) or 1.0
    return (np.asarray(genuine) - mu) / sd, (np.asarray(impostor) - mu) / sd


def single(g, i, far):
    frr, far_ = frr_at_far(g, i, far)
    return {"frr": frr, "far": far_, "eer": metrics.eer(g, i), "p_second": 0.0}


def score_sum(gf, if_, gv, iv, far):
    gf, if_ = znorm(gf, if_)
    gv, iv = znorm(gv, iv)
    g = (gf[:, None] + gv[None, :]).reshape(-1)
    i = (if_[:, None] + iv[None, :]).reshape(-1)
    frr, far_ = frr_at_far(g, i, far)
    return {"frr": frr, "far": far_, "eer": _eer_fast(g, i), "p_second": 1.0}


def _eer_fast(g, i, steps=400):
    """EER of large score sets on a threshold grid (fused sets have ~1e6 impostor pairs)."""
    lo, hi = min(g.min(), i.min()), max(g.max(), i.max())
    t = np.linspace(lo, hi, steps)
    gs, is_ = np.sort(g), np.sort(i)
    frr = np.searchsorted(gs, t, side="left") / g.size
    far = 1.0 - np.searchsorted(is_, t, side="left") / i.size
    k = int(np.argmin(np.abs(far - frr)))
    return float((far[k] + frr[k]) / 2)


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


def cascade_points(gf, if_, gv, iv, far, grid=60):
    """Operating points (frr, far, p_second) of the face-first cascade, on the lower frontier
    of FRR against p_second (how often a genuine user is asked for the voice)."""
    pooled = np.concatenate([gf, if_])
    th = np.unique(np.quantile(pooled, np.linspace(0.01, 0.99, grid)))
    lo, hi = np.meshgrid(th, th, indexing="ij")
    ok = lo < hi
    lo, hi = lo[ok], hi[ok]
    gs, is_ = np.sort(gf), np.sort(if_)

    def frac_ge(sorted_scores, t):
        return 1.0 - np.searchsorted(sorted_scores, t, side="left") / sorted_scores.size

    acc_g, acc_i = frac_ge(gs, hi), frac_ge(is_, hi)
    band_g, band_i = frac_ge(gs, lo) - acc_g, frac_ge(is_, lo) - acc_i
    rej_g = 1.0 - acc_g - band_g
    _, far_v, frr_v = metrics.rates(gv, iv)
    with np.errstate(divide="ignore", invalid="ignore"):
        budget = np.where(band_i > 0, (far - acc_i) / np.maximum(band_i, 1e-300), np.inf)
    frr_vb, far_vb = _best_frr_under(far_v, frr_v, budget)
    feasible = (acc_i <= far) & (band_g > 0) & (band_g < 1)
    frr = rej_g + band_g * frr_vb
    far_t = acc_i + band_i * far_vb
    pts = sorted(zip(band_g[feasible], frr[feasible], far_t[feasible]))
    out, best = [], 2.0
    for p2, f, fa in pts:  # ascending p_second: keep points that lower the FRR
        if f < best - 1e-12:
            out.append({"frr": float(f), "far": float(fa), "eer": None, "p_second": float(p2)})
            best = f
    return out


def operating_points(policy, face=None, voice=None, far=0.01):
    """List of operating points of ``policy`` given (genuine, impostor) score pairs."""
    if policy == "face":
        return [single(*face, far)]
    if policy == "voice":
        return [single(*voice, far)]
    if policy == "zsum":
        return [score_sum(*face, *voice, far)]
    if policy == "both":
        return [both(*face, *voice, far)]
    if policy == "handoff":
        return cascade_points(*face, *voice, far)
    raise ValueError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
