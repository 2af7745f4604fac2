"""voice_phrase: utterance windows, phrase construction, errors (no training here)."""
import numpy as np
import pytest

from eyeauth.errors import DataError
from eyeauth.models import preprocess as P, vad as V, voice_phrase as VP


def _card(t=32, m=20, hop=16, maxw=4, name="voice_s"):
    return {"name": name, "input": {"shape": [1, t, m, 1],
                                    "preprocess": {"utterance": {"hop_frames": hop, "max_windows": maxw}}}}


@pytest.fixture(scope="module")
def words(fsdd_dir):
    from eyeauth.datasets import load_audio
    return [load_audio(fsdd_dir / f"{d}_george_{n}.wav") for d, n in ((2, 3), (5, 8), (8, 13))]


def test_short_word_is_one_centred_window_as_trained(words):
    for w in words:
        q = VP.tensors(_card(), w)
        if V.speech_span(w)[1] - V.speech_span(w)[0] <= P.voice_window_samples(32):
            assert len(q) == 1
            assert np.array_equal(q[0], P.voice_input(w, 32, 20))


def test_phrase_gets_windows_spread_over_the_speech(words):
    x = VP.make_phrase(words, np.random.default_rng(0), gap=(0.3, 0.3), noise_db=None)
    s, e = V.speech_span(x)
    rows = VP.plan(x, 32, 16, 8)
    assert rows[0] * P.HOP == s and len(rows) >= 3
    assert np.all(np.diff(rows) > 0) and np.all(np.diff(rows) <= 16)
    assert (rows[-1] + 31) * P.HOP + P.FRAME >= e  # the last window reaches the span's end
    # the cap holds, spread from the first to the last frame
    rows2 = VP.plan(x, 32, 16, 2)
    assert len(rows2) == 2 and rows2[0] == rows[0] and rows2[-1] == rows[-1]
    q = VP.tensors(_card(maxw=8), x)
    assert len(q) == len(rows) and all(t.shape == (32, 20) and t.dtype == np.int8 for t in q)
    assert all(t.max() == 127 for t in q)  # each window relative to its own maximum


def test_window_tensors_equal_the_single_window_reference(words):
    # every window of a phrase is exactly what voice_input gives for a centre on that window
    x = VP.make_phrase(words, np.random.default_rng(1))
    for r0 in VP.plan(x, 32, 20, 8):
        ref = P.voice_input(x, 32, 20, centre=r0 * P.HOP + P.voice_window_samples(32) // 2)
        assert np.array_equal(VP.window(x, r0, 32, 20), ref)


def test_make_phrase_joins_one_speakers_words(words):
    rng = np.random.default_rng(2)
    x = VP.make_phrase(words, rng, gap=(0.1, 0.4))
    trimmed = sum(VP.trim(w).size for w in words)
    lo = trimmed + 2 * int(0.1 * 8000) + 2 * int(0.1 * 8000)
    assert x.dtype == np.int16 and lo <= x.size <= lo + 2 * int(0.3 * 8000) + 2
    assert V.has_speech(x)
    # same seed, same phrase; noise is there but light
    y = VP.make_phrase(words, np.random.default_rng(2), gap=(0.1, 0.4))
    assert np.array_equal(x, y)
    quiet = VP.make_phrase(words, np.random.default_rng(2), gap=(0.1, 0.4), noise_db=None)
    assert quiet.size == x.size and 0 < np.abs(x.astype(int) - quiet).mean() < 100
    with pytest.raises(DataError):
        VP.make_phrase([], rng)


def test_silent_short_or_empty_clips_are_clear_errors():
    card = _card()
    for bad in (np.zeros(8000, np.int16), np.zeros(300, np.int16),
                (np.random.default_rng(0).normal(0, 2000, 16000)).astype(np.int16)):
        with pytest.raises(DataError, match="no speech"):
            VP.tensors(card, bad)
    with pytest.raises(DataError, match="empty"):
        VP.tensors(card, np.zeros(0, np.int16))
    with pytest.raises(DataError, match="int16"):
        VP.tensors(card, np.zeros(8000, np.float32))


def test_embed_any_length_is_unit(words, cards):
    vc = [c for c in cards if c["modality"] == "voice"]
    if not vc:
        pytest.skip("no voice models")
    x = VP.make_phrase(words, np.random.default_rng(3))
    for c in vc:
        for clip in (words[0], x, x[:P.voice_window_samples(c["input"]["shape"][1]) // 2 + 4000]):
            for flt in (False, True):
                e = VP.embed(c, clip, flt=flt)
                assert e.shape == (c["output"]["shape"][-1],)
                assert abs(float(np.linalg.norm(e)) - 1) < 1e-5


def test_phrase_sets_keep_enrolment_and_test_audio_apart(fsdd_dir):
    ps = VP.phrase_sets(fsdd_dir, ["theo", "george"], n_words=3, n_phrases=7, enrol_phrases=2,
                        seed=1)
    assert set(ps) == {"theo", "george"} and all(len(v) == 7 for v in ps.values())
    again = VP.phrase_sets(fsdd_dir, ["theo", "george"], n_words=3, n_phrases=7,
                           enrol_phrases=2, seed=1)
    assert all(np.array_equal(a, b) for k in ps for a, b in zip(ps[k], again[k]))


def test_target_rule():
    from eyeauth.evaluation.crosseval import target_eer

    assert target_eer(0.10) == pytest.approx(0.15)
    assert target_eer(0.02) == pytest.approx(0.04)
