"""Routers: which model decides each attempt, all scored the same way (issue 12).

A *router* turns one input (its cheap features, and the margins its models would give) into a
decision and a cost. Four kinds are built and compared, each a special case of the one document
the board runs (``premodel_<modality>.json``, :mod:`eyeauth.premodel.export`):

* ``single``: always the same model;
* ``premodel``: the feature premodel (Marco et al., arXiv 1911.04946): cheap features -> tree /
  KNN -> the one model that runs;
* ``cascade``: run a cheap model; when its margin (score - threshold) falls in a band around 0
  the decision is unsure, so run the next model and let it decide (the band fitted on the
  identities reserved for the premodel);
* ``hybrid``: the cascade with the band chosen by one cheap feature (two bands, split at a
  feature value): features plus the first model's score;
* ``modality`` (faces): a quality rule on the frame's features (too dark, too flat, too blurred)
  and the board's own no-face gate, after which the board asks for the voice factor instead of
  running a face model (reported apart: it changes which factor decides, not which face model).

Trials are 1:1 verification attempts (a probe and a claimed identity): genuine when they are the
same person. Metrics, at the shipped thresholds: FAR, FRR, balanced accuracy (1 - (FAR + FRR) /
2), FRR at FAR 1 % (sweeping one offset over the margins the router decides on), mean modeled
latency (the mean of the genuine-attempt and impostor-attempt means, so neither kind of attempt
outweighs the other; both are reported too), and the share of attempts each model decides.
"""
from __future__ import annotations

import numpy as np

from eyeauth.evaluation import scoring as metrics

REFUSED = -9.0  # the margin of a probe the board refuses before any model (no face / speech)


# ------------------------------------------------------------------ a router, run

def run(split, first, esc=None):
    """Run a router over every trial of ``split``.

    ``first``: (P,) index of the model each probe starts with (models cheapest first);
    ``esc``: {from index: (to index, feature column or None, split value, [(lo, hi), (lo, hi)])}:
    escalate when lo <= margin < hi, the band picked by ``features[col] <= split`` (first band)
    or not (second band); no column: always the first band.
    Returns (final margin (P, T), latency ms (P, T), deciding model (P, T))."""
    M = split["margins"]
    P, T = M.shape[1:]
    first = np.asarray(first, np.int64)
    cur = np.repeat(first[:, None], T, axis=1)
    marg = M[cur, np.arange(P)[:, None], np.arange(T)[None, :]]
    lat = np.repeat(np.asarray(split["cost_first"])[first][:, None], T, axis=1).astype(float)
    refused = np.asarray(split["refused"], bool)
    lat[refused] = split["cost_refused"]
    X = split["X"]
    for _ in range(len(split["models"])):
        if not esc:
            break
        moved = False
        for a, (b, col, at, bands) in esc.items():
            on = (cur == a) & ~refused[:, None]
            if not on.any():
                continue
            if col is None:
                lo = np.full(P, bands[0][0])
                hi = np.full(P, bands[0][1])
            else:
                low = X[:, col] <= at
                lo = np.where(low, bands[0][0], bands[1][0])
                hi = np.where(low, bands[0][1], bands[1][1])
            go = on & (marg >= lo[:, None]) & (marg < hi[:, None])
            if go.any():
                moved = True
                cur = np.where(go, b, cur)
                marg = np.where(go, M[b], marg)
                lat = lat + go * split["cost_extra"][b]
        if not moved:
            break
    return marg, lat, cur


def score(split, marg, lat, cur):
    """The metrics of one router's run (dict)."""
    same = split["same"]
    acc = marg >= 0
    far = float(acc[~same].mean())
    frr = float(1.0 - acc[same].mean())
    lg, li = float(lat[same].mean()), float(lat[~same].mean())
    n = len(split["models"])
    w = np.where(same, 0.5 / same.sum(), 0.5 / (~same).sum())  # balanced weight of a trial
    share = {m: round(float(w[cur == k].sum()), 4) for k, m in enumerate(split["models"])}
    return {"far": round(far, 5), "frr": round(frr, 5),
            "balanced_accuracy": round(1.0 - (far + frr) / 2, 5),
            "frr_at_far_1pct": round(metrics.frr_at_far(marg[same], marg[~same], 0.01), 5),
            "mean_latency_ms": round(0.5 * (lg + li), 2),
            "genuine_latency_ms": round(lg, 2), "impostor_latency_ms": round(li, 2),
            "share": share if n else {}}


