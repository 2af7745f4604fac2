"""Recipe of the keyword model of the spoken challenge (the board's computation of its input,
the vocabulary and the data: :mod:`eyeauth.models.keyword`).

Training: the Speech Commands ``train`` speakers only; augmentation speed 0.85-1.15, gain
0.3-2, white/pink noise 5-40 dB SNR, babble (another training word 12-30 dB under), lead/tail
silence (gaps) of 0-0.4 s, +-1 row of centre jitter; on the model input, SpecAugment (masked
rows and bands, redrawn every epoch) when the zoo entry asks for it. The epoch kept is the one
with the best word accuracy on the calib + premodel speakers' clean single clips.
"""
from __future__ import annotations

import time

import numpy as np

from eyeauth.models import keyword as K, preprocess as P
from eyeauth.models.progress import note
from eyeauth.training import Trained

RECIPE = "keyword/2"  # 2: features from the audio front end (models/audio_fe.tflite) instead of the numpy log-mel
TEACHER = None  # learns the words from their labels


def augment(wav, rng, others):
    """One training variant of a clip: speed, gain, lead/tail silence, babble, noise."""
    from eyeauth.training import audio

    x = wav
    if rng.random() < 0.8:
        x = audio.speed(x, rng.uniform(0.85, 1.15))
    x = x.astype(np.float64) * rng.uniform(0.3, 2.0)
    if rng.random() < 0.5:  # gaps: silence before / after, as between the words of a phrase
        x = np.concatenate([np.zeros(int(rng.uniform(0, 0.4) * P.RATE)), x,
                            np.zeros(int(rng.uniform(0, 0.4) * P.RATE))])
    rms = np.sqrt(np.mean(x ** 2) + 1e-9)
    if rng.random() < 0.2:  # babble: another training word far under this one
        o = others[int(rng.integers(len(others)))].astype(np.float64)
        o = np.resize(o, x.size) if o.size < x.size else o[:x.size]
        orms = np.sqrt(np.mean(o ** 2) + 1e-9)
        x = x + o * rms / orms / (10 ** (rng.uniform(12, 30) / 20))
    if rng.random() < 0.8:
        noise = rng.normal(0, 1, x.size)
        if rng.random() < 0.5:
            noise = np.convolve(noise, np.ones(4) / 2, mode="same")
        x = x + noise * rms / (10 ** (rng.uniform(5, 40) / 20))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def make_set(items, n_frames, n_mels, variants, seed, clean=False):
    """(X int8 (n, T, M), y) of ``variants`` augmented inputs per clip (``clean``: one each,
    no augmentation); clips without speech are skipped and counted in the third value."""
    rng = np.random.default_rng(seed)
    others = [w for _, _, w in items]
    xs, ys, skipped = [], [], 0
    for _, k, wav in items:
        for _ in range(1 if clean else variants):
            q = K.single_word_input(wav if clean else augment(wav, rng, others), n_frames, n_mels,
                                    None if clean else rng)
            if q is None:
                skipped += 1
                continue
            xs.append(q)
            ys.append(k)
    return np.stack(xs), np.array(ys), skipped


def net(entry):
    import tensorflow as tf

    from eyeauth.training import nets

    h, w = entry["input"]
    inp = tf.keras.Input((h, w, 1), name="input")
    x = nets.backbone(inp, entry)
    x = tf.keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = tf.keras.layers.Dropout(float(entry.get("dropout", 0.2)), name="drop")(x)
    x = tf.keras.layers.Dense(len(K.VOCAB), name="logits")(x)
    return tf.keras.Model(inp, x, name=entry["name"])


