"""Finding 11 of issue 14: identification over many users. The old store refused the 17th user
and matched in Python per user; here 48 users sit on a virtual board (46 written by the
firmware's store code from real embeddings, 2 enrolled through the protocol), the board reports
them, 1:1 and 1:N each run as one pass over the templates (the match stage's telemetry says how
many), an
enrolled photo finds its user among 48, and the identification threshold rises with N. Times
are the benchmark's (`eyeauth bench capacity --users 500`), not asserted here."""
import pytest

pytestmark = pytest.mark.hil


def test_48_users_enrol_match_and_identify(tmp_path, shared_data):
    from eyeauth import MODELS_DIR
    from eyeauth.benchmarks import capacity
    from eyeauth.sim import VirtualBoard

    if not (MODELS_DIR / "identification.json").exists():
        pytest.skip("models/identification.json missing: run `eyeauth eval identification`")
    with VirtualBoard(tmp_path / "board") as vb:
        r = capacity.run(vb.port, 48, rounds=1, far=False)
    assert r["enrolled"] == 48
    assert r["store_bytes"] > 48 * 2 * 64  # a template per user and model
    assert r["self_identification"]["best"] == "real0" and r["self_identification"]["score"] > 0.99
    for mod in ("face", "voice"):
        assert r["match"][mod]["1:N"]["templates"] == 48
        assert r["match"][mod]["1:1"]["templates"] == 1
    for m, t in r["identification_threshold"].items():
        assert t["N=48"] > t["1:1"], (m, t)
