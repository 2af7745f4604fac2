"""Premodel classifiers in numpy, trained in floats where needed and run in integers exactly as
firmware/eyeauth_fw/premodel.py runs them (``predict`` is the device's arithmetic).

* Decision tree (CART, Gini, integer thresholds: go left when x <= t), preorder node list
  [f, t, l, r]; f = -1 marks a leaf of class t. Ties of a leaf vote go to the lower class
  (the cheaper model).
* KNN: features scaled to int8 by q = clamp((x - off) * mul >> shift, -127, 127) (off = median,
  mul so that 3 standard deviations reach 127), squared L2 to at most ``max_points`` stored int8
  points (a class-stratified subsample), k nearest vote (stable: earlier point first on equal
  distance; ties between classes go to the lower class).
"""
from __future__ import annotations

import numpy as np

SHIFT = 12


# ------------------------------------------------------------------ decision tree

def _gini_split(x, y1h, w, min_leaf):
    """Best (gain, threshold) of one feature: left = x <= threshold."""
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y1h[order] * w[order, None]
    left = np.cumsum(ys, axis=0)[:-1]
    total = ys.sum(axis=0)
    right = total - left
    nl, nr = left.sum(1), right.sum(1)
    cnt = np.arange(1, len(x))
    ok = (xs[:-1] != xs[1:]) & (cnt >= min_leaf) & (len(x) - cnt >= min_leaf)
    if not ok.any():
        return -1.0, None
    with np.errstate(invalid="ignore", divide="ignore"):
        gl = nl - (left ** 2).sum(1) / np.maximum(nl, 1e-12)
        gr = nr - (right ** 2).sum(1) / np.maximum(nr, 1e-12)
    parent = total.sum() - (total ** 2).sum() / max(total.sum(), 1e-12)
    gain = np.where(ok, parent - gl - gr, -1.0)
    k = int(np.argmax(gain))
    return float(gain[k]), int(xs[k])


def fit_tree(X, y, n_classes, max_depth=3, min_leaf=10, weight=None, min_gain=1e-9):
    X = np.asarray(X, np.int64)
    y = np.asarray(y, np.int64)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, np.float64)
    y1h = np.eye(n_classes)[y]
    nodes = []

    def leaf(idx):
        votes = (y1h[idx] * w[idx, None]).sum(0)
        return [-1, int(np.argmax(votes)), 0, 0]

    def grow(idx, depth):
        me = len(nodes)
        nodes.append(None)
        if depth >= max_depth or len(idx) < 2 * min_leaf or len(np.unique(y[idx])) < 2:
            nodes[me] = leaf(idx)
            return me
        best = (min_gain, None, None)
        for f in range(X.shape[1]):
            g, t = _gini_split(X[idx, f], y1h[idx], w[idx], min_leaf)
            if t is not None and g > best[0]:
                best = (g, f, t)
        if best[1] is None:
            nodes[me] = leaf(idx)
            return me
        _, f, t = best
        go = X[idx, f] <= t
        lo = grow(idx[go], depth + 1)
        hi = grow(idx[~go], depth + 1)
        nodes[me] = [f, t, lo, hi]
        return me

    grow(np.arange(len(y)), 0)
    tree = _prune(nodes)
    return {"kind": "tree", "tree": [v for n in tree for v in n]}


def _prune(nodes):
    """Merge splits whose two leaves pick the same class; renumber in preorder."""
    def simp(n):
        f, t, lo, hi = nodes[n]
        if f < 0:
            return ("leaf", t)
        a, b = simp(lo), simp(hi)
        if a[0] == "leaf" and b[0] == "leaf" and a[1] == b[1]:
            return a
        return ("split", f, t, a, b)

    out = []

    def emit(s):
        me = len(out)
        out.append(None)
        if s[0] == "leaf":
            out[me] = [-1, s[1], 0, 0]
        else:
            lo = emit(s[3])
            hi = emit(s[4])
            out[me] = [s[1], s[2], lo, hi]
        return me

    emit(simp(0))
    return out


