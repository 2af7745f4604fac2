"""Operating thresholds of the zoo models, scored exactly as the board scores (`eyeauth eval
thresholds`, written to models/thresholds.json; deploy ships them, with the model list, in the
release manifest /models/release.json: eyeauth.release).

Device scoring (firmware/eyeauth_fw/pipeline.py), re-implemented here in numpy:

* enrolment stores each unit embedding as int8: ``quantize_unit(v) = clip(round(127 v), ±127)``
  (round half to even, as MicroPython's and numpy's ``round``);
* ``score(v, samples)`` = cosine of the probe's unit vector ``v`` (float, not quantized) with the
  normalised SUM of the user's int8 samples (a sum of zero scores 0);
* a modality's margin = score - threshold[model]; the board accepts on margin >= 0.

tests/auth_eval/test_scoring.py checks these against the firmware functions run in the real
MicroPython VM.

Protocol of :func:`build`: for every built face and voice model of the zoo, the identities the
model never trained on (``card["training"]["heldout_identities"]``; else ORL s29..s40 and FSDD
theo, yweweler); the first E files of each identity (natural order; E = 3 faces, 5 clips) are
enrolled, every other file is a probe scored against every identity's template (genuine: its own;
impostor: each other one). Faces go frame -> detector -> square box -> crop -> embedder, as on the
board (the detector box is computed once per image and shared by the face models: the same as
``embed.embed_face(model, image, box=None)``). The operating threshold of a model is its EER
threshold (where FAR and FRR cross on that sweep, interpolated like ``metrics.eer``).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from eyeauth import datasets
from eyeauth.errors import DataError, ModelError
from eyeauth.models import embed, metrics, zoo
from eyeauth.models.progress import Steps, note

MODALITIES = ("face", "voice")
ENROL = {"face": 3, "voice": 5}
DEFAULT_HELDOUT = {"face": [f"s{i}" for i in range(29, 41)], "voice": ["theo", "yweweler"]}
DEFAULT_DATA = {"face": "faces/orl", "voice": "voices/fsdd/recordings"}
COMMAND = "eyeauth eval thresholds"


# ------------------------------------------------------------------ device scoring, in numpy

def quantize_unit(v):
    """int8 vector(s) the board stores for unit embedding(s) ``v`` (pipeline.quantize_unit)."""
    q = np.round(np.asarray(v, np.float64) * 127.0)
    return np.clip(q, -127, 127).astype(np.int8)


def template(samples):
    """The normalised sum of a user's int8 samples (what pipeline.score compares with)."""
    acc = np.asarray(samples, np.int64).reshape(len(samples), -1).sum(axis=0).astype(np.float64)
    n = float(np.sqrt(np.sum(acc * acc))) or 1.0
    return acc / n


def score(v, samples):
    """pipeline.score: cosine of unit vector ``v`` with the normalised sum of int8 ``samples``."""
    return float(np.dot(np.asarray(v, np.float64).reshape(-1), template(samples)))


def score_matrix(probes, templates):
    """(P, T) scores of unit probe vectors against templates (rows from :func:`template`)."""
    return np.asarray(probes, np.float64) @ np.asarray(templates, np.float64).T


def eer_threshold(genuine, impostor):
    """(eer, threshold): the EER of ``metrics.eer`` and the score threshold where FAR and FRR
    cross (interpolated between the two sweep thresholds around the crossing; accept when
    score >= threshold)."""
    value = metrics.eer(genuine, impostor)
    thr, far, frr = metrics.rates(genuine, impostor)
    d = far - frr
    k = int(np.argmax(d <= 0))
    if k == 0:
        t = float(thr[0])
    else:
        lo, hi = float(thr[k - 1]), float(thr[k])
        if not np.isfinite(hi):  # every finite threshold still has FAR > FRR
            hi = lo + 1e-6
        d0, d1 = d[k - 1], d[k]
        f = d0 / (d0 - d1) if d0 != d1 else 0.0
        t = lo + f * (hi - lo)
    return value, t


# ------------------------------------------------------------------ embeddings, cached

_emb_cache: dict = {}   # (model, build_hash, path) -> unit embedding (float32)
_box_cache: dict = {}   # (detector, build_hash, path) -> ((x, y, w, h), face presence)


def _key(card, path):
    return (card["name"], card.get("build_hash"), str(Path(path).resolve()))


def clear_cache():
    _emb_cache.clear()
    _box_cache.clear()


