"""Keras building blocks of the zoo networks (imports TensorFlow; only training uses it): the
backbone every model shares, the embedder, the CosFace head (the detector's and the keyword
model's heads are in their recipes).

All are MobileNetV1-style stacks (3x3 conv /2, then depthwise-separable blocks), chosen
because TFLM + ESP-NN has optimised int8 kernels for exactly CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED and MEAN/AVERAGE_POOL: nothing exotic to port.

A spec (one entry of models/zoo.json) gives: input [H, W], ``stem`` channels, ``blocks``
[[channels, stride], ...], ``width`` (multiplier on all channels, rounded to 8 with a floor of
8), ``emb_dim`` (embedders) and ``head`` (the detector's hidden units).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

keras = tf.keras
layers = keras.layers


def seed_all(seed):
    np.random.seed(seed)
    tf.random.set_seed(seed)
    tf.keras.utils.set_random_seed(seed)


def _ch(c, width):
    return max(8, int(round(c * width / 8.0)) * 8)


def backbone(x, spec):
    w = spec.get("width", 1.0)
    x = layers.Conv2D(_ch(spec["stem"], w), 3, strides=2, padding="same", use_bias=False,
                      name="stem")(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu")(x)
    for i, (c, s) in enumerate(spec["blocks"]):
        x = layers.DepthwiseConv2D(3, strides=s, padding="same", use_bias=False,
                                   name=f"b{i}_dw")(x)
        x = layers.BatchNormalization(name=f"b{i}_dw_bn")(x)
        x = layers.ReLU(6.0, name=f"b{i}_dw_relu")(x)
        x = layers.Conv2D(_ch(c, w), 1, use_bias=False, name=f"b{i}_pw")(x)
        x = layers.BatchNormalization(name=f"b{i}_pw_bn")(x)
        x = layers.ReLU(6.0, name=f"b{i}_pw_relu")(x)
    return x


def embedder(spec):
    """Input (H, W, 1) float = int8/128 -> embedding (emb_dim,), not normalised."""
    h, w = spec["input"]
    inp = keras.Input((h, w, 1), name="input")
    x = backbone(inp, spec)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dense(spec["emb_dim"], name="embedding")(x)
    return keras.Model(inp, x, name=spec["name"])


class MarginHead(keras.layers.Layer):
    """CosFace head for training only: s * (cos(theta) - m * onehot)."""

    def __init__(self, n_classes, scale=20.0, margin=0.25, **kw):
        super().__init__(**kw)
        self.n_classes, self.scale, self.margin = n_classes, scale, margin

    def build(self, input_shape):
        self.w = self.add_weight(name="centres", shape=(int(input_shape[-1]), self.n_classes),
                                 initializer="glorot_uniform", trainable=True)

    def call(self, emb, labels):
        e = tf.math.l2_normalize(emb, axis=1)
        w = tf.math.l2_normalize(self.w, axis=0)
        cos = tf.matmul(e, w)
        onehot = tf.one_hot(labels, self.n_classes)
        return self.scale * (cos - self.margin * onehot)
