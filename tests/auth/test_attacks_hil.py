"""The attacker with the cable (docs/SECURITY.md): each test replays one finding of the serial
protocol review on a virtual board and checks the board now refuses it. One board for the
module (deploying is the slow part); every test leaves it unlocked, flushed and with ann."""
import hashlib
import secrets
import time
import zlib

import numpy as np
import pytest

from eyeauth.auth import pairing
from eyeauth.errors import DeviceError

pytestmark = pytest.mark.hil

FACES = "faces/orl"
VOICES = "voices/fsdd/recordings"


@pytest.fixture(scope="module")
def board(tmp_path_factory, shared_data, deploy_fresh):
    from eyeauth.auth.client import AuthClient
    from eyeauth.link.client import AppClient
    from eyeauth.link.transport import open_transport
    from eyeauth import MODELS_DIR
    from eyeauth.board.deploy import default_models_bundle
    from eyeauth.sim import VirtualBoard

    if not (MODELS_DIR / "thresholds.json").exists():
        pytest.skip("models/thresholds.json missing: run `eyeauth eval thresholds`")
    key = secrets.token_bytes(32)
    with VirtualBoard(tmp_path_factory.mktemp("attacks") / "board") as vb:
        deploy_fresh(vb.port, build=default_models_bundle, pairing_key=key)
        t = open_transport(vb.port)
        app = AppClient(t, timeout=60)
        app.ensure_app()
        vb.app, vb.owner = app, AuthClient(app, key, debug=True)
        vb.anyone = AuthClient(app, None)  # no key: what an attacker with the cable can do
        vb.face = lambda ident, i: shared_data / FACES / ident / f"{i}.pgm"
        vb.clip = lambda name: shared_data / VOICES / name
        vb.owner.enroll("ann", [vb.face("s31", i) for i in (1, 2, 3)])
        vb.owner.config(lockout_n=5, lockout_s=30)
        yield vb
        t.close()


@pytest.fixture
def b(board):
    yield board
    board.owner.unlock()
    board.owner.flush()
    assert board.app.command("hello")["proto"] == 1  # answering as the app, not the REPL


def _raw(app, line: bytes, seq: int, timeout=10.0):
    """Write one raw line; -> the payload of the reply with this seq, or None."""
    app.t.write(line)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for f in app.pump(0.05):
            if f.kind == "R" and f.seq == seq:
                return f.payload
    return None


def _frame(seq, payload_text: str) -> bytes:
    body = f"C1 {seq} {payload_text}".encode()
    return body + b" %08x\n" % (zlib.crc32(body) & 0xFFFFFFFF)


def _try(fn, *a, **k):
    """An attempt's reply, or {"accepted": False, "err": code} when the board refused it."""
    try:
        return fn(*a, **k)
    except DeviceError as e:
        return {"accepted": False, "err": e.code}


def _err(fn, *a, **k):
    with pytest.raises(DeviceError) as ei:
        fn(*a, **k)
    return ei.value.code


# -- finding 2: left-over inputs

def test_inputs_of_a_failed_enroll_do_not_let_the_next_attempt_in(b):
    genuine = b.owner.feed_frame(b.face("s31", 8))
    silent = b.owner.feed_clip(np.zeros(8000, np.int16))
    args = b.owner.signed_args("enroll", [genuine["sha256"], silent["sha256"]], user="ann",
                               face=[genuine["input"]], voice=[silent["input"]])
    assert _raw(b.app, _frame(501, __import__("json").dumps(args)), 501)["err"] == "no_speech"
    # the owner's frame went with the failed command: an impostor cannot ride on it
    assert _err(b.app.command, "auth", face=genuine["input"]) == "no_input"
    r = _try(b.anyone.auth, face=b.face("s40", 1))
    assert not r["accepted"] and set(r) <= {"ok", "accepted", "user", "locked", "err"}
    r = _try(b.app.command, "auth")  # nothing named, nothing fed: live capture only
    assert not r["accepted"] and r.get("err") == "no_input"


