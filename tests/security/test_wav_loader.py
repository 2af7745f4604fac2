"""Finding 9: a stereo integer WAV (and 44.1/48 kHz ones) loads at the right level, not as
'clipped' float audio."""
import numpy as np
import pytest
from scipy.io import wavfile

from eyeauth.datasets import load_audio, to_int16


def _tone(rate, seconds=0.5, amp=0.3):
    t = np.arange(int(rate * seconds)) / rate
    return amp * np.sin(2 * np.pi * 440 * t)


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
@pytest.mark.parametrize("dtype", ["int16", "int32", "uint8", "float32"])
@pytest.mark.parametrize("channels", [1, 2])
def test_wav_loads_mono_8k_at_the_right_level(tmp_path, rate, dtype, channels):
    x = _tone(rate)
    if dtype == "int16":
        d = np.round(x * 32767).astype(np.int16)
    elif dtype == "int32":
        d = np.round(x * 2**31 * 0.999).astype(np.int32)
    elif dtype == "uint8":
        d = np.round(x * 127 + 128).astype(np.uint8)
    else:
        d = x.astype(np.float32)
    if channels == 2:
        d = np.stack([d, d], axis=1)
    p = tmp_path / "t.wav"
    wavfile.write(p, rate, d)
    y = load_audio(p, 8000)
    assert y.dtype == np.int16 and y.ndim == 1
    assert abs(len(y) - 4000) <= 2
    peak = np.abs(y[200:-200].astype(np.int32)).max()
    assert 0.25 * 32767 < peak < 0.35 * 32767, peak   # not clipped, not silent


def test_stereo_int16_averages_channels():
    left = np.full(800, 1000, np.int16)
    right = np.full(800, -3000, np.int16)
    y = to_int16(np.stack([left, right], axis=1), 8000)
    assert (y == -1000).all()
