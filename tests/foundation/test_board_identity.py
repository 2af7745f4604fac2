"""The board as an ESP32 MicroPython user meets it, through unmodified mpremote: os.uname,
machine.freq and friends, `mount` + import of a mounted file, fs, run, soft-reset, resume, repl.

Marked hil: with ``--port /dev/ttyUSB0`` the same assertions run against a real ESP-EYE (they
hold there too: that is the point)."""
import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.hil


@pytest.fixture(autouse=True)
def _open_repl(board):
    board.open_repl()  # the paired app locks the REPL; the signed `maintenance` opens it


def _mpremote(port, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "mpremote", "connect", port, *args],
                          capture_output=True, text=True, timeout=timeout)


def _last_line(r):
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.strip().splitlines()[-1]


def test_os_uname_answers_as_an_esp32(board):
    board.close_clients()
    r = _mpremote(board.port, "exec", "import os, sys; u = os.uname(); "
                  "print(repr((u.sysname, u.nodename, u.machine, sys.platform, u.release)))")
    sysname, nodename, machine, platform, release = eval(_last_line(r))
    assert (sysname, nodename, platform) == ("esp32", "esp32", "esp32")
    # "<MICROPY_HW_BOARD_NAME> with <MCU>", as the board image sets them (any eyeauth board)
    assert re.fullmatch(r".+ with ESP32(S3)?", machine) and "ESP" in machine
    assert release.startswith("1.")


def test_machine_freq_unique_id_reset_cause(board):
    board.close_clients()
    r = _mpremote(board.port, "exec", "import machine; "
                  "print(repr((machine.freq(), machine.unique_id(), machine.reset_cause(), "
                  "machine.PWRON_RESET, machine.SOFT_RESET)))")
    freq, uid, cause, pwron, soft = eval(_last_line(r))
    assert freq == 240_000_000
    assert isinstance(uid, bytes) and len(uid) == 6
    assert (pwron, soft) == (1, 5) and cause in (1, 2, 5)
    # an ESP32 takes only its five clock settings
    r = _mpremote(board.port, "exec", "import machine\nmachine.freq(160000000)\nprint(machine.freq())\n"
                  "try:\n machine.freq(123)\nexcept ValueError:\n print('refused')\n"
                  "machine.freq(240000000)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["160000000", "refused"]


def test_user_facing_traceback_shows_only_the_users_frames(board):
    board.close_clients()
    r = _mpremote(board.port, "exec", "1/0")
    assert r.returncode == 1
    assert "ZeroDivisionError" in r.stdout + r.stderr
    assert "supervisor" not in r.stdout + r.stderr and 'File "<stdin>", line 1' in r.stdout + r.stderr


def test_mount_then_import_a_mounted_file(board, tmp_path):
    board.close_clients()
    # 26 bytes: the file's length holds 0x1a (Ctrl-Z), the kind of byte a tty line would eat
    (tmp_path / "hello_mount.py").write_text('print("hello from mount")\n')
    (tmp_path / "pkgm").mkdir()
    (tmp_path / "pkgm" / "__init__.py").write_text("VALUE = 41 + 1\n")
    r = _mpremote(board.port, "mount", str(tmp_path), "exec",
                  "import hello_mount, pkgm; print(pkgm.VALUE)")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-2:] == ["hello from mount", "42"]


def test_mount_writes_binary_bytes_through_unchanged(board, tmp_path):
    board.close_clients()
    r = _mpremote(board.port, "mount", str(tmp_path), "exec",
                  "f = open('bin.dat', 'wb'); f.write(bytes(range(256))); f.close()")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "bin.dat").read_bytes() == bytes(range(256))


def test_fs_ls_run_soft_reset_and_resume(board, tmp_path):
    board.close_clients()
    script = tmp_path / "job.py"
    script.write_text("import sys\nprint('ran on', sys.platform)\n")
    r = _mpremote(board.port, "fs", "ls", ":", "+", "run", str(script))
    assert r.returncode == 0, r.stderr
    assert ".frozen" not in r.stdout and r.stdout.strip().splitlines()[-1] == "ran on esp32"
    r = _mpremote(board.port, "exec", "marker_xyz = 7")
    assert r.returncode == 0, r.stderr
    # resume: no soft reset, the REPL's globals survive; soft-reset: they are gone
    assert _last_line(_mpremote(board.port, "resume", "exec", "print(marker_xyz)")) == "7"
    r = _mpremote(board.port, "soft-reset", "resume", "exec",
                  "print('marker_xyz' in globals())")
    assert _last_line(r) == "False"


def _read_until(fd, want: bytes, timeout: float) -> bytes:
    got = b""
    end = time.monotonic() + timeout
    while want not in got and time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                got += os.read(fd, 4096)
            except OSError:
                break
    return got


def test_repl_evaluates_and_exits(board):
    board.close_clients()
    pid, fd = pty.fork()
    if pid == 0:  # the child: mpremote's console needs a terminal
        os.execv(sys.executable, [sys.executable, "-m", "mpremote", "connect", board.port, "repl"])
    try:
        banner = _read_until(fd, b"Use Ctrl-] or Ctrl-x to exit", 30)
        assert b"Connected to MicroPython" in banner
        os.write(fd, b"\r")
        _read_until(fd, b">>> ", 15)
        os.write(fd, b"6*7\r")
        assert b"42" in _read_until(fd, b"42", 15)
        os.write(fd, b"\x1d")  # Ctrl-]: leave the repl
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
