"""Start, drive and stop virtual ESP-EYE boards (see :mod:`eyeauth.sim.board`).

A board lives in a state folder (default ``~/.cache/eyeauth/sim/<board>``, or ``EYEAUTH_SIM_DIR``)
holding its filesystem, flash image, ports and log. Its serial port is ``<state>/ttyEYE`` and its
ROM bootloader port ``<state>/ttyBOOT``: both open like /dev/ttyUSB0 in mpremote, esptool,
pyserial and eyeauth. The same serial port with the USB bridge's DTR/RTS lines (EN and GPIO0,
esptool's auto-reset) is ``status()["rfc2217"]``, an ``rfc2217://127.0.0.1:PORT`` URL.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from eyeauth.board.configs import load_board
from eyeauth.errors import EyeauthError, UsageError

START_TIMEOUT = 20.0


class SimError(EyeauthError):
    pass


def default_state_dir(board: str = "esp-eye") -> Path:
    from eyeauth import cache_dir

    base = os.environ.get("EYEAUTH_SIM_DIR")
    if base:
        return Path(base)
    return cache_dir() / "sim" / board


def _alive(pid: int) -> bool:
    try:  # our own child (started in this process): reap it, or it lingers as a zombie
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _daemon_pid(state: Path) -> int | None:
    try:
        pid = int((state / "ready").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def control(state: Path, op: str, timeout: float = 10.0, **args) -> dict:
    """One request to a running board's control socket."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(Path(state) / "ctl.sock"))
    except OSError:
        raise SimError(f"no virtual board runs in {state}; start one with `eyeauth sim start`") from None
    with sock, sock.makefile("rwb") as f:
        f.write(json.dumps({"op": op, **args}).encode() + b"\n")
        f.flush()
        line = f.readline()
    reply = json.loads(line or b"{}")
    if not reply.get("ok"):
        raise SimError(f"virtual board refused {op}: {reply.get('error', 'no answer')}")
    return reply


def start(board: str = "esp-eye", state_dir: str | Path | None = None, fresh: bool = False) -> dict:
    """Start a virtual board (or return the one already running there). Returns its status."""
    load_board(board)  # fail early on an unknown board
    state = Path(state_dir) if state_dir else default_state_dir(board)
    if _daemon_pid(state):
        if fresh:
            raise UsageError(f"a virtual board already runs in {state}; `eyeauth sim stop` it first")
        return status(state)
    if fresh and state.exists():
        import shutil
        shutil.rmtree(state)
    state.mkdir(parents=True, exist_ok=True)
    for stale in ("ready", "ctl.sock", "status.json", "pid"):
        try:
            (state / stale).unlink()
        except FileNotFoundError:
            pass
    log = open(state / "daemon.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "eyeauth.sim.board", "--state", str(state), "--board", board],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    log.close()
    (state / "pid").write_text(str(proc.pid))  # so stop() finds a board still starting
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (state / "daemon.log").read_text(errors="replace").strip().splitlines()[-1:]
            raise SimError(f"the virtual board exited at start ({' '.join(tail)}); see {state}/daemon.log")
        if (state / "ready").exists() and (state / "ctl.sock").exists():
            try:
                return status(state)
            except SimError:
                pass
        time.sleep(0.05)
    proc.kill()
    raise SimError(f"the virtual board did not start within {START_TIMEOUT:.0f} s; see {state}/daemon.log")


def status(state_dir: str | Path) -> dict:
    reply = control(Path(state_dir), "status")
    reply.pop("ok", None)
    return reply


def stop(state_dir: str | Path | None = None, board: str = "esp-eye", timeout: float = 10.0) -> bool:
    """Stop the board in state_dir; True if one was running. Leaves no process behind."""
    state = Path(state_dir) if state_dir else default_state_dir(board)
    pid = _daemon_pid(state)
    if pid is None:  # not ready yet (stopped while starting, e.g. Ctrl-C): the starter's pid
        try:
            pid = int((state / "pid").read_text())
        except (FileNotFoundError, ValueError):
            return False
        if not _alive(pid):
            return False
    vm_pid = None
    try:
        vm_pid = status(state).get("vm_pid")
        control(state, "stop")
    except SimError:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    for p in (pid, vm_pid):
        if p and _alive(p):
            try:
                os.killpg(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    return True


def running() -> list[dict]:
    """The status of every virtual board `eyeauth sim start` would find without --state-dir:
    the one in $EYEAUTH_SIM_DIR when it is set, else each board folder under
    ~/.cache/eyeauth/sim/. Boards started elsewhere (--state-dir) are reached by their port."""
    base = os.environ.get("EYEAUTH_SIM_DIR")
    states = [Path(base)] if base else sorted(p for p in default_state_dir().parent.glob("*")
                                              if p.is_dir())
    out = []
    for state in states:
        if _daemon_pid(state) is None:
            continue
        try:
            out.append(status(state))
        except (SimError, OSError, ValueError):
            continue  # starting or stopping: not a board to talk to yet
    return out


def reset(state_dir, hard: bool = True) -> None:
    control(Path(state_dir), "reset")


def power_cut(state_dir) -> None:
    """Kill the VM at once, like pulling the power; it boots again a moment later."""
    control(Path(state_dir), "power_cut")


def button(state_dir, held: bool) -> None:
    """Hold (or release) the board's function button (the maintenance button of its board
    config, never BOOT/GPIO0); a paired board's app reads it as it starts."""
    control(Path(state_dir), "button", held=held)


def sensor_source(state_dir, sensor: str, path) -> dict | None:
    """Put a folder of photos (camera) or WAV recordings (mic) in front of the board: each live
    capture takes the next file (:mod:`eyeauth.sim.sensors`); path None takes it away."""
    if path is not None:
        from eyeauth.sim.sensors import Source

        Source(sensor, path)  # refuse a bad folder here, in one line, before the board sees it
        path = str(Path(path).expanduser().resolve())
    try:
        return control(Path(state_dir), "sensor_source", sensor=sensor, path=path).get("source")
    except SimError as exc:
        raise SimError(str(exc).replace("virtual board refused sensor_source: ", "")) from None


def unplug(state_dir) -> None:
    control(Path(state_dir), "unplug")


def replug(state_dir) -> None:
    control(Path(state_dir), "replug")


class VirtualBoard:
    """Context manager for tests and the demo: a fresh board in a folder, stopped on exit."""

    def __init__(self, state_dir, board: str = "esp-eye", fresh: bool = True):
        self.state = Path(state_dir)
        self.board = board
        self.fresh = fresh
        self.info: dict = {}

    def __enter__(self):
        self.info = start(self.board, self.state, fresh=self.fresh)
        return self

    def __exit__(self, *exc):
        stop(self.state)

    @property
    def port(self) -> str:
        return self.info["port"]

    @property
    def boot_port(self) -> str:
        return self.info["boot_port"]

    @property
    def lines_port(self) -> str:
        """The serial port as an RFC 2217 URL whose DTR/RTS reach EN and GPIO0 (the bridge)."""
        return self.info["rfc2217"]

    def control(self, op, **args):
        return control(self.state, op, **args)
