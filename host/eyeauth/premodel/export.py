"""The premodel file the board reads: models/premodel_<modality>.json (``eyeauth deploy`` copies
it to /models/). Format (every number an integer; read by firmware/eyeauth_fw/premodel.py):

    {"format": "eyeauth-premodel", "version": 1, "modality": "face"|"voice",
     "models": [model of class 0, class 1, ...]      (cheapest modeled path first),
     "features": [names], "index": [positions in FACE_NAMES / VOICE_NAMES],
     "kind": "tree", "tree": [f, t, l, r, ...]       (see classify; f = -1: leaf of class t)
     or "kind": "knn", "k", "shift", "off", "mul", "points" (n*d int8), "labels" (n),
     "escalate": [[from, to, feature, split, lo, hi, lo2, hi2], ...]   (optional, a cascade:
         after model `from` ran, run model `to` when its margin m = score - threshold has
         lo <= m < hi; with feature >= 0 (a position in FACE_NAMES / VOICE_NAMES) the band is
         (lo, hi) when feats[feature] <= split, else (lo2, hi2); the only non-integers: margins),
     "quality": [[feature, minimum], ...]             (optional, faces: a frame with
         feats[feature] < minimum is too poor for a face model; the board asks for the voice
         factor instead, as for a frame without a face),
     "meta": {...}                                   (host-only facts: ignored by the board)}

A tree without features (one leaf) is the constant choice: the board then computes no features
unless an escalate or quality rule reads one.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from eyeauth.errors import ModelError
from eyeauth.models import zoo
from eyeauth.premodel import classify as C
from eyeauth.premodel.features import NAMES

FORMAT = "eyeauth-premodel"
TRAIN_HINT = "rerun `eyeauth premodel train`"


def default_path(modality):
    return zoo.models_dir() / f"premodel_{modality}.json"


def document(modality, models, feature_cols, fitted, meta=None):
    names = NAMES[modality]
    doc = {"format": FORMAT, "version": 1, "modality": modality, "models": list(models),
           "features": [names[j] for j in feature_cols], "index": [int(j) for j in feature_cols]}
    doc.update({k: v for k, v in fitted.items()})
    doc["meta"] = meta or {}
    validate(doc, modality, "the exported premodel")
    return doc


def write(doc, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    tmp.replace(path)
    return path


def _int_list(v, n=None):
    return isinstance(v, list) and (n is None or len(v) == n) and \
        all(isinstance(x, int) and not isinstance(x, bool) for x in v)


def validate(doc, modality, where):
    """Raise ModelError (what is wrong, and the fix) unless ``doc`` is a premodel the board runs."""
    def bad(why):
        return ModelError(f"{where}: {why}; {TRAIN_HINT}")

    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != 1:
        raise bad("not an eyeauth premodel (version 1)")
    if doc.get("modality") != modality:
        raise bad(f"a premodel for {doc.get('modality')}, not {modality}")
    models, feats, index = doc.get("models"), doc.get("features"), doc.get("index")
    if not isinstance(models, list) or not models or not all(isinstance(m, str) for m in models):
        raise bad("models must be a non-empty list of names")
    if not isinstance(feats, list) or not _int_list(index, len(feats)):
        raise bad("features and index must be lists of the same length")
    names = NAMES[modality]
    for i, f in zip(index, feats):
        if not 0 <= i < len(names) or names[i] != f:
            raise bad(f"feature {f!r} is not feature {i} of this eyeauth version")
    nm, nd = len(models), len(feats)
    if doc.get("kind") == "tree":
        t = doc.get("tree")
        if not _int_list(t) or not t or len(t) % 4:
            raise bad("tree must be a list of 4 integers per node")
        nn = len(t) // 4
        for n in range(nn):
            f, v, lo, hi = t[4 * n:4 * n + 4]
            if (f < 0 and not 0 <= v < nm) or f >= nd or \
                    (f >= 0 and not (n < lo < nn and n < hi < nn)):
                raise bad(f"tree node {n} is malformed")
    elif doc.get("kind") == "knn":
        k, s, labels, pts = doc.get("k"), doc.get("shift"), doc.get("labels"), doc.get("points")
        if not nd or not isinstance(k, int) or k < 1 or not isinstance(s, int) or \
                not 0 <= s < 31 or not _int_list(labels) or not labels:
            raise bad("knn needs features, k >= 1, shift and labels")
        if not _int_list(pts, len(labels) * nd) or any(abs(x) > 127 for x in pts):
            raise bad("knn points must be len(labels) x features int8 values")
        if any(not 0 <= x < nm for x in labels):
            raise bad("a knn label is not a model index")
        if not _int_list(doc.get("off"), nd) or not _int_list(doc.get("mul"), nd):
            raise bad("knn off and mul must be one integer per feature")
    else:
        raise bad("kind must be tree or knn")
    num = (int, float)
    if "escalate" in doc and not isinstance(doc["escalate"], list):
        raise bad("escalate must be a list of rules")
    for row in doc.get("escalate") or []:
        if not isinstance(row, list) or len(row) != 8 or not _int_list(row[:4]) or \
                not all(isinstance(x, num) and not isinstance(x, bool) for x in row[4:]):
            raise bad("an escalate rule must be [from, to, feature, split, lo, hi, lo, hi]")
        a, b, col = row[:3]
        if not (0 <= a < nm and 0 <= b < nm and a != b and -1 <= col < len(names)):
            raise bad("an escalate rule names a model or feature that is not there")
        if row[4] > row[5] or row[6] > row[7]:
            raise bad("an escalate band must have lo <= hi")
    if "quality" in doc and (not isinstance(doc["quality"], list) or modality != "face"):
        raise bad("quality rules are a list, for faces only")
    for row in doc.get("quality") or []:
        if not _int_list(row, 2) or not 0 <= row[0] < len(names):
            raise bad("a quality rule must be [feature, minimum] integers")
    return doc


def load(modality, path=None):
    f = Path(path) if path else default_path(modality)
    try:
        text = f.read_text()
    except OSError:
        raise ModelError(f"{f} is missing; run `eyeauth premodel train --modality {modality}`"
                         ) from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ModelError(f"{f} is corrupt ({exc}); {TRAIN_HINT}") from None
    return validate(doc, modality, str(f))


def load_for(modality, path, built):
    """:func:`load`, and ModelError unless every model the premodel picks is in ``built``."""
    doc = load(modality, path)
    gone = [m for m in doc["models"] if m not in built]
    if gone:
        raise ModelError(f"the premodel picks {', '.join(gone)}, which is not built; the zoo "
                         f"changed: {TRAIN_HINT}")
    return doc


def choose(doc, X):
    """Class index per row of the full feature matrix ``X`` (all NAMES columns), computed with
    the board's integer arithmetic."""
    X = np.asarray(X, np.int64).reshape(len(X), -1)
    sub = X[:, doc["index"]] if doc["index"] else np.zeros((len(X), 0), np.int64)
    return C.predict(doc, sub, len(doc["models"]))


