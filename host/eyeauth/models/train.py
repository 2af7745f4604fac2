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
    """L1 on (cx, cy, side) where a face is present; with ``spec["presence"]`` (targets of 4
    columns, the 4th 1 = face, 0 = none) plus binary cross-entropy on presence, the box loss
    masked on frames without a face."""
    seed_all(seed)
    model = nets.build(spec)
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
