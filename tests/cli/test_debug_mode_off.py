"""Issue 22, finding 5: debug mode (scores in replies, the policy chosen per attempt) is
board-wide; `eyeauth bench auth` and `eyeauth demo` turned it on for their attempts and left it
on for 600 s, for anyone on the line. They turn it off when they are done."""
import secrets

import pytest

from eyeauth.errors import DeviceError
from eyeauth.link.client import AppClient
from eyeauth.link.transport import open_transport
from eyeauth.sim import VirtualBoard

pytestmark = pytest.mark.hil


def _debug_off(port) -> bool:
    """An unsigned client asks for a policy: only debug mode allows it."""
    with open_transport(port) as t:
        app = AppClient(t, timeout=30)
        app.ensure_app()
        with pytest.raises(DeviceError) as e:
            app.command("auth", policy="face")
        return e.value.code == "no_debug"


def test_bench_auth_leaves_debug_mode_off(tmp_path, shared_data):
    from eyeauth.benchmarks.auth import run_board as _run_board

    with VirtualBoard(tmp_path / "b") as vb:
        per, _ = _run_board(vb.port, secrets.token_bytes(32), 1, str(shared_data))
        assert set(per) == {"face", "voice", "sum", "both", "cascade"}
        assert _debug_off(vb.port)


def test_demo_leaves_debug_mode_off(tmp_path, monkeypatch, shared_data):
    import eyeauth.demo as demo

    seen = {}

    class Board(demo.VirtualBoard):  # the demo's own board, looked at just before it stops
        def __exit__(self, *exc):
            seen["debug_off"] = _debug_off(self.port)
            return super().__exit__(*exc)

    monkeypatch.setattr(demo, "VirtualBoard", Board)
    res = demo.run_demo(data=shared_data, out=tmp_path / "out", users=1, verbose=False)
    assert res["attempts"] >= 10 and seen["debug_off"] is True