def router_summary(modality, path=None):
    """What the shipped router of a modality does, measured on the identities reserved for it
    (the file's ``meta``), for the co-design explorer; None when no router file is there or it
    changes nothing (it always runs one model).

    {"modality", "router", "chain" (models in the order they may run), "final" (the most
    capable: the model the router stands in for), "runs" (share of attempts that run each model
    of the chain), "overhead_vm_us" (features + choice + bands, timed in the MicroPython VM),
    "far_delta" / "frr_delta" (router - final model, at the shipped thresholds), "fitted_on"}."""
    try:
        doc = load(modality, path)
    except ModelError:
        return None
    meta = doc.get("meta") or {}
    fit = ((meta.get("candidates") or {}).get(meta.get("router")) or {}).get("fit") or {}
    ref = (meta.get("single_fit") or {}).get(meta.get("reference"))
    over = meta.get("overhead_vm_us")
    if not fit or not ref or over is None or doc.get("index"):
        return None  # older files, or a feature-chosen first model: no chain to summarise
    models = doc["models"]
    first = int(doc["tree"][1]) if doc.get("tree") and doc["tree"][0] < 0 else None
    if first is None:
        return None
    nxt = {int(r[0]): int(r[1]) for r in doc.get("escalate") or []}
    chain = [first]
    while chain[-1] in nxt and nxt[chain[-1]] not in chain:
        chain.append(nxt[chain[-1]])
    names = [models[k] for k in chain]
    if len(names) < 2:
        return None
    share = fit.get("share") or {}
    runs = [round(sum(float(share.get(n, 0.0)) for n in names[i:]), 4) for i in range(len(names))]
    runs[0] = 1.0
    return {"modality": modality, "router": meta.get("router"), "chain": names,
            "final": names[-1], "runs": runs, "overhead_vm_us": float(over),
            "far_delta": round(fit["far"] - ref["far"], 5),
            "frr_delta": round(fit["frr"] - ref["frr"], 5),
            "fitted_on": (meta.get("trained_on") or {}).get("set")}
