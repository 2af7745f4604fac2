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


@pytest.fixture
def fresh_sim(tmp_path):
    """A virtual board of this test's own, with the app deployed; stopped afterwards."""
    from eyeauth.board.deploy import deploy
    from eyeauth.sim import VirtualBoard

    with VirtualBoard(tmp_path / "board") as vb:
        deploy(vb.port)
        yield vb