def embed_files(cards, paths, modality, label=None):
    """{model: (N, D) float32 unit embeddings} of ``paths`` for every card in ``cards``.

    Each file is read once, each (model, file) embedded once per process (cached in memory).
    Faces go through the detector (box cached per image), as the board does."""
    paths = [Path(p) for p in paths]
    todo = [i for i, p in enumerate(paths) if any(_key(c, p) not in _emb_cache for c in cards)]
    det = None
    if modality == "face" and todo:
        det = zoo.load_card(zoo.DETECTOR)
    if todo:
        names = ", ".join(c["name"] for c in cards)
        with Steps(label or f"embedding {len(todo)} {modality} files with {names}",
                   len(todo), every=10) as st:
            for i in todo:
                p = paths[i]
                if modality == "face":
                    img = datasets.load_image(p)
                    bk = _key(det, p)
                    if bk not in _box_cache:
                        _box_cache[bk] = embed.detect(img, det["name"])
                    for c in cards:
                        k = _key(c, p)
                        if k not in _emb_cache:
                            _emb_cache[k] = embed.embed_face(c["name"], img, _box_cache[bk][0])
                else:
                    wav = datasets.load_audio(p, 8000)
                    for c in cards:
                        k = _key(c, p)
                        if k not in _emb_cache:
                            _emb_cache[k] = embed.embed_voice(c["name"], wav, 8000)
                st.tick()
    return {c["name"]: np.stack([_emb_cache[_key(c, p)] for p in paths]) if paths
            else np.zeros((0, 0), np.float32) for c in cards}


def no_face(paths):
    """Boolean per face file: the detector's presence output is below its card's threshold
    (the board refuses such a frame: no embedding, no attempt). Needs embed_files first."""
    det = zoo.load_card(zoo.DETECTOR)
    thr = float(det["output"].get("presence_threshold", 0.0))
    return np.array([_box_cache[_key(det, p)][1] < thr for p in paths], bool)


# ------------------------------------------------------------------ trials

def device_trials(emb_of, split, refused=None):
    """Genuine and impostor scores with the board's scoring.

    ``emb_of(paths)`` -> (N, D) unit embeddings; ``split`` from :func:`eyeauth.models.metrics.enrol_split`;
    ``refused(paths)`` -> bool per probe the board refuses before scoring (no face): such a probe
    scores -1 against every template (a reject, counted in FRR; never an accept).
    Returns (genuine, impostor, templates (T, D), probe embeddings (P, D), probe labels)."""
    idents = list(split)
    templates = np.stack([template(quantize_unit(emb_of(split[i][0]))) for i in idents])
    probes, labels, gone = [], [], []
    for k, i in enumerate(idents):
        e = emb_of(split[i][1])
        probes.append(e)
        labels.extend([k] * len(e))
        gone.append(refused(split[i][1]) if refused else np.zeros(len(e), bool))
    probes = np.concatenate(probes)
    labels = np.asarray(labels)
    s = score_matrix(probes, templates)
    s[np.concatenate(gone)] = -1.0
    same = labels[:, None] == np.arange(len(idents))[None, :]
    return s[same], s[~same], templates, probes, labels


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


def far_threshold(impostor, far_target):
    """The lowest threshold whose FAR (share of impostor scores >= threshold) is <= far_target."""
    imp = np.sort(np.asarray(impostor, np.float64))
    k = int(np.floor(far_target * imp.size))  # impostors allowed at or above the threshold
    if k >= imp.size:
        return float(imp[0])
    return float(np.nextafter(imp[imp.size - 1 - k], np.inf))


def evaluate_model(card, modality, data_dir=None, enrol=None, max_files=None, far_target=None):
    """Scores and operating threshold of one model on its calibration (or held-out) identities:
    the EER threshold, or with ``far_target`` the threshold at that FAR."""
    from eyeauth import SHARED_DATA_DIR

    heldout, rel = heldout_of(card, modality)
    split = (card.get("spec") or {}).get("split")
    if modality == "voice" and split:
        # the board's voice factor is a spoken phrase: fit on 3-word phrases of the
        # calibration speakers (crosseval.phrase_files), as the evaluation scores them
        from eyeauth.models import crosseval

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
    split, short = metrics.enrol_split(files, enrol)  # too few files to enrol: skipped, counted
    if len(split) < 2:
        raise DataError(f"{card['name']}: need at least 2 held-out identities with more than "
                        f"{enrol} files, have {len(split)}")
    every = [p for i in split for p in split[i][0] + split[i][1]]
    emb = embed_files([card], every, modality)[card["name"]]
    refused = no_face if modality == "face" else None
    index = {str(p): n for n, p in enumerate(every)}

    def emb_of(paths):
        return emb[[index[str(p)] for p in paths]]

    g, imp, *_ = device_trials(emb_of, split, refused)
    e, thr = eer_threshold(g, imp)
    if far_target:
        thr = far_threshold(imp, far_target)
    far = float(np.mean(imp >= thr))
    frr = float(np.mean(g < thr))
    return {"model": card["name"], "modality": modality, "eer": e, "threshold": thr,
            "far": far, "frr": frr, "frr_at_far_1pct": metrics.frr_at_far(g, imp, 0.01),
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
