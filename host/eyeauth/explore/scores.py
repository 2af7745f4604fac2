"""Score distributions of the zoo models, cached (`eyeauth explore scores`).

For every built face and voice model: its held-out identities (the evaluation part of its split,
never seen in training; at most MAX_IDENTITIES), scored as the board scores by the evaluation
layer's cross-dataset protocol (:func:`eyeauth.evaluation.crosseval.evaluate_files`: the first
``enrol`` files of each identity enrolled as int8 samples, template = normalised sum, every other
file scored against every template; a frame without a face, a clip without speech, is a reject)
through the int8 model in TFLM and the float reference model (the stand-in for 16x8
activations, whose accuracy lies between the two): genuine and impostor scores. They go into a small JSON (scores rounded to 1e-4): the file the
user names, else ``explore_scores.json`` in the cache folder (:func:`eyeauth.cache_dir`); the
copy committed next to this module (what docs/explore was made from) is read, never written,
when there is no cache yet. The explorer fuses them into multi-modal policies. Each entry keeps the model's
``build_hash``: a rebuilt model makes its entry stale, and the explorer says so.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from eyeauth.errors import DataError

VERSION = 1
COMMITTED_PATH = Path(__file__).with_name("scores.json")  # read-only fallback


def cache_path() -> Path:
    """Where `eyeauth explore scores` writes when no --out is given."""
    from eyeauth import cache_dir

    return cache_dir() / "explore_scores.json"


def default_path() -> Path:
    """The score cache the explorer reads when none is named: the user's cache if there is one,
    else the committed copy."""
    p = cache_path()
    return p if p.exists() else COMMITTED_PATH
_FACE_DEFAULT_ENROL, _VOICE_DEFAULT_ENROL = 3, 5
MAX_IDENTITIES = 60  # of a split's evaluation part: keeps the cache small (impostor trials ~ n^2)


def _enrol(card):
    ev = card.get("eval") or {}
    default = _FACE_DEFAULT_ENROL if card["modality"] == "face" else _VOICE_DEFAULT_ENROL
    return int(ev.get("enrol_per_identity") or card.get("spec", {}).get("enrol") or default)


def _heldout(card, data_dir):
    from eyeauth import SHARED_DATA_DIR, datasets

    spec = card.get("spec") or {}
    if spec.get("split"):  # split-trained: the split's evaluation identities that can enrol
        from eyeauth import splits

        ds = datasets.scan(splits.folder(spec["split"], data_dir), card["modality"])
        enrol = _enrol(card)
        ids = [i for i in splits.identities(spec["split"], "eval")
               if i in ds.files and len(ds.files[i]) > enrol][:MAX_IDENTITIES]
        return ds.subset(ids)
    ids = (card.get("training") or {}).get("heldout_identities")
    if not ids or "data" not in spec:
        raise DataError(f"card {card['name']} names no held-out identities or data folder; "
                        "rebuild it with `eyeauth models build`")
    ds = datasets.scan(Path(data_dir or SHARED_DATA_DIR) / spec["data"], card["modality"])
    return ds.subset(ids)


def model_scores(card, result, detector_hash=None):
    """Score entry of one model from its row of a crosseval result (``keep_scores``); a face
    entry records the detector build its boxes came from."""
    from eyeauth.evaluation import scoring

    row = next(m for m in result["models"] if m["name"] == card["name"])
    entry = {"modality": card["modality"], "build_hash": card.get("build_hash"),
             "identities": result["identity_names"], "files": result["files"],
             "enrol": result["enrol"]}
    if card["modality"] == "face":
        entry["detector_hash"] = detector_hash
    for variant, (g, i) in row["scores"].items():
        entry[variant] = {"eer": round(scoring.eer(g, i), 4),
                          "frr_at_far_1pct": round(scoring.frr_at_far(g, i, 0.01), 4),
                          "genuine": [round(float(v), 4) for v in g],
                          "impostor": [round(float(v), 4) for v in i]}
    return entry


def compute(names=None, data_dir=None, path=None, on_model=None):
    """(Re)compute the entries of ``names`` (default: every built face/voice model whose entry
    is missing or stale), merge them into the cache at ``path`` (default :func:`cache_path`;
    a cache that does not exist yet starts from the committed copy; models no longer built
    leave it). Returns (cache, skipped):
    cards still being built (no held-out evaluation yet) are skipped unless named."""
    from eyeauth.evaluation import crosseval
    from eyeauth.models import zoo

    path = Path(path) if path else cache_path()
    cache = load(path if path.exists() else COMMITTED_PATH, missing_ok=True)
    det = detector_hash()
    cards = [c for c in zoo.list_models() if c["modality"] in ("face", "voice")]
    # a model that left the zoo leaves the cache: the explorer must not offer it
    cache["models"] = {k: v for k, v in cache["models"].items() if k in {c["name"] for c in cards}}
    if names:
        unknown = set(names) - {c["name"] for c in cards}
        if unknown:
            raise DataError(f"not built face/voice models: {', '.join(sorted(unknown))}")
        cards = [c for c in cards if c["name"] in names]
    else:
        cards = [c for c in cards if stale_reason(cache, c, det)]
    skipped = [c["name"] for c in cards if not names and "eval" not in c]
    cards = [c for c in cards if c["name"] not in skipped]
    groups = {}  # models on the same identities: one pass (one detector pass per image)
    for card in cards:
        ds = _heldout(card, data_dir)
        key = (card["modality"], _enrol(card), tuple(str(p) for _, p in ds.items()))
        groups.setdefault(key, (ds, []))[1].append(card)
    for (modality, enrol, _), (ds, group) in groups.items():
        res = crosseval.evaluate_files(f"{modality} held-out identities", modality,
                                       dict(ds.files), "explorer scores", group, enrol=enrol,
                                       keep_scores=True)
        res["identity_names"] = sorted(ds.files)
        for card in group:
            cache["models"][card["name"]] = model_scores(card, res, det)
            if on_model:
                on_model(card["name"])
    save(cache, path)
    return cache, skipped


def save(cache, path=None):
    path = Path(path) if path else cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cache, separators=(",", ":")) + "\n")
    return path


def load(path=None, missing_ok=False):
    path = Path(path) if path else default_path()
    if not path.exists():
        if missing_ok:
            return {"version": VERSION, "command": "eyeauth explore scores", "models": {}}
        raise DataError(f"no score cache at {path}; run `eyeauth explore scores`")
    try:
        cache = json.loads(path.read_text())
    except ValueError as exc:
        raise DataError(f"score cache {path} is corrupt ({exc}); delete it and run "
                        "`eyeauth explore scores`") from None
    if cache.get("version") != VERSION or not isinstance(cache.get("models"), dict):
        raise DataError(f"{path} is not a version {VERSION} score cache; run "
                        "`eyeauth explore scores`")
    return cache


def detector_hash():
    """Build hash of the zoo's face detector (None when it is not built)."""
    from eyeauth.errors import ModelError
    from eyeauth.models import zoo

    try:
        return zoo.load_card(zoo.DETECTOR).get("build_hash")
    except ModelError:
        return None


def stale_reason(cache, card, det_hash=None):
    """Why the cache entry of a card cannot be trusted, or None. Face scores also depend on
    the detector's boxes: pass the detector's current build hash to check it."""
    entry = cache["models"].get(card["name"])
    if entry is None:
        return f"no scores for {card['name']}"
    if entry.get("build_hash") != card.get("build_hash"):
        return (f"scores of {card['name']} are from build {entry.get('build_hash')}, the card is "
                f"build {card.get('build_hash')}")
    if card.get("modality") == "face" and det_hash is not None and \
            entry.get("detector_hash") != det_hash:
        return (f"scores of {card['name']} used detector build {entry.get('detector_hash')}, the "
                f"detector is now build {det_hash}")
    return None


def arrays(entry, variant="int8"):
    """(genuine, impostor) float arrays of a cache entry."""
    v = entry[variant]
    return np.asarray(v["genuine"], np.float64), np.asarray(v["impostor"], np.float64)
