"""Finding 6 of issue 22: the virtual board's relay between the host's pseudo-terminal and the
VM stopped for good after about 44 KB of bad-CRC frames written at full speed (it waited for the
VM to read while the VM waited for its replies to be read), and `sim reset` did not bring it back.
A real UART does neither. Now host input waits in a bounded buffer and the VM's output is always
read: a flood costs time, never the board. (`python3 bench/fuzz_serial.py --bad-crc` runs 10**6
bytes of it.)"""
import time

from eyeauth import sim
from eyeauth.link import fuzz
from eyeauth.link.client import AppClient
from eyeauth.link.transport import open_transport


def _burst(n, seed=0):
    import random

    return fuzz.bad_crc_burst(random.Random(seed), 7_000_000, n)


def test_bad_crc_floods_cost_time_not_the_board(fresh_sim):
    with open_transport(fresh_sim.port) as t:
        app = AppClient(t, timeout=10)
        app.ensure_app()
        res = fuzz.flood(app, 300_000, burst=44_000, seed=1)  # read while flooding, as a client does
        assert res["hangs"] == 0 and res["pings_over_limit"] == 0, res
        assert res["replies"].get("bad_frame", 0) > 1000, res
        # a writer that never reads: the board's replies pile up and are dropped beyond a bound
        # (a UART with nobody listening), and it still takes every byte and answers
        t.write(_burst(300_000, seed=2))
        t0 = time.monotonic()
        assert app.command("ping", data="after", timeout=10)["data"] == "after"
        assert time.monotonic() - t0 < 5


def test_reset_recovers_a_flooded_board(fresh_sim):
    from eyeauth.errors import LinkError

    with open_transport(fresh_sim.port) as t:
        app = AppClient(t, timeout=10)
        first = app.ensure_app()["boot"]
        try:  # the pattern that stopped the old relay for good: 64 KB writes, nothing awaited
            for i in range(4):
                t.write(_burst(65536, seed=3 + i))
                app.pump(0.0)
        except LinkError:
            pass  # the old relay: the write timed out (stuck); the reset below must still recover
        sim.reset(fresh_sim.state)  # the UART's queued input goes with the reset
        hello = app.wait_hello(15)
        assert hello["boot"] != first
        assert app.command("ping", data="back", timeout=10)["data"] == "back"
