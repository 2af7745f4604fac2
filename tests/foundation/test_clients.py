"""Unmodified clients (mpremote, pyserial) and the app protocol against the board."""
import subprocess
import sys

import pytest

from eyeauth.errors import DeviceError
from eyeauth.link import protocol

pytestmark = pytest.mark.hil


@pytest.fixture(autouse=True)
def _open_repl(board):
    board.open_repl()  # the paired app locks the REPL; the signed `maintenance` opens it


def _mpremote(port, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "mpremote", "connect", port, *args],
                          capture_output=True, text=True, timeout=timeout)


def test_mpremote_exec_reports_micropython(board):
    board.close_clients()
    r = _mpremote(board.port, "exec", "import sys; print(sys.implementation.name)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "micropython"


def test_mpremote_fs_cp_round_trips_byte_identical(board, tmp_path):
    board.close_clients()
    src = tmp_path / "blob.bin"
    src.write_bytes(bytes(range(256)) * 40 + b"\x00\x03\x04\r\n")
    back = tmp_path / "back.bin"
    r = _mpremote(board.port, "fs", "cp", str(src), ":blob.bin", "+", "fs", "cp", ":blob.bin", str(back),
                  "+", "fs", "rm", ":blob.bin")
    assert r.returncode == 0, r.stderr
    assert back.read_bytes() == src.read_bytes()


def test_app_answers_hello_and_status(app):
    hello = app.command("hello")
    assert hello["proto"] == 1 and len(hello["boot"]) == 8
    st = app.command("status")
    assert st["heap_free"] > 100_000 and st["boot"] == hello["boot"]


def test_unknown_command_gets_an_error_reply(app):
    with pytest.raises(DeviceError) as ei:
        app.command("self_destruct")
    assert ei.value.code == "unknown_cmd"


def test_bad_arguments_get_an_error_reply(app):
    with pytest.raises(DeviceError) as ei:
        app.command("bench_link", n="many")
    assert ei.value.code == "bad_args"


def test_corrupted_command_frame_is_answered_bad_frame(app):
    frame = bytearray(protocol.encode("C", 777, {"cmd": "status"}))
    frame[10] ^= 0x01  # flip a bit in the payload: checksum no longer matches
    app.t.write(bytes(frame))
    replies = []
    for _ in range(40):
        replies += [f for f in app.pump(0.05) if f.kind == "R" and f.seq == 777]
        if replies:
            break
    assert replies and replies[0].payload["err"] == "bad_frame"
    assert app.command("ping", data="still alive")["data"] == "still alive"


def test_overlong_line_is_dropped_and_answered(app):
    app.t.write(b"C1 5 " + b"x" * 9000 + b"\n")
    got = []
    for _ in range(40):
        got += [f for f in app.pump(0.05) if f.kind == "R"]
        if got:
            break
    assert got and got[0].payload["err"] == "too_long"
    assert app.command("ping", data="ok")["data"] == "ok"


def test_telemetry_burst_arrives_complete_and_in_order(app):
    app.telemetry.clear()
    r = app.command("bench_link", n=500)
    seqs = [t.seq for t in app.telemetry if t.stage == "bench"]
    assert seqs == list(range(r["first_seq"], r["last_seq"] + 1))
