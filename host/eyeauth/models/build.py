"""``eyeauth models build``: train every model of models/zoo.json with its recipe
(:mod:`eyeauth.training`), convert it to int8, check it against its float reference, and card it.

Cached: each card records ``build_hash`` = sha256(spec entry, the recipe's declared identity and
training code (:func:`eyeauth.training.code_key`), the training-data listing and the identities
of every part of its split [, the detector's key for face models, the audio front end's for voice
and keyword models]); a model whose card, .tflite and hash match is skipped, so a build after a
checkout only retrains what changed. Order: detector and front end, then the models that read
them (face training uses the detector's boxes, voice and keyword training the front end's rows).

Evaluation figures on the cards are not the build's: the caller passes ``finish`` (the
evaluation layer's ``eyeauth.evaluation.cards.finish``; ``eyeauth models build`` and ``eyeauth
release build`` do), called on each card after its model is written.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from eyeauth import datasets, training
from eyeauth.errors import ModelError
from eyeauth.models import preprocess as P, zoo
from eyeauth.models.progress import note


def entry_data(entry, data_dir):
    """(dataset, training identities, evaluation identities) of a spec entry: from the
    committed splits (``"split": "lfw"``: its ``train`` and ``eval`` parts) or, for older
    entries, a folder and a hold-out count."""
    from eyeauth import SHARED_DATA_DIR, splits

    if entry["modality"] == "frontend":  # computed from its spec, trained on nothing
        return datasets.Dataset(Path("."), "voice"), [], []
    modality = "voice" if entry["modality"] in ("voice", "keyword") else "face"
    if entry.get("split"):  # train on `train`, card figures on `eval`; the listing (build
        # hash) covers exactly those identities
        ds = datasets.scan(splits.folder(entry["split"], data_dir), modality)
        train_ids = splits.identities(entry["split"], "train")
        test_ids = splits.identities(entry["split"], "eval")
        return ds.subset(train_ids + test_ids), train_ids, test_ids
    root = Path(data_dir or SHARED_DATA_DIR) / entry["data"]
    ds = datasets.scan(root, modality)
    train_ids, test_ids = datasets.split_identities(ds.identities, entry["holdout"])
    return ds, train_ids, test_ids


#: inference-only settings of a spec entry: not hashed (changing them never retrains; the
#: voice cards take them up with `eyeauth models build --cards`)
INFERENCE_KEYS = ("about", "hop_frames", "max_windows")


def build_hash(entry, ds, extra="", data_dir=None):
    """The build key of a spec entry: declared inputs only (module doc)."""
    from eyeauth import splits

    h = hashlib.sha256()
    spec = {k: v for k, v in entry.items() if k not in INFERENCE_KEYS}
    h.update(json.dumps(spec, sort_keys=True).encode())
    h.update(training.code_key(training.recipe_name(entry)).encode())
    h.update(json.dumps(ds.listing()).encode())
    if entry.get("sources"):  # face data beyond the split's folder (models/face_data.py)
        from eyeauth.models import face_data

        h.update(json.dumps(face_data.listing(data_dir, tuple(entry["sources"]))).encode())
    if entry.get("split"):
        h.update(json.dumps({p: splits.identities(entry["split"], p) for p in splits.PARTS}).encode())
    h.update(extra.encode())
    return h.hexdigest()[:16]


def is_current(entry, key, out_dir=None):
    try:
        card = zoo.load_card(entry["name"], out_dir)
    except ModelError:
        return False
    return (card.get("build_hash") == key and Path(card["path"]).exists()
            and zoo.tflite_path(entry["name"], out_dir, "float").exists())


def plan(data_dir=None, out_dir=None, names=None):
    """[(entry, dataset, train_ids, test_ids, key, current)] in build order."""
    rows, keys = [], {"detector": "", "landmark": "", "frontend": ""}
    for entry in zoo.load_spec(out_dir):  # the detector, landmark net and audio front end first
        ds, tr, te = entry_data(entry, data_dir)
        # the face path is a chain: landmarks train on the detector's boxes, embedders on the
        # crops both cut, so each key covers the keys before it; the voice and keyword models
        # read the audio front end's rows
        extra = {"landmark": keys["detector"],
                 "face": keys["detector"] + keys["landmark"],
                 "voice": keys["frontend"], "keyword": keys["frontend"]}.get(entry["modality"], "")
        key = build_hash(entry, ds, extra, data_dir)
        if entry["modality"] in keys:
            keys[entry["modality"]] = key
        if names and entry["name"] not in names:
            continue
        rows.append((entry, ds, tr, te, key, is_current(entry, key, out_dir)))
    return rows


def build(names=None, force=False, data_dir=None, out_dir=None, finish=None):
    """Build what is stale (or everything with ``force``); ``finish(card, out_dir) -> card``
    adds the evaluation figures to each built card. Returns one status dict per model."""
    rows = plan(data_dir, out_dir, names)
    if names:
        unknown = set(names) - {r[0]["name"] for r in rows}
        if unknown:
            raise ModelError(f"no model {', '.join(sorted(unknown))} in models/zoo.json")
    out = []
    for entry, ds, tr, te, key, current in rows:
        if current and not force:
            note(f"{entry['name']}: up to date ({key})")
            out.append({"name": entry["name"], "status": "cached", "build_hash": key})
            continue
        t0 = time.monotonic()
        note(f"{entry['name']}: building ({entry['modality']}, {len(tr)} training identities)")
        card = build_one(entry, training.Data(ds, tr, te), key, out_dir)
        if finish is not None:
            card = finish(card, out_dir)
        out.append({"name": entry["name"], "status": "built", "build_hash": key,
                    "seconds": round(time.monotonic() - t0, 1), "eer": card.get("eer")})
    return out


def build_one(entry, data, key, out_dir=None):
    """Train with the entry's recipe, convert, check, write the files and the card."""
    recipe = training.load(entry)
    got = recipe.train(entry, data, out_dir)
    int8, flt, check = got.files or _convert(entry["name"], got.model, got.rep,
                                             getattr(recipe, "INT8_CHECK", None))
    write(entry["name"], int8, flt, out_dir)
    card = _merge(card_of(entry, int8, flt, check, key), got.card)
    card["training"] = got.training
    zoo.save_card(card, out_dir)
    if hasattr(recipe, "calibrate"):  # card fields fitted on the written model, read by later builds
        card = zoo.save_card(_merge(card, recipe.calibrate(entry, data, out_dir)), out_dir)
    return card


