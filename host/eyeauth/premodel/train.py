"""`eyeauth premodel train|eval`: train the premodel on the zoo's training identities, export it
for the board, and evaluate it against every single model and the oracle on held-out identities.

Train (:func:`train`): inputs and trials of :mod:`eyeauth.premodel.data` on the identities every
zoo model of the modality trained on (ORL s1..s28, FSDD george/jackson/lucas/nicolas by the
cards); oracle labels (:func:`select.oracle_labels`); feature selection and a search over
constant choices, decision trees and KNNs (:mod:`select`), each scored by identity-grouped
cross-validation on ``utility = accuracy - latency_ms / (100 * ms_per_point)``: one point of
trial accuracy is worth ``ms_per_point`` ms of mean latency (default 25 ms: a wrongly rejected
user retries, which costs an attempt plus ~1.5 s, so one point of accuracy ~ 0.01 x 2.5 s).
The winner (ties: the smaller) is refitted on all training inputs and exported as integers.

Eval (:func:`evaluate`): the identities of the data folder that no zoo model (nor the detector)
trained on, inputs built the same way with another seed; every single model, the premodel (its
exported integer form, exactly the board's arithmetic) and the oracle, each with accuracy (trials
decided right / trials), FAR, FRR and the modeled ESP-EYE mean latency (:mod:`cost`; the
premodel's includes its own features + choice).
"""
from __future__ import annotations

import numpy as np

from eyeauth import datasets
from eyeauth.errors import DataError, UsageError
from eyeauth.premodel import classify as C, cost, data as D, export, select as S
from eyeauth.premodel.features import NAMES

MS_PER_POINT = 25.0
VARIANTS = {"face": 6, "voice": 3}
MODALITIES = ("face", "voice")
COMMAND = "eyeauth premodel train"


def _check(modality):
    if modality not in MODALITIES:
        raise UsageError(f"modality must be face or voice, not {modality!r}")


def _latency(zoo_, board):
    lat, info = cost.model_paths([zoo_.cards[n] for n in zoo_.names], zoo_.modality, board)
    order = sorted(zoo_.names, key=lambda n: (lat[n], n))
    return order, lat, info


def _columns(split, order):
    idx = [split["models"].index(n) for n in order]
    return {k: split[k][:, idx] for k in ("correct", "genuine_acc", "impostor_ok")}


def _warnings(zoo_):
    if zoo_.stale:
        return [f"thresholds.json was computed for other builds of {', '.join(zoo_.stale)}: "
                "rerun `eyeauth eval thresholds`, then `eyeauth premodel train`"]
    return []


