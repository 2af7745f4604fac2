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
(``words.margin``) against the model's margin threshold (fitted on the calib + premodel
speakers: ``eyeauth eval liveness --update-card``; shipped in the release manifest). Training:
:mod:`eyeauth.training.keyword`.
"""
from __future__ import annotations

import numpy as np

from eyeauth import datasets
from eyeauth.fw import words as fw_words
from eyeauth.models import preprocess as P, vad as V

CREDIT = ("Speech Commands v0.02 (P. Warden, \"Speech Commands: A Dataset for Limited-Vocabulary "
          "Speech Recognition\", arXiv:1804.03209, 2018; CC BY 4.0)")

VOCAB = fw_words.VOCAB


def word_of(path):
    """The vocabulary index of a Speech Commands clip (``<word>_<n>.wav``), or None."""
    w = str(getattr(path, "name", path)).split("_")[0]
    return VOCAB.index(w) if w in VOCAB else None


# ---------------------------------------------------------------- the board's computation

def segments(wav, n_words):
    """The word segments [(start, end, centre)] of a clip as the board finds them, or the number
    of words heard (int) when fewer than ``n_words`` are separable."""
    c = V.clip(wav)
    return fw_words.segment(c.flags, c.levels, n_words, c.x.size)


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
        o, a, b = fw_words.window(seg, start, n_frames)
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
