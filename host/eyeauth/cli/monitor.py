"""`eyeauth monitor`: live telemetry into SQLite (library: eyeauth.telemetry.monitor)."""
from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Iterator, TextIO

from eyeauth.cli.main import PORT_HELP, Result, add_json_flag, add_port_arg
from eyeauth.errors import UsageError


def register(sub) -> None:
    p = sub.add_parser(
        "monitor", help="live telemetry into SQLite; survives unplug/replug",
        description="Store the board's telemetry, hello and log frames in a SQLite database "
        "while it runs. When the port goes away (cable pulled, board reset) it waits for the "
        "same port to come back and goes on; replayed records are stored once, lost ones are "
        "counted as gaps. Ctrl-C stops and prints the summary.")
    add_port_arg(p, help=PORT_HELP + "; a pyserial URL works too; prefer a /dev/serial/by-id/ "
                 "path, which keeps its name when the board is replugged")
    p.add_argument("--db", required=True, help="SQLite file to write (created if missing)")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--no-reconnect", action="store_true",
                   help="stop when the port goes away instead of waiting for it")
    p.add_argument("--no-hello", action="store_true",
                   help="only listen: do not send a `hello` command on connect")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> Result:
    from eyeauth.telemetry.monitor import monitor

    if args.duration is not None and args.duration <= 0:
        raise UsageError(f"--duration must be a positive number of seconds, not {args.duration}")
    stop = threading.Event()
    status = StatusLine(sys.stderr, args.port)
    try:
        with stop_on_signals(stop):
            summary = monitor(args.port, args.db, duration=args.duration, stop_event=stop,
                              reconnect=not args.no_reconnect, on_event=status.on_event,
                              hello=not args.no_hello)
    finally:
        status.clear()
    return Result(summary, summary_text(summary))


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM) sets ``stop`` so the monitor ends cleanly; a second Ctrl-C
    interrupts at once. Only the main thread may install handlers; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum, frame):
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class StatusLine:
    """Shows monitor events on stderr: one status line that updates in place on a terminal,
    plain lines for connects, disconnects and board logs otherwise."""

    def __init__(self, stream: TextIO, port: str):
        self.stream = stream
        self.port = port
        self.tty = stream.isatty()
        self._shown = False

    def on_event(self, event: dict) -> None:
        kind = event["event"]
        if kind == "status":
            if self.tty:
                self._draw(_status(event))
            return
        text = _event_text(event)
        if text:
            self.clear()
            print(text, file=self.stream, flush=True)

    def _draw(self, text: str) -> None:
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False


def _status(s: dict) -> str:
    state = "" if s["connected"] else f"  [waiting for {s['port']} to come back]"
    return (f"monitor {s['port']}: {s['records']} records ({s['rate_per_s']:.1f}/s), "
            f"{s['gaps']} gaps ({s['missing']} missing), {s['reconnects']} reconnects, "
            f"{s['dropped']} dropped{state}")


def _event_text(e: dict) -> str | None:
    kind = e["event"]
    if kind == "connected":
        again = f" (reconnect {e['reconnects']})" if e["reconnects"] else ""
        return f"monitor: connected to {e['port']}{again}"
    if kind == "disconnected":
        return f"monitor: lost {e['port']}; waiting for it to come back (Ctrl-C to stop)"
    if kind == "hello":
        what = "started" if e["reset"] else "answered"
        return f"monitor: board {e['board'] or '?'} fw {e['fw'] or '?'} boot {e['boot']} {what}"
    if kind == "log":
        return f"board [{e['level']}] {e['msg']}"
    return None


def summary_text(s: dict) -> str:
    state = "" if s["connected"] else " (ended with the port gone)"
    return "\n".join([
        f"monitor {s['port']} -> {s['db']} (session {s['session']}, {s['elapsed_s']:.1f} s){state}",
        f"  records stored   {s['records']} ({s['rate_per_s']:.1f}/s), duplicates ignored "
        f"{s['duplicates']}, invalid {s['invalid']}",
        f"  gaps             {s['gaps']} ({s['missing']} records missing)",
        f"  link             {s['frames']} frames, {s['dropped']} dropped, {s['noise_lines']} "
        f"noise lines, {s['overlong']} overlong, {s['truncated']} truncated",
        f"  reconnects       {s['reconnects']}",
        f"  boots            {', '.join(s['boots']) or '-'}; {s['logs']} log lines",
    ])
