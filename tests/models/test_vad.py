import numpy as np

from eyeauth import datasets
from eyeauth.models import vad


def test_silence_and_steady_noise_are_not_speech(rng):
    assert not vad.has_speech(np.zeros(8000, np.int16))
    assert not vad.has_speech((rng.normal(0, 20, 8000)).astype(np.int16))
    assert not vad.has_speech((rng.normal(0, 2000, 16000)).astype(np.int16))
    assert vad.speech_span(np.zeros(8000, np.int16)) is None


def test_fsdd_clips_are_speech(fsdd_dir):
    ds = datasets.scan(fsdd_dir, "voice")
    clips = [datasets.load_audio(p) for i in ds.identities for p in ds.files[i][:10]]
    assert np.mean([vad.has_speech(c) for c in clips]) >= 0.95


def test_centre_inside_speech(fsdd_dir, rng):
    wav = datasets.load_audio(sorted(fsdd_dir.glob("3_theo_*.wav"))[0])
    noise = (rng.normal(0, 20, 8000)).astype(np.int16)
    clip = np.concatenate([noise, wav, noise])
    span = vad.speech_span(clip)
    assert span is not None and span[0] >= 7000 and span[1] <= 8000 + wav.size + 1000
    assert 8000 <= vad.energy_centre(clip) <= 8000 + wav.size


def test_empty():
    assert vad.energy_centre(np.zeros(0, np.int16)) == 0
