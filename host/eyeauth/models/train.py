"""Training of the zoo networks (TensorFlow). Seeds fixed; data in numpy, augmentation here.

Face embedders: CosFace (s=20, m=0.25) over the training identities plus synthetic identities
(morphs of two training identities, ``face_teacher.morph_pool``), and distillation towards
dlib's ResNet face embedding of the same image; every sample is a face crop made by the
inference path (``preprocess.face_input``) from a jittered canonical box of a photometrically
and geometrically augmented image, so the net is trained on what the detector hands it.
Voice embedders: CosFace over training speakers x 9 speed factors (a speed-perturbed speaker is
a new speaker, as in Kaldi's x-vector recipe), noise, gain and time-shift augmentation.
Detector: L1 regression of (cx, cy, side) on synthetic scenes (``synth``).
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

from eyeauth.models import nets, preprocess as P, synth  # noqa: E402
from eyeauth.models.progress import note  # noqa: E402

VOICE_SPEEDS = (0.80, 0.85, 0.90, 0.95, 1.0, 1.05, 1.10, 1.15, 1.20)


def seed_all(seed):
    np.random.seed(seed)
    tf.random.set_seed(seed)
    tf.keras.utils.set_random_seed(seed)


# ---------------------------------------------------------------- face

def face_augment(img, rng, size, strength=1.0):
    """One training crop (int8 size x size) of a face image, through preprocess.face_input."""
    h, w = img.shape
    x = synth.photometric(img, rng, strength)
    if rng.random() < 0.5:
        x = x[:, ::-1]
    pil = Image.fromarray(x.astype(np.uint8))
    bx, by, bs, _ = P.default_face_box(img.shape)
    cx, cy = bx + bs / 2, by + bs / 2
    angle = rng.uniform(-10, 10) * strength
    if abs(angle) > 0.5:
        pil = pil.rotate(angle, resample=Image.BILINEAR, center=(cx, cy),
                         fillcolor=int(np.median(x)))
    if rng.random() < 0.2 * strength:
        from PIL import ImageFilter

        pil = pil.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    s = bs * rng.uniform(1 - 0.12 * strength, 1 + 0.12 * strength)
    cx += rng.uniform(-0.08, 0.08) * bs * strength
    cy += rng.uniform(-0.08, 0.08) * bs * strength
    box = (cx - s / 2, cy - s / 2, s, s)
    return P.face_input(np.asarray(pil), box, size)


def face_clean(img, size):
    return P.face_input(img, P.default_face_box(img.shape), size)


# ---------------------------------------------------------------- voice

def speed(wav, factor):
    """Play the clip ``factor`` times faster by linear interpolation (pitch and formants move
    with it: a new pseudo-speaker)."""
    n = max(2, int(round(wav.size / factor)))
    t = np.arange(n) * factor
    return np.interp(t, np.arange(wav.size), wav.astype(np.float64)).astype(np.int16)


def voice_augment(wav, rng, n_frames, n_mels):
    x = wav.astype(np.float64) * rng.uniform(0.3, 2.0)
    rms = np.sqrt(np.mean(x ** 2) + 1e-9)
    if rng.random() < 0.8:
        snr = rng.uniform(5, 40)
        noise = rng.normal(0, 1, x.size)
        if rng.random() < 0.5:  # pinkish: integrate white noise a little
            noise = np.convolve(noise, np.ones(4) / 2, mode="same")
        x = x + noise * rms / (10 ** (snr / 20))
    x = np.clip(x, -32768, 32767).astype(np.int16)
    from eyeauth.models.vad import energy_centre

    centre = energy_centre(x) + int(rng.integers(-800, 801))
    return P.voice_input(x, n_frames, n_mels, centre=centre)


def voice_classes(clips, labels, speakers):
    """Speed-perturbed copies: class = (speaker, speed). Returns (clips, class ids)."""
    out, cls = [], []
    for k, f in enumerate(VOICE_SPEEDS):
        for wav, lab in zip(clips, labels):
            out.append(wav if f == 1.0 else speed(wav, f))
            cls.append(k * len(speakers) + speakers.index(lab))
    return out, np.array(cls)


# ---------------------------------------------------------------- training loops

def train_embedder(spec, make_epoch, n_classes, epochs, seed, lr=3e-3, batch=64):
    """Train spec's embedder. ``make_epoch(rng) -> (X int8, y)`` or ``(X, y, T)``.

    Loss: CosFace over the labels (samples with label -1 are skipped) plus, when teacher
    embeddings T are given, ``spec["distill"]`` * mean(1 - cos(embedding, T)).
    """
    seed_all(seed)
    model = nets.build(spec)
    head = nets.MarginHead(max(n_classes, 1), scale=spec.get("cosface_s", 20.0),
                           margin=spec.get("cosface_m", 0.25))
    rng = np.random.default_rng(seed)
    first = make_epoch(rng)
    steps = epochs * max(1, len(first[0]) // batch)
    sched = tf.keras.optimizers.schedules.CosineDecay(lr, steps, alpha=0.02)
    opt = tf.keras.optimizers.Adam(sched)
    head.build((None, spec["emb_dim"]))
    w_distill = float(spec.get("distill", 1.0))
    ce = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")

    @tf.function(reduce_retracing=True)
    def step(x, y, t, has_t):
        with tf.GradientTape() as tape:
            emb = model(x, training=True)
            mask = tf.cast(y >= 0, tf.float32)
            yc = tf.maximum(y, 0)
            cls = tf.reduce_sum(ce(yc, head(emb, yc)) * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
            cos = tf.reduce_sum(tf.math.l2_normalize(emb, 1) * t, axis=1)
            loss = cls + has_t * w_distill * tf.reduce_mean(1.0 - cos)
        vars_ = model.trainable_variables + head.trainable_variables
        opt.apply_gradients(zip(tape.gradient(loss, vars_), vars_))
        return loss

    for ep in range(epochs):
        data = first if ep == 0 else make_epoch(rng)
        xq, y = data[0], data[1]
        t = data[2] if len(data) > 2 else np.zeros((len(xq), spec["emb_dim"]), np.float32)
        has_t = tf.constant(1.0 if len(data) > 2 else 0.0)
        x = P.to_float(xq)[..., None]
        order = rng.permutation(len(x))
        losses = []
        for i in range(0, len(x) - batch + 1, batch):  # whole batches: one traced shape
            j = order[i:i + batch]
            losses.append(float(step(tf.constant(x[j]), tf.constant(y[j], tf.int32),
                                     tf.constant(t[j], tf.float32), has_t)))
        if ep % 5 == 0 or ep == epochs - 1:
            note(f"{spec['name']}: epoch {ep + 1}/{epochs} loss {np.mean(losses):.3f}")
    return model


def train_detector(spec, frames, targets, epochs, seed, lr=2e-3, batch=64):
    seed_all(seed)
    model = nets.build(spec)
    steps = epochs * max(1, len(frames) // batch)
    opt = tf.keras.optimizers.Adam(tf.keras.optimizers.schedules.CosineDecay(lr, steps, alpha=0.02))
    x = P.to_float(frames)[..., None]
    t = np.asarray(targets, np.float32)
    rng = np.random.default_rng(seed)
    weights = tf.constant([1.0, 1.0, 1.5])

    @tf.function(reduce_retracing=True)
    def step(xb, tb):
        with tf.GradientTape() as tape:
            p = model(xb, training=True)
            loss = tf.reduce_mean(tf.abs(p - tb) * weights)
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
                tb = t[j] * [-1, 1, 1] + [1, 0, 0]
            else:
                tb = t[j]
            losses.append(float(step(tf.constant(xb), tf.constant(tb, tf.float32))))
        if ep % 5 == 0 or ep == epochs - 1:
            note(f"{spec['name']}: epoch {ep + 1}/{epochs} L1 {np.mean(losses):.4f}")
    return model


def detector_data(faces, n, seed, shape=(120, 160), portrait_frac=0.2):
    """n synthetic (int8 60x80 frame, target) pairs from a list of face images."""
    rng = np.random.default_rng(seed)
    xs, ts = [], []
    for i in range(n):
        face = faces[int(rng.integers(len(faces)))]
        if rng.random() < portrait_frac:
            img, box = synth.portrait_frame(face, rng)
        else:
            img, box = synth.scene_frame(face, rng, shape=shape)
        xs.append(P.detector_input(img))
        ts.append(P.box_to_target(box, img.shape))
    return np.stack(xs), np.array(ts, np.float32)
