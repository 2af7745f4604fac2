"""Hostile serial input against the app on a virtual ESP-EYE with two enrolled users; prints
bytes sent, replies by code, worst ping, heap, whether every user and the template store
survived. Exit status 1 when the app stopped answering, lost a user or changed the store.

    python3 bench/fuzz_serial.py [--bytes 1000000] [--seed 0] [--all-bytes] [--json]
    python3 bench/fuzz_serial.py --bad-crc [--bytes 1000000] [--burst 200000]

--bad-crc: bursts of bad-CRC frames at full speed (each answered `bad_frame`), a ping after each
burst; exit status 1 when a ping took over 2 s or went unanswered (a hang).
"""
from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

from eyeauth import SHARED_DATA_DIR
from eyeauth.auth.client import AuthClient
from eyeauth.board.deploy import default_models_bundle, deploy
from eyeauth.errors import LinkError
from eyeauth.link import fuzz
from eyeauth.link.client import AppClient
from eyeauth.link.transport import open_transport
from eyeauth.sim import VirtualBoard


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bytes", type=int, default=10**6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--all-bytes", action="store_true", help="random bytes include 0x03, 0x1a, 0x1c")
    ap.add_argument("--bad-crc", action="store_true", help="bursts of bad-CRC frames instead, a ping "
                    "after each (the answer must come within 2 s)")
    ap.add_argument("--burst", type=int, default=200_000, help="bytes per bad-CRC burst, written 64 KB "
                    "at a time (default 200000)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    faces = SHARED_DATA_DIR / "faces" / "orl"
    key = secrets.token_bytes(32)
    with tempfile.TemporaryDirectory(prefix="eyeauth-fuzz-") as tmp, VirtualBoard(tmp) as vb:
        for attempt in range(3):  # under heavy load the fresh VM can miss deploy's first Ctrl-Cs
            try:
                deploy(vb.port, build=default_models_bundle, pairing_key=key)
                break
            except LinkError:
                if attempt == 2:
                    raise
                time.sleep(2)
        with open_transport(vb.port) as t:
            app = AppClient(t, timeout=60)
            app.ensure_app()
            c = AuthClient(app, key)
            c.enroll("ann", [faces / "s31" / f"{i}.pgm" for i in (1, 2, 3)])
            c.enroll("bob", [faces / "s35" / f"{i}.pgm" for i in (1, 2, 3)])
            if a.bad_crc:
                return _flood(app, a, Path(vb.state))
            res = fuzz.run(app, a.bytes, a.seed, store_path=Path(vb.state) / "fs" / "tpl",
                           excluded=frozenset() if a.all_bytes else fuzz.EXCLUDED,
                           progress=_progress)
            print(file=sys.stderr)
            st = json.loads((Path(vb.state) / "status.json").read_text())
            res["vm_starts"], res["sim_dropped_bytes"] = st.get("vm_starts"), st.get("dropped_bytes")
    ok = res["users_kept"] and res["store_unchanged"] and not res["repl_or_traceback_seen"]
    if a.json:
        print(json.dumps(res, indent=1))
    else:
        print(f"{res['bytes']} hostile bytes ({res['frames_valid_crc']} valid-CRC frames) in {res['seconds']} s "
              f"({res['bytes_per_s'] / 1024:.0f} KiB/s), seed {a.seed}")
        print(f"  app answered {res['pings_answered']} of {res['pings_answered']} pings (worst {res['worst_ping_s']} s); "
              f"REPL/traceback lines seen: {res['repl_or_traceback_seen']}; VM starts: {res['vm_starts']}; "
              f"bytes the virtual line dropped: {res['sim_dropped_bytes']}")
        print(f"  bytes by kind: {res['bytes_by_kind']}")
        print(f"  replies to hostile frames: {res['replies']}; app restarts (a valid `reset`): {res['app_restarts']}")
        print(f"  users kept: {res['users_kept']} {sorted(res['users'])}; template store byte-identical: {res['store_unchanged']}")
        print(f"  heap free {res['heap_free']} bytes, low-water mark {res['heap_min']}")
    return 0 if ok else 1


def _progress(sent, total):
    print(f"\r{sent}/{total} bytes", end="", file=sys.stderr, flush=True)


def _flood(app, a, state: Path) -> int:
    before = app.command("users")["users"]
    res = fuzz.flood(app, a.bytes, burst=a.burst, seed=a.seed,
                     progress=_progress)
    print(file=sys.stderr)
    res["users_kept"] = app.command("users")["users"] == before
    st = json.loads((state / "status.json").read_text())
    res["vm_starts"] = st.get("vm_starts")
    if a.json:
        print(json.dumps(res, indent=1))
    else:
        print(f"{res['bytes']} bytes of bad-CRC frames in {res['bursts']} bursts of {res['burst_bytes']} bytes, "
              f"{res['seconds']} s ({res['bytes_per_s'] / 1024:.0f} KiB/s), seed {a.seed}")
        print(f"  ping after each burst: worst {res['worst_ping_s']} s; over {res['limit_s']:g} s: "
              f"{res['pings_over_limit']}; hangs (no answer in {res['hang_s']:g} s): {res['hangs']}")
        print(f"  replies: {res['replies']}; users kept: {res['users_kept']}; VM starts: {res['vm_starts']}")
    return 0 if not res["hangs"] and not res["pings_over_limit"] and res["users_kept"] else 1


if __name__ == "__main__":
    sys.exit(main())
