"""Oracle labels, feature selection and candidate premodels, scored by grouped cross-validation.

* Oracle label of a probe: the cheapest model among those that decide the most of its trials
  right (models ordered by modeled latency, cheapest first).
* A routing (one model per probe) is scored by ``accuracy`` (trials decided right / trials) and
  ``latency`` (mean modeled ms); ``utility`` = accuracy - latency_weight * latency / (latency of
  the slowest model), so running the slowest model on every input has to buy ``latency_weight``
  of accuracy.
* Cross-validation folds are identities (no identity on both sides of a fold).
* Feature selection, as the adaptive-selection paper did: drop constant features, rank the rest
  by mutual information with the oracle label, drop any feature whose Spearman correlation with a
  better-ranked kept one exceeds ``max_corr``, then grow the set greedily (forward selection)
  while the cross-validated utility of a reference classifier improves, starting from the best
  constant choice (no features at all).
"""
from __future__ import annotations

import numpy as np

from eyeauth.premodel import classify as C

TREES = [{"kind": "tree", "depth": d, "min_leaf": m} for d in (1, 2, 3, 4, 5) for m in (10, 40)]
KNNS = [{"kind": "knn", "k": k, "points": p} for k in (1, 5, 9, 15) for p in (64, 256)]
REFERENCE = ({"kind": "tree", "depth": 3, "min_leaf": 20}, {"kind": "knn", "k": 9, "points": 256})


def oracle_labels(correct):
    """Index of the cheapest model (columns cheapest first) with the most trials right."""
    c = np.asarray(correct)
    return np.argmax(c == c.max(axis=1, keepdims=True), axis=1)


def score_routing(route, correct, trials, latency, weight):
    route = np.asarray(route, np.int64)
    acc = float(correct[np.arange(len(route)), route].mean() / trials)
    lat = float(np.asarray(latency)[route].mean())
    return {"accuracy": acc, "latency_ms": lat,
            "utility": acc - weight * lat / float(np.max(latency))}


def folds(groups, n_folds):
    ids = np.unique(groups)
    n = max(2, min(n_folds, len(ids)))
    return [np.isin(groups, ids[k::n]) for k in range(n)]


def cv_routing(spec, X, y, groups, n_classes, n_folds=4, seed=0):
    """Out-of-fold predictions of a candidate (each probe predicted by a model that never saw
    its identity)."""
    out = np.zeros(len(y), np.int64)
    for test in folds(groups, n_folds):
        m = C.fit(spec, X[~test], y[~test], n_classes, seed)
        out[test] = C.predict(m, X[test], n_classes)
    return out


def mutual_info(x, y, bins=8):
    """Mutual information (bits) of a quantile-binned feature with the labels."""
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1]))
    b = np.searchsorted(edges, x, side="right")
    joint = np.zeros((b.max() + 1, y.max() + 1))
    np.add.at(joint, (b, y), 1)
    joint /= joint.sum()
    px, py = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float((joint[nz] * np.log2(joint[nz] / (px @ py)[nz])).sum())


def _spearman(a, b):
    ra = np.argsort(np.argsort(a, kind="stable"), kind="stable").astype(float)
    rb = np.argsort(np.argsort(b, kind="stable"), kind="stable").astype(float)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def select_features(X, y, groups, names, correct, trials, latency, weight, n_classes,
                    max_corr=0.85, max_features=6, min_gain=0.0005, n_folds=4, seed=0):
    """(selected column indices, report dict)."""
    X = np.asarray(X, np.int64)
    report = {"dropped": {}, "mutual_info": {}, "steps": []}
    alive = []
    for j, n in enumerate(names):
        if X[:, j].std() == 0:
            report["dropped"][n] = "constant"
            continue
        mi = mutual_info(X[:, j], y)
        report["mutual_info"][n] = round(mi, 4)
        if mi < 1e-3:
            report["dropped"][n] = f"useless (mutual information {mi:.4f} bits)"
            continue
        alive.append(j)
    alive.sort(key=lambda j: -report["mutual_info"][names[j]])
    kept = []
    for j in alive:
        r = [(abs(_spearman(X[:, j], X[:, i])), i) for i in kept]
        worst = max(r) if r else (0.0, None)
        if worst[0] > max_corr:
            report["dropped"][names[j]] = (f"correlated with {names[worst[1]]} "
                                           f"(|rho| {worst[0]:.2f})")
        else:
            kept.append(j)
    report["candidates"] = [names[j] for j in kept]

    def cv_util(cols):
        best = -np.inf
        for spec in REFERENCE:
            r = cv_routing(spec, X[:, cols], y, groups, n_classes, n_folds, seed)
            best = max(best, score_routing(r, correct, trials, latency, weight)["utility"])
        return best

    const = max(score_routing(np.full(len(y), m), correct, trials, latency, weight)["utility"]
                for m in range(n_classes))
    report["constant_utility"] = round(const, 5)
    chosen, current = [], const
    while len(chosen) < max_features:
        trials_ = [(cv_util(chosen + [j]), j) for j in kept if j not in chosen]
        if not trials_:
            break
        u, j = max(trials_)
        if u < current + min_gain:
            break
        chosen.append(j)
        current = u
        report["steps"].append({"add": names[j], "cv_utility": round(u, 5)})
    for j in kept:
        if j not in chosen:
            report["dropped"][names[j]] = "no cross-validated gain (forward selection)"
    return chosen, report


def search_features(chosen, report, names, n=3):
    """The columns the tree and KNN candidates use: the selected features, or (when none beat
    the constant choice) the ``n`` best-ranked uncorrelated ones, so they are still compared."""
    if chosen:
        return list(chosen)
    return [names.index(f) for f in report["candidates"][:n]]


def search(X, y, groups, correct, trials, latency, weight, n_classes, n_folds=4, seed=0):
    """Every candidate's cross-validated accuracy, latency, utility and label accuracy (the
    constant choices of each model, trees, KNNs); the best by utility (ties: fewer stored
    integers)."""
    rows = []
    consts = [{"kind": "constant", "model": m} for m in range(n_classes)]
    for spec in consts + TREES + KNNS:
        r = cv_routing(spec, X, y, groups, n_classes, n_folds, seed)
        s = score_routing(r, correct, trials, latency, weight)
        s["label_accuracy"] = float((r == y).mean())
        full = C.fit(spec, X, y, n_classes, seed)
        rows.append({"spec": spec, **{k: round(v, 5) for k, v in s.items()},
                     "size": C.size(full)})
    best = max(rows, key=lambda r: (r["utility"], -r["size"]))
    return best, rows
