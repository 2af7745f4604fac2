"""bench/pyspeed.py: the host side of python_speed_factor, and the board side through mpremote
(on the virtual board the "chip" is the VM itself, so its measured factor is about 1)."""
import json
import subprocess
import sys

import pytest

from eyeauth import BOARD_CONFIGS_DIR, FIRMWARE_DIR

BENCH = FIRMWARE_DIR.parent / "bench" / "pyspeed.py"


@pytest.fixture
def _open_repl(board):
    board.open_repl()  # the paired app locks the REPL; the signed `maintenance` opens it


def _run(*args):
    r = subprocess.run([sys.executable, str(BENCH), "--repeat", "1", "--json", *args],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_host_side_factors_and_sources():
    r = _run()
    assert set(r["factors"]) == {"esp32", "esp32_psram", "esp32s3_psram"}
    assert r["factors"]["esp32_psram"]["median"] > r["factors"]["esp32"]["median"] > 1
    for name in ("esp-eye", "esp32-s3-eye"):
        cfg = json.loads((BOARD_CONFIGS_DIR / f"{name}.json").read_text())
        assert "bench/pyspeed.py" in cfg["python_speed_factor_source"]
        assert name in r["board_configs"]


@pytest.mark.hil
def test_board_side_through_mpremote(board, _open_repl):
    board.close_clients()
    r = _run("--port", board.port)
    assert set(r["board_seconds"]) >= {"int_add", "pi_5000", "int_add_viper"}
    if board.sim is not None:  # the virtual board's chip is this host's VM: about 1, more when
        # the host is loaded (the board side is wall time, the host side CPU time)
        assert 0.2 < r["measured_factor"]["median"] < 50