def _convert(name, model, rep, limits=None):
    from eyeauth.models import convert

    return convert.checked(name, model, rep, **(limits or {}))


def _merge(base, extra):
    out = dict(base)
    for k, v in (extra or {}).items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def write(name, int8, flt, out_dir=None):
    """Write a model's int8 file and its float reference."""
    path = zoo.tflite_path(name, out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(int8)
    fpath = zoo.tflite_path(name, out_dir, "float")
    fpath.parent.mkdir(parents=True, exist_ok=True)
    fpath.write_bytes(flt)


# ---------------------------------------------------------------- the card

def weights_info(model_bytes):
    """(parameter count, constant bytes) of a .tflite: tensors backed by a non-empty buffer."""
    import numpy as np
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    m = schema.Model.GetRootAsModel(model_bytes, 0)
    sg = m.Subgraphs(0)
    params = nbytes = 0
    for t in range(sg.TensorsLength()):
        ten = sg.Tensors(t)
        buf = m.Buffers(ten.Buffer())
        size = buf.DataLength() if buf is not None else 0
        if size == 0 and buf is not None and buf.Size() > 0:
            size = buf.Size()
        if size:
            params += int(np.prod(ten.ShapeAsNumpy())) if ten.ShapeLength() else 1
            nbytes += size
    return params, nbytes


OUTPUT_MEANING = {
    "detector": "sigmoid (cx, cy, side) of the face box relative to the QVGA camera frame",
    "landmark": "sigmoid (x, y) of five points relative to align.landmark_region of the box",
    "keyword": "logits of the 10 words; margin = expected word - best other",
}


def card_of(entry, int8, flt, check, key):
    """The card of a built model (the one card assembly): sizes, ops, latency, input and output
    quantization and meaning, int8 check, build hash, the spec entry."""
    import tensorflow as tf

    from eyeauth import timing
    from eyeauth.models import convert, tflm

    inp, out = tflm.io_details(int8)
    params, wbytes = weights_info(int8)
    arena = tflm.arena_bytes(int8)
    lat = timing.latency_summary(int8)
    output = {**out, "meaning": OUTPUT_MEANING.get(
        entry["modality"], "embedding; dequantize, L2-normalise, score by cosine")}
    if entry["modality"] == "keyword":
        from eyeauth.models import keyword

        output["labels"] = list(keyword.VOCAB)
    return {
        "name": entry["name"], "modality": entry["modality"],
        "file": f"{entry['name']}.tflite", "float_file": f"float/{entry['name']}.tflite",
        "sha256": hashlib.sha256(int8).hexdigest(),  # the release check compares the file with it
        "params": params, "macs": timing.count_macs(int8), "flash_bytes": len(int8),
        "weights_bytes": wbytes, "float_flash_bytes": len(flt),
        "arena_bytes": arena, "arena_bytes_target": tflm.arena_bytes_target(arena),
        "latency_ms": lat, "latency_esp32_ms": lat["esp32_espnn"],
        "latency_esp32s3_ms": lat["esp32s3_espnn"],
        "input": {**inp, "layout": _layout(entry), "preprocess": _preprocess_doc(entry)},
        "output": output,
        **convert.op_report(int8),
        "int8_check": check,
        "build_hash": key,
        "built_with": {"tensorflow": tf.__version__, "tflite_micro": _tflm_version()},
        "spec": {k: v for k, v in entry.items() if not k.startswith("_")},
    }


def _tflm_version():
    try:
        import tflite_micro

        return tflite_micro.__version__
    except Exception:  # noqa: BLE001 - version is informative only
        return "unknown"


def _layout(entry):
    """The input layout in words (a recipe of another modality sets its own in its card)."""
    if "input" not in entry:
        return None
    h, w = entry["input"]
    cam = entry.get("camera") or (240, 320)
    return {"face": f"NHWC (1, {h}, {w}, 1) grey face crop, similarity-aligned to the ArcFace template",
            "voice": f"NHWC (1, {h}, {w}, 1): {h} log-mel frames x {w} mel bands",
            "keyword": f"NHWC (1, {h}, {w}, 1): {h} log-mel rows x {w} mel bands",
            "landmark": f"NHWC (1, {h}, {w}, 1) grey region around the detector box",
            "detector": f"NHWC (1, {cam[0]}, {cam[1]}, 1) uint8 grey QVGA camera frame as it is "
                        f"(pooled to {h}x{w} in the graph)"}.get(entry["modality"])


UTTERANCE_STEPS = ("VAD speech span; one window on the energy centre when the span fits one "
                   "window, else up to max_windows windows spread over the span every "
                   "hop_frames frames (front-end rows shared); each window relative to its own "
                   "max; embedding = unit(mean of the windows' unit embeddings)")


def _preprocess_doc(entry):
    m = entry["modality"]
    if m == "face":
        return {"function": "eyeauth.models.align.face_input", "size": entry["input"][0],
                "steps": "detector box -> landmark net (five points) -> integer similarity fit to "
                         "the ArcFace template -> k x k bilinear samples per pixel (integer) -> "
                         "min/max stretch -> q = p - 128"}
    if m == "landmark":
        return {"function": "eyeauth.models.align.landmark_input", "size": entry["input"][0],
                "steps": "detector box grown 1.5x about its centre -> integer area resize -> "
                         "min/max stretch -> q = p - 128"}
    if m == "detector":
        return {"function": "eyeauth.models.face_data.camera_frame",
                "steps": "the QVGA camera frame as it is (uint8; a photo: letterbox to 4:3 with "
                         "128, bilinear to 320x240) -> in the graph: QUANTIZE to int8 (q = p - "
                         "128), 4x4 AVERAGE_POOL_2D to 80x60"}
    if m == "keyword":
        from eyeauth.models import keyword

        return {"function": "eyeauth.models.keyword.clip_tensors",
                "steps": keyword.__doc__.split("Input: ")[1].split("\n\nOutput")[0]}
    if m != "voice":
        return {}
    frames, mels = entry["input"]
    return {"function": "eyeauth.models.preprocess.voice_input", "rate": P.RATE,
            "frames": frames, "mels": mels, "frame_len": P.FRAME, "hop": P.HOP,
            "window_samples": P.voice_window_samples(frames), "frontend": zoo.FRONTEND,
            "steps": "audio_fe rows (Hann 256 -> FFT -> power -> HTK mel 20-4000 Hz with "
                     "pre-emphasis 0.97 in the weights -> log) -> window at the row nearest the "
                     "VAD energy centre -> rel. max, clip 80 dB -> q = 127 - rel*255/80",
            "utterance": {"hop_frames": int(entry.get("hop_frames", 16)),
                          "max_windows": int(entry.get("max_windows", 1)),
                          "function": "eyeauth.models.voice_phrase.embed",
                          "steps": UTTERANCE_STEPS}}


def check_budgets(card, max_weights=400 * 1024, max_arena=250 * 1024):
    """Problems (strings) of a card against the board budgets; [] when it fits."""
    probs = []
    if card["weights_bytes"] > max_weights:
        probs.append(f"weights {card['weights_bytes']} B > {max_weights}")
    if card["arena_bytes_target"] > max_arena:
        probs.append(f"arena {card['arena_bytes_target']} B > {max_arena}")
    return probs
