"""A user's first hour with a board, run as the user runs it (`eyeauth ...` in a subprocess):
live enrolment and authentication from the board's own camera and microphone (the virtual
board's are folders of real ORL photos and Speech Commands phrases, taken through the same
`capture` path), refused captures asked for again, `--port auto` and `eyeauth devs`, `flash`
given the board's port."""
import json
import os
import secrets
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.hil


def run(env, *args, timeout=240):
    return subprocess.run([sys.executable, "-m", "eyeauth", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def person(shared_data, tmp_path_factory):
    """Folders of a person's photos and phrases (evaluation identities: no model trained on
    them), and a second person's photos; a flat and a noise frame before the photos of `mixed`."""
    from PIL import Image

    from eyeauth.evaluation import crosseval

    root = tmp_path_factory.mktemp("person")
    phrases = crosseval.phrase_files("speech_commands", shared_data)
    spk = next(s for s in sorted(phrases) if len(phrases[s]) >= 10)
    d = {k: root / k for k in ("ann_face", "ann_voice", "bob_face", "mixed", "silence")}
    for p in d.values():
        p.mkdir()
    for i in range(1, 9):
        shutil.copy(shared_data / "faces/orl/s31" / f"{i}.pgm", d["ann_face"] / f"{i:02d}.pgm")
        shutil.copy(shared_data / "faces/orl/s7" / f"{i}.pgm", d["bob_face"] / f"{i:02d}.pgm")
    for f in phrases[spk][:10]:
        shutil.copy(f, d["ann_voice"] / f.name)
    rng = np.random.default_rng(0)
    Image.fromarray(np.full((240, 320), 128, np.uint8)).save(d["mixed"] / "00_flat.png")
    Image.fromarray(rng.integers(0, 255, (240, 320), dtype=np.uint8)).save(d["mixed"] / "01_noise.png")
    shutil.copy(shared_data / "faces/orl/s31/9.pgm", d["mixed"] / "02_ann.pgm")
    from scipy.io import wavfile
    wavfile.write(d["silence"] / "quiet.wav", 8000, np.zeros(16000, np.int16))
    return d


@pytest.fixture(scope="module")
def live_board(tmp_path_factory, person, deploy_fresh):
    """A virtual board with the app and default models, paired with a secret of this test's
    own; the environment the CLI runs with (the key, the board's folder for --port auto)."""
    from eyeauth.board.deploy import default_models_bundle
    from eyeauth.sim import VirtualBoard

    tmp = tmp_path_factory.mktemp("live")
    key = secrets.token_bytes(32)
    (tmp / "pairing.key").write_text(key.hex() + "\n")
    env = {**os.environ, "EYEAUTH_PAIRING_KEY": str(tmp / "pairing.key"),
           "EYEAUTH_SIM_DIR": str(tmp / "board")}
    for var in ("EYEAUTH_PORT", "ESPTOOL_PORT", "ESPPORT"):
        env.pop(var, None)
    with VirtualBoard(tmp / "board") as vb:
        deploy_fresh(vb.port, build=default_models_bundle, pairing_key=key)
        vb.env = env
        yield vb


def test_live_enroll_prompts_and_enrolls_from_the_boards_camera_and_mic(live_board, person):
    env, port = live_board.env, live_board.port
    r = run(env, "sim", "sensors", "--state-dir", str(live_board.state),
            "--camera", str(person["ann_face"]), "--mic", str(person["ann_voice"]))
    assert r.returncode == 0, r.stderr
    r = run(env, "enroll", "--port", port, "--user", "ann", "--live", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["user"] == "ann" and res["samples"] == {"face": 5, "voice": 5}
    kept = [c for c in res["captures"] if c["event"] == "kept"]
    assert [c["modality"] for c in kept] == ["face"] * 5 + ["voice"] * 5
    assert r.stderr.count("look at the camera") == 5
    assert r.stderr.count(">> voice") == 5 and "say: " in r.stderr  # the words to say
    assert "face found" in r.stderr and "speech" in r.stderr


def test_live_auth_accepts_the_owner_and_rejects_another_face(live_board, person):
    env, port = live_board.env, live_board.port
    r = run(env, "auth", "--port", port, "--live", "--policy", "face", "--user", "ann", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["accepted"] is True and res["user"] == "ann"
    run(env, "sim", "sensors", "--state-dir", str(live_board.state), "--camera", str(person["bob_face"]))
    r = run(env, "auth", "--port", port, "--live", "--policy", "face", "--user", "ann", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["accepted"] is False
    run(env, "users", "--port", port, "--unlock")


def test_refused_captures_are_shown_and_taken_again(live_board, person):
    env, port = live_board.env, live_board.port
    run(env, "sim", "sensors", "--state-dir", str(live_board.state), "--camera", str(person["mixed"]))
    r = run(env, "auth", "--port", port, "--live", "--policy", "face", "--user", "ann")
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("refused: no face in the frame") == 2, r.stderr
    assert "(try 3)" in r.stderr and "face found" in r.stderr
    assert r.stdout.startswith("ACCEPTED ann")
    # a microphone that hears nothing: refused each time, then one line and a non-zero exit
    run(env, "sim", "sensors", "--state-dir", str(live_board.state), "--mic", str(person["silence"]))
    r = run(env, "auth", "--port", port, "--live", "--policy", "voice", "--tries", "2")
    assert r.returncode == 6, r.stderr
    assert r.stderr.count("refused: no speech") == 2
    assert r.stderr.strip().splitlines()[-1].startswith("eyeauth: the board refused 2 voice captures")


def test_port_auto_and_devs_find_the_virtual_board(live_board):
    env, port = live_board.env, live_board.port
    r = run(env, "devs", "--json")
    assert r.returncode == 0, r.stderr
    devs = json.loads(r.stdout)
    assert devs["auto"] == port
    assert any(d["kind"] == "virtual" and d["boot_port"].endswith("ttyBOOT") for d in devs["devices"])
    r = run(env, "users", "--port", "auto", "--json")
    assert r.returncode == 0 and "ann" in json.loads(r.stdout)["users"], r.stderr
    # esptool's and ESP-IDF's port variables, and the project file, resolve the same way
    for var in ("ESPTOOL_PORT", "ESPPORT", "EYEAUTH_PORT"):
        r = run({**env, var: "auto"}, "users", "--json")
        assert r.returncode == 0, (var, r.stderr)
    r = run({**env, "EYEAUTH_PORT": "/dev/eyeauth-none", "ESPPORT": port}, "users")
    assert r.returncode == 3 and "/dev/eyeauth-none" in r.stderr  # EYEAUTH_PORT comes first


def test_flash_takes_the_boards_port(live_board):
    """A virtual board's ROM bootloader listens on ttyBOOT beside ttyEYE: flash given the
    board's port (or auto) writes and verifies there, as esptool on a real board's one port."""
    r = run(live_board.env, "flash", "--port", "auto", "--json", timeout=400)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["bytes"] > 0


def test_port_auto_without_a_board_says_what_to_do(tmp_path):
    env = {**os.environ, "EYEAUTH_SIM_DIR": str(tmp_path / "nothing")}
    r = run(env, "users", "--port", "auto")
    assert r.returncode == 2
    assert r.stderr.strip().startswith("eyeauth: --port auto found no board") and \
        "eyeauth sim start" in r.stderr and r.stderr.count("\n") == 1
