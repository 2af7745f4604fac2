"""The release: one typed manifest of what the board runs, one loader, one error type; a
mismatched release is refused before anything reaches the board; `release build` re-derives
only what is stale (and nothing when the committed zoo is current: no retraining here)."""
from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from eyeauth import MODELS_DIR, release, release_build
from eyeauth.cli.main import main


@pytest.fixture
def rel_copy(tmp_path):
    if release.check(MODELS_DIR):
        pytest.skip("the committed release itself is inconsistent (see test_committed_release_is_consistent)")
    d = tmp_path / "rel"
    shutil.copytree(MODELS_DIR, d)
    return d


def _flip_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_committed_release_loads_typed_and_frozen():
    rel = release.load(MODELS_DIR, "esp-eye")
    assert rel.problems == () and rel.id == release.release_id(MODELS_DIR)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rel.id = "x"
    for m in rel.models:
        assert m.sha256 == release.sha256_file(MODELS_DIR / m.file)
        assert m.build_hash == m.card["build_hash"] and m.arena_bytes > 0
    for mod, names in rel.board_models.items():
        for n in names:  # every model the board runs has its threshold and the calibration of it
            m = rel.model(n)
            assert m.modality == mod and m.threshold is not None
            assert m.calibration.sha256 == m.sha256 and m.calibration.build_hash == m.build_hash
    from eyeauth.auth import fusion_eval

    fw = fusion_eval.firmware_fusion()
    assert rel.fusion.cascade_margin == fw.CASCADE_MARGIN and rel.fusion.policies == fw.POLICIES
    man = rel.board_manifest()
    assert man["id"] == rel.id and man["default"] == dict(rel.defaults)
    assert set(man["thresholds"]) == {n for names in man["models"].values() for n in names}
    assert man["detector"] == "face_det" and man["policy"] == fw.DEFAULT_POLICY


def test_build_plans_nothing_for_the_current_zoo(capsys):
    assert release_build.plan(MODELS_DIR) == []
    assert main(["release", "build", "--dry-run", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["steps"] == [] and out["release"]["ok"]


def test_build_plans_thresholds_and_premodels_for_a_changed_model(rel_copy):
    _flip_byte(rel_copy / "voice_s.tflite")
    steps = [s.command for s in release_build.plan(rel_copy)]
    # a release folder that is not the checkout's: each step names it (run as printed, it
    # writes there)
    assert steps == [f"eyeauth eval thresholds --models {rel_copy}",
                     f"eyeauth premodel train --modality voice --models {rel_copy}"]


def test_premodel_for_a_model_not_in_the_release_is_refused(rel_copy, tmp_path, capsys):
    pm = json.loads((rel_copy / "premodel_voice.json").read_text())
    pm["models"][0] = "voice_xl"
    (rel_copy / "premodel_voice.json").write_text(json.dumps(pm))
    assert [s.command for s in release_build.plan(rel_copy)] == [
        f"eyeauth premodel train --modality voice --models {rel_copy}"]
    rc = main(["deploy", "--port", str(tmp_path / "no-such-port"), "--models", str(rel_copy)])
    err = capsys.readouterr().err
    assert rc != 0 and err.count("\n") == 1 and "voice_xl" in err and "premodel train" in err


def test_arena_larger_than_the_board_is_refused(rel_copy, tmp_path, capsys):
    card = json.loads((rel_copy / "face_l96.json").read_text())
    card["arena_bytes_target"] = 3 * 1024 * 1024
    (rel_copy / "face_l96.json").write_text(json.dumps(card))
    probs = release.check(rel_copy, "esp-eye")
    assert any("face_l96: needs a 3145728 B arena" in p for p in probs)
    rc = main(["deploy", "--port", str(tmp_path / "no-such-port"), "--models", str(rel_copy)])
    err = capsys.readouterr().err
    assert rc != 0 and err.count("\n") == 1 and "arena" in err


def test_thresholds_loader_errors_are_one_line(tmp_path):
    with pytest.raises(release.ReleaseError, match="missing; run `eyeauth eval thresholds`"):
        release.read_thresholds(tmp_path / "thresholds.json")
    (tmp_path / "thresholds.json").write_text("{")
    with pytest.raises(release.ReleaseError) as ei:
        release.read_thresholds(tmp_path / "thresholds.json")
    assert "\n" not in str(ei.value) and "eval thresholds" in str(ei.value)
    th = release.read_thresholds(MODELS_DIR / "thresholds.json")
    assert th.default["face"] in th.models["face"] and th.thresholds[th.default["face"]] > 0