def test_junk_inputs_never_block_enroll_and_flush_empties(b):
    for _ in range(20):  # more than the board keeps: the oldest go, enroll still works
        b.anyone.feed_frame(np.full((120, 160), 7, np.uint8))
    assert b.owner.enroll("cara", [b.face("s33", 1)])["user"] == "cara"
    assert b.app.command("flush")["flushed"] >= 1
    assert b.app.command("flush")["flushed"] == 0
    b.owner.delete("cara")


# -- issue 22, finding 1: inputs named by a command that failed its argument check

@pytest.mark.parametrize("bad", [{"voice": 123}, {"voice": ["x", 1]}, {"user": 5}, {"policy": "face"}],
                         ids=["voice-int", "voice-list", "user-int", "policy-no-debug"])
def test_a_refused_auth_takes_the_inputs_it_named_with_it(b, bad):
    owner = b.owner.feed_frame(b.face("s31", 8))
    with pytest.raises(DeviceError):
        b.app.command("auth", face=owner["input"], **bad)
    # a second client naming the same frame: gone with the refused command
    assert _err(b.app.command, "auth", face=owner["input"]) == "no_input"


def test_a_refused_enroll_takes_every_input_it_named(b):
    ids = [b.owner.feed_frame(b.face("s31", i))["input"] for i in (4, 5)]
    with pytest.raises(DeviceError) as e:  # 6 ids: over the 5 an enroll may name
        b.app.command("enroll", user="eve", face=ids + ["a", "b", "c", "d"], chal="0" * 24, mac="0" * 64)
    assert e.value.code == "bad_args"
    for iid in ids:
        assert _err(b.app.command, "auth", face=iid) == "no_input"


# -- issue 22, finding 7: the virtual camera captures at the moment of the attempt

def test_a_frame_shown_earlier_is_not_captured_later(b):
    import base64

    from eyeauth.auth import inputs
    from eyeauth.sim import services

    frame = inputs.load_frame(b.face("s31", 8))
    push = {"sensor": "camera", "data": base64.b64encode(frame.tobytes()).decode(),
            "w": int(frame.shape[1]), "h": int(frame.shape[0])}
    b.control("sensor", **push)  # the owner in front of the camera, now: a live attempt sees them
    r = b.owner.auth(policy="face", user="ann")
    assert r["accepted"] and r["user"] == "ann"
    b.control("sensor", **push)  # the owner again; then a failed enroll leaves the frame unused
    sig = b.owner.signed_args("enroll", user="ann", face=1)
    sig["mac"] = "0" * 64
    assert _err(b.app.command, **sig) == "bad_mac"
    time.sleep(services.HOLD_S + 1)  # the owner walked away; an attacker tries with no inputs
    r = _try(b.anyone.auth)
    assert not r["accepted"] and r.get("err") == "no_input", r


# -- issue 22, finding 8: duplicate JSON keys; the lockout wait and resets

def test_duplicate_keys_are_refused_not_last_key_wins(b):
    boot = b.app.command("hello")["boot"]
    r = _raw(b.app, _frame(801, '{"cmd":"ping","cmd":"reset"}'), 801)
    assert r and r["err"] == "bad_frame" and "duplicate" in r["msg"], r
    r = _raw(b.app, _frame(802, '{"cmd":"users","offset":0,"x":{"a":1,"a":2}}'), 802)
    assert r and r["err"] == "bad_frame", r
    r = _raw(b.app, _frame(803, '{"cmd":"ping","data":"a:b","x":1}'), 803)  # ':' in a string is fine
    assert r == {"ok": True, "data": "a:b"}, r
    assert b.app.command("hello")["boot"] == boot  # no reset happened


