"""Deploy: incremental by content, atomic per file, resumable after a pulled cable."""
import hashlib
import shutil
import threading
import time

import pytest

from eyeauth import FIRMWARE_DIR
from eyeauth.board import deploy as dep
from eyeauth.errors import LinkError
from eyeauth.sim import replug, unplug


def test_unchanged_tree_copies_nothing(fresh_sim, sim_arch):
    files = dep.build_bundle(models_dir=None, arch=sim_arch)
    again = dep.deploy(fresh_sim.port, files)
    assert again.files_sent == [] and again.bytes_sent == 0 and again.app_started


def test_changed_file_alone_is_sent_and_stale_files_pruned(fresh_sim, sim_arch):
    files = dep.build_bundle(models_dir=None, arch=sim_arch)
    files["/models/extra.bin"] = b"\x01" * 1000
    first = dep.deploy(fresh_sim.port, files)
    assert first.files_sent == ["/models/extra.bin"]
    del files["/models/extra.bin"]
    second = dep.deploy(fresh_sim.port, files)
    assert second.files_sent == [] and second.files_removed == ["/models/extra.bin"]


def test_cable_pulled_mid_deploy_leaves_no_half_file_and_next_deploy_completes(fresh_sim, sim_arch):
    fs = fresh_sim.state / "fs"
    big = bytes(range(256)) * 1600  # 400 KB: several seconds through the raw REPL
    files = dep.build_bundle(models_dir=None, arch=sim_arch)
    files["/models/big.tflite"] = big
    errors = []

    def run():
        try:
            dep.deploy(fresh_sim.port, files)
        except LinkError as exc:
            errors.append(exc)

    th = threading.Thread(target=run)
    th.start()
    part = fs / "models" / "big.tflite.part"
    deadline = time.monotonic() + 30
    while not (part.exists() and part.stat().st_size > 30_000) and time.monotonic() < deadline:
        time.sleep(0.02)
    unplug(fresh_sim.state)
    th.join(30)
    assert errors, "deploy should fail when the cable is pulled"
    assert "deploy" in str(errors[0]) and "\n" not in str(errors[0])
    assert not (fs / "models" / "big.tflite").exists(), "no half file under the real name"
    replug(fresh_sim.state)
    res = dep.deploy(fresh_sim.port, files)
    assert "/models/big.tflite" in res.files_sent
    assert (fs / "models" / "big.tflite").read_bytes() == big
    assert not part.exists()
    assert res.app_started


def test_file_that_does_not_compile_fails_the_build_with_file_and_line(tmp_path):
    fw = tmp_path / "firmware"
    shutil.copytree(FIRMWARE_DIR, fw)
    bad = fw / "eyeauth_fw" / "broken.py"
    bad.write_text("x = 1\ndef f(:\n    pass\n")
    with pytest.raises(dep.BuildError) as ei:
        dep.build_bundle(firmware_dir=fw, models_dir=None)
    msg = str(ei.value)
    assert "broken.py" in msg and "line 2" in msg


def test_bundle_compiles_every_firmware_module():
    files = dep.build_bundle(models_dir=None)
    assert "/main.py" in files and "/eyeauth_fw/app.mpy" in files
    assert all(v[:1] == b"M" for k, v in files.items() if k.endswith(".mpy"))
    assert hashlib.sha256(files["/main.py"]).hexdigest() == hashlib.sha256(
        (FIRMWARE_DIR / "main.py").read_bytes()).hexdigest()


def _board_files(fs):
    return {p.relative_to(fs).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(fs.rglob("*")) if p.is_file()}


def test_mismatched_release_is_refused_and_the_board_untouched(fresh_sim, tmp_path, capsys):
    """A threshold for a model that is not in the release, or one byte of a model flipped:
    deploy says so in one line on stderr, exits non-zero, and the board's files are exactly
    what they were."""
    import json

    from eyeauth import MODELS_DIR, release
    from eyeauth.cli.main import main

    if release.check(MODELS_DIR):
        pytest.skip("the committed release itself is inconsistent")
    rel = tmp_path / "rel"
    shutil.copytree(MODELS_DIR, rel)
    th = json.loads((rel / "thresholds.json").read_text())
    th["models"]["face"].append("face_xl")
    th["thresholds"]["face_xl"] = 0.5
    (rel / "thresholds.json").write_text(json.dumps(th))
    fs = fresh_sim.state / "fs"
    before = _board_files(fs)
    rc = main(["deploy", "--port", fresh_sim.port, "--models", str(rel)])
    err = capsys.readouterr().err
    assert rc != 0 and err.count("\n") == 1 and "face_xl" in err and "eval thresholds" in err
    assert _board_files(fs) == before
    shutil.copy(MODELS_DIR / "thresholds.json", rel / "thresholds.json")  # now one byte of a model
    data = bytearray((rel / "voice_m.tflite").read_bytes())
    data[len(data) // 2] ^= 0x01
    (rel / "voice_m.tflite").write_bytes(bytes(data))
    rc = main(["deploy", "--port", fresh_sim.port, "--models", str(rel)])
    err = capsys.readouterr().err
    assert rc != 0 and err.count("\n") == 1 and "voice_m.tflite differs" in err
    assert _board_files(fs) == before