def spec_augment(x, rng, n_time=2, max_rows=8, n_freq=2, max_bands=6):
    """SpecAugment on int8 inputs (n, T, M): ``n_time`` masks of up to ``max_rows`` rows and
    ``n_freq`` masks of up to ``max_bands`` bands set to the floor (-128), per sample."""
    x = x.copy()
    n, t, m = x.shape
    for size, count, axis in ((t, n_time, 1), (m, n_freq, 2)):
        top = max_rows if axis == 1 else max_bands
        for _ in range(count):
            w = rng.integers(0, top + 1, n)
            a = rng.integers(0, size, n)
            idx = np.arange(size)[None, :]
            mask = (idx >= a[:, None]) & (idx < (a + w)[:, None])
            if axis == 1:
                x[mask[:, :, None].repeat(m, 2)] = -128
            else:
                x[mask[:, None, :].repeat(t, 1)] = -128
    return x


def fit(entry, x, y, xv, yv):
    """Adam(W) with cosine decay, label smoothing and SpecAugment redrawn every epoch; keeps the
    weights of the epoch with the best accuracy on the selection set (calib + premodel
    speakers). -> (model, history)."""
    import tensorflow as tf

    from eyeauth.training import nets

    nets.seed_all(entry["seed"])
    model = net(entry)
    batch = int(entry.get("batch", 64))
    epochs = int(entry["epochs"])
    steps = epochs * (len(x) // batch)
    sched = tf.keras.optimizers.schedules.CosineDecay(entry["lr"], steps, alpha=0.02)
    wd = float(entry.get("weight_decay", 0.0))
    opt = tf.keras.optimizers.AdamW(sched, weight_decay=wd) if wd else tf.keras.optimizers.Adam(sched)
    loss = tf.keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    model.compile(optimizer=opt, loss=loss, metrics=["accuracy"])
    xvf = P.to_float(xv)[..., None]
    yh = np.eye(len(K.VOCAB))[y]
    rng = np.random.default_rng(entry["seed"] + 11)
    sa = entry.get("spec_augment")
    best, best_w, hist = -1.0, None, []
    for ep in range(epochs):
        t0 = time.monotonic()
        xe = spec_augment(x, rng, *sa) if sa else x
        h = model.fit(P.to_float(xe)[..., None], yh, batch_size=batch, epochs=1, shuffle=True, verbose=0)
        acc = float((model.predict(xvf, batch_size=256, verbose=0).argmax(1) == yv).mean())
        hist.append({"epoch": ep + 1, "loss": round(float(h.history["loss"][0]), 4),
                     "selection_accuracy": round(acc, 4)})
        note(f"{entry['name']}: epoch {ep + 1}/{epochs} loss {h.history['loss'][0]:.3f} "
             f"selection accuracy {acc:.3f} ({time.monotonic() - t0:.0f} s)")
        if acc > best:
            best, best_w = acc, model.get_weights()
    model.set_weights(best_w)
    return model, hist


def train(entry, data, out_dir):
    from eyeauth import splits

    t, m = entry["input"]
    tr = K.clips("train")
    sel = K.clips("calib") + K.clips("premodel")
    note(f"{entry['name']}: {len(tr)} training clips, {len(sel)} selection clips")
    x, y, skipped = make_set(tr, t, m, int(entry["variants"]), entry["seed"])
    xv, yv, sel_skipped = make_set(sel, t, m, 1, entry["seed"] + 1, clean=True)
    model, hist = fit(entry, x, y, xv, yv)
    rng = np.random.default_rng(entry["seed"] + 7)
    rep = [P.to_float(x[j])[..., None] for j in rng.choice(len(x), 300, replace=False)]

    def ids(part):
        return splits.identities("speech_commands", part)

    training = {"data": "voices/speech_commands", "split": "speech_commands",
                "identities": ids("train"), "clips": len(tr), "samples": len(x),
                "variants_per_clip": entry["variants"], "no_speech_skipped": skipped,
                "selection_identities": ids("calib") + ids("premodel"),
                "selection": "the epoch with the best word accuracy on the calib + "
                             "premodel speakers' clean single clips "
                             f"({len(xv)} clips, {sel_skipped} without speech)",
                "history": hist, "method": __doc__.split("Training: ")[1].strip(),
                "credit": K.CREDIT}
    return Trained(model, rep, training)
