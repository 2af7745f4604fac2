"""The demo: a virtual ESP-EYE taken through flash, deploy, telemetry and a report.

(Enrollment and authentication join here with the on-device pipeline.)
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from eyeauth.board.deploy import deploy
from eyeauth.board.flash import flash
from eyeauth.link.client import AppClient
from eyeauth.link.transport import open_transport
from eyeauth.sim import VirtualBoard
from eyeauth.telemetry.report import report
from eyeauth.telemetry.sink import FrameSink
from eyeauth.telemetry.store import TelemetryStore


def _say(verbose, msg):
    if verbose:
        print(f"[demo] {msg}", file=sys.stderr, flush=True)


def run_demo(data=None, out="out/demo", users=3, verbose=True) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    db = out / "telemetry.db"
    if db.exists():
        db.unlink()
    t0 = time.monotonic()
    res: dict = {"board": "esp-eye (virtual)", "steps": {}}
    with tempfile.TemporaryDirectory(prefix="eyeauth-demo-") as tmp, VirtualBoard(tmp) as vb:
        _say(verbose, f"virtual ESP-EYE on {vb.port} (bootloader {vb.boot_port})")
        res["steps"]["flash"] = flash(vb.boot_port)
        _say(verbose, f"flashed and verified {res['steps']['flash']['bytes']} bytes")
        d = deploy(vb.port)
        res["steps"]["deploy"] = d.as_dict()
        _say(verbose, f"deployed {len(d.files_sent)} files, {d.bytes_sent} bytes")
        with TelemetryStore(db) as store, open_transport(vb.port) as t:
            store.begin_session(vb.port)
            c = AppClient(t, on_frame=FrameSink(store, vb.port))
            res["steps"]["hello"] = c.ensure_app()
            r = c.command("bench_link", n=200)
            res["steps"]["telemetry"] = {"records": r["n"], "board_elapsed_us": r["elapsed_us"]}
            st = c.command("status")
            res["heap_free"], res["heap_min"] = st["heap_free"], st["heap_min"]
            store.commit(ended=True)
    rep = report(db, out / "report")
    res["report"] = str(out / "report" / "report.md")
    res["db"] = str(db)
    res["attempts"], res["far"], res["frr"] = 0, None, None
    res["note"] = "authentication is not in this build yet: the demo covers flash, deploy and telemetry"
    res["seconds"] = round(time.monotonic() - t0, 1)
    return res


def summary_text(res: dict) -> str:
    lines = [f"eyeauth demo on a {res['board']} ({res['seconds']} s)",
             f"  flash: {res['steps']['flash']['bytes']} bytes written and verified",
             f"  deploy: {len(res['steps']['deploy']['files_sent'])} files",
             f"  telemetry: {res['steps']['telemetry']['records']} records into {res['db']}",
             f"  heap free {res['heap_free']} bytes (low-water {res['heap_min']})",
             f"  report: {res['report']}"]
    if res.get("note"):
        lines.append(f"  note: {res['note']}")
    return "\n".join(lines)
