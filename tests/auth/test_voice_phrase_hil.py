"""The voice factor is an utterance: a 3 s phrase through the real app on a virtual ESP-EYE.

Enrol with phrases, authenticate with a phrase of the same speaker and of another one; the board
embeds each phrase with several windows (one logmel + voice_embed stage per window) and its heap
keeps >= 256 KB free at every voice stage (telemetry's heap_free: live data plus garbage)."""
import numpy as np
import pytest

pytestmark = pytest.mark.hil

MIN_FREE = 256 * 1024


def _phrases(shared_data, spk, groups, seed):
    from eyeauth.datasets import load_audio
    from eyeauth.models import voice_phrase as VP
    rng = np.random.default_rng(seed)
    root = shared_data / "voices/fsdd/recordings"
    out = []
    for g in groups:
        x = VP.make_phrase([load_audio(root / f"{d}_{spk}_{n}.wav") for d, n in g], rng, gap=(0.3, 0.5))
        out.append(x[:8000 * 4])
    return out


def test_phrase_auth_windows_and_heap(auth_board, shared_data):
    b = auth_board
    enrol = _phrases(shared_data, "theo", [((0, 1), (1, 1), (2, 1)), ((3, 1), (4, 1), (5, 1)),
                                           ((6, 1), (7, 1), (8, 1))], 1)
    b.auth.enroll("ann", voices=enrol)
    probe = _phrases(shared_data, "theo", [((9, 4), (2, 4), (7, 4), (5, 4))], 2)[0]
    assert probe.size >= 2 * 8000
    b.app.telemetry.clear()
    res = b.auth.auth(voice=probe, policy="voice")
    names = [s[0] for s in res["stages"]]
    assert names.count("voice_embed") >= 2 and names.count("logmel") == names.count("voice_embed")
    voice_recs = [t for t in b.app.telemetry if t.stage in ("vad", "logmel", "voice_embed")]
    print("voice stages heap_free:", [(t.stage, t.heap_free) for t in voice_recs])
    assert voice_recs and min(t.heap_free for t in voice_recs) >= MIN_FREE, \
        [(t.stage, t.heap_free) for t in voice_recs]
    other = _phrases(shared_data, "jackson", [((9, 4), (2, 4), (7, 4), (5, 4))], 3)[0]
    imp = b.auth.auth(voice=other, policy="voice")
    assert imp["voice_score"] < res["voice_score"]