def _predict_tree(flat, X):
    out = np.empty(len(X), np.int64)
    for i, x in enumerate(X):
        n = 0
        while flat[4 * n] >= 0:
            n = flat[4 * n + 2] if x[flat[4 * n]] <= flat[4 * n + 1] else flat[4 * n + 3]
        out[i] = flat[4 * n + 1]
    return out


# ------------------------------------------------------------------ KNN

def quantize(X, off, mul, shift=SHIFT):
    v = (np.asarray(X, np.int64) - np.asarray(off, np.int64)) * np.asarray(mul, np.int64) >> shift
    return np.clip(v, -127, 127)


def fit_knn(X, y, n_classes, k=5, max_points=256, seed=0):
    X = np.asarray(X, np.int64)
    y = np.asarray(y, np.int64)
    off = np.round(np.median(X, axis=0)).astype(np.int64)
    sd = np.maximum(X.std(axis=0), 0.5)
    mul = np.maximum(1, np.round((1 << SHIFT) * 127.0 / (3.0 * sd))).astype(np.int64)
    idx = np.arange(len(y))
    if len(y) > max_points:  # class-stratified subsample, every class keeps at least k points
        rng = np.random.default_rng(seed)
        counts = np.bincount(y, minlength=n_classes)
        share = np.maximum(np.round(counts / len(y) * max_points), np.minimum(counts, k))
        keep = []
        for c in range(n_classes):
            members = np.flatnonzero(y == c)
            if members.size:
                keep.extend(rng.choice(members, int(min(share[c], members.size)),
                                       replace=False).tolist())
        idx = np.sort(np.asarray(keep, np.int64))
    pts = quantize(X[idx], off, mul)
    return {"kind": "knn", "k": int(min(k, len(idx))), "shift": SHIFT,
            "off": off.tolist(), "mul": mul.tolist(),
            "points": pts.reshape(-1).astype(int).tolist(), "labels": y[idx].astype(int).tolist()}


def _predict_knn(m, X, n_classes):
    d = len(m["off"])
    lab = np.asarray(m["labels"], np.int64)
    if d == 0 or lab.size == 0:  # no feature selected: every point is as near, majority vote
        top = int(np.bincount(lab, minlength=n_classes).argmax()) if lab.size else 0
        return np.full(len(X), top, np.int64)
    pts = np.asarray(m["points"], np.int64).reshape(-1, d)
    lab = np.asarray(m["labels"], np.int64)
    q = quantize(X, m["off"], m["mul"], m["shift"])
    dist = ((q[:, None, :] - pts[None, :, :]) ** 2).sum(-1)
    k = min(m["k"], len(lab))
    near = np.argsort(dist, axis=1, kind="stable")[:, :k]
    votes = np.zeros((len(X), n_classes), np.int64)
    np.add.at(votes, (np.repeat(np.arange(len(X)), k), lab[near].reshape(-1)), 1)
    return np.argmax(votes, axis=1)


# ------------------------------------------------------------------ both

def predict(m, X, n_classes):
    """Class per row of ``X`` (the selected features, in the model's order), as the device."""
    X = np.asarray(X, np.int64)
    if X.ndim == 1:
        X = X[None, :]
    if m["kind"] == "tree":
        return _predict_tree(m["tree"], X)
    return _predict_knn(m, X, n_classes)


def fit(spec, X, y, n_classes, seed=0):
    """``spec`` = {"kind": "tree", "depth", "min_leaf"}, {"kind": "knn", "k", "points"} or
    {"kind": "constant", "model": class} (a one-leaf tree: the same model for every input)."""
    if spec["kind"] == "constant":
        return {"kind": "tree", "tree": [-1, int(spec["model"]), 0, 0]}
    if spec["kind"] == "tree":
        return fit_tree(X, y, n_classes, spec["depth"], spec["min_leaf"], spec.get("weight"))
    return fit_knn(X, y, n_classes, spec["k"], spec.get("points", 256), seed)


def size(m):
    """Stored integers (a proxy for flash and heap on the board)."""
    if m["kind"] == "tree":
        return len(m["tree"])
    return len(m["points"]) + len(m["labels"]) + 2 * len(m["off"])
