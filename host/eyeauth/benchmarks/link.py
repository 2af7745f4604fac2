"""Link benchmark: sustained telemetry through the serial port, and deploy throughput."""
from __future__ import annotations

import os
import time

from eyeauth.errors import EyeauthError
from eyeauth.link.client import AppClient
from eyeauth.link.transport import open_transport

BAUDS = (115200, 921600)


def line_rate(baud: int) -> float:
    """Payload bytes/s of a UART at `baud` (8N1: 10 bits on the wire per byte)."""
    return baud / 10.0


def telemetry_bench(port: str, n: int = 5000, rounds: int = 3) -> dict:
    with open_transport(port) as t:
        c = AppClient(t, timeout=60)
        c.ensure_app()
        c.command("telemetry", on=True)
        best = None
        for _ in range(rounds):
            c.telemetry.clear()
            bytes0 = c.decoder.stats.bytes_in
            t0 = time.monotonic()
            r = c.command("bench_link", n=n)
            dt = time.monotonic() - t0
            got = [rec for rec in c.telemetry if rec.stage == "bench"]
            seqs = [rec.seq for rec in got]
            expected = set(range(r["first_seq"], r["last_seq"] + 1))
            lost = len(expected - set(seqs))
            nbytes = c.decoder.stats.bytes_in - bytes0
            res = {"records": len(got), "lost": lost, "seconds": round(dt, 4),
                   "records_per_s": round(len(got) / dt, 1), "bytes_per_s": round(nbytes / dt),
                   "bytes_per_record": round(nbytes / max(1, len(got)), 1),
                   "board_elapsed_us": r["elapsed_us"], "dropped_frames": c.decoder.stats.dropped}
            if best is None or res["records_per_s"] > best["records_per_s"]:
                best = res
            if lost:
                raise EyeauthError(f"{lost} of {n} telemetry records were lost on {port}")
    best["line_rate"] = {str(b): {"bytes_per_s": line_rate(b),
                                  "records_per_s": round(line_rate(b) / best["bytes_per_record"], 1)}
                         for b in BAUDS}
    return best


def deploy_bench(port: str, size: int = 300 * 1024) -> dict:
    from eyeauth.board.deploy import deploy

    blob = os.urandom(size)  # incompressible, like int8 weights
    res = deploy(port, {"/_bench_model.bin": blob}, prune=False, restart=False)
    # remove the file again: a second deploy with an empty bundle would prune nothing outside
    from mpremote.transport_serial import SerialTransport
    t = SerialTransport(port)
    try:
        t.enter_raw_repl(soft_reset=False)
        t.exec("import os\nos.remove('/_bench_model.bin')")
        t.exit_raw_repl()
        t.serial.write(b"\x04")
    finally:
        t.close()
    bps = res.bytes_sent / res.seconds
    return {"bytes": size, "seconds": round(res.seconds, 3), "bytes_per_s": round(bps),
            "line_rate": {str(b): {"bytes_per_s": line_rate(b),
                                   "seconds_at_line_rate": round(size / line_rate(b), 1)} for b in BAUDS}}
