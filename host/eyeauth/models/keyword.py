"""The keyword model of the spoken challenge: which of the 10 command words a word segment is.

Vocabulary: the ten command words of Speech Commands (yes no up down left right on off stop
go). The shared data has 155 Speech Commands speakers for them (93 train, 15 calib, 16
premodel, 31 eval in data/splits.json: about 2,100 training clips, 340-370 per word over all
parts); the only other spoken vocabulary, FSDD digits, has 6 speakers, too few both to learn
words that transfer to unseen voices and to measure that they do.

Input: the voice front end the board already runs for the speaker model (8 kHz, the rows of
models/audio_fe.tflite, the same on the host: ``frontend.py``), 32 mel bands like voice_m, T
rows on the grid that starts at the clip's first speech sample. Per word segment
(``eyeauth_fw/words.py``: VAD runs merged to the challenge's word count) the window is T rows
centred on the word's energy centre; the rows whose centre lies in the word are quantised
relative to their own maximum exactly as a voice window (``frontend.quantize``), the other rows
are -128 (the floor), so a neighbouring word never leaks into the window.

Output: 10 logits; the board checks the expected word's logit over the best other word
(``words.margin``) against ``margin_threshold`` on the card (fitted on the calib + premodel
speakers). Training: the Speech Commands ``train`` speakers only; augmentation speed 0.85-1.15,
gain 0.3-2, white/pink noise 5-40 dB SNR, babble (another training word 12-30 dB under),
lead/tail silence (gaps) of 0-0.4 s, +-1 row of centre jitter; on the model input, SpecAugment
(masked rows and bands, redrawn every epoch) when the zoo entry asks for it.
"""
from __future__ import annotations

import json
import time
from functools import lru_cache

import numpy as np

from eyeauth import datasets
from eyeauth.models import preprocess as P, vad as V

CREDIT = ("Speech Commands v0.02 (P. Warden, \"Speech Commands: A Dataset for Limited-Vocabulary "
          "Speech Recognition\", arXiv:1804.03209, 2018; CC BY 4.0)")


@lru_cache(maxsize=None)
def fw_words():
    """The firmware's ``eyeauth_fw/words.py`` (segmentation, windows, decision) as plain Python."""
    from eyeauth import fwmod

    return fwmod.load("words")


VOCAB = fw_words().VOCAB


def word_of(path):
    """The vocabulary index of a Speech Commands clip (``<word>_<n>.wav``), or None."""
    w = str(getattr(path, "name", path)).split("_")[0]
    return VOCAB.index(w) if w in VOCAB else None


# ---------------------------------------------------------------- the board's computation

def segments(wav, n_words):
    """The word segments [(start, end, centre)] of a clip as the board finds them, or the number
    of words heard (int) when fewer than ``n_words`` are separable."""
    c = V.clip(wav)
    return fw_words().segment(c.flags, c.levels, n_words, c.x.size)


def window_tensor(wav, r0, n_frames, n_mels, a, b):
    """int8 (T, M) keyword input of front-end rows r0 .. r0 + T - 1 of a clip: rows a..b-1
    quantised relative to their own maximum (as a voice window), the others -128."""
    from eyeauth.models import frontend

    c = V.clip(wav)
    out = np.full((n_frames, n_mels), -128, np.int8)
    out[a:b] = frontend.quantize(c.fe.mel(c.get_rows(r0 + a, b - a), n_mels))
    return out


