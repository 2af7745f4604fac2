"""Issue 22, findings 2 and 3, on the board the options give (a virtual ESP-EYE by default;
`pytest -m hil --port /dev/ttyUSB0` for a real one): a Ctrl-C flood while the board starts
never reaches the REPL, and the USB bridge's DTR/RTS lines (wired to EN and GPIO0 for esptool's
auto-reset) cannot stand in for the maintenance button."""
import time

import serial

from eyeauth.link import protocol

import pytest

pytestmark = pytest.mark.hil


def _noise(app):
    return [n for n in app.decoder.noise if b"Traceback" in n or b"KeyboardInterrupt" in n
            or b">>>" in n or b"raw REPL" in n]


def test_ctrl_c_flood_at_boot_never_reaches_the_repl(board):
    # the attack as written: an unsigned reset, then 0x03 every 0.2 ms while the board starts
    # (on main: 3 of 20 tries stopped boot.py or main.py, one at the REPL prompt)
    app = board.client()
    app.ensure_app()
    for i in range(35):
        app.decoder.noise.clear()
        app.t.write(protocol.encode("C", 9000 + i, {"cmd": "reset"}))
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.0:
            app.t.write(b"\x03")
            time.sleep(0.0002)
        assert app.command("ping", data="after", timeout=10)["data"] == "after", i
        assert not _noise(app), (i, _noise(app))
    assert app.command("hello")["paired"] is True


def test_the_bridge_lines_cannot_hold_the_maintenance_button(board):
    # GPIO0 held low through DTR/RTS while the app starts (it was the maintenance button: BOOT)
    app = board.client()
    app.ensure_app()
    with serial.serial_for_url(board.lines_port, baudrate=115200, timeout=0.2) as ser:
        ser.dtr, ser.rts = False, True  # EN low: the chip is held in reset
        time.sleep(0.3)
        ser.rts = False  # EN high, GPIO0 high: a normal start ...
        time.sleep(0.3)
        ser.dtr = True  # ... and GPIO0 low while the app comes up and reads its button
        app.wait_hello(30)
        app.pump(1.0)
        assert not any("button held" in log.get("msg", "") for log in app.logs), app.logs
        assert app.command("hello")["paired"] is True
        app.decoder.noise.clear()
        app.t.write(b"\r\x03\x03\x03\r\n")  # Ctrl-C is data: the app stays, the REPL shut
        assert app.command("ping", data="locked") == {"ok": True, "data": "locked"}
        app.pump(0.5)
        assert not _noise(app)
        ser.dtr = False
