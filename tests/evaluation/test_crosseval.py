"""The cross-dataset evaluator: one protocol, short identities skipped and counted, refused
probes are rejects, thresholds at a FAR target."""
import numpy as np
import pytest

from eyeauth.evaluation import scoring as T
from eyeauth.errors import DataError
from eyeauth.evaluation import crosseval


def test_enrol_split_skips_and_counts_short_identities():
    files = {"a": ["a1", "a2", "a3", "a4"], "b": ["b1", "b2"], "c": ["c1", "c2", "c3", "c4", "c5"]}
    split, skipped = T.enrol_split(files, 3)
    assert skipped == ["b"]
    assert split["a"] == (["a1", "a2", "a3"], ["a4"]) and split["c"][1] == ["c4", "c5"]


def test_far_threshold_keeps_far_at_or_below_target():
    rng = np.random.default_rng(0)
    imp = rng.normal(0, 0.1, 5000)
    for target in (0.001, 0.01, 0.05):
        t = T.far_threshold(imp, target)
        assert np.mean(imp >= t) <= target
        assert np.mean(imp >= t - 1e-3) > target * 0.5  # and not needlessly strict


def test_refused_probes_score_as_rejects():
    emb = {"a1": [1, 0], "a2": [1, 0], "b1": [0, 1], "b2": [0, 1]}
    split = {"a": (["a1"], ["a2"]), "b": (["b1"], ["b2"])}

    def emb_of(ps):
        return np.array([emb[p] for p in ps], float)

    g, imp, *_ = T.device_trials(emb_of, split)
    assert g.min() > 0.99
    g, imp, *_ = T.device_trials(emb_of, split, lambda ps: np.array([p == "a2" for p in ps]))
    assert sorted(g) == [-1.0, pytest.approx(1.0)]
    assert imp.max() < 0.5


def test_unknown_set_is_one_clear_error():
    with pytest.raises(DataError, match="unknown evaluation set"):
        crosseval.evaluate_set("nope")


def test_orl_through_the_device_path(shared_data, cards):
    face = [c for c in cards if c["modality"] == "face"][:1]
    if not face:
        pytest.skip("no face model built")
    res = crosseval.evaluate_set("orl", face, max_identities=5)
    assert res["identities"] == 5 and res["skipped_identities"] == 0
    m = res["models"][0]
    assert {"name", "eer", "eer_float", "frr_at_far_1pct", "far_at_threshold",
            "frr_at_threshold"} <= set(m)
    assert 0.0 <= m["eer"] <= 1.0 and res["genuine_trials"] == 5 * 7


def test_deploy_refuses_a_mismatched_release(tmp_path, capsys):
    """One byte of a model flipped, or a threshold for a model that is not there: deploy says so
    in one line and exits non-zero before it opens the port (the port here does not exist)."""
    import json
    import shutil

    from eyeauth import MODELS_DIR, release
    from eyeauth.cli.main import main

    if release.check(MODELS_DIR):
        pytest.skip("the committed release itself is inconsistent (see test_committed_release_is_consistent)")
    rel = tmp_path / "rel"
    shutil.copytree(MODELS_DIR, rel)
    data = bytearray((rel / "face_s48.tflite").read_bytes())
    data[len(data) // 2] ^= 0x01
    (rel / "face_s48.tflite").write_bytes(bytes(data))
    rc = main(["deploy", "--port", str(tmp_path / "no-such-port"), "--models", str(rel)])
    err = capsys.readouterr().err
    assert rc != 0 and err.count("\n") == 1 and "face_s48.tflite differs" in err
    shutil.copy(MODELS_DIR / "face_s48.tflite", rel / "face_s48.tflite")
    th = json.loads((rel / "thresholds.json").read_text())
    th["thresholds"]["face_xl"] = 0.5
    (rel / "thresholds.json").write_text(json.dumps(th))
    rc = main(["deploy", "--port", str(tmp_path / "no-such-port"), "--models", str(rel)])
    err = capsys.readouterr().err
    assert rc != 0 and "face_xl" in err and err.count("\n") == 1


def test_committed_release_is_consistent():
    from eyeauth import MODELS_DIR, release

    assert release.check(MODELS_DIR) == []
