"""What users see when they get something wrong: one line `eyeauth: ...` that says what to do,
and an exit code; never a traceback (golden tests of the CLI's error surface)."""
import subprocess
import sys

import pytest


def _run(*args):
    return subprocess.run([sys.executable, "-m", "eyeauth", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args,code,needle", [
    (("deploy", "--port", "/dev/does-not-exist"), 3, "cannot open /dev/does-not-exist for deploy"),
    (("users", "--port", "/dev/does-not-exist"), 3, "cannot open serial port /dev/does-not-exist"),
    (("auth", "--port", "/dev/does-not-exist", "--face", "x.pgm"), 6, "image x.pgm not found"),  # files first
    (("flash", "--port", "/dev/null", "--firmware", "nope.bin"), 2, "firmware image nope.bin not found"),
    (("sim", "start", "--board", "esp-nothing"), 2, "unknown board 'esp-nothing'"),
    (("sim", "status", "--state-dir", "/tmp/eyeauth-no-board-here"), 1, "no virtual board runs in"),
    (("report", "--db", "/tmp/eyeauth-missing.db", "--out", "/tmp/eyeauth-out"), 6, "eyeauth-missing.db"),
])
def test_errors_are_one_line_with_a_fix(args, code, needle):
    r = _run(*args)
    assert r.returncode == code, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("eyeauth: "), r.stderr
    assert needle in lines[0]
    assert "Traceback" not in r.stderr


def test_help_lists_the_commands():
    r = _run("--help")
    assert r.returncode == 0
    for cmd in ("demo", "sim", "flash", "deploy", "enroll", "auth", "users", "monitor", "report",
                "models", "convert", "bench"):
        assert cmd in r.stdout


def test_enroll_without_inputs_says_what_to_give(tmp_path):
    r = _run("enroll", "--port", "/dev/null", "--user", "ann")
    assert r.returncode == 2 and r.stderr.strip() == ("eyeauth: give --live (the board's camera "
                                                      "and microphone) or --face DIR and/or --voice DIR")
