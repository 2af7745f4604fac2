"""Operating thresholds of the zoo models, scored exactly as the board scores
(:mod:`eyeauth.evaluation.scoring`; `eyeauth eval thresholds`, written to models/thresholds.json;
deploy ships them, with the model list, in the release manifest /models/release.json:
eyeauth.release).

Protocol of :func:`build`: for every built face and voice model of the zoo, the identities the
model never trained on (``card["training"]["heldout_identities"]``; else ORL s29..s40 and FSDD
theo, yweweler); the first E files of each identity (natural order; E = 3 faces, 5 clips) are
enrolled, every other file is a probe scored against every identity's template (genuine: its own;
impostor: each other one). Faces go frame -> detector -> square box -> crop -> embedder, as on the
board (the detector box is computed once per image and shared by the face models: the same as
``embed.embed_face(model, image, box=None)``). The operating threshold of a model is its EER
threshold (where FAR and FRR cross on that sweep, interpolated like ``scoring.eer``), or with a
FAR target the lowest threshold at that FAR (``scoring.far_threshold``).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from eyeauth import datasets
from eyeauth.errors import DataError, ModelError
from eyeauth.evaluation import embeddings, scoring
from eyeauth.models import zoo
from eyeauth.models.progress import note

MODALITIES = ("face", "voice")
ENROL = {"face": 3, "voice": 5}
DEFAULT_HELDOUT = {"face": [f"s{i}" for i in range(29, 41)], "voice": ["theo", "yweweler"]}
DEFAULT_DATA = {"face": "faces/orl", "voice": "voices/fsdd/recordings"}
COMMAND = "eyeauth eval thresholds"


# ------------------------------------------------------------------ build

def heldout_of(card, modality):
    """(identities, data folder) the model's threshold is fitted on: the calibration part of
    its split (data/splits.json) for split-trained models, else its held-out identities."""
    split = (card.get("spec") or {}).get("split")
    if split:
        from eyeauth import splits

        return splits.identities(split, "calib"), splits.SOURCES[split][0]
    tr = card.get("training")
    if isinstance(tr, dict) and tr.get("heldout_identities"):
        return list(tr["heldout_identities"]), tr.get("data") or DEFAULT_DATA[modality]
    data = tr.get("data") if isinstance(tr, dict) else None
    return list(DEFAULT_HELDOUT[modality]), data or DEFAULT_DATA[modality]


def _by_macs(cards):
    return sorted(cards, key=lambda c: (c.get("macs") or 0, c["name"]))


def evaluate_model(card, modality, data_dir=None, enrol=None, max_files=None, far_target=None):
    """Scores and operating threshold of one model on its calibration (or held-out) identities:
    the EER threshold, or with ``far_target`` the threshold at that FAR."""
    from eyeauth import SHARED_DATA_DIR

    heldout, rel = heldout_of(card, modality)
    split = (card.get("spec") or {}).get("split")
    if modality == "voice" and split:
        # the board's voice factor is a spoken phrase: fit on 3-word phrases of the
        # calibration speakers (crosseval.phrase_files), as the evaluation scores them
        from eyeauth.evaluation import crosseval

        files = crosseval.phrase_files(split, data_dir, part="calib")
        rel = f"{rel} (calib speakers, 3-word phrases)"
        files = {i: f[:max_files] if max_files else f for i, f in files.items()}
    else:
        root = Path(data_dir or SHARED_DATA_DIR) / rel
        ds = datasets.scan(root, modality)
        missing = [i for i in heldout if i not in ds.files]
        if missing:
            raise DataError(f"held-out identities of {card['name']} missing from {root}: "
                            f"{', '.join(missing)}")
        files = {i: ds.files[i][:max_files] if max_files else ds.files[i] for i in heldout}
    enrol = enrol or ENROL[modality]
    split, short = scoring.enrol_split(files, enrol)  # too few files to enrol: skipped, counted
    if len(split) < 2:
        raise DataError(f"{card['name']}: need at least 2 held-out identities with more than "
                        f"{enrol} files, have {len(split)}")
    every = [p for i in split for p in split[i][0] + split[i][1]]
    emb = embeddings.embed_files([card], every, modality)[card["name"]]
    refused = embeddings.no_face if modality == "face" else None
    index = {str(p): n for n, p in enumerate(every)}

    def emb_of(paths):
        return emb[[index[str(p)] for p in paths]]

    g, imp, *_ = scoring.device_trials(emb_of, split, refused)
    e, thr = scoring.eer_threshold(g, imp)
    if far_target:
        thr = scoring.far_threshold(imp, far_target)
    far = float(np.mean(imp >= thr))
    frr = float(np.mean(g < thr))
    return {"model": card["name"], "modality": modality, "eer": e, "threshold": thr,
            "far": far, "frr": frr, "frr_at_far_1pct": scoring.frr_at_far(g, imp, 0.01),
            "genuine_trials": int(g.size), "impostor_trials": int(imp.size),
            "identities": list(split), "skipped_identities": len(short), "data": rel,
            "enrol": enrol, "files": sum(len(e) + len(p) for e, p in split.values()),
            "macs": card.get("macs"), "latency_esp32_ms": card.get("latency_esp32_ms"),
            "impostor": imp}  # the scores themselves (identification.py fits their tail)


def _file_sha(card):
    """sha256 of the model file a threshold is fitted on (the release check compares it)."""
    from eyeauth.release import sha256_file

    return sha256_file(zoo.tflite_path(card["name"]))


def default_path():
    return zoo.models_dir() / "thresholds.json"


FAR_TARGET = 0.01


def build(out=None, data_dir=None, max_files=None, write=True, far_target=FAR_TARGET):
    """Compute every face and voice model's EER threshold and write models/thresholds.json.

    Returns the written object: thresholds, models (per modality, by MACs), default (best EER
    per modality; ties go to fewer MACs), eer, command, data (protocol and per-model detail)."""
    out = Path(out) if out else default_path()
    result = {"thresholds": {}, "models": {}, "default": {}, "eer": {}, "command": COMMAND,
              "far_target": far_target,
              "data": {"protocol": "calibration identities of each model's split (data/splits.json; "
                       "never trained on, never reported), else its held-out identities; first E "
                       "files of each enrolled as int8 (quantize_unit), others probe every "
                       "template; score = cosine with the normalised sum of the int8 samples "
                       "(device scoring); threshold = the lowest with FAR <= far_target on those "
                       "trials (EER threshold when far_target is 0); faces via the detector, a "
                       "frame without a face is a reject",
                       "enrol": dict(ENROL), "per_model": {}}}
    found = 0
    for modality in MODALITIES:
        cards = _by_macs(zoo.list_models(modality=modality))
        result["models"][modality] = [c["name"] for c in cards]
        best = None
        for card in cards:
            found += 1
            r = evaluate_model(card, modality, data_dir, max_files=max_files,
                               far_target=far_target)
            name = card["name"]
            result["thresholds"][name] = round(r["threshold"], 6)
            result["eer"][name] = round(r["eer"], 4)
            result["data"]["per_model"][name] = {
                "modality": modality, "data": r["data"], "identities": r["identities"], "skipped_identities": r["skipped_identities"],
                "files": r["files"], "genuine_trials": r["genuine_trials"],
                "impostor_trials": r["impostor_trials"], "far": round(r["far"], 4),
                "frr": round(r["frr"], 4), "frr_at_far_1pct": round(r["frr_at_far_1pct"], 4),
                "macs": r["macs"], "latency_esp32_ms": r["latency_esp32_ms"],
                "build_hash": card.get("build_hash"),
                "sha256": _file_sha(card)}
            note(f"{name}: EER {100 * r['eer']:.2f}% at threshold {r['threshold']:.4f} "
                 f"({r['genuine_trials']}+{r['impostor_trials']} trials)")
            if best is None or r["eer"] < best[0] - 1e-12:
                best = (r["eer"], name)
        result["default"][modality] = best[1] if best else None
    if not found:
        raise ModelError("no built face or voice models; run `eyeauth models build` first")
    if write:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(result, indent=1) + "\n")
        tmp.replace(out)
    result["path"] = str(out)
    return result


def load(path=None):
    """The thresholds file (dict, as written). Raises ModelError (release.ReleaseError) with the
    fix when it is missing or corrupt. Typed: :func:`eyeauth.release.read_thresholds`."""
    from eyeauth.release import read_thresholds

    return dict(read_thresholds(Path(path) if path else default_path()).raw)