def word_tensors(wav, segs, start, n_frames, n_mels):
    """int8 keyword inputs (T, M) of each segment on the row grid from sample ``start`` (the
    clip's first speech sample, a row edge)."""
    out = []
    for seg in segs:
        o, a, b = fw_words().window(seg, start, n_frames)
        out.append(window_tensor(wav, start // P.HOP + o, n_frames, n_mels, a, b))
    return out


def clip_tensors(card, wav, n_words):
    """(segments, int8 inputs) of a challenge clip, or (words heard, []) when it has too few
    words. The grid starts at the clip's first speech sample, as on the board."""
    segs = segments(wav, n_words)
    if isinstance(segs, int):
        return segs, []
    t, m = (int(v) for v in card["input"]["shape"][1:3])
    return segs, word_tensors(wav, segs, V.speech_span(wav)[0], t, m)


def logits(card, q, flt=False):
    from eyeauth.models import voice_phrase

    return voice_phrase.infer(card, q, flt)


# ---------------------------------------------------------------- data

def clips(part, data_dir=None):
    """[(speaker, word index, int16 clip)] of the vocabulary clips of a Speech Commands part."""
    from eyeauth import splits

    ids = splits.identities("speech_commands", part)
    ds = datasets.scan(splits.folder("speech_commands", data_dir), "voice").subset(ids)
    return [(s, word_of(p), datasets.load_audio(p)) for s, p in ds.items() if word_of(p) is not None]


def single_word_input(wav, n_frames, n_mels, rng=None):
    """The keyword input of a one-word clip as the board would cut it from a phrase (grid from
    the first speech sample; ``rng``: +-1 row centre jitter), or None without speech."""
    segs = segments(wav, 1)
    if isinstance(segs, int):
        return None
    s, e, c = segs[0]
    if rng is not None:
        c += int(rng.integers(-1, 2)) * P.HOP
    return word_tensors(wav, [(s, e, c)], s, n_frames, n_mels)[0]


def augment(wav, rng, others):
    """One training variant of a clip: speed, gain, lead/tail silence, babble, noise."""
    from eyeauth.models import train

    x = wav
    if rng.random() < 0.8:
        x = train.speed(x, rng.uniform(0.85, 1.15))
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
            q = single_word_input(wav if clean else augment(wav, rng, others), n_frames, n_mels,
                                  None if clean else rng)
            if q is None:
                skipped += 1
                continue
            xs.append(q)
            ys.append(k)
    return np.stack(xs), np.array(ys), skipped


# ---------------------------------------------------------------- net and training

def net(entry):
    import tensorflow as tf

    from eyeauth.models import nets

    h, w = entry["input"]
    inp = tf.keras.Input((h, w, 1), name="input")
    x = nets._backbone(inp, entry)
    x = tf.keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = tf.keras.layers.Dropout(float(entry.get("dropout", 0.2)), name="drop")(x)
    x = tf.keras.layers.Dense(len(VOCAB), name="logits")(x)
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


def train(entry, x, y, xv, yv, note):
    """Adam(W) with cosine decay, label smoothing and SpecAugment redrawn every epoch; keeps the
    weights of the epoch with the best accuracy on the selection set (calib + premodel
    speakers). -> (model, history)."""
    import tensorflow as tf

    from eyeauth.models import train as T

    T.seed_all(entry["seed"])
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
    yh = np.eye(len(VOCAB))[y]
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


# ---------------------------------------------------------------- the whole build

def build(entry, key, out_dir, convert, write, weights_info, save_card):
    """Train, convert, check and card the keyword model (called by ``models.build``)."""
    from eyeauth import timing
    from eyeauth.models import convert as C, tflm, zoo
    from eyeauth.models.progress import note

    t, m = entry["input"]
    tr = clips("train")
    sel = clips("calib") + clips("premodel")
    note(f"{entry['name']}: {len(tr)} training clips, {len(sel)} selection clips")
    x, y, skipped = make_set(tr, t, m, int(entry["variants"]), entry["seed"])
    xv, yv, sel_skipped = make_set(sel, t, m, 1, entry["seed"] + 1, clean=True)
    model, hist = train(entry, x, y, xv, yv, note)
    rng = np.random.default_rng(entry["seed"] + 7)
    rep = [P.to_float(x[j])[..., None] for j in rng.choice(len(x), 300, replace=False)]
    int8, flt = convert(entry, model, rep)
    write(entry, int8, flt, out_dir)
    params, wbytes = weights_info(int8)
    arena = tflm.arena_bytes(int8)
    lat = timing.latency_summary(int8)
    inp, out = tflm.io_details(int8)
    card = {
        "name": entry["name"], "modality": "keyword",
        "file": f"{entry['name']}.tflite", "float_file": f"float/{entry['name']}.tflite",
        "params": params, "macs": timing.count_macs(int8), "flash_bytes": len(int8),
        "weights_bytes": wbytes, "float_flash_bytes": len(flt),
        "arena_bytes": arena, "arena_bytes_target": tflm.arena_bytes_target(arena),
        "latency_ms": lat, "latency_esp32_ms": lat["esp32_espnn"],
        "latency_esp32s3_ms": lat["esp32s3_espnn"],
        "input": {**inp, "layout": f"NHWC (1, {t}, {m}, 1): {t} log-mel rows x {m} mel bands",
                  "preprocess": {"function": "eyeauth.models.keyword.clip_tensors",
                                 "steps": __doc__.split("Input: ")[1].split("\n\nOutput")[0]}},
        "output": {**out, "labels": list(VOCAB),
                   "meaning": "logits of the 10 words; margin = expected word - best other"},
        **C.op_report(int8), "int8_check": entry.get("_check"), "build_hash": key,
        "spec": {k: v for k, v in entry.items() if not k.startswith("_")},
        "training": {"data": "voices/speech_commands", "split": "speech_commands",
                     "identities": _ids("train"), "clips": len(tr), "samples": len(x),
                     "variants_per_clip": entry["variants"], "no_speech_skipped": skipped,
                     "selection_identities": _ids("calib") + _ids("premodel"),
                     "selection": "the epoch with the best word accuracy on the calib + "
                                  "premodel speakers' clean single clips "
                                  f"({len(xv)} clips, {sel_skipped} without speech)",
                     "history": hist, "method": __doc__.split("Training: ")[1].strip(),
                     "credit": CREDIT},
    }
    save_card(card, out_dir)
    return finish_card(entry["name"], out_dir, save_card)


def finish_card(name, out_dir=None, save_card=None):
    """Fit the decision threshold on the calib + premodel speakers and put the word accuracy
    on the eval speakers on the card (rerun without training: ``eyeauth eval liveness
    --update-card``)."""
    from eyeauth.auth import liveness
    from eyeauth.models import build as B, zoo

    save_card = save_card or B._save_card
    card = zoo.load_card(name, out_dir)
    fit = liveness.fit_threshold(card)
    card["output"]["margin_threshold"] = fit["threshold"]
    card["threshold_fit"] = fit
    ev = liveness.evaluate(card=card, part="eval", speaker_check=False)
    card["eval"] = {k: ev[k] for k in ("about", "speakers", "word_accuracy", "word_accuracy_words",
                                        "word_accuracy_clips", "word_accuracy_clips_n",
                                        "genuine_pass_rate", "replay_reject_rate")}
    card["eval"]["note"] = ("words only (no speaker check); `eyeauth eval liveness` adds the "
                            "speaker check and the impostor trials")
    card["eval_command"] = "eyeauth eval liveness --json"
    return save_card(card, out_dir)


def _ids(part):
    from eyeauth import splits

    return splits.identities("speech_commands", part)
