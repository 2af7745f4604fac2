"""The virtual board as a process: start, reset, stop, and nothing left behind."""
import os
import subprocess
import sys
import time

from eyeauth import sim
from eyeauth.board.deploy import build_bundle, deploy
from eyeauth.link.client import AppClient
from eyeauth.link.transport import open_transport


def _pids_with(text):
    out = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if text in line and "ps -eo" not in line]


def test_cli_start_then_stop_leaves_no_process(tmp_path):
    state = tmp_path / "b"
    r = subprocess.run([sys.executable, "-m", "eyeauth", "sim", "start", "--state-dir", str(state),
                        "--port-file", str(tmp_path / "port")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    port = r.stdout.splitlines()[0]
    assert os.path.exists(port) and (tmp_path / "port").read_text().strip() == port
    assert _pids_with(str(state)), "the board should be running"
    r = subprocess.run([sys.executable, "-m", "eyeauth", "sim", "stop", "--state-dir", str(state)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    time.sleep(0.3)
    assert _pids_with(str(state)) == []
    assert not os.path.exists(port)


def test_soft_reset_restarts_the_app_with_a_new_boot_id(tmp_path):
    with sim.VirtualBoard(tmp_path / "b") as vb:
        deploy(vb.port, build=lambda arch: build_bundle(models_dir=None, arch=arch))
        with open_transport(vb.port) as t:
            c = AppClient(t)
            first = c.ensure_app()["boot"]
            c.command("reset")
            hello = c.wait_hello(10)
            assert hello["boot"] != first
            assert c.command("hello")["boot"] == hello["boot"]


def test_power_cut_reboots_into_the_app(tmp_path):
    with sim.VirtualBoard(tmp_path / "b") as vb:
        deploy(vb.port, build=lambda arch: build_bundle(models_dir=None, arch=arch))
        with open_transport(vb.port) as t:
            c = AppClient(t)
            first = c.ensure_app()["boot"]
            vm_pid = sim.status(vb.state)["vm_pid"]
            sim.power_cut(vb.state)
            hello = c.wait_hello(10)
            assert hello["boot"] != first
            assert sim.status(vb.state)["vm_pid"] != vm_pid
