"""Train the routers of :mod:`eyeauth.premodel.routers` (issue 12): `eyeauth premodel train`
(their evaluation: :mod:`eyeauth.evaluation.premodel`).

Training uses only the identities data/splits.json reserves for the premodel (never used to
train an embedder or fit a threshold): LFW ``premodel`` faces, and 3-word phrases of the Speech
Commands ``premodel`` speakers. Every candidate is fitted there:

* the feature premodel (labels: per probe the cheapest model with the best *balanced*
  correctness, 0.5 x genuine trial right + 0.5 x share of impostor trials right, so impostor
  trials no longer outvote the genuine one 100:1; features and tree / KNN selected by
  identity-grouped cross-validation as before, :mod:`select`);
* the confidence cascade: every pair cheap -> capable and the chain through every model
  (cheapest -> middle -> most capable), bands fitted as the cheapest whose FAR and FRR are within
  0.5 point of the most capable single model's on these identities;
* the hybrid: the best cascade pair with the band chosen by one feature;
* (faces) the modality choice: a quality rule after which the board asks for the voice factor.

The shipped router is the cheapest candidate within 0.5 point of the most capable model's FAR
and FRR on the reserved identities (else the best balanced accuracy); it is written with the
other candidates in its ``meta`` (:func:`candidate_docs`) so that the evaluation scores every one
of them on the evaluation identities of every set, at the board's arithmetic.
"""
from __future__ import annotations

import numpy as np

from eyeauth.premodel import classify as C, cost, data as D, export, routers as R, select as S
from eyeauth.premodel.features import NAMES

MODALITIES = ("face", "voice")
VARIANTS = {"face": 4, "voice": 3}
SLACK = 0.005          # fitting: within 0.5 point of the reference on the reserved identities
TARGET_SLACK = 0.01    # the target: within 1 point on the evaluation sets
BOARDS = ("esp-eye", "esp32-s3-eye")
QUALITY_GAP = 0.05     # the modality choice ships when flagged frames lose >= 5 points
COMMAND = "eyeauth premodel train"


def limit_files(files, max_identities, max_files):
    items = list(files.items())[:max_identities] if max_identities else list(files.items())
    return {i: (v[:max_files] if max_files else v) for i, v in items}


def balanced_correct(split):
    """(P, M): 0.5 x (genuine trial decided right) + 0.5 x (share of impostor trials right)."""
    acc = split["margins"] >= 0                      # (M, P, T)
    same = split["same"][None]
    g = (acc & same).sum(2)                          # genuine accepted (0/1)
    i_ok = (~acc & ~same).sum(2) / np.maximum((~split["same"]).sum(1), 1)[None]
    return (0.5 * g + 0.5 * i_ok).T


def reference(singles, models):
    """The most capable single model: the best balanced accuracy (ties: the costlier)."""
    return max(range(len(models)), key=lambda k: (singles[models[k]]["balanced_accuracy"], k))


def _esc_doc(rule_map):
    """{from: (to, col, at, bands)} -> the document's integer/float rows."""
    rows = []
    for a, (b, col, at, bands) in rule_map.items():
        b2 = bands[1] if len(bands) > 1 else bands[0]
        rows.append([int(a), int(b), -1 if col is None else int(col), int(at),
                     round(float(bands[0][0]), 5), round(float(bands[0][1]), 5),
                     round(float(b2[0]), 5), round(float(b2[1]), 5)])
    return rows


def esc_map(rows):
    """The document's escalate rows -> {from: (to, col, at, bands)} for :func:`routers.run`."""
    out = {}
    for a, b, col, at, lo0, hi0, lo1, hi1 in rows or ():
        out[int(a)] = (int(b), None if col < 0 else int(col), int(at), [(lo0, hi0), (lo1, hi1)])
    return out


def _candidate(name, first_fit, first_cols, esc_rows, metrics_, quality=None):
    return {"name": name, "first": first_fit, "first_index": [int(j) for j in first_cols],
            "escalate": esc_rows, "quality": quality or [], "fit": metrics_}


def _doc(modality, models, cand, meta):
    doc = export.document(modality, models, cand["first_index"], cand["first"], meta)
    if cand["escalate"]:
        doc["escalate"] = cand["escalate"]
    if cand["quality"]:
        doc["quality"] = [list(map(int, q)) for q in cand["quality"]]
    return export.validate(doc, modality, "the exported premodel")


