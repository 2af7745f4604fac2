"""Face embedders on aligned crops: the crop bank the board's own path cuts, teacher targets,
and a resumable distillation loop.

Crop bank (``crop_bank``): every training photo (``face_build.landmarked_photos``) framed
``per_photo`` times as a camera would see it (``face_data.framing``: a camera view or a scene),
run through the int8 detector graph and the int8 landmark net exactly as the board runs them,
and cut by the board's integer similarity warp (``align.face_input``) at every embedder size.
So the students learn from the crops the board will hand them, landmark errors included.
Frames the presence gate refuses are skipped (the board would ask again). Cached on disk
(``~/.cache/eyeauth/face_bank``), keyed on the photos, the detector and landmark models and the
settings.

Targets (``targets``): the teacher embedding of each photo ("sface+dlib": both unit, joined and
unit again), moved ``mix`` of the way towards the mean teacher embedding of the photo's person
where the person has several training photos, reduced by PCA (fitted on the training targets)
to the student's size and unit-normalised.

Loss: mean(1 - cos(student, target)) plus ``relational`` x the mean squared difference of the
batch's cosine matrices (student vs target), which trains the geometry verification uses.
Training checkpoints every epoch under ``~/.cache/eyeauth/face_train/<key>``; a stopped run
resumes from its last epoch.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from eyeauth.models import align, face_build as FB, face_data as FD, preprocess as P
from eyeauth.models.progress import note


def _cache(sub):
    from eyeauth import cache_dir

    return cache_dir() / sub


def bank_key(photos, det_bytes, lmk_bytes, sizes, per_photo, seed, aligned=True):
    h = hashlib.sha256(b"" if aligned else b"box-crops/")
    for p in photos["paths"]:
        h.update(str(p).encode() + b"\0")
    h.update(hashlib.sha256(det_bytes).digest() + hashlib.sha256(lmk_bytes).digest())
    h.update(json.dumps([list(sizes), per_photo, seed, FB.RECIPE["face"]]).encode())
    return h.hexdigest()[:20]


def crop_bank(photos, det_bytes, lmk_bytes, thr, sizes, per_photo, seed, aligned=True):
    """({size: int8 (N, s, s)}, photo index (N,)) of the aligned training crops (cached).
    ``aligned=False``: the crop of the detector's box instead (the path before alignment, for
    the with/without comparison)."""
    from eyeauth import datasets

    key = bank_key(photos, det_bytes, lmk_bytes, sizes, per_photo, seed, aligned)
    path = _cache("face_bank") / f"{key}.npz"
    if path.exists():
        with np.load(path) as z:
            return {s: z[f"s{s}"] for s in sizes}, z["idx"]

    def one(i):
        rng = np.random.default_rng([seed, i])
        photo = datasets.load_image(photos["paths"][i])
        out = {s: [] for s in sizes}
        for _ in range(per_photo):
            frame, _ = FD.framing(photo, photos["points"][i], rng)
            box, pres = FB.detect(frame, det_bytes)
            if pres < thr:
                continue
            if not aligned:
                for s in sizes:
                    out[s].append(P.face_input(frame, (box[0], box[1], box[2], box[2]), s))
                continue
            pts = FB.landmark_points(frame, box, lmk_bytes)
            for s in sizes:
                out[s].append(align.face_input(frame, pts, s))
        return out

    res = FB._pmap(one, len(photos["paths"]), "aligned training crops (board path)", every=5)
    crops = {s: np.stack([c for r in res for c in r[s]]) for s in sizes}
    idx = np.array([i for i, r in enumerate(res) for _ in r[sizes[0]]], np.int32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.npz")
    np.savez(tmp, idx=idx, **{f"s{s}": crops[s] for s in sizes})
    os.replace(tmp, path)
    note(f"crop bank: {idx.size} crops of {len(photos['paths'])} photos "
         f"({len(photos['paths']) * per_photo - idx.size} framings refused by the presence gate)")
    return crops, idx


def pca(T, dim):
    """(mean, basis (D, dim)) of the rows of T."""
    mu = T.mean(0)
    _, s, vt = np.linalg.svd(T - mu, full_matrices=False)
    basis = vt[:dim].T
    if basis.shape[1] < dim:
        basis = np.pad(basis, ((0, 0), (0, dim - basis.shape[1])))
    kept = float((s[:dim] ** 2).sum() / max((s ** 2).sum(), 1e-12))
    return mu, basis, kept


def project(T, mu, basis):
    Z = (np.asarray(T, np.float64) - mu) @ basis
    return (Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def targets(photos, teacher, mix):
    """Unit teacher targets per photo (before PCA), identity-mean mixed."""
    T = FB.teacher_targets(photos, teacher).astype(np.float64)
    if mix > 0:
        ids = photos["identities"]
        groups = {}
        for k, i in enumerate(ids):
            if i is not None:
                groups.setdefault(i, []).append(k)
        for ks in groups.values():
            if len(ks) < 2:
                continue
            mu = T[ks].mean(0)
            T[ks] = (1 - mix) * T[ks] + mix * mu / max(np.linalg.norm(mu), 1e-12)
        T /= np.linalg.norm(T, axis=1, keepdims=True)
    return T


# ---------------------------------------------------------------- the loop

def train(entry, crops, idx, tgt, heldout=None, key="", epochs=None, log=None):
    """Train (or resume) the embedder of ``entry`` on int8 ``crops`` (N, s, s) whose targets
    are ``tgt[idx]``. ``heldout``: (int8 crops, targets) scored after every epoch (the mean
    student-teacher cosine). Returns (Keras model, history list)."""
    import tensorflow as tf

    from eyeauth.models import nets, train as T

    epochs = epochs or entry["epochs"]
    n = int(entry["samples_per_epoch"])
    batch = int(entry.get("batch", 128))
    steps_per_epoch = n // batch
    ckdir = _cache("face_train") / f"{entry['name']}-{key}"
    ckdir.mkdir(parents=True, exist_ok=True)
    T.seed_all(entry["seed"])
    model = nets.build(entry)
    sched = tf.keras.optimizers.schedules.CosineDecay(entry["lr"], epochs * steps_per_epoch,
                                                      alpha=0.01)
    opt = tf.keras.optimizers.Adam(sched)
    ck = tf.train.Checkpoint(model=model, opt=opt, epoch=tf.Variable(0))
    mgr = tf.train.CheckpointManager(ck, str(ckdir), max_to_keep=2)
    hist_path = ckdir / "history.json"
    history = json.loads(hist_path.read_text()) if hist_path.exists() else []
    if mgr.latest_checkpoint:
        ck.restore(mgr.latest_checkpoint)
        note(f"{entry['name']}: resumed at epoch {int(ck.epoch.numpy())}/{epochs} ({ckdir})")
    rel = float(entry.get("relational", 1.0))
    tgt = tf.constant(tgt, tf.float32)

    @tf.function(reduce_retracing=True)
    def step(x, t):
        with tf.GradientTape() as tape:
            s = tf.math.l2_normalize(model(x, training=True), 1)
            cos = tf.reduce_sum(s * t, 1)
            loss = tf.reduce_mean(1.0 - cos)
            if rel > 0:
                loss += rel * tf.reduce_mean(tf.square(tf.matmul(s, s, transpose_b=True)
                                                       - tf.matmul(t, t, transpose_b=True)))
        g = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(g, model.trainable_variables))
        return loss, tf.reduce_mean(cos)

    import time

    while int(ck.epoch.numpy()) < epochs:
        ep = int(ck.epoch.numpy())
        rng = np.random.default_rng([entry["seed"], ep])
        pick = rng.choice(len(crops), n, replace=len(crops) < n)
        t0 = time.monotonic()
        losses, coss = [], []
        for b in range(steps_per_epoch):
            j = pick[b * batch:(b + 1) * batch]
            xb = crops[j]
            flip = rng.random(len(j)) < 0.5
            xb = np.where(flip[:, None, None], xb[:, :, ::-1], xb)
            x = tf.constant(P.to_float(xb)[..., None])
            loss, c = step(x, tf.gather(tgt, idx[j]))
            losses.append(float(loss))
            coss.append(float(c))
        ck.epoch.assign_add(1)
        row = {"epoch": ep + 1, "loss": round(float(np.mean(losses)), 4),
               "train_cos": round(float(np.mean(coss)), 4),
               "seconds": round(time.monotonic() - t0, 1)}
        if heldout is not None:
            row["heldout_cos"] = round(heldout_cosine(model, *heldout), 4)
        history.append(row)
        mgr.save()
        hist_path.write_text(json.dumps(history, indent=0))
        msg = f"{entry['name']}: epoch {ep + 1}/{epochs} " + " ".join(f"{k} {v}" for k, v in row.items() if k != "epoch")
        note(msg)
        if log:
            log(msg)
    return model, history


def heldout_cosine(model, crops, tgt, batch=256):
    """Mean cosine between the (float) student's embedding of each crop and its target."""
    out = []
    for i in range(0, len(crops), batch):
        e = model(P.to_float(crops[i:i + batch])[..., None], training=False).numpy()
        e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        out.append((e * tgt[i:i + batch]).sum(1))
    return float(np.concatenate(out).mean())
