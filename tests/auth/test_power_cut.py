"""A power cut at any point of an enrollment leaves the old store or the new one, never a
corrupt one: the VM is killed (SIGKILL) at many points during enroll, the board boots again and
its store must load and hold either the users before or the users after."""
import time

import pytest

from eyeauth import sim
from eyeauth.link import protocol

pytestmark = pytest.mark.hil


def test_power_cut_during_enrollment_never_corrupts_the_store(auth_board, faces):
    b = auth_board
    b.auth.enroll("base", faces("s31", [1]))
    b.auth.config(write_delay_ms=3)  # stretch the store write so kills land inside it too
    t0 = time.monotonic()
    b.auth.enroll("probe", faces("s32", [1]))
    span = time.monotonic() - t0
    b.auth.delete("probe")
    outcomes = {"old": 0, "new": 0}
    kills = 14
    for i in range(kills):
        before = set(b.auth.users()["users"])
        name = f"n{i}"
        fed = b.auth.feed_frame(faces("s33", [1 + i % 9])[0])
        body = b.auth.signed_args("enroll", [fed["sha256"]], user=name, face=[fed["input"]])
        b.app.t.write(protocol.encode("C", 900000 + i, body))
        time.sleep(span * i / (kills - 1) * 1.5)  # past the end too: a loaded machine stretches it
        sim.power_cut(b.state)
        b.app.wait_hello(20)
        info = b.auth.users()
        assert "store_error" not in info, info
        after = set(info["users"])
        assert after in (before, before | {name}), (i, before, after)
        outcomes["new" if name in after else "old"] += 1
    assert outcomes["old"] and outcomes["new"], outcomes