def test_a_reset_restarts_the_wait_and_the_owner_unlocks(b):
    # decided: the wait counts powered time only (no clock survives a reset), so a cable holder
    # resetting the board faster than the wait keeps the owner out; the owner's signed unlock
    # ends it at once (docs/SECURITY.md, "The lockout and resets")
    b.owner.config(lockout_n=1, lockout_s=4)
    assert _err(b.app.command, "auth") == "no_input"
    assert 3 <= b.app.command("users")["wait_s"] <= 4
    time.sleep(2)
    b.app.command("reset")
    b.app.wait_hello(30)
    assert 3 <= b.app.command("users")["wait_s"] <= 4  # restarted, not shortened
    assert _err(b.app.command, "auth") == "locked"
    b.owner.unlock()
    assert b.app.command("users")["wait_s"] == 0
    b.owner.config(lockout_n=5, lockout_s=30)


# -- finding 4: deep JSON

def test_deep_json_costs_one_reply_and_the_app_stays(b):
    deep = "[" * 1200 + "]" * 1200
    r = _raw(b.app, _frame(601, '{"cmd": "ping", "data": %s}' % deep), 601)
    assert r and r["err"] == "bad_frame"
    r = _raw(b.app, _frame(602, '{"cmd": %s}' % ("[" * 3000 + "]" * 3000)), 602)
    assert r and r["err"] == "bad_frame"
    r = _raw(b.app, _frame(603, '{"cmd": {"a": [1]}}'), 603)
    assert r and r["err"] == "unknown_cmd"
    assert b.app.command("ping", data="alive")["data"] == "alive"


# -- finding 5: what a signature binds

def test_signature_binds_board_arguments_and_inputs(b):
    # a command signed for another board (same host secret, other board id) is refused here
    chal = b.app.command("challenge")["chal"]
    other = {"cmd": "delete", "user": "ann", "chal": chal}
    other["mac"] = pairing.sign(pairing.board_key(b.owner.key, "0123456789abcdef"), "0123456789abcdef", other)
    assert _err(b.app.command, **other) == "bad_mac"
    # a valid signature with attacker-chosen arguments is refused
    sig = b.owner.signed_args("config", set={"lockout_n": 5})
    sig["set"] = {"lockout_n": 100}
    assert _err(b.app.command, **sig) == "bad_mac"
    assert b.app.command("users")["users"]["ann"]
    # a signed enroll only takes the inputs (ids and contents) it was signed for
    mine = b.owner.feed_frame(b.face("s31", 4))
    eve = b.anyone.feed_frame(b.face("s40", 2))
    sig = b.owner.signed_args("enroll", [mine["sha256"]], user="ann", face=[mine["input"]])
    sig["face"] = [eve["input"]]
    assert _err(b.app.command, **sig) == "bad_mac"
    eve2 = b.anyone.feed_frame(b.face("s40", 3))
    sig = b.owner.signed_args("enroll", [mine["sha256"]], user="ann", face=[eve2["input"]])
    assert _err(b.app.command, **sig) == "bad_mac"  # the owner's digest, the attacker's content
    assert b.app.command("users")["users"]["ann"] == {"face": 3}


# -- finding 6: lockout holes, oracle, denial of service

def test_auth_without_debug_is_a_decision_only(b):
    r = _try(b.anyone.auth, face=b.face("s31", 8))
    assert set(r) <= {"ok", "accepted", "user", "locked", "err"}
    for k, v in (("policy", "face"), ("face_model", "face_s48")):
        assert _err(b.app.command, "auth", **{k: v}) == "no_debug"