def evaluate(split, first, esc=None):
    return score(split, *run(split, first, esc))


def single(split, k):
    return evaluate(split, np.full(len(split["X"]), k))


# ------------------------------------------------------------------ fitting bands

def _band_grid(marg_a, refused):
    """Candidate (lo, hi) bands around 0 from the quantiles of the cheap model's margins."""
    m = marg_a[~refused].ravel()
    neg, pos = m[m < 0], m[m >= 0]
    los = [0.0] + sorted({round(float(v), 4) for v in
                          np.quantile(neg, np.linspace(0.6, 1.0, 25, endpoint=False))}) \
        if neg.size else [0.0]
    his = [0.0] + sorted({round(float(v), 4) + 1e-4 for v in
                          np.quantile(pos, np.linspace(0.0, 0.9, 10))}) if pos.size else [0.0]
    return [(lo, hi) for lo in los for hi in his if lo <= 0 <= hi and (lo < hi)]


def _parts(split, a, b, mask):
    """Per-trial terms of a one-step cascade a -> b over the probes in ``mask``: the cheap
    margins, whether a and b accept, and the weights that turn sums into FAR / FRR / latency."""
    same = split["same"][mask]
    ma, mb = split["margins"][a][mask], split["margins"][b][mask]
    ref = np.asarray(split["refused"], bool)[mask]
    return same, ma, ma >= 0, mb >= 0, ref


def fit_band(split, a, b, ref_far, ref_frr, slack=0.005):
    """The band of a one-step cascade a -> b: the cheapest (mean latency) whose FAR and FRR on
    this split are within ``slack`` of the reference model's; when none is, the one with the best
    balanced accuracy. Returns ((lo, hi), metrics)."""
    P = len(split["X"])
    best, best_key = None, None
    first = np.full(P, a)
    for band in _band_grid(split["margins"][a], np.asarray(split["refused"], bool)):
        r = evaluate(split, first, {a: (b, None, 0, [band])})
        ok = r["far"] <= ref_far + slack and r["frr"] <= ref_frr + slack
        key = (0, r["mean_latency_ms"]) if ok else (1, -r["balanced_accuracy"], r["mean_latency_ms"])
        if best_key is None or key < best_key:
            best, best_key = (band, r), key
    return best


def fit_chain(split, ref_far, ref_frr, slack=0.005, step=3):
    """A three-model cascade 0 -> 1 -> 2 (every model of the modality, cheapest first): the band
    of each step searched together on every ``step``-th candidate of each grid, kept as
    :func:`fit_band` keeps a band. Returns ({0: band, 1: band}, metrics) or None (< 3 models)."""
    if len(split["models"]) < 3:
        return None
    refused = np.asarray(split["refused"], bool)
    g1 = _band_grid(split["margins"][0], refused)[::step]
    g2 = _band_grid(split["margins"][1], refused)[::step]
    first = np.zeros(len(split["X"]), np.int64)
    best, best_key = None, None
    for b2 in g2:
        for b1 in g1:
            r = evaluate(split, first, {0: (1, None, 0, [b1]), 1: (2, None, 0, [b2])})
            ok = r["far"] <= ref_far + slack and r["frr"] <= ref_frr + slack
            key = (0, r["mean_latency_ms"]) if ok else (1, -r["balanced_accuracy"], r["mean_latency_ms"])
            if best_key is None or key < best_key:
                best, best_key = ({0: b1, 1: b2}, r), key
    return best


