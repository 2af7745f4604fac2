"""Write and verify a firmware image with esptool (run as its own process, as users run it).

The image is the caller's choice: ``eyeauth flash`` without ``--firmware`` builds the virtual
board's **app image** (:func:`eyeauth.sim.flashimg.build_app_image`: the firmware modules of
``firmware/manifest.py`` compiled with mpy-cross and packed as a bundle), written at the board's
``flash_layout.app`` offset; the virtual ESP-EYE boots its frozen modules from it. For a
real ESP-EYE pass ``--firmware`` with the MicroPython image built by ``firmware/image/build.sh``
(``build/image/out/esp-eye/firmware.bin``; or a MicroPython release .bin) and ``--address 0x1000``
(``0x0`` on an ESP32-S3); docs/REAL_BOARD.md walks through it.
"""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from eyeauth.errors import LinkError, UsageError

_PROGRESS = re.compile(rb"(\d+(?:\.\d+)?)\s?%")


def _esptool(args: list[str], progress=None, timeout: float = 600) -> str:
    cmd = [sys.executable, "-m", "esptool", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = bytearray()
    start = time.monotonic()
    while True:
        chunk = proc.stdout.read1(4096) if hasattr(proc.stdout, "read1") else proc.stdout.read(4096)
        if not chunk:
            break
        out += chunk
        if progress:
            m = list(_PROGRESS.finditer(chunk))
            if m:
                progress(float(m[-1].group(1)))
        if time.monotonic() - start > timeout:
            proc.kill()
            raise LinkError(f"esptool did not finish within {timeout:.0f} s")
    proc.wait()
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        fatal = [l for l in text.splitlines() if "error" in l.lower()]
        reason = (fatal[-1] if fatal else text.strip().splitlines()[-1] if text.strip() else "no output").strip()
        raise LinkError(f"esptool failed on {args[args.index('--port') + 1]}: {reason[:200]}; hold BOOT "
                        f"while pressing RESET to enter the bootloader, check the port, then retry")
    return text


def flash(port: str, firmware: Path, address: int | None = None, board: dict | None = None,
          baud: int = 460800, progress=None) -> dict:
    """Write `firmware` at `address` and verify it. Returns what was written and how fast."""
    from eyeauth.board.configs import load_board

    board = board or load_board("esp-eye")
    firmware = Path(firmware)
    if not firmware.is_file():
        raise UsageError(f"firmware image {firmware} not found; build it (`eyeauth flash` without "
                         f"--firmware builds the virtual board's app image) or give the right path")
    size = firmware.stat().st_size
    address = 0x1000 if address is None else address
    if address + size > board["flash_bytes"]:
        raise UsageError(f"{firmware.name} ({size} bytes at 0x{address:x}) does not fit the "
                         f"{board['flash_bytes'] // 1048576} MB flash of {board['name']}")
    common = ["--chip", board["chip"], "--port", port, "--baud", str(baud)]
    t0 = time.monotonic()
    _esptool([*common, "write-flash", "--flash-size", "keep", hex(address), str(firmware)], progress)
    t1 = time.monotonic()
    text = _esptool([*common, "--after", "no-reset", "verify-flash", hex(address), str(firmware)])
    verified = "digest matched" in text or "Verification successful" in text
    if not verified:
        raise LinkError(f"the flash of {board['name']} on {port} does not match {firmware.name} after writing; "
                        f"erase it (`python -m esptool --port {port} erase-flash`) and flash again")
    return {"port": port, "firmware": str(firmware), "address": address, "bytes": size,
            "write_s": round(t1 - t0, 3), "verified": True, "chip": board["chip"]}
