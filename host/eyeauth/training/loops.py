"""The training loops the face and voice embedders share (TensorFlow): seeds, and CosFace plus
distillation towards a teacher's embedding. Each recipe makes its own data
(``training/face.py``, ``voice.py``); the detector and keyword recipes have their own loops."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from eyeauth.models import preprocess as P  # noqa: E402
from eyeauth.models.progress import note  # noqa: E402
from eyeauth.training import nets  # noqa: E402


def train_embedder(spec, make_epoch, n_classes, epochs, seed, lr=3e-3, batch=64):
    """Train spec's embedder. ``make_epoch(rng) -> (X int8, y)`` or ``(X, y, T)``.

    Loss: CosFace over the labels (samples with label -1 are skipped) plus, when teacher
    embeddings T are given, ``spec["distill"]`` * mean(1 - cos(embedding, T)).
    """
    nets.seed_all(seed)
    model = nets.embedder(spec)
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
