"""Finding 3 of issue 14, the attacker with the cable and the REPL: after pairing the app owns
the serial line. `mpremote cat /pairing.key`, `cp` of a template shard and an `exec` that rewrites
the lockout state all fail; the signed `maintenance` command (or the board's button held while
it starts) opens the REPL until the next reboot; `eyeauth deploy` opens it itself with the host's
pairing secret and refuses in one line without the right one. One board for the module."""
import subprocess
import sys
import time
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor

import pytest

from eyeauth import sim
from eyeauth.errors import UsageError

pytestmark = pytest.mark.hil


def _mpremote(port, *args, timeout=90):
    return subprocess.run([sys.executable, "-m", "mpremote", "connect", port, *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def board(tmp_path_factory, shared_data, deploy_fresh):
    import secrets

    from eyeauth import MODELS_DIR
    from eyeauth.auth.client import AuthClient
    from eyeauth.board.deploy import default_models_bundle
    from eyeauth.link.client import AppClient
    from eyeauth.link.transport import open_transport
    from eyeauth.sim import VirtualBoard

    if not (MODELS_DIR / "thresholds.json").exists():
        pytest.skip("models/thresholds.json missing: run `eyeauth eval thresholds`")
    key = secrets.token_bytes(32)
    tmp = tmp_path_factory.mktemp("lockdown")
    with VirtualBoard(tmp / "board") as vb:
        deploy_fresh(vb.port, build=default_models_bundle, pairing_key=key)
        t = open_transport(vb.port)
        vb.app = AppClient(t, timeout=60)
        vb.app.ensure_app()
        vb.owner = AuthClient(vb.app, key)
        vb.owner.enroll("ann", [shared_data / "faces/orl/s31" / f"{i}.pgm" for i in (1, 2)])
        vb.owner.config(lockout_n=5, lockout_s=30)  # /state.json exists
        vb.key, vb.tmp = key, tmp
        vb.fs = sim.status(vb.state)["fs_dir"]
        yield vb
        t.close()


def _reboot(b, **button):
    if button:
        sim.button(b.state, **button)
    sim.reset(b.state)
    b.app.wait_hello(30)
    return b.app.command("hello")


def test_after_pairing_the_repl_is_closed_to_the_cable(board, tmp_path):
    b = board
    key_hex = open(b.fs + "/pairing.key").read().strip()
    state = open(b.fs + "/state.json").read()
    r = _mpremote(b.port, "fs", "cat", ":pairing.key")
    assert r.returncode != 0 and key_hex not in r.stdout + r.stderr, r.stdout[-300:]
    shard = next(f for f in sorted((Path(b.fs) / "tpl").glob("*.bin")) if f.stat().st_size > 14)
    out = tmp_path / "templates.bin"
    exec_src = "open('/state.json','w').write('{\"failed\": 0, \"lockout_n\": 100, \"lockout_s\": 1}')"
    with ThreadPoolExecutor(2) as pool:  # both wait out mpremote's 10 s for a raw REPL at once
        cp = pool.submit(_mpremote, b.port, "fs", "cp", f":tpl/{shard.name}", str(out))
        ex = pool.submit(_mpremote, b.port, "exec", exec_src)
        cp, ex = cp.result(), ex.result()
    assert cp.returncode != 0 and not out.exists()
    assert ex.returncode != 0 and open(b.fs + "/state.json").read() == state
    # the app kept serving through the Ctrl-C bytes, with its user; and nothing the app answers
    # without a key carries the key or a template
    assert b.app.command("hello")["paired"] is True
    assert "ann" in b.owner.users()["users"]
    tpl = shard.read_bytes()[-32:].hex()
    for cmd in ("hello", "status", "users", "challenge", "flush", "ping"):
        text = str(b.app.command(cmd))
        assert key_hex not in text and tpl not in text, cmd


def test_signed_maintenance_opens_until_reboot_and_the_button_too(board):
    b = board
    with pytest.raises(Exception):  # unsigned: refused like any signed command
        b.app.command("maintenance", chal="0" * 24, mac="0" * 64)
    assert b.owner._signed("maintenance") == {"ok": True, "repl": True}
    r = _mpremote(b.port, "exec", "print(open('/board.id').read())")
    assert r.returncode == 0 and r.stdout.strip() == open(b.fs + "/board.id").read().strip()
    _reboot(b)  # mpremote left the board in the REPL; a reset runs the app, locked again
    r = _mpremote(b.port, "exec", "print(1)")
    assert r.returncode != 0
    assert b.app.command("hello")["paired"] is True
    _reboot(b, held=True)  # a finger on the button while it starts: open until the next reboot
    assert any("button held" in log.get("msg", "") for log in b.app.logs)
    r = _mpremote(b.port, "exec", "print(2)")
    assert r.returncode == 0 and r.stdout.strip() == "2"
    assert _reboot(b, held=False)["paired"] is True


def test_deploy_opens_a_locked_board_with_the_host_secret_only(board, monkeypatch, tmp_path):
    from eyeauth.board.deploy import default_models_bundle, deploy

    b = board
    none = tmp_path / "missing.key"
    monkeypatch.setenv("EYEAUTH_PAIRING_KEY", str(none))
    with pytest.raises(UsageError, match="paired and keeps its REPL locked"):
        deploy(b.port, build=default_models_bundle)
    other = tmp_path / "other.key"
    other.write_text("11" * 32 + "\n")
    monkeypatch.setenv("EYEAUTH_PAIRING_KEY", str(other))
    with pytest.raises(UsageError, match="another pairing secret"):
        deploy(b.port, build=default_models_bundle)
    mine = tmp_path / "mine.key"
    mine.write_text(b.key.hex() + "\n")
    monkeypatch.setenv("EYEAUTH_PAIRING_KEY", str(mine))
    t0 = time.monotonic()
    res = deploy(b.port, build=default_models_bundle)
    assert res.app_started and time.monotonic() - t0 < 60
    assert "ann" in b.owner.users()["users"]  # templates and pairing kept
    b.app.t.write(b"\r\x03\x03\x03\r\n")  # and locked again: Ctrl-C is data, the app answers
    assert b.app.command("ping", data="after ctrl-c") == {"ok": True, "data": "after ctrl-c"}


# -- issue 22, finding 2 (the flood at boot: tests/auth/test_boot_hil.py)

def test_the_board_follows_the_esp32_boot_rule(fresh_sim, tmp_path):
    # MicroPython's ESP32 port runs main.py only when boot.py ended without an exception: a boot.py
    # that raises leaves the board in the REPL (the virtual board now does the same)
    from eyeauth.errors import LinkError
    from eyeauth.link.client import AppClient
    from eyeauth.link.transport import open_transport

    bad = tmp_path / "boot.py"
    bad.write_text("raise KeyboardInterrupt  # as a Ctrl-C landing in boot.py would\n")
    assert _mpremote(fresh_sim.port, "fs", "cp", str(bad), ":boot.py").returncode == 0
    sim.reset(fresh_sim.state)
    with open_transport(fresh_sim.port) as t:
        app = AppClient(t, timeout=5)
        with pytest.raises(LinkError):
            app.wait_hello(8)  # main.py did not run: no app
    r = _mpremote(fresh_sim.port, "exec", "print('at the REPL')")
    assert r.returncode == 0 and "at the REPL" in r.stdout, r.stderr


# -- issue 22, finding 3 (the lines cannot hold the maintenance button: tests/auth/test_boot_hil.py)

def test_esptool_over_the_cable_reads_the_default_image(board, tmp_path):
    # the bridge's DTR/RTS reset the chip into the ROM loader (GPIO0 low as EN rises): on the
    # default image the flash is plain, so the board's key and its files are there for esptool
    # (the virtual board's vfs region holds its files, small ones first; a real littlefs puts
    # them anywhere in the partition: read all of it, esptool read-flash 0x200000 0x200000)
    b = board
    out = tmp_path / "vfs.bin"
    r = subprocess.run([sys.executable, "-m", "esptool", "--chip", "esp32", "--port", b.lines_port,
                        "read-flash", "0x200000", "0x1000", str(out)], capture_output=True, text=True,
                       timeout=240)
    assert r.returncode == 0, r.stdout[-500:]
    key_hex = open(b.fs + "/pairing.key").read().strip()
    assert key_hex.encode() in out.read_bytes()
    b.app.wait_hello(30)  # esptool's hard reset (RTS) ran the app again
    assert b.app.command("hello")["paired"] is True
