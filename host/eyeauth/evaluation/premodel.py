"""`eyeauth premodel eval`: the one evaluation of the routers (premodel file), on the evaluation
identities of every set of a modality or on one folder of the user's own people (``--data``).

Trials (:func:`eyeauth.premodel.data.collect`): per identity the first files enrol as the board
enrols them (int8 samples, template = normalised sum), every other file (and augmented copies:
``variants``) probes every template, scored as the board scores (faces through the detector and
its presence gate, voices through the utterance path; a refused probe is a reject), at the
shipped thresholds. Every single model, every router the premodel file carries (its ``meta``
candidates and the shipped one, run with the board's integer arithmetic) and the oracle are
scored on the same trials; latency per attempt is the modeled path of what ran
(:mod:`eyeauth.premodel.cost`) plus the router's own cost timed in the MicroPython VM.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from eyeauth import datasets
from eyeauth.errors import DataError, ModelError, UsageError
from eyeauth.premodel import cost, data as D, export, routers as R, select as S
from eyeauth.premodel.route import (BOARDS, TARGET_SLACK, VARIANTS, balanced_correct,
                                    candidate_docs, esc_map, reference, limit_files)


def folder_files(data, modality):
    """{identity: [paths]} of an ``<identity>/<files>`` folder (DataError when it is not one)."""
    ds = datasets.scan(data, modality)
    if len(ds.identities) < 2:
        raise DataError(f"{data} holds {len(ds.identities)} identities; the routers' evaluation "
                        "needs 2 or more folders of files (one per person)")
    return dict(ds.files)


def _with_costs(split, zoo_, board):
    c = cost.routing_costs(zoo_, board)
    s = dict(split)
    s["cost_first"] = np.array([c["first"][m] for m in split["models"]])
    s["cost_extra"] = np.array([c["extra"][m] for m in split["models"]])
    s["cost_refused"] = c["refused"]
    return s


def _bal(split, acc, mask):
    same = split["same"][mask]
    a = acc[mask]
    if not same.any() or same.all():
        return None
    return round(1.0 - (float(a[~same].mean()) + float(1.0 - a[same].mean())) / 2, 5)


def evaluate(modality, premodel=None, data_dir=None, variants=None, seed=1, max_files=None,
             max_identities=None, boards=BOARDS, cache=True, sets=None, data=None):
    """Every single model, every router of the premodel file (its ``meta`` candidates and the
    shipped one, each as the board runs it) and the oracle, per set: FAR, FRR, balanced
    accuracy, FRR at FAR 1 %, mean modeled latency per board (router cost included), share of
    attempts per model, and the issue's targets. Sets: the evaluation identities of every set
    of the modality (``data_dir``: the data root), or with ``data`` one ``<identity>/<files>``
    folder (the user's own people)."""
    z = D.Zoo(modality)
    doc = export.load_for(modality, premodel, z.names)
    if data is not None:
        if sets:
            raise UsageError("--set names the evaluation sets; with --data the folder is the set")
        all_sets = {Path(data).name: folder_files(data, modality)}
    else:
        all_sets = D.routing_sets(modality, "eval", data_dir)
    if sets:
        unknown = [s for s in sets if s not in all_sets]
        if unknown:
            raise DataError(f"unknown set {', '.join(unknown)}; known: {', '.join(all_sets)}")
        all_sets = {s: all_sets[s] for s in sets}
    trained = set(((doc.get("meta") or {}).get("trained_on") or {}).get("identities") or [])
    variants = int(variants or VARIANTS[modality])
    docs = candidate_docs(doc)
    over = {name: {b: cost.overhead(modality, d, b) for b in boards} for name, d in docs.items()}
    out = {"modality": modality, "premodel_file": str(premodel or export.default_path(modality)),
           "router": (doc.get("meta") or {}).get("router"), "sets": {},
           "overhead": over["shipped"], "router_overhead": over}
    for set_name, files in all_sets.items():
        files = {i: v for i, v in files.items() if i not in trained}
        if len(files) < 2:
            raise DataError(f"{set_name}: {len(files)} identities the premodel did not train on; "
                            "need 2 or more")
        files = limit_files(files, max_identities, max_files)
        split = D.collect(z, files, variants, seed, f"{modality} routers on {set_name}",
                          cost.routing_costs(z, boards[0]), D.Cache(cache))
        models = split["models"]
        if list(doc["models"]) != models:
            order = [doc["models"].index(m) for m in models]
            if sorted(order) != list(range(len(models))):
                raise ModelError(f"the premodel's models differ from the zoo's; {export.TRAIN_HINT}")
        remap = np.array([models.index(m) for m in doc["models"]])
        per_board = {b: (split if b == boards[0] else _with_costs(split, z, b)) for b in boards}
        res = {"identities": len(split["identities"]), "probes": int(len(split["X"])),
               "refused_probes": int(split["refused"].sum()),
               "genuine_trials": int(split["same"].sum()),
               "impostor_trials": int((~split["same"]).sum()),
               "skipped_identities": split["skipped_identities"], "variants": variants,
               "single": {}, "routers": {}}

        def measure(first, esc, name_over=None):
            r = {}
            for b, s in per_board.items():
                marg, lat, cur = R.run(s, first, esc)
                m = R.score(s, marg, lat, cur)
                oh = over[name_over][b]["overhead_ms"] if name_over else 0.0
                r[b] = {**m, "mean_latency_ms": round(m["mean_latency_ms"] + oh, 2),
                        "overhead_ms": oh}
            top = dict(r[boards[0]])
            top["boards"] = {b: {k: r[b][k] for k in ("mean_latency_ms", "genuine_latency_ms",
                                                       "impostor_latency_ms", "overhead_ms")}
                             for b in boards}
            return top

        P = len(split["X"])
        for k, m in enumerate(models):
            res["single"][m] = measure(np.full(P, k), None)
        for name, d in docs.items():
            first = remap[export.choose(d, split["X"])]
            esc = {int(remap[a]): (int(remap[b]), c, at, bands)
                   for a, (b, c, at, bands) in esc_map(d.get("escalate")).items()}
            quality = d.get("quality") or []
            row = measure(first, esc, name_over=name)
            if quality:
                flag = R.quality_flags(split, quality)
                marg, _, _ = R.run(split, first, esc)
                row["modality_choice"] = {
                    "to_voice": round(float(flag.mean()), 4),
                    "no_face": round(float(np.mean(split["refused"])), 4),
                    "face_balanced_accuracy_sent_to_voice": _bal(split, marg >= 0, flag),
                    "face_balanced_accuracy_kept": _bal(split, marg >= 0, ~flag)}
            res["routers"][name] = row
        cor = balanced_correct(split)
        oracle = S.oracle_labels(cor)
        res["oracle"] = measure(oracle, None)
        res["premodel"] = res["routers"].get("premodel")
        res["cascade"] = res["routers"].get("cascade")
        ref = reference(res["single"], models)
        refm = res["single"][models[ref]]
        mod_cost = 0.0
        if doc.get("quality") and "cascade" in over:
            mod_cost = max(0.0, over["shipped"][boards[0]]["overhead_ms"] -
                           over["cascade"][boards[0]]["overhead_ms"])
        sh = res["routers"]["shipped"]
        cas = res["cascade"] or sh
        res["targets"] = {
            "most_capable": models[ref],
            "speedup": round(refm["mean_latency_ms"] / max(sh["mean_latency_ms"], 1e-9), 3),
            "met_2x_faster": sh["mean_latency_ms"] <= 0.5 * refm["mean_latency_ms"],
            "far_delta": round(sh["far"] - refm["far"], 5),
            "frr_delta": round(sh["frr"] - refm["frr"], 5),
            "met_far_frr_within_1pt": bool(sh["far"] <= refm["far"] + TARGET_SLACK and
                                           sh["frr"] <= refm["frr"] + TARGET_SLACK),
            # the modality choice's own features are allowed for: it is a second router in
            # the same file, not part of which face model runs
            "cascade_latency_delta_ms": round(sh["mean_latency_ms"] - cas["mean_latency_ms"], 2),
            "modality_choice_cost_ms": round(mod_cost, 3),
            "met_not_worse_than_cascade": bool(
                sh["mean_latency_ms"] <= cas["mean_latency_ms"] + mod_cost + 0.01 and
                sh["frr"] <= cas["frr"] + 1e-9 and sh["far"] <= cas["far"] + 0.002),
            "overhead_fraction": {b: round(over["shipped"][b]["overhead_ms"] /
                                           max(sh["boards"][b]["mean_latency_ms"], 1e-9), 5)
                                  for b in boards},
            "met_overhead_le_2pct": all(over["shipped"][b]["overhead_ms"] <=
                                        0.02 * sh["boards"][b]["mean_latency_ms"] for b in boards)}
        if modality == "face" and split["refused"].any():
            res["no_face_share"] = round(float(split["refused"].mean()), 4)
        out["sets"][set_name] = res
    return out
