"""The voice factor is an utterance: host reference of the device's utterance embedding.

An utterance (a 1 s word, a 2-3 s phrase) is embedded as the mean of the unit embeddings of the
embedder's T-frame windows laid over the speech, then L2-normalised. Exactly what the firmware
(``pipeline.voice_check`` / ``voice_embedding``) does, with the board's own front-end model and
its own ``eyeauth_fw/speech.py``:

  1. the audio front end's rows of the whole clip (``frontend.py``, row r = samples 128 r ..
     128 r + 255, zero outside the clip); VAD on their frame levels (``vad.py``); fewer than 3
     speech frames -> no speech (DataError here, ``no_speech`` on the device). Speech span
     [s, e): first to last speech frame.
  2. W = (T - 1) * 128 + 256 samples per window. If e - s <= W, or the model allows one
     window: one window from the row nearest to the energy centre - W / 2 - the single-word
     input the models were trained on, identical to ``preprocess.voice_input``.
  3. Else windows on the row grid from row s / 128: extra = ceil((e - s - W) / 128) rows beyond
     one window; n = min(1 + ceil(extra / hop_frames), max_windows) windows at row offsets
     o_k = round_half_up(k * extra / (n - 1)), k = 0..n-1 (the first starts at s, the last
     ends at or just past e) (``speech.window_rows``).
  4. Each window: its T rows' log band power relative to the window's own maximum, clipped at
     80 dB, int8 (``frontend.quantize``) -> model. Rows are shared by overlapping windows and by
     every model (the front end computes every band set of the zoo).
  5. embedding = unit(mean_k unit(dequantized output of window k)).

``hop_frames`` and ``max_windows`` come from the card (``input.preprocess.utterance``), chosen
per model so a 3 s phrase stays inside the ESP32 latency budget (``eyeauth.latency.phrase``).

Evaluation: ``eyeauth models eval --modality voice`` (eyeauth/evaluation/crosseval.py: these
embeddings, scored as the board scores, on Speech Commands and FSDD, single clips and 3-word
phrases made by :func:`phrase_sets`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from eyeauth.errors import DataError
from eyeauth.models import preprocess as P, vad as V

DEFAULT_UTTERANCE = {"hop_frames": 16, "max_windows": 1}
#: phrase protocol: enrol ENROL_PHRASES phrases made from a speaker's first ENROL_CLIPS clips,
#: score TEST_PHRASES phrases made from the speaker's other clips (enrol and test audio disjoint)
ENROL_CLIPS = 5
ENROL_PHRASES = 5
TEST_PHRASES = 10
NOISE_DB = -30.0


# ---------------------------------------------------------------- the device's computation

def utterance_settings(card):
    u = (card.get("input", {}).get("preprocess", {}) or {}).get("utterance") or {}
    return {"hop_frames": int(u.get("hop_frames", DEFAULT_UTTERANCE["hop_frames"])),
            "max_windows": int(u.get("max_windows", DEFAULT_UTTERANCE["max_windows"]))}


def _as_clip(wav):
    x = np.asarray(wav)
    if x.dtype != np.int16:
        raise DataError(f"voice clips are int16 at 8 kHz, got {x.dtype}; use "
                        "eyeauth.datasets.to_int16")
    x = x.reshape(-1)
    if x.size == 0:
        raise DataError("empty audio clip")
    return x


def plan(wav, n_frames, hop_frames=16, max_windows=1):
    """[first front-end row of each window] of a clip (``speech.window_rows``).

    Raises DataError when the clip holds no speech (too short, silent or steady noise)."""
    from eyeauth.fw import speech

    x = _as_clip(wav)
    c = V.clip(x)
    if not c.ok:
        raise DataError(f"no speech in the clip ({c.n_speech} speech frames of 32 ms, need "
                        f"{V.MIN_SPEECH_FRAMES}; {x.size / P.RATE:.2f} s long): too short, "
                        "silent or steady noise")
    return speech.window_rows(c.centre, c.start, c.end, n_frames, hop_frames, max_windows)


def window(wav, r0, n_frames, n_mels):
    """int8 (T, M) model window of front-end rows r0 .. r0 + T - 1 of a clip."""
    from eyeauth.models import frontend

    c = V.clip(wav)
    return frontend.quantize(c.fe.mel(c.get_rows(r0, n_frames), n_mels))


def _shape(card):
    return tuple(int(v) for v in card["input"]["shape"][1:3])


def tensors(card, wav):
    """The int8 input tensors (T, M) of every window of a clip, in order."""
    t, m = _shape(card)
    u = utterance_settings(card)
    return [window(wav, r0, t, m) for r0 in plan(wav, t, u["hop_frames"], u["max_windows"])]


def _card(card):
    from eyeauth.models import zoo

    return zoo.load_card(card) if isinstance(card, str) else card


_bytes_cache: dict = {}


def _model(card, flt):
    from eyeauth.models import zoo

    path = Path(card["path"]) if card.get("path") else zoo.tflite_path(card["name"])
    if flt:
        path = path.parent / "float" / path.name
    key = (str(path), path.stat().st_mtime_ns if path.exists() else 0)
    if key not in _bytes_cache:
        if not path.exists():
            raise DataError(f"{path} is missing; run `eyeauth models build`")
        _bytes_cache[key] = path.read_bytes()
    return _bytes_cache[key]


def infer(card, q, flt=False):
    """Dequantized output of one int8 window (T, M) through TFLM (float reference: ``flt``)."""
    from eyeauth.models import tflm

    return tflm.infer(_model(card, flt), q, flt)


def embed(card, wav_int16_8k, flt=False):
    """Unit utterance embedding (float32) of an int16 8 kHz clip of any length: the mean of the
    unit embeddings of its windows (int8 model in TFLM, or the float reference with ``flt``).
    ``card``: a card dict (``zoo.load_card``) or a model name."""
    card = _card(card)
    return windows_embedding(card, tensors(card, wav_int16_8k), flt)


def windows_embedding(card, qs, flt=False):
    """unit(mean of the unit embeddings of the window tensors ``qs``) (float32): the utterance
    embedding, for callers that reuse one clip's tensors (int8 and float)."""
    from eyeauth.models.tflm import unit

    outs = [unit(infer(card, q, flt), np.float64) for q in qs]
    return unit(np.mean(outs, axis=0), np.float64).astype(np.float32)