def train(modality, data_dir=None, variants=None, seed=0, max_files=None,
          ms_per_point=MS_PER_POINT, board="esp-eye", out=None, write=True, n_folds=4,
          cache=True, identities=None):
    """Train, select and export the premodel of a modality; returns a report (dict).

    ``identities``: train on these instead of the zoo's training identities (for instance
    identities no zoo model saw; :func:`evaluate` then leaves them out)."""
    _check(modality)
    if ms_per_point <= 0:
        raise UsageError("--ms-per-point must be positive")
    z = D.Zoo(modality)
    root = D.resolve_root(modality, data_dir) if data_dir else D.default_root(modality, split=z.split())
    ds = datasets.scan(root, modality)
    if not identities and z.split() and not data_dir:
        from eyeauth import splits

        # the identities reserved for the premodel: never trained an embedder, never set a
        # threshold, never reported (data/splits.json)
        identities = [i for i in splits.identities(z.split(), "premodel") if i in ds.files]
    if identities:
        ids = list(identities)
        missing = [i for i in ids if i not in ds.files]
        if missing:
            raise DataError(f"identities not in {root}: {', '.join(missing)}")
        seen = z.seen_ids()
        enrolled = ids if (z.split() and not data_dir) else \
            ids + [i for i in ds.identities if i not in seen and i not in ids]
    else:
        ids = [i for i in z.training_ids() if i in ds.files]
        enrolled = ids
    if len(enrolled) < 2:
        raise DataError(f"{root} holds {len(ids)} of the identities to train on; the premodel "
                        "needs 2 or more (give the data root holding faces/orl and voices/fsdd)")
    variants = int(variants or VARIANTS[modality])
    split = D.build_split(z, root, enrolled, variants, seed, max_files,
                          label=f"{modality} training inputs", cache=D.Cache(cache),
                          probe_ids=ids)
    order, lat, lat_info = _latency(z, board)
    cols = _columns(split, order)
    cor, trials = cols["correct"], split["trials"]
    L = np.array([lat[n] for n in order])
    weight = float(L.max()) / (100.0 * ms_per_point)
    y = S.oracle_labels(cor)
    M = len(order)
    # cross-validation folds: identities; files when the probes come from one identity
    groups = split["groups"] if len(np.unique(split["groups"])) > 1 else split["file"]
    names = NAMES[modality]
    feats, sel = S.select_features(split["X"], y, groups, names, cor, trials, L,
                                   weight, M, n_folds=n_folds, seed=seed)
    feats = S.search_features(feats, sel, list(names))
    Xs = split["X"][:, feats]
    best, rows = S.search(Xs, y, groups, cor, trials, L, weight, M, n_folds, seed)
    fitted = C.fit(best["spec"], Xs, y, M, seed)
    used = [] if best["spec"]["kind"] == "constant" else feats
    meta = {"command": COMMAND, "ms_per_point": ms_per_point, "board": board,
            "latency_ms": {n: lat[n] for n in order},
            "zoo": {n: z.cards[n].get("build_hash") for n in order},
            "thresholds": {n: z.threshold[n] for n in order},
            "spec": best["spec"], "trained_on": {"identities": ids, "probes": int(len(y)),
                                                  "variants": variants, "seed": seed},
            "cv": {k: best[k] for k in ("accuracy", "latency_ms", "utility", "label_accuracy")}}
    doc = export.document(modality, order, used, fitted, meta)
    over = cost.overhead(modality, doc, board)
    path = export.default_path(modality) if out is None else out
    if write:
        export.write(doc, path)
    singles = {n: S.score_routing(np.full(len(y), k), cor, trials, L, weight)
               for k, n in enumerate(order)}
    return {"modality": modality, "path": str(path) if write else None, "written": bool(write),
            "kind": doc["kind"], "spec": best["spec"], "features": doc["features"],
            "models": order, "latency_ms": meta["latency_ms"], "latency_stages": lat_info,
            "labels": {n: int((y == k).sum()) for k, n in enumerate(order)},
            "probes": int(len(y)), "identities": ids, "enrolled": split["identities"],
            "rejected_probes": split["rejected"],
            "selection": {"selected": doc["features"], "searched_with": [names[j] for j in feats],
                          **sel},
            "candidates": rows, "chosen_cv": meta["cv"],
            "cv_single": {n: {k: round(v, 5) for k, v in s.items()} for n, s in singles.items()},
            "cv_oracle": {k: round(v, 5) for k, v in
                          S.score_routing(y, cor, trials, L, weight).items()},
            "overhead": over, "size_ints": C.size(fitted), "ms_per_point": ms_per_point,
            "warnings": _warnings(z), "document": doc}


# ------------------------------------------------------------------ evaluation

def _rates(route, cols, trials):
    p = np.arange(len(route))
    acc = float(cols["correct"][p, route].sum() / (len(route) * trials))
    frr = float(1.0 - cols["genuine_acc"][p, route].mean())
    far = float(1.0 - cols["impostor_ok"][p, route].sum() / (len(route) * (trials - 1)))
    return {"accuracy": round(acc, 5), "far": round(far, 5), "frr": round(frr, 5),
            "balanced_accuracy": round(1.0 - (far + frr) / 2, 5)}


def _choices(route, order):
    n = max(len(route), 1)
    return {m: round(float((route == k).sum()) / n, 4) for k, m in enumerate(order)}


def heldout_ids(zoo_, ds, doc=None, minimum=2):
    """Identities of ``ds`` that no zoo model (nor the detector) trained on, and with ``doc``
    none whose probes trained the premodel either."""
    seen = zoo_.seen_ids()
    if doc:
        seen |= set(((doc.get("meta") or {}).get("trained_on") or {}).get("identities") or [])
    held = [i for i in ds.identities if i not in seen]
    if len(held) < minimum:
        raise DataError(f"{ds.root} has {len(held)} identities that no {zoo_.modality} model "
                        f"{'and not the premodel ' if doc else ''}trained on; the evaluation "
                        f"needs at least {minimum}")
    return held


