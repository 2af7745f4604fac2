"""Fixtures of the telemetry tests (helpers in helpers.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import PtyBoard, fill_store


@pytest.fixture
def pty_board(tmp_path):
    """A board on a pseudo-terminal, reachable at ``pty_board.link`` (a symlink)."""
    board = PtyBoard(tmp_path / "ttyEYE0")
    yield board
    board.close()


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    """A database of a plausible field session (3 boots, a gap, a replay)."""
    path = tmp_path_factory.mktemp("telemetry") / "field.db"
    fill_store(path)
    return path
