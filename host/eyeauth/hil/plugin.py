"""pytest plugin: one `board` fixture, backed by a virtual ESP-EYE or a real board.

    pytest                      # HIL tests on a fresh virtual ESP-EYE (default, --board sim)
    pytest --port /dev/ttyUSB0  # the same tests on a real board on that port
    pytest -m hil               # only the hardware-in-the-loop tests

The fixture flashes nothing and deploys the app once per session (incremental: a board that
already has it copies nothing). Tests talk to it through ``board.client()`` or ``board.port``;
nothing in a test asks which kind of board it has, except through ``board.sim`` for actions
only a virtual board can take (pull the cable, cut the power).
"""
from __future__ import annotations

import tempfile

import pytest


def pytest_addoption(parser):
    g = parser.getgroup("eyeauth", "eyeauth hardware-in-the-loop")
    try:
        g.addoption("--board", default="sim", help="`sim` (a virtual ESP-EYE, default) or a board "
                    "config name to start virtually (e.g. esp32-s3-eye)")
    except Exception:
        pass
    try:
        g.addoption("--port", default=None, help="serial port of a real board (e.g. /dev/ttyUSB0); "
                    "overrides --board")
    except Exception:  # pytest-embedded defines --port with the same meaning: share it
        pass
    g.addoption("--boot-port", default=None, help="the real board's bootloader port, if different")


def pytest_configure(config):
    config.addinivalue_line("markers", "hil: hardware-in-the-loop test (virtual board by default)")


class Board:
    """What a test gets: the port(s), an app client factory, and the sim controls if virtual."""

    def __init__(self, port: str, boot_port: str | None, sim=None, key: bytes | None = None):
        self.key = key  # the pairing secret deployed onto the board
        self.port = port
        self.boot_port = boot_port
        self.sim = sim  # eyeauth.sim.VirtualBoard or None
        # the serial port with the USB bridge's DTR/RTS (EN, GPIO0): the real port, or the
        # virtual board's RFC 2217 URL
        self.lines_port = sim.lines_port if sim is not None else port
        self._transports = []

    def client(self, timeout: float = 15.0):
        from eyeauth.link.client import AppClient
        from eyeauth.link.transport import open_transport

        t = open_transport(self.port)
        self._transports.append(t)
        c = AppClient(t, timeout=timeout)
        c.ensure_app()
        return c

    def open_repl(self):
        """A paired board keeps Ctrl-C and the REPL locked (docs/SECURITY.md): open them until
        the next reboot with the signed `maintenance` command, as `eyeauth deploy` does, before
        a test drives the board with mpremote. A board already at the REPL needs nothing."""
        import serial

        from eyeauth.board.deploy import open_repl

        with serial.serial_for_url(self.port, 115200, timeout=0.05) as ser:
            open_repl(ser, self.key)

    def close_clients(self):
        for t in self._transports:
            t.close()
        self._transports.clear()

    def require_sim(self, what: str):
        if self.sim is None:
            pytest.skip(f"{what} needs the virtual board (it pulls cables / cuts power)")


@pytest.fixture(scope="session")
def board(request):
    from eyeauth.board.deploy import deploy

    import secrets

    port = request.config.getoption("--port", default=None)
    if port:
        from eyeauth.auth.pairing import load_key
        key = load_key(create=True)
        b = Board(port, request.config.getoption("--boot-port"), key=key)
        deploy(port, pairing_key=key)
        yield b
        b.close_clients()
        return
    from eyeauth.sim import VirtualBoard

    name = request.config.getoption("--board", default="sim") or "sim"
    name = "esp-eye" if name == "sim" else name
    with tempfile.TemporaryDirectory(prefix="eyeauth-hil-") as tmp, VirtualBoard(tmp, board=name) as vb:
        key = secrets.token_bytes(32)
        deploy(vb.port, pairing_key=key)
        b = Board(vb.port, vb.boot_port, sim=vb, key=key)
        yield b
        b.close_clients()


@pytest.fixture
def app(board):
    """An AppClient on the board, closed after the test."""
    c = board.client()
    yield c
    c.t.close()
