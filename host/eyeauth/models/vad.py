"""Voice-activity check, in front of the voice model: the board's computation on the host.

The frame levels come from the audio front end (``frontend.py``: models/audio_fe.tflite, the
model the board runs) and the decisions from the firmware's own ``eyeauth_fw/speech.py`` (integer
arithmetic), so host and board decide alike:
  1. frames of 256 samples (32 ms at 8 kHz), hop 256 = the front end's even rows; level L =
     256.1 log2(sum of the frame's squared int16 samples); dB[t] = 10 log10(mean x^2) =
     L * 0.01175 - 24.08.
  2. noise floor = 10th percentile of the levels (the quietest frames), peak = max.
  3. threshold = max(min(noise + 12 dB, peak - 6 dB), peak - 30 dB, 35 dB); a frame is speech
     when its level >= threshold. (35 dB is an RMS of about 56 LSB, -55 dBFS: the floor of a
     quiet room through the ESP-EYE microphone is below it. min(...) keeps clips that are
     trimmed to the word, whose quietest frames are speech, from losing all their frames.)
  4. a long clip (>= 16 frames, 0.5 s) whose peak is less than 12 dB over its floor is steady
     noise: no frame is speech.
  5. the clip has speech when at least MIN_SPEECH_FRAMES (3 = 96 ms) frames are speech.
The energy centre (used to centre the voice-model window) is the energy-weighted mean sample
index over the speech frames (all frames when none), weights in 1/32-octave steps.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

FRAME = 256
MIN_SPEECH_FRAMES = 3
ABS_FLOOR_DB = 35.0
STEADY_FRAMES = 16
NOISE_MARGIN_DB = 12.0
PEAK_RANGE_DB = 30.0


def _speech():
    from eyeauth.fw import speech

    return speech


class Clip:
    """One clip through the front end as the board computes it: the rows of the whole clip
    (rows 0 .. vad_rows - 1, and any others on demand), its frame levels, speech flags, span and
    energy centre."""

    def __init__(self, wav, fe=None):
        from eyeauth.models import frontend

        self.x = np.asarray(wav, np.int16).reshape(-1)
        self.fe = fe or frontend.default()
        sp = _speech()
        n = sp.vad_rows(self.x.size)
        self.r0, self.rows = 0, self.fe.rows(self.x, 0, n)
        self.levels = [int(v) for v in self.fe.vad_l(self.rows[0:n:2])]
        self.flags = sp.flags(self.levels)
        (self.ok, self.centre, self.n_speech, self.start,
         self.end) = sp.span(self.levels, self.flags, self.x.size)

    def get_rows(self, r0, n):
        """int16 front-end rows r0 .. r0 + n - 1 (computing those outside the clip's own)."""
        lo, hi = min(r0, self.r0), max(r0 + n, self.r0 + len(self.rows))
        if lo < self.r0 or hi > self.r0 + len(self.rows):
            parts = []
            if lo < self.r0:
                parts.append(self.fe.rows(self.x, lo, self.r0 - lo))
            parts.append(self.rows)
            if hi > self.r0 + len(self.rows):
                end = self.r0 + len(self.rows)
                parts.append(self.fe.rows(self.x, end, hi - end))
            self.r0, self.rows = lo, np.concatenate(parts)
        return self.rows[r0 - self.r0:r0 - self.r0 + n]


_cache: OrderedDict = OrderedDict()


def clip(wav):
    """The front-end analysis of a clip (cached for the last few clips seen)."""
    x = np.ascontiguousarray(np.asarray(wav, np.int16).reshape(-1))
    from eyeauth.models import frontend

    fe = frontend.default()
    key = (hashlib.sha1(x.tobytes()).hexdigest(), id(fe))
    hit = _cache.get(key)
    if hit is None:
        hit = Clip(x, fe)
        _cache[key] = hit
        while len(_cache) > 8:
            _cache.popitem(last=False)
    else:
        _cache.move_to_end(key)
    return hit


def frame_db(wav, frame=FRAME):
    """dB (10 log10 of the mean square) of every VAD frame, for display and features."""
    from eyeauth.models import frontend

    return np.asarray(clip(wav).levels, np.float64) * frontend.DB_PER_L - frontend.VAD_DB_OFFSET


def speech_frames(wav, frame=FRAME):
    """Boolean speech flag per frame (step 3)."""
    return np.frombuffer(bytes(clip(wav).flags), np.uint8).astype(bool)


def has_speech(wav):
    """True when the clip holds at least MIN_SPEECH_FRAMES speech frames."""
    return bool(clip(wav).ok)


def speech_span(wav, frame=FRAME):
    """(start, end) sample indices of the first to the last speech frame, or None."""
    c = clip(wav)
    return (int(c.start), int(c.end)) if c.n_speech else None


def energy_centre(wav, frame=FRAME):
    """Energy-weighted centre sample of the speech frames (of all frames when none)."""
    x = np.asarray(wav).reshape(-1)
    return 0 if x.size == 0 else int(clip(x).centre)
