"""Training of the face path: detector (with in-graph pooling of the camera frame), landmark
net, and the data their training and the embedders' training need.

The board's face path, which every function here reproduces on the host:
QVGA grey camera frame (uint8, 320x240) -> detector graph (QUANTIZE to int8, AVERAGE_POOL_2D 4x4
to 80x60, the detector net: box + presence) -> landmark net on the region around the box
(``align.landmark_input``: 48x48, five points) -> similarity-aligned crop (``align.face_input``)
-> embedder.

Training data: ``face_data.training_files`` (LFW train people, the rest of LFW's training
people, UTKFace chips), each photo with YuNet's five landmarks from the teacher table
(``face_teacher.sface_table``); photos in which YuNet finds no face are left out and counted.
"""
from __future__ import annotations

import os

import numpy as np

from eyeauth import datasets
from eyeauth.models import align, face_data as FD, preprocess as P
from eyeauth.models.progress import Steps, note

#: bump when the training code of the detector / landmark net / embedders changes meaning
RECIPE = {"detector": "det/3-qvga-pool", "landmark": "lmk/1", "face": "face/3-aligned"}


# ---------------------------------------------------------------- photos with landmarks

def landmarked_photos(data_dir=None, sources=("lfw", "lfw_more", "utkface")):
    """Training photos YuNet finds a face in: dict paths, identities (None: no identity),
    points (n, 5, 2), sface (n, 128) and dlib (n, 128) teacher embeddings, and skipped."""
    from eyeauth.models import face_teacher

    rows = FD.training_files(data_dir, sources)
    paths = [r[0] for r in rows]
    sf = face_teacher.sface_table(paths, label="SFace teacher (training photos)")
    keep = np.flatnonzero(sf["found"])
    out = {"paths": [paths[k] for k in keep], "identities": [rows[k][1] for k in keep],
           "sources": [rows[k][2] for k in keep], "points": sf["pts"][keep],
           "sface": sf["emb"][keep], "skipped": int(len(paths) - keep.size)}
    note(f"face training photos: {keep.size} of {len(paths)} with a face YuNet finds "
         f"({out['skipped']} left out)")
    return out


def teacher_targets(photos, teacher):
    """Unit teacher embeddings (n, d) of the training photos for ``teacher`` ("sface", "dlib"
    or "sface+dlib": each unit, concatenated, unit again)."""
    if teacher == "sface":
        return photos["sface"].astype(np.float32)
    from eyeauth.models import face_teacher

    d = face_teacher.teacher_table(photos["paths"], label="dlib teacher (training photos)")["emb"]
    if teacher == "dlib":
        return d.astype(np.float32)
    both = np.concatenate([photos["sface"], d], 1)
    return (both / np.linalg.norm(both, axis=1, keepdims=True)).astype(np.float32)


# ---------------------------------------------------------------- parallel map over photos

_JOB = None


def _pmap(fn, n, label, workers=None, every=10):
    """[fn(i) for i in range(n)] in forked workers (fn and its data reach them through fork)."""
    global _JOB
    _JOB = fn
    workers = workers or min(2, os.cpu_count() or 1)
    out = [None] * n
    with Steps(label, n, every=every) as st:
        if workers > 1:
            import multiprocessing as mp

            with mp.get_context("fork").Pool(workers) as pool:
                for i, r in enumerate(pool.imap(_call, range(n), chunksize=16)):
                    out[i] = r
                    st.tick()
        else:
            for i in range(n):
                out[i] = fn(i)
                st.tick()
    return out


def _call(i):
    return _JOB(i)


# ---------------------------------------------------------------- detector

def detector_frames(photos, n, seed, negative_frac=0.25):
    """n (int8 60x80 pooled frame, target (cx, cy, side, face)) pairs: a training photo framed
    as a camera would or pasted into a scene, or (``negative_frac``) a frame without a face;
    the target box is ``face_data.points_box`` of YuNet's landmarks in the frame."""
    from eyeauth.models import synth

    def one(i):
        rng = np.random.default_rng([seed, i])
        if rng.random() < negative_frac:
            return pooled(synth.negative_frame(rng)), (0.5, 0.5, 0.3, 0.0)
        k = int(rng.integers(len(photos["paths"])))
        photo = datasets.load_image(photos["paths"][k])
        frame, pts = FD.framing(photo, photos["points"][k], rng)
        bx, by, bs = FD.points_box(pts)
        return pooled(frame), (*P.box_to_target((bx, by, bs, bs), frame.shape), 1.0)

    res = _pmap(one, n, "detector frames")
    return np.stack([r[0] for r in res]), np.array([r[1] for r in res], np.float32)


