"""The face-presence gate: frames without a face never enrol and never authenticate (the
detector's presence output against its card's threshold, checked on the board)."""
import numpy as np
import pytest

from eyeauth.errors import DeviceError

pytestmark = pytest.mark.hil


def _no_face_frames():
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:240, 0:320]
    return {
        "noise": rng.integers(0, 256, (240, 320), dtype=np.uint8),
        "black": np.zeros((240, 320), np.uint8),
        "flat": np.full((240, 320), 170, np.uint8),
        "gradient": (xx * 255 // 319).astype(np.uint8),
        "blocks": np.kron(rng.integers(0, 256, (15, 20)), np.ones((16, 16))).astype(np.uint8),
    }


def test_frames_without_a_face_neither_enrol_nor_authenticate(auth_board, faces, tmp_path):
    from PIL import Image

    b = auth_board
    b.auth.enroll("ann", faces("s31", [1, 2, 3]))
    paths = {}
    for name, img in _no_face_frames().items():
        paths[name] = tmp_path / f"{name}.png"
        Image.fromarray(img).save(paths[name])
    with pytest.raises(DeviceError) as ei:
        b.auth.enroll("eve", [paths["noise"]])
    assert ei.value.code == "no_face"
    for name, p in paths.items():
        with pytest.raises(DeviceError) as ei:
            b.auth.auth(face=p, policy="face", user="ann")
        assert ei.value.code == "no_face", name
    assert "eve" not in b.auth.users()["users"]
    with pytest.raises(DeviceError, match="locked"):  # refused frames count as failed attempts
        b.auth.auth(face=faces("s31", [9])[0], policy="face", user="ann")
    b.auth.unlock()
    ok = b.auth.auth(face=faces("s31", [9])[0], policy="face", user="ann")
    assert "accepted" in ok  # a real face still goes through the gate


def test_board_reports_the_release_it_runs(auth_board):
    """deploy ships /models/release.json; hello names the release (the one `eyeauth release
    check` prints for the models folder deployed)."""
    from eyeauth import MODELS_DIR, release

    assert auth_board.app.command("hello")["release"] == release.release_id(MODELS_DIR)


def test_board_runs_the_model_list_and_defaults_of_its_release_manifest(auth_board, faces):
    """The board reads /models/release.json (not thresholds.json): its defaults are the
    manifest's, and a model the manifest does not list is refused."""
    from eyeauth import MODELS_DIR, release

    rel = release.load(MODELS_DIR)
    cfg = auth_board.auth.config()["config"]
    assert (cfg["policy"], cfg["face_model"], cfg["voice_model"]) == (
        rel.fusion.default_policy, rel.defaults["face"], rel.defaults["voice"])
    other = next(n for n in rel.board_models["face"] if n != rel.defaults["face"])
    with pytest.raises(DeviceError, match="deployed face models"):  # the quick bundle ships one
        auth_board.auth.auth(face=faces("s31", [1])[0], policy="face", face_model=other)


def test_the_board_refuses_a_manifest_without_a_threshold_instead_of_defaulting(tmp_path, faces,
                                                                               deploy_fresh):
    """The board has no fallback value: with the default face model's threshold taken out of
    /models/release.json (written past the host's `release check`, which refuses such a
    release), an attempt with that model fails with `no_release`, naming the missing value."""
    import json
    import secrets

    from eyeauth.auth.client import AuthClient
    from eyeauth.link.client import AppClient
    from eyeauth.link.transport import open_transport
    from eyeauth.board.deploy import default_models_bundle
    from eyeauth.sim import VirtualBoard

    removed = {}

    def build(arch):
        files = default_models_bundle(arch)
        man = json.loads(files["/models/release.json"])
        removed["model"] = man["default"]["face"]
        del man["thresholds"][removed["model"]]
        files["/models/release.json"] = json.dumps(man).encode()
        return files

    key = secrets.token_bytes(32)
    with VirtualBoard(tmp_path / "board") as vb:
        deploy_fresh(vb.port, build=build, pairing_key=key)
        with open_transport(vb.port) as t:
            app = AppClient(t, timeout=60)
            app.ensure_app()
            c = AuthClient(app, key, debug=True)
            c.enroll("ann", faces("s31", [1, 2, 3]))  # enrolment needs no threshold
            with pytest.raises(DeviceError) as ei:
                c.auth(face=faces("s31", [9])[0], policy="face", user="ann")
    assert ei.value.code == "no_release"
    assert f"thresholds/{removed['model']}" in str(ei.value) and "release check" in str(ei.value)
