"""`eyeauth demo` stops its virtual board when interrupted (Ctrl-C or SIGTERM)."""
import signal
import subprocess
import sys
import time

import pytest


def _procs(text):
    out = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if text in line and "ps -ww" not in line]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_demo_leaves_no_board_behind(tmp_path, sig):
    proc = subprocess.Popen([sys.executable, "-m", "eyeauth", "demo", "--out", str(tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _procs("eyeauth-demo-"):
        time.sleep(0.2)
    assert _procs("eyeauth-demo-"), "the demo should have started a virtual board"
    time.sleep(1.0)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err
    time.sleep(0.5)
    assert _procs("eyeauth-demo-") == []