def test_every_aborted_attempt_counts_and_the_lockout_expires(b):
    b.owner.config(lockout_n=3, lockout_s=2)
    silent = np.zeros(8000, np.int16)
    loud = (np.sign(np.sin(np.arange(8000) * 0.3)) * 32767).astype(np.int16)
    codes = [_err(b.owner.auth, voice=silent, policy="voice"),
             _err(b.owner.auth, voice=loud, policy="voice"),
             _err(b.app.command, "auth")]
    assert codes == ["no_speech", "clipped", "no_input"]
    assert _err(b.owner.auth, face=b.face("s31", 8), policy="face") == "locked"
    wait = b.app.command("users")["wait_s"]
    assert 1 <= wait <= 2
    time.sleep(wait + 0.3)
    assert _err(b.app.command, "auth") == "no_input"  # allowed again, and failed again:
    assert 2 <= b.app.command("users")["wait_s"] <= 4  # the next wait is twice as long (4 s)
    time.sleep(4.3)
    assert b.owner.auth(face=b.face("s31", 8), policy="face")["accepted"]  # no unlock needed
    assert b.app.command("users")["wait_s"] == 0
    b.owner.config(lockout_n=5, lockout_s=30)


# -- finding 7: unsigned resource exhaustion

def test_bench_link_and_feeds_are_bounded(b):
    for args in ({"n": 10**9}, {"interval_ms": 10**9}, {"n": 1000, "interval_ms": 1000}, {"pad": 10**6},
                 {"n": 1.5}, {"n": True}):
        assert _err(b.app.command, "bench_link", timeout=5, **args) == "bad_args"
    assert _err(b.app.command, "feed", sensor="camera", part=0, parts=1, data="", w=4000, h=3000) == "bad_image"
    assert _err(b.app.command, "feed", sensor="mic", part=0, parts=1, data="", rate=8000, size=10**7) == "bad_audio"
    big = np.random.default_rng(0).integers(0, 255, (480, 640), np.uint8)
    for _ in range(5):
        b.anyone.feed_frame(big)
    st = b.app.command("status")
    assert st["heap_free"] > 1_000_000, st
    # the junk is never used by the owner's next attempt
    r = b.owner.auth(face=b.face("s31", 8), policy="face")
    assert r["accepted"] and r["user"] == "ann" and r["models"]


# -- finding 8: ASCII only

def test_non_ascii_is_escaped_and_names_are_validated(b):
    assert b.app.command("ping", data="jos\u00e9 \U0001f600")["data"] == "jos\u00e9 \U0001f600"
    assert _err(b.owner.enroll, "jos\u00e9", [b.face("s31", 1)]) == "bad_args"
    assert "ann" in b.app.command("users")["users"]


# -- finding 10: clocks

def test_a_nonce_from_the_future_is_no_challenge_and_locks_nobody_out(b):
    ten_years = str(int(time.time() * 1000) + 10 * 365 * 86400 * 1000)
    body = {"cmd": "unlock", "chal": ten_years}
    bid, bkey = b.owner.board_key()
    body["mac"] = pairing.sign(bkey, bid, body)
    assert _err(b.app.command, **body) == "replay"
    assert b.owner.unlock()["locked"] is False  # the correct host goes on working
    sig = b.owner.signed_args("unlock")
    b.app.command(**sig)
    assert _err(b.app.command, **sig) == "replay"  # a challenge is good once


def test_hello_names_the_board_and_the_key_is_per_board(b):
    h = b.app.command("hello")
    assert len(h["board_id"]) == 16 and h["paired"]
    fs = b.state / "fs"
    on_board = (fs / "pairing.key").read_text().strip()
    assert on_board != b.owner.key.hex()
    assert on_board == pairing.board_key(b.owner.key, h["board_id"]).hex()
    assert hashlib.sha256(b.owner.key).hexdigest() not in (fs / "pairing.key").read_text()


# -- the fuzz run, small (bench/fuzz_serial.py sends 10**6 bytes and more)

def test_hostile_serial_input_leaves_app_users_and_store_intact(b):
    from eyeauth.link import fuzz

    res = fuzz.run(b.app, 120_000, seed=1, store_path=b.state / "fs" / "tpl")
    assert res["users_kept"] and res["store_unchanged"], res
    assert res["repl_or_traceback_seen"] == 0 and res["frames_valid_crc"] > 100, res
    assert b.app.command("ping", data="still here")["data"] == "still here"
