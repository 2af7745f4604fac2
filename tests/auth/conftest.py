import secrets

import pytest

from eyeauth import MODELS_DIR

FACES = "faces/orl"
VOICES = "voices/fsdd/recordings"


def small_bundle(arch):
    """The app with only the default models (a quick deploy)."""
    from eyeauth.board.deploy import default_models_bundle

    if not (MODELS_DIR / "thresholds.json").exists():
        pytest.skip("models/thresholds.json missing: run `eyeauth eval thresholds`")
    return default_models_bundle(arch)


def deploy_fresh(port, **kw):
    """deploy() onto a just-started virtual board. Under heavy load the VM can take longer to
    start than deploy's Ctrl-C loop allows, and a Ctrl-C that lands before MicroPython installs
    its handler kills the VM (which restarts): deploy gives up. Once it stops, the board settles;
    try again (a virtual-board start-up issue, not the app's)."""
    import time

    from eyeauth.board.deploy import deploy
    from eyeauth.errors import LinkError

    for attempt in range(3):
        try:
            return deploy(port, **kw)
        except LinkError:
            if attempt == 2:
                raise
            time.sleep(3)


@pytest.fixture
def auth_board(tmp_path):
    """A fresh virtual board with the app, the default models and a pairing secret."""
    from eyeauth.auth.client import AuthClient
    from eyeauth.link.client import AppClient
    from eyeauth.link.transport import open_transport
    from eyeauth.sim import VirtualBoard

    key = secrets.token_bytes(32)
    with VirtualBoard(tmp_path / "board") as vb:
        deploy_fresh(vb.port, build=small_bundle, pairing_key=key)
        t = open_transport(vb.port)
        app = AppClient(t, timeout=60)
        app.ensure_app()
        vb.auth = AuthClient(app, key, debug=True)  # scores in replies (signed debug mode)
        vb.app = app
        yield vb
        t.close()


@pytest.fixture
def faces(shared_data):
    return lambda ident, idx: [shared_data / FACES / ident / f"{i}.pgm" for i in idx]


@pytest.fixture
def voices(shared_data):
    return lambda spk, idx: [shared_data / VOICES / f"{d}_{spk}_{n}.wav" for d, n in idx]


@pytest.fixture(scope="session", name="deploy_fresh")
def _deploy_fresh_fixture():
    return deploy_fresh