def evaluate(modality, data=None, premodel=None, variants=None, seed=1, max_files=None,
             board="esp-eye", max_identities=None, cache=True):
    """Single models vs the premodel vs the oracle on held-out identities (dict)."""
    _check(modality)
    z = D.Zoo(modality)
    doc = export.load_for(modality, premodel, z.names)
    root = D.resolve_root(modality, data) if data else D.default_root(modality, split=z.split())
    ds = datasets.scan(root, modality)
    if z.split() and not data:
        from eyeauth import splits

        ds = ds.subset([i for i in splits.identities(z.split(), "eval") if i in ds.files])
    enrolled = heldout_ids(z, ds)
    enrolled = enrolled[:max_identities] if max_identities else enrolled
    probes = heldout_ids(z, ds, doc, minimum=1)
    probes = [i for i in probes if i in enrolled]
    if not probes:
        raise DataError("every held-out identity trained the premodel: nothing left to probe")
    variants = int(variants or VARIANTS[modality])
    split = D.build_split(z, root, enrolled, variants, seed, max_files,
                          label=f"{modality} held-out inputs", cache=D.Cache(cache),
                          probe_ids=probes)
    order, lat, lat_info = _latency(z, board)
    cols = _columns(split, order)
    trials = split["trials"]
    L = np.array([lat[n] for n in order])
    P = len(split["X"])

    single = {}
    for k, n in enumerate(order):
        single[n] = {**_rates(np.full(P, k), cols, trials), "mean_latency_ms": round(lat[n], 2),
                     "macs": z.cards[n].get("macs")}
    over = cost.overhead(modality, doc, board)
    picked = export.choose(doc, split["X"])
    route = np.array([order.index(doc["models"][c]) for c in picked], np.int64)
    pm_ms = float(L[route].mean()) + over["overhead_ms"]
    premodel_r = {**_rates(route, cols, trials), "mean_latency_ms": round(pm_ms, 2),
                  "overhead_ms": over["overhead_ms"],
                  "overhead_fraction": round(over["overhead_ms"] / pm_ms, 5),
                  "choices": _choices(route, order), "kind": doc["kind"],
                  "features": doc["features"], "overhead": over}
    oracle_route = S.oracle_labels(cols["correct"])
    oracle = {**_rates(oracle_route, cols, trials),
              "mean_latency_ms": round(float(L[oracle_route].mean()), 2),
              "choices": _choices(oracle_route, order)}

    # how much routing these features allow at all: a depth-3 tree fitted on this very data
    # (optimistic: it sees its own test labels)
    y = oracle_route
    fit = C.fit({"kind": "tree", "depth": 3, "min_leaf": 20}, split["X"], y, len(order))
    r_in = C.predict(fit, split["X"], len(order))
    headroom = {**_rates(r_in, cols, trials), "mean_latency_ms": round(float(L[r_in].mean()), 2),
                "note": "depth-3 tree over all features fitted on these held-out labels "
                        "(optimistic upper bound of feature-based routing)"}

    best_acc = max(s["accuracy"] for s in single.values())
    capable = max((n for n in order if single[n]["accuracy"] == best_acc), key=lambda n: lat[n])
    largest = max(order, key=lambda n: (z.cards[n].get("macs") or 0, lat[n]))

    def versus(ref):
        s = single[ref]
        return {"model": ref, "speedup": round(s["mean_latency_ms"] / pm_ms, 3),
                "accuracy_delta": round(premodel_r["accuracy"] - s["accuracy"], 5),
                "met_1.8x_at_no_lower_accuracy": bool(s["mean_latency_ms"] / pm_ms >= 1.8 and
                                                      premodel_r["accuracy"] >= s["accuracy"])}

    vs_oracle = pm_ms / max(oracle["mean_latency_ms"], 1e-9) - 1.0
    targets = {"most_capable": versus(capable), "largest": versus(largest),
               "overhead_fraction": premodel_r["overhead_fraction"],
               "met_overhead_le_5pct": premodel_r["overhead_fraction"] <= 0.05,
               "latency_vs_oracle": round(vs_oracle, 4),
               "met_within_15pct_of_oracle": vs_oracle <= 0.15,
               "accuracy_vs_oracle": round(premodel_r["accuracy"] - oracle["accuracy"], 5)}
    return {"modality": modality, "single": single, "premodel": premodel_r, "oracle": oracle,
            "targets": targets, "headroom": headroom, "models": order,
            "identities": split["probe_identities"], "enrolled": split["identities"],
            "probes": P, "trials_per_probe": trials,
            "genuine_trials": P, "impostor_trials": P * (trials - 1),
            "rejected_probes": split["rejected"], "variants": variants, "seed": seed,
            "data": str(root), "premodel_file": str(premodel or export.default_path(modality)),
            "latency": lat_info, "warnings": _warnings(z)}
