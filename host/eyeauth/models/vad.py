"""Energy voice-activity check, in front of the voice model. Pure numpy, simple to port.

Steps (MicroPython: one pass over the samples with integer sums):
  1. frames of 256 samples (32 ms at 8 kHz), hop 256; energy e[t] = mean(x^2) of int16 x.
  2. dB[t] = 10 * log10(e[t] + 1); noise floor = 10th percentile of dB (the quietest frames);
     peak = max dB.
  3. threshold = max(min(noise + 12, peak - 6), peak - 30, 35); a frame is speech when
     dB[t] >= threshold. (35 dB is an RMS of about 56 LSB, -55 dBFS: the floor of a quiet
     room through the ESP-EYE microphone is below it. min(...) keeps clips that are trimmed to
     the word, whose quietest frames are speech, from losing all their frames.)
  4. a long clip (>= 16 frames, 0.5 s) whose peak is less than 12 dB over its floor is steady
     noise: no frame is speech.
  5. the clip has speech when at least MIN_SPEECH_FRAMES (3 = 96 ms) frames are speech.
The energy centre (used to centre the voice-model window) is the energy-weighted mean sample
index over the speech frames (all frames when none is speech).
"""
import numpy as np

FRAME = 256
MIN_SPEECH_FRAMES = 3
ABS_FLOOR_DB = 35.0
STEADY_FRAMES = 16
NOISE_MARGIN_DB = 12.0
PEAK_RANGE_DB = 30.0


def frame_db(wav, frame=FRAME):
    x = np.asarray(wav, np.int16).reshape(-1).astype(np.float64)
    n = max(1, -(-x.size // frame))
    pad = np.zeros(n * frame)
    pad[:x.size] = x
    e = (pad.reshape(n, frame) ** 2).mean(axis=1)
    return 10.0 * np.log10(e + 1.0)


def speech_frames(wav, frame=FRAME):
    """Boolean speech flag per frame (step 3)."""
    db = frame_db(wav, frame)
    noise = np.percentile(db, 10)
    peak = db.max()
    if db.size >= STEADY_FRAMES and peak - noise < NOISE_MARGIN_DB:
        return np.zeros(db.size, bool)
    thr = max(min(noise + NOISE_MARGIN_DB, peak - 6.0), peak - PEAK_RANGE_DB, ABS_FLOOR_DB)
    return db >= thr


def has_speech(wav):
    """True when the clip holds at least MIN_SPEECH_FRAMES speech frames."""
    return int(speech_frames(wav).sum()) >= MIN_SPEECH_FRAMES


def speech_span(wav, frame=FRAME):
    """(start, end) sample indices of the first to the last speech frame, or None."""
    flags = speech_frames(wav, frame)
    idx = np.flatnonzero(flags)
    if idx.size == 0:
        return None
    return int(idx[0] * frame), int(min((idx[-1] + 1) * frame, np.asarray(wav).size))


def energy_centre(wav, frame=FRAME):
    """Energy-weighted centre sample of the speech frames (of all frames when none)."""
    x = np.asarray(wav, np.int16).reshape(-1)
    if x.size == 0:
        return 0
    db = frame_db(x, frame)
    flags = speech_frames(x, frame)
    e = 10 ** (db / 10.0)
    w = np.where(flags, e, 0.0) if flags.any() else e
    centres = np.arange(db.size) * frame + frame // 2
    return int(min(round(float((w * centres).sum() / max(w.sum(), 1e-9))), x.size - 1))