# ---------------------------------------------------------------- phrases

def trim(wav, margin=0.05):
    """The speech span of a clip (VAD) with ``margin`` seconds either side (whole clip if none)."""
    x = np.asarray(wav, np.int16).reshape(-1)
    span = V.speech_span(x)
    if span is None:
        return x
    m = int(margin * P.RATE)
    return x[max(0, span[0] - m):min(x.size, span[1] + m)]


def make_phrase(clips, rng, gap=(0.1, 0.4), noise_db=NOISE_DB, margin=0.05):
    """One int16 8 kHz phrase: the word clips (one speaker's) trimmed to their speech, joined
    with silent gaps of uniform(gap) seconds, 0.1 s of lead-in and tail, plus white noise
    ``noise_db`` dB under the phrase's speech RMS (None: no noise)."""
    if not clips:
        raise DataError("a phrase needs at least one clip")
    lead = np.zeros(int(0.1 * P.RATE), np.float64)
    parts = [lead]
    for k, c in enumerate(clips):
        if k:
            parts.append(np.zeros(int(round(rng.uniform(*gap) * P.RATE))))
        parts.append(trim(c, margin).astype(np.float64))
    parts.append(lead)
    x = np.concatenate(parts)
    if noise_db is not None:
        speech = np.concatenate([trim(c, 0).astype(np.float64) for c in clips])
        rms = np.sqrt(np.mean(speech ** 2) + 1e-9)
        x = x + rng.normal(0, rms * 10 ** (noise_db / 20), x.size)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def phrase_sets(dataset_dir, speakers, n_words=3, n_phrases=ENROL_PHRASES + TEST_PHRASES,
                seed=5, enrol_phrases=ENROL_PHRASES, enrol_clips=ENROL_CLIPS):
    """{speaker: [int16 phrases]} for evaluation. The first ``enrol_phrases`` phrases of a
    speaker are made of ``n_words`` distinct clips drawn from the speaker's first
    ``enrol_clips`` clips (natural order, as the single-clip protocol enrols them); the other
    ``n_phrases - enrol_phrases`` from the remaining clips only (test audio never enrolled).
    Random draws, gaps and noise from ``seed`` and the speaker's position in ``speakers``."""
    from eyeauth import datasets

    ds = datasets.scan(dataset_dir, "voice").subset(list(speakers))
    out = {}
    for k, spk in enumerate(speakers):
        rng = np.random.default_rng([seed, k])
        clips = [datasets.load_audio(p) for p in ds.files[spk]]
        enrol, rest = clips[:enrol_clips], clips[enrol_clips:]
        if len(enrol) < n_words or len(rest) < n_words:
            raise DataError(f"speaker {spk} has {len(clips)} clips; phrases of {n_words} words "
                            f"need {enrol_clips + n_words}")
        phr = []
        for i in range(n_phrases):
            pool = enrol if i < enrol_phrases else rest
            pick = rng.choice(len(pool), n_words, replace=False)
            phr.append(make_phrase([pool[j] for j in pick], rng))
        out[spk] = phr
    return out
