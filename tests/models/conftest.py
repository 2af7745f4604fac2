import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from eyeauth import SHARED_DATA_DIR  # noqa: E402

ORL = SHARED_DATA_DIR / "faces" / "orl"
FSDD = SHARED_DATA_DIR / "voices" / "fsdd" / "recordings"


@pytest.fixture(scope="session")
def orl_dir():
    if not ORL.is_dir():
        pytest.skip("../shared/data/faces/orl is not present")
    return ORL


@pytest.fixture(scope="session")
def fsdd_dir():
    if not FSDD.is_dir():
        pytest.skip("../shared/data/voices/fsdd is not present")
    return FSDD