def _first_route(cand, X, n):
    cols = cand["first_index"]
    sub = X[:, cols] if cols else np.zeros((len(X), 0), np.int64)
    return C.predict(cand["first"], sub, n)


def train(modality, data_dir=None, variants=None, seed=0, max_files=None, max_identities=None,
          board="esp-eye", out=None, write=True, cache=True, ms_per_point=25.0, n_folds=4):
    z = D.Zoo(modality)
    sets = D.routing_sets(modality, "premodel", data_dir)
    (set_name, files), = sets.items()
    files = limit_files(files, max_identities, max_files)
    variants = int(variants or VARIANTS[modality])
    split = D.collect(z, files, variants, seed, f"{modality} router training ({set_name})",
                      cost.routing_costs(z, board), D.Cache(cache))
    models = split["models"]
    M, P = len(models), len(split["X"])
    singles = {m: R.single(split, k) for k, m in enumerate(models)}
    ref = reference(singles, models)
    rf, rr = singles[models[ref]]["far"], singles[models[ref]]["frr"]

    # the feature premodel: which one model runs
    cor = balanced_correct(split)
    y = S.oracle_labels(cor)
    L = split["cost_first"]
    weight = float(L.max()) / (100.0 * ms_per_point)
    groups = split["groups"]
    feats, sel = S.select_features(split["X"], y, groups, NAMES[modality], cor, 1, L, weight, M,
                                   n_folds=n_folds, seed=seed)
    searched = S.search_features(feats, sel, list(NAMES[modality]))
    best, rows = S.search(split["X"][:, searched], y, groups, cor, 1, L, weight, M, n_folds, seed)
    fitted = C.fit(best["spec"], split["X"][:, searched], y, M, seed)
    used = [] if best["spec"]["kind"] == "constant" else searched
    pm_route = C.predict(fitted, split["X"][:, used] if used else np.zeros((P, 0), np.int64), M)
    cands = [_candidate("premodel", fitted, used, [], R.evaluate(split, pm_route))]

    # the confidence cascade: the best pair cheap -> capable
    pairs = []
    for a in range(M):
        for b in range(a + 1, M):
            band, r = R.fit_band(split, a, b, rf, rr, SLACK)
            ok = r["far"] <= rf + SLACK and r["frr"] <= rr + SLACK
            pairs.append(((0, r["mean_latency_ms"]) if ok else
                          (1, -r["balanced_accuracy"], r["mean_latency_ms"]), a, b, band, r))
    pairs.sort(key=lambda t: t[0])
    _, a, b, band, r = pairs[0]
    first_a = C.fit({"kind": "constant", "model": a}, np.zeros((P, 0)), np.full(P, a), M)
    cascade = _candidate("cascade", first_a, [], _esc_doc({a: (b, None, 0, [band])}), r)
    chains = [{"chain": [models[p[1]], models[p[2]]], "bands": [list(p[3])],
               **{k: p[4][k] for k in ("far", "frr", "mean_latency_ms")}} for p in pairs]
    # every model in turn: the cheapest unsure band goes on to the middle model, its unsure
    # band to the most capable one
    three = R.fit_chain(split, rf, rr, SLACK)
    if three:
        bands3, r3 = three
        chains.append({"chain": list(models), "bands": [list(bands3[0]), list(bands3[1])],
                       **{k: r3[k] for k in ("far", "frr", "mean_latency_ms")}})
        ok3 = r3["far"] <= rf + SLACK and r3["frr"] <= rr + SLACK
        key3 = (0, r3["mean_latency_ms"]) if ok3 else \
            (1, -r3["balanced_accuracy"], r3["mean_latency_ms"])
        if key3 < pairs[0][0]:
            first0 = C.fit({"kind": "constant", "model": 0}, np.zeros((P, 0)), np.zeros(P, np.int64), M)
            cascade = _candidate("cascade", first0, [], _esc_doc(
                {0: (1, None, 0, [bands3[0]]), 1: (2, None, 0, [bands3[1]])}), r3)
    cascade["chains"] = chains
    cands.append(cascade)

    # the hybrid: that pair, the band picked by one feature
    hyb_cols = [NAMES[modality].index(f) for f in sel.get("candidates", [])[:4]]
    got = R.fit_hybrid(split, a, b, hyb_cols, rf, rr, SLACK) if hyb_cols else None
    if got:
        rule, rh = got
        cands.append(_candidate("hybrid", first_a, [], _esc_doc({a: (b,) + rule}), rh))

    for c in cands:
        c["fit"]["meets_fit"] = bool(c["fit"]["far"] <= rf + SLACK and c["fit"]["frr"] <= rr + SLACK)
    shipped = min(cands, key=lambda c: (0, c["fit"]["mean_latency_ms"]) if c["fit"]["meets_fit"]
                  else (1, -c["fit"]["balanced_accuracy"], c["fit"]["mean_latency_ms"]))

    quality = None
    if modality == "face":
        marg, _, _ = R.run(split, _first_route(shipped, split["X"], M),
                           esc_map(shipped["escalate"]))
        qcols = [NAMES["face"].index(f) for f in ("mean", "contrast", "sharp", "box_rel")
                 if f in NAMES["face"]]
        quality = R.fit_quality(split, marg >= 0, qcols, NAMES["face"])
        # shipped only when the flagged frames are clearly worse for the face router (by
        # QUALITY_GAP of balanced accuracy): the voice factor then decides them
        if quality["rules"] and quality["gap"] >= QUALITY_GAP:
            shipped = dict(shipped, quality=quality["rules"])
        quality["shipped"] = bool(shipped["quality"])

    def public(c):
        return {"escalate": c["escalate"], "quality": c["quality"], "first_index": c["first_index"],
                "first": {k: v for k, v in c["first"].items()}, "fit": c["fit"]}

    meta = {"command": COMMAND, "router": shipped["name"], "board": board,
            "latency_ms": {m: float(L[k]) for k, m in enumerate(models)},
            "zoo": {m: z.cards[m].get("build_hash") for m in models},
            "thresholds": {m: z.threshold[m] for m in models},
            "spec": best["spec"],
            "trained_on": {"set": set_name, "identities": split["identities"], "probes": P,
                           "variants": variants, "seed": seed},
            "reference": models[ref], "slack": SLACK,
            "single_fit": {m: {k: v[k] for k in ("far", "frr", "balanced_accuracy",
                                                 "mean_latency_ms")} for m, v in singles.items()},
            "candidates": {c["name"]: public(c) for c in cands}}
    doc = _doc(modality, models, shipped, meta)
    over = cost.overhead(modality, doc, board)
    # board-independent: the explorer scales it by each board's python_speed_factor
    doc["meta"]["overhead_vm_us"] = round(over["overhead_ms"] * 1000.0 /
                                          max(over["python_speed_factor"], 1e-9), 3)
    path = export.default_path(modality) if out is None else out
    if write:
        export.write(doc, path)
    return {"modality": modality, "path": str(path) if write else None, "written": bool(write),
            "router": shipped["name"], "set": set_name, "identities": len(split["identities"]),
            "probes": P, "refused_probes": int(split["refused"].sum()), "models": models,
            "reference": models[ref], "single": singles,
            "candidates": {c["name"]: c["fit"] for c in cands},
            "cascade_chains": cascade["chains"], "quality": quality,
            "premodel_selection": {"selected": [NAMES[modality][j] for j in used],
                                   "searched_with": [NAMES[modality][j] for j in searched],
                                   "spec": best["spec"], **sel},
            "labels": {m: int((y == k).sum()) for k, m in enumerate(models)},
            "overhead": over, "costs": split["costs"], "document": doc}


def candidate_docs(doc):
    """{name: full premodel document} of every router the file carries (its ``meta``
    candidates) and ``shipped`` (the file itself), each as the board would run it."""
    meta = doc.get("meta") or {}
    out = {}
    for name, c in (meta.get("candidates") or {}).items():
        d = {k: v for k, v in doc.items() if k not in ("tree", "k", "shift", "off", "mul",
                                                     "points", "labels", "escalate", "quality")}
        d.update(c["first"])
        d["index"] = list(c["first_index"])
        d["features"] = [NAMES[doc["modality"]][j] for j in d["index"]]
        if c.get("escalate"):
            d["escalate"] = c["escalate"]
        if c.get("quality"):
            d["quality"] = c["quality"]
        d["meta"] = {}
        out[name] = export.validate(d, doc["modality"], f"router {name} of the premodel")
    out["shipped"] = doc
    return out
