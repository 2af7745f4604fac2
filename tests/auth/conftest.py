import json
import secrets

import pytest

from eyeauth import MODELS_DIR

FACES = "faces/orl"
VOICES = "voices/fsdd/recordings"


def small_bundle(arch):
    """The app with only the default face and voice models and the detector (a quick deploy)."""
    from eyeauth.board.deploy import build_bundle

    th_path = MODELS_DIR / "thresholds.json"
    if not th_path.exists():
        pytest.skip("models/thresholds.json missing: run `eyeauth eval thresholds`")
    th = json.loads(th_path.read_text())
    keep = {th["default"]["face"], th["default"]["voice"], "face_det", "premodel_face", "premodel_voice"}
    th["models"] = {m: [n for n in names if n in keep] for m, names in th["models"].items()}
    files = build_bundle(arch=arch)
    files = {p: d for p, d in files.items()
             if not p.startswith("/models/") or p.rsplit("/", 1)[1].split(".")[0] in keep}
    files["/models/thresholds.json"] = json.dumps(th).encode()
    return files


@pytest.fixture
def auth_board(tmp_path):
    """A fresh virtual board with the app, the default models and a pairing secret."""
    from eyeauth.auth.client import AuthClient
    from eyeauth.board.deploy import deploy
    from eyeauth.link.client import AppClient
    from eyeauth.link.transport import open_transport
    from eyeauth.sim import VirtualBoard

    key = secrets.token_bytes(32)
    with VirtualBoard(tmp_path / "board") as vb:
        deploy(vb.port, build=small_bundle, pairing_key=key)
        t = open_transport(vb.port)
        app = AppClient(t, timeout=60)
        app.ensure_app()
        vb.auth = AuthClient(app, key)
        vb.app = app
        yield vb
        t.close()


@pytest.fixture
def faces(shared_data):
    return lambda ident, idx: [shared_data / FACES / ident / f"{i}.pgm" for i in idx]


@pytest.fixture
def voices(shared_data):
    return lambda spk, idx: [shared_data / VOICES / f"{d}_{spk}_{n}.wav" for d, n in idx]