def fit_hybrid(split, a, b, cols, ref_far, ref_frr, slack=0.005, lambdas=None):
    """A cascade a -> b whose band depends on one feature (split at its 25/50/75 % quantile):
    for each weight lam of errors against latency, each side's band minimises
    latency / latency(b) + lam x (FAR + FRR) on its own trials (the sums separate); the result
    kept is the cheapest within ``slack`` of the reference (else the best balanced accuracy).
    Returns (rule (col, split value, [band low side, band high side]), metrics) or None."""
    X = split["X"]
    same = split["same"]
    n_g, n_i = same.sum(), (~same).sum()
    refused = np.asarray(split["refused"], bool)
    grid = _band_grid(split["margins"][a], refused)
    lb = float(np.max(split["cost_first"][b]))
    lambdas = lambdas or [0.5, 1, 2, 4, 8, 16, 32, 64, 128]
    first = np.full(len(X), a)
    best, best_key = None, None
    for col in cols:
        for q in (0.25, 0.5, 0.75):
            at = int(np.quantile(X[:, col], q))
            sides = [X[:, col] <= at, X[:, col] > at]
            if min(s.sum() for s in sides) < 20:
                continue
            # per side and band: (latency term, FAR term, FRR term)
            terms = []
            for s in sides:
                same_s, ma, acc_a, acc_b, ref = _parts(split, a, b, s)
                rows = []
                base = split["cost_first"][a]
                for lo, hi in grid:
                    go = (ma >= lo) & (ma < hi) & ~ref[:, None]
                    acc = np.where(go, acc_b, acc_a)
                    lat = np.where(ref[:, None], split["cost_refused"], base) + go * split["cost_extra"][b]
                    far_t = float(acc[~same_s].sum()) / n_i
                    frr_t = float((~acc[same_s]).sum()) / n_g
                    lat_t = 0.5 * (float(lat[same_s].sum()) / n_g + float(lat[~same_s].sum()) / n_i)
                    rows.append((lat_t, far_t, frr_t))
                terms.append(np.array(rows))
            for lam in lambdas:
                pick = [int(np.argmin(t[:, 0] / lb + lam * (t[:, 1] + t[:, 2]))) for t in terms]
                rule = (col, at, [grid[pick[0]], grid[pick[1]]])
                r = evaluate(split, first, {a: (b,) + rule})
                ok = r["far"] <= ref_far + slack and r["frr"] <= ref_frr + slack
                key = (0, r["mean_latency_ms"]) if ok else \
                    (1, -r["balanced_accuracy"], r["mean_latency_ms"])
                if best_key is None or key < best_key:
                    best, best_key = (rule, r), key
    return best


# ------------------------------------------------------------------ the modality choice

def fit_quality(split, route_acc, cols, names, floor=0.05):
    """A face-quality rule: flag an input when one feature is below a value (the lowest 5-30 %
    of inputs), kept when the flagged inputs' balanced accuracy under the face router is lower
    than the unflagged ones' by the most. ``route_acc``: (P, T) accept matrix of the face router.
    Returns {"rules": [(col, min value)], ...} (empty rules when nothing helps)."""
    same = split["same"]
    X = split["X"]
    refused = np.asarray(split["refused"], bool)

    def bal(mask):
        if mask.sum() < 10:
            return None
        s, a = same[mask], route_acc[mask]
        return 1.0 - (float(a[~s].mean()) + float(1.0 - a[s].mean())) / 2

    base = bal(~refused)
    best = None
    for col in cols:
        for q in (0.05, 0.1, 0.2, 0.3):
            at = int(np.quantile(X[~refused, col], q))
            flag = (X[:, col] < at) & ~refused
            if flag.sum() < max(10, floor * len(X)):
                continue
            b_in, b_out = bal(flag), bal(~flag & ~refused)
            if b_in is None or b_out is None:
                continue
            gap = b_out - b_in
            if best is None or gap > best["gap"]:
                best = {"rules": [(int(col), at)], "feature": names[col], "min": at,
                        "flagged": round(float(flag.mean()), 4),
                        "balanced_accuracy_flagged": round(b_in, 5),
                        "balanced_accuracy_rest": round(b_out, 5), "gap": round(gap, 5)}
    out = best or {"rules": [], "gap": 0.0}
    out["balanced_accuracy_all"] = None if base is None else round(base, 5)
    return out


def quality_flags(split, rules):
    X = split["X"]
    flag = np.asarray(split["refused"], bool).copy()
    for col, at in rules:
        flag |= X[:, col] < at
    return flag
