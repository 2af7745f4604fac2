"""`eyeauth flash` through real esptool against the virtual board's ROM bootloader port."""
import subprocess
import sys
import time

import pytest

from eyeauth.board.configs import load_board
from eyeauth.board.flash import flash
from eyeauth.errors import LinkError, UsageError
from eyeauth.sim import VirtualBoard


def test_flash_writes_verifies_and_the_board_boots_it(tmp_path):
    with VirtualBoard(tmp_path / "b") as vb:
        r = subprocess.run([sys.executable, "-m", "eyeauth", "flash", "--port", vb.boot_port, "--json"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert '"verified": true' in r.stdout
        deadline = time.monotonic() + 10
        frozen = vb.state / "frozen" / "eyeauth_fw" / "app.mpy"
        while not frozen.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert frozen.exists(), "the board should boot the flashed app modules as frozen modules"
        flashed = (vb.state / "flash.bin").read_bytes()
        image = (tmp_path / "img.bin")
        from eyeauth.sim.flashimg import build_app_image
        build_app_image(image)
        off = load_board("esp-eye")["flash_layout"]["app"]
        assert flashed[off:off + image.stat().st_size] == image.read_bytes()


def test_image_too_big_for_the_flash_is_refused(tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (4 * 1024 * 1024))
    with pytest.raises(UsageError, match="does not fit"):
        flash("/dev/null", big, 0x1000)


def test_missing_port_gives_a_one_line_error(tmp_path):
    img = tmp_path / "x.bin"
    img.write_bytes(b"\xe9" + b"\0" * 100)
    with pytest.raises(LinkError) as ei:
        flash(str(tmp_path / "no-such-port"), img, 0x1000)
    assert "\n" not in str(ei.value) and "esptool failed" in str(ei.value)
