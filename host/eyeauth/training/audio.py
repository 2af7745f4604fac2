"""Audio augmentation the voice and keyword recipes share."""
from __future__ import annotations

import numpy as np


def speed(wav, factor):
    """Play the clip ``factor`` times faster by linear interpolation (pitch and formants move
    with it: a new pseudo-speaker)."""
    n = max(2, int(round(wav.size / factor)))
    t = np.arange(n) * factor
    return np.interp(t, np.arange(wav.size), wav.astype(np.float64)).astype(np.int16)
