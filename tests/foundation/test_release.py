"""The release: one typed manifest of what the board runs, one loader, one error type; a
mismatched release is refused before anything reaches the board; `release build` re-derives
only what is stale (and nothing when the committed zoo is current: no retraining here)."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys

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
    from eyeauth.fw import fusion as fw
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
    # writes there); the corrupt file is rebuilt
    assert steps == [f"eyeauth models build voice_s --force --models {rel_copy}",
                     f"eyeauth eval thresholds --models {rel_copy}",
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


def _eyeauth(*args, cwd=None):
    """The CLI in a subprocess, as a user runs it (no $EYEAUTH_* settings of this shell)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EYEAUTH_")}
    return subprocess.run([sys.executable, "-m", "eyeauth", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env=env)


@pytest.mark.parametrize("name,how", [("face_det", "text"), ("kw10", "flip")])
def test_a_corrupt_model_file_is_refused_by_release_check_and_deploy(rel_copy, tmp_path, name, how):
    """Every file the board runs is checked against the sha256 its card recorded, the detector
    and the keyword model (which have no threshold calibration) included."""
    f = rel_copy / f"{name}.tflite"
    if how == "text":
        f.write_text("hello")
    else:
        _flip_byte(f)
    r = _eyeauth("release", "check", "--models", str(rel_copy))
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 5 and len(lines) == 1 and lines[0].startswith("eyeauth: "), r.stderr
    assert f"{name}.tflite differs from the file its card was built with" in lines[0]
    assert f"eyeauth models build {name} --force" in lines[0]
    port = tmp_path / "no-such-port"
    r = _eyeauth("deploy", "--port", str(port), "--models", str(rel_copy))
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 5 and len(lines) == 1 and "refusing to deploy" in lines[0], r.stderr
    assert f"{name}.tflite differs" in lines[0] and "port" not in lines[0]  # never opened


def test_release_check_checks_the_folder_deploy_would_ship(rel_copy, tmp_path):
    """[tool.eyeauth] models = ... is resolved by release check exactly as by deploy."""
    here = tmp_path / "project"
    here.mkdir()
    (here / "pyproject.toml").write_text('[tool.eyeauth]\nmodels = "/tmp/eyeauth-no-such-release"\n')
    check = _eyeauth("release", "check", cwd=here)
    deploy = _eyeauth("deploy", "--port", str(tmp_path / "no-such-port"), cwd=here)
    for r in (check, deploy):
        assert r.returncode != 0 and "no release folder /tmp/eyeauth-no-such-release" in r.stderr, r.stderr
    (here / "pyproject.toml").write_text(f'[tool.eyeauth]\nmodels = "{rel_copy}"\n')
    (rel_copy / "voice_s.tflite").write_text("hello")  # this copy, not the checkout's models/
    check = _eyeauth("release", "check", cwd=here)
    assert check.returncode == 5 and f"{rel_copy}: 1 problem(s): voice_s.tflite differs" in check.stderr


def test_a_release_without_a_value_the_board_needs_is_refused(rel_copy, tmp_path, capsys):
    """The board has no fallback for a threshold: a release missing one is refused at the host
    in one line, before the port opens."""
    th = json.loads((rel_copy / "thresholds.json").read_text())
    del th["thresholds"]["voice_m"]
    (rel_copy / "thresholds.json").write_text(json.dumps(th))
    rc = main(["deploy", "--port", str(tmp_path / "no-such-port"), "--models", str(rel_copy)])
    err = capsys.readouterr().err
    assert rc == 5 and err.count("\n") == 1 and "lists voice_m without a threshold" in err
    shutil.copy(MODELS_DIR / "thresholds.json", rel_copy / "thresholds.json")
    for fname, key, needle in (("face_det.json", "presence_threshold", "no presence_threshold"),
                               ("kw10.json", "margin_threshold", "no margin_threshold")):
        card = json.loads((rel_copy / fname).read_text())
        saved = json.dumps(card)
        del card["output"][key]
        (rel_copy / fname).write_text(json.dumps(card))
        rc = main(["deploy", "--port", str(tmp_path / "no-such-port"), "--models", str(rel_copy)])
        err = capsys.readouterr().err
        assert rc == 5 and err.count("\n") == 1 and needle in err, err
        (rel_copy / fname).write_text(saved)
    ident = json.loads((rel_copy / "identification.json").read_text())
    del ident["tail"]["face_m64"]
    (rel_copy / "identification.json").write_text(json.dumps(ident))
    assert any("identification.json has no impostor tail for face_m64" in p
               for p in release.check(rel_copy, "esp-eye"))


def test_the_board_manifest_carries_every_value_the_board_reads():
    rel = release.load(MODELS_DIR, "esp-eye")
    man = rel.board_manifest("esp-eye")
    listed = [n for names in man["models"].values() for n in names]
    assert set(man["ident"]) == set(listed) == set(man["thresholds"])
    assert man["presence_threshold"] == rel.model("face_det").card["output"]["presence_threshold"]
    assert (man["keyword"], man["keyword_margin"]) == ("kw10", rel.model("kw10").card["output"]["margin_threshold"])
    assert man["routers"] == {"face": "premodel_face.json", "voice": "premodel_voice.json"}
    assert set(man["nets"]) == {m.name for m in rel.models}
    for m in rel.models:
        net = man["nets"][m.name]
        assert net["shape"] == m.card["input"]["shape"] and net["us"] > 0
        assert net["arena"] > m.arena_bytes and net["where"] in ("internal", "spiram")
        assert ("hop" in net) == (m.modality == "voice")
