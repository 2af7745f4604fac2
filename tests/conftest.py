import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is missing: clone the project with ../shared beside it")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sim_arch():
    """The native-code architecture of the MicroPython VM behind the virtual board."""
    from eyeauth import mpvm
    from eyeauth.board.deploy import ARCHES

    out = mpvm.run("import sys; print(sys.implementation._mpy)", heap_bytes=None, timeout=60).stdout
    return ARCHES[int(out) >> 10]


@pytest.fixture
def fresh_sim(tmp_path):
    """A virtual board of this test's own, with the app (no models) deployed; stopped afterwards."""
    from eyeauth.board.deploy import build_bundle, deploy
    from eyeauth.sim import VirtualBoard

    with VirtualBoard(tmp_path / "board") as vb:
        deploy(vb.port, build=lambda arch: build_bundle(models_dir=None, arch=arch))
        yield vb


@pytest.fixture(scope="session")
def cards():
    from eyeauth.models import zoo

    found = zoo.list_models()
    if not found:
        pytest.skip("the zoo is not built (run `eyeauth models build`)")
    return found


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(1234)