def pooled(frame):
    """int8 (60, 80): what the detector graph's QUANTIZE + 4x4 AVERAGE_POOL_2D make of a QVGA
    frame, up to the rounding of exact halves (the Keras net trains on this)."""
    f = np.asarray(frame, np.int32).reshape(60, 4, 80, 4).sum((1, 3))
    return ((f + 8) // 16 - 128).astype(np.int8)


def detector_graph(model, camera=FD.QVGA):
    """The deployed detector: QVGA frame -> 4x4 average pool -> the trained 80x60 net."""
    import tensorflow as tf

    inp = tf.keras.Input((camera[0], camera[1], 1), name="frame")
    x = tf.keras.layers.AveragePooling2D(4, name="camera_pool")(inp)
    return tf.keras.Model(inp, model(x), name=model.name)


def convert_detector(model, rep_frames):
    """(int8 tflite with a uint8 QVGA input, float tflite) of the pooled detector graph; the
    representative frames include an all-0 and an all-255 frame so the input scale is 1/128."""
    from eyeauth.models import convert, tflm

    tf = convert._tf()
    graph = detector_graph(model)
    frames = list(rep_frames) + [np.zeros(FD.QVGA, np.uint8), np.full(FD.QVGA, 255, np.uint8)]
    samples = [((f.astype(np.float32) - 128.0) / 128.0)[..., None] for f in frames]
    conv = convert.keras_converter(graph)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = convert._representative(samples)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.uint8
    conv.inference_output_type = tf.int8
    with convert.quiet():
        int8 = bytes(conv.convert())
    with convert.quiet():
        flt = bytes(convert.keras_converter(graph).convert())
    inp, _ = tflm.io_details(int8)
    if inp["dtype"] != "uint8" or abs(inp["scale"] - 1 / 128) > 1e-9 or inp["zero_point"] != 128:
        from eyeauth.errors import ModelError

        raise ModelError(f"detector input quantization {inp}: expected uint8, scale 1/128, "
                         "zero point 128 (the camera frame as it is)")
    got = np.stack([tflm.dequantize(tflm.run(int8, f[None, ..., None]), tflm.io_details(int8)[1])
                    for f in frames[:64]])
    ref = np.stack([graph(s[None], training=False).numpy()[0] for s in samples[:64]])
    rel = float(np.linalg.norm(got.reshape(len(got), -1) - ref) / max(np.linalg.norm(ref), 1e-12))
    check = {"rel_rms": rel, "max_abs": float(np.abs(got.reshape(ref.shape) - ref).max()),
             "samples": int(len(got)), "tolerance": convert.DEFAULT_TOLERANCE,
             "ok": rel <= convert.DEFAULT_TOLERANCE}
    return int8, flt, check


def detect(frame, model_bytes):
    """((x, y, side) face box in frame pixels, presence) of the int8 pooled detector on a QVGA
    frame (host side of the board's `face_box`)."""
    from eyeauth.models import tflm

    _, out = tflm.io_details(model_bytes)
    q = tflm.run(model_bytes, np.asarray(frame, np.uint8)[None, ..., None]).reshape(-1)
    x, y, s, _ = box_from_q(q[:3], np.asarray(frame).shape)
    return (x, y, s), ((int(q[3]) + 128) / 256.0 if q.size > 3 else 1.0)


def box_from_q(q, shape):
    """Square box (x, y, s, s) in frame pixels from the detector's three int8 sigmoid outputs
    (scale 1/256, zero point -128), integer arithmetic as on the board:
    s = max(4, ((q2 + 128) * H + 128) // 256), cx = ((q0 + 128) * W + 128) // 256, ..."""
    h, w = shape[:2]
    cx = ((int(q[0]) + 128) * w + 128) // 256
    cy = ((int(q[1]) + 128) * h + 128) // 256
    s = max(4, ((int(q[2]) + 128) * h + 128) // 256)
    return cx - s // 2, cy - s // 2, s, s


# ---------------------------------------------------------------- landmark net

def landmark_points(frame, box, model_bytes):
    """Five landmarks in 1/16 pixel (int (5, 2)) from the int8 landmark net."""
    from eyeauth.models import tflm

    q = tflm.run(model_bytes, align.landmark_input(frame, box)[None, ..., None]).reshape(-1)
    return align.points_q4(q, align.landmark_region(box))


def landmark_samples(photos, det_bytes, thr, per_photo, seed):
    """(int8 48x48 inputs, targets (10,) in [0, 1], normalised box error) of ``per_photo``
    camera framings of every photo, each cut at the int8 detector's box (frames the presence
    gate refuses are skipped: the board never gets that far)."""

    def one(i):
        rng = np.random.default_rng([seed, i])
        photo = datasets.load_image(photos["paths"][i])
        xs, ts = [], []
        for _ in range(per_photo):
            frame, pts = FD.framing(photo, photos["points"][i], rng)
            box, pres = detect(frame, det_bytes)
            if pres < thr:
                continue
            region = align.landmark_region(box)
            x = align.landmark_input(frame, box)
            t = align.targets(pts, region)
            if rng.random() < 0.5:  # mirror: swap the eyes and the mouth corners
                x = np.ascontiguousarray(x[:, ::-1])
                tt = t.reshape(5, 2).copy()
                tt[:, 0] = 1.0 - tt[:, 0] - 1.0 / region[2]
                t = tt[[1, 0, 2, 4, 3]].reshape(-1)
            xs.append(x)
            ts.append(t)
        return xs, ts

    res = _pmap(one, len(photos["paths"]), "landmark training crops")
    xs = [x for r in res for x in r[0]]
    ts = [t for r in res for t in r[1]]
    return np.stack(xs), np.stack(ts).astype(np.float32)


def _eval_photos(part, data_dir=None, cap=FD.EVAL_CAP):
    """(paths, YuNet points) of the LFW people of ``part`` in which YuNet finds a face."""
    from eyeauth.models import face_teacher

    files = FD.part_files(part, data_dir, cap=cap)
    paths = [p for ps in files.values() for p in ps]
    sf = face_teacher.sface_table(paths, label=f"SFace teacher (LFW {part})")
    keep = np.flatnonzero(sf["found"])
    return [paths[k] for k in keep], sf["pts"][keep]


def _eval_frames(paths, points, seed):
    """Each photo as the camera gives it (``camera_frame``) and pasted into a QVGA scene:
    [(frame, points in the frame)]."""
    rng = np.random.default_rng(seed)
    out = []
    for p, pts in zip(paths, points):
        photo = datasets.load_image(p)
        out.append((FD.camera_frame(photo), FD.camera_points(pts, photo.shape)))
        out.append(FD.scene_view(photo, pts, rng))
    return out


def detector_eval(det_bytes, seed=3, data_dir=None):
    """Presence threshold (1st percentile of the calibration people's face frames), then on
    the evaluation people: box IoU against the landmark box, face frames passed; 400 seeded
    frames without a face refused."""
    from eyeauth.models import synth

    cal = _eval_frames(*_eval_photos("calib", data_dir), seed + 500)
    cal_p = np.array([detect(f, det_bytes)[1] for f, _ in cal])
    thr = float(np.quantile(cal_p, 0.01))
    ev = _eval_frames(*_eval_photos("eval", data_dir), seed + 1000)
    ious, pres = [], []
    for f, pts in ev:
        box, p = detect(f, det_bytes)
        bx, by, bs = FD.points_box(pts)
        ious.append(synth.iou((box[0], box[1], box[2], box[2]), (bx, by, bs, bs)))
        pres.append(p)
    ious, pres = np.array(ious), np.array(pres)
    rng = np.random.default_rng(seed + 2000)
    neg = np.array([detect(synth.negative_frame(rng), det_bytes)[1] for _ in range(400)])
    return {"frames": int(len(ev)), "mean_iou": round(float(ious.mean()), 3),
            "iou_ge_0.5": round(float((ious >= 0.5).mean()), 3),
            "presence_threshold": round(thr, 8),
            "face_frames_passed": round(float((pres >= thr).mean()), 4),
            "no_face_frames": int(neg.size),
            "no_face_frames_rejected": round(float((neg < thr).mean()), 4),
            "protocol": "threshold: 1st percentile of the presence output on the LFW calibration "
                        "people's frames; then the LFW evaluation people (their LFW photos and "
                        f"the rest of LFW, at most {FD.EVAL_CAP} each): each photo as the QVGA "
                        "camera gives it and pasted into a cluttered QVGA scene, IoU against the "
                        "box of YuNet's landmarks; 400 seeded frames without a face "
                        "(synth.negative_frame); int8 detector graph in TFLM"}


def train_detector(entry, data_dir=None):
    """(Keras 80x60 net, representative QVGA frames, photos used) for the detector entry."""
    from eyeauth.models import train

    photos = landmarked_photos(data_dir)
    x, t = detector_frames(photos, entry["frames"], entry["seed"], entry.get("negative_frac", 0.25))
    model = train.train_detector(entry, x, t, entry["epochs"], entry["seed"], entry["lr"])
    rng = np.random.default_rng(entry["seed"] + 11)
    rep = []
    for k in rng.choice(len(photos["paths"]), 200, replace=False):
        frame, _ = FD.framing(datasets.load_image(photos["paths"][k]), photos["points"][k], rng)
        rep.append(frame)
    from eyeauth.models import synth

    rep += [synth.negative_frame(rng) for _ in range(60)]
    return model, rep, photos


def train_landmarks(entry, x, t):
    """Train the landmark net: smooth-L1 (Huber, delta 0.02) on the ten relative coordinates,
    Adam with cosine decay, ``entry["epochs"]`` epochs."""
    import tensorflow as tf

    from eyeauth.models import nets, train

    train.seed_all(entry["seed"])
    model = nets.build(entry)
    batch = int(entry.get("batch", 64))
    steps = entry["epochs"] * max(1, len(x) // batch)
    model.compile(optimizer=tf.keras.optimizers.Adam(
        tf.keras.optimizers.schedules.CosineDecay(entry["lr"], steps, alpha=0.02)),
        loss=tf.keras.losses.Huber(delta=0.02))
    xf = P.to_float(x)[..., None]
    cb = tf.keras.callbacks.LambdaCallback(on_epoch_end=lambda ep, logs: note(
        f"{entry['name']}: epoch {ep + 1}/{entry['epochs']} loss {logs['loss']:.5f}"))
    model.fit(xf, t, batch_size=batch, epochs=entry["epochs"], shuffle=True, verbose=0,
              callbacks=[cb])
    return model


def landmark_eval(det_bytes, lmk_bytes, thr, seed=4, data_dir=None):
    """Landmark error of the int8 detector + landmark net on frames of people never trained on:
    mean point-to-point distance over the five points divided by the eye distance (NME), per
    set (LFW evaluation people, camera frames and scenes; ORL portraits as the camera gives
    them), against YuNet's landmarks; frames the presence gate refuses are counted, not
    scored."""
    from eyeauth.models import face_teacher

    def score(frames):
        errs, refused = [], 0
        for f, pts in frames:
            box, p = detect(f, det_bytes)
            if p < thr:
                refused += 1
                continue
            got = landmark_points(f, box, lmk_bytes) / 16.0
            iod = align.eye_distance(pts)
            errs.append(float(np.linalg.norm(got - pts, axis=1).mean() / max(iod, 1e-6)))
        e = np.array(errs)
        return {"frames": len(frames), "refused": refused, "nme": round(float(e.mean()), 4),
                "nme_median": round(float(np.median(e)), 4),
                "over_0.1": round(float((e > 0.1).mean()), 4)}

    lfw = _eval_frames(*_eval_photos("eval", data_dir), seed)
    from eyeauth import splits

    orl = datasets.scan(splits.folder("orl", data_dir), "face")
    paths = [p for _, p in orl.items()]
    sf = face_teacher.sface_table(paths, label="SFace teacher (ORL)")
    orl_frames = []
    for p, pts, ok in zip(paths, sf["pts"], sf["found"]):
        if ok:
            img = datasets.load_image(p)
            orl_frames.append((FD.camera_frame(img), FD.camera_points(pts, img.shape)))
    return {"lfw_eval": score(lfw), "orl": score(orl_frames),
            "protocol": "NME: mean distance of the five points to YuNet's, over the eye "
                        "distance; int8 detector graph then int8 landmark net in TFLM on QVGA "
                        "camera frames (LFW evaluation people: each photo as the camera gives it "
                        "and pasted into a scene; ORL: the 400 portraits as the camera gives "
                        "them)"}
