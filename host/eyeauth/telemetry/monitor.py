"""Live telemetry from the board's serial line into the SQLite store; survives unplug/replug.

:func:`monitor` opens the port with :func:`eyeauth.link.transport.open_transport`, feeds the
bytes to :class:`eyeauth.link.protocol.FrameDecoder` and hands the frames to
:class:`~eyeauth.telemetry.sink.FrameSink`, which stores ``T`` (telemetry), ``H`` (hello) and
``L`` (log) frames. When the port goes away (a :class:`~eyeauth.errors.LinkError` while
reading, writing or opening) it retries the same path every ``retry_interval`` seconds until the
board is back, counts the reconnect, and goes on; the store's UNIQUE(boot, seq) keeps a replayed
record from being stored twice. Library code: it never prints; progress goes to ``on_event``.

Events passed to ``on_event`` (dicts): ``{"event": "connected", "port", "reconnects"}``,
``{"event": "disconnected", "port", "reason"}``, ``{"event": "hello", "boot", "board", "fw",
"reset"}`` (``reset`` is True for the start-up ``H`` frame, False for a ``hello`` reply),
``{"event": "log", "boot", "level", "msg"}`` and, every ``status_interval`` seconds,
``{"event": "status", **summary}`` with the keys of the returned summary.
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from eyeauth.errors import LinkError
from eyeauth.link import protocol
from eyeauth.link.transport import Transport, open_transport
from eyeauth.telemetry.sink import FrameSink
from eyeauth.telemetry.store import TelemetryStore

Event = dict
_LINK_KEYS = ("bytes_in", "frames", "dropped", "noise_lines", "overlong")


def monitor(port: str, db_path, duration: float | None = None,
            stop_event: threading.Event | None = None, reconnect: bool = True,
            on_event: Callable[[Event], None] | None = None, *, hello: bool = True,
            retry_interval: float = 0.25, status_interval: float = 0.5,
            commit_every: int = 200, commit_interval: float = 0.5,
            opener: Callable[[str], Transport] = open_transport) -> dict:
    """Store telemetry from ``port`` into ``db_path`` until ``duration`` s pass or
    ``stop_event`` is set (or, with ``reconnect=False``, until the link is lost).

    Returns the summary: records stored, duplicates, invalid, gaps and missing records (over
    the boots seen in this session), frames, dropped, noise_lines, overlong, truncated,
    bytes_in, reconnects, logs, boots, rate_per_s, elapsed_s, connected (False when it ended
    with the link lost), session, port, db.
    LinkError when the port cannot be opened at the start; DataError for a bad database.
    """
    started = time.monotonic()
    deadline = None if duration is None else started + duration
    new_db = not Path(db_path).exists()
    store = TelemetryStore(db_path, commit_every=commit_every, commit_interval=commit_interval)
    mon = _Monitor(port, store, opener, on_event, hello, started)
    try:
        mon.connect(first=True)
    except BaseException:  # no port, no session: leave no database this call made
        store.close()
        if new_db:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        raise
    try:
        store.begin_session(port)
        next_status = started + status_interval
        while not _stop_requested(deadline, stop_event):
            if mon.transport is not None:
                mon.pump()
            elif not reconnect:
                break
            else:
                _wait(retry_interval, deadline, stop_event)
                mon.connect(first=False)
            mon.sync()
            if time.monotonic() >= next_status:
                next_status = time.monotonic() + status_interval
                mon.emit({"event": "status", **mon.summary()})
    finally:
        result = mon.close()
    return result


def _stop_requested(deadline: float | None, stop_event: threading.Event | None) -> bool:
    if stop_event is not None and stop_event.is_set():
        return True
    return deadline is not None and time.monotonic() >= deadline


def _wait(seconds: float, deadline: float | None, stop_event: threading.Event | None) -> None:
    if deadline is not None:
        seconds = max(0.0, min(seconds, deadline - time.monotonic()))
    if stop_event is not None:
        stop_event.wait(seconds)
    else:
        time.sleep(seconds)


class _Monitor:
    """State of one monitor session: the current connection and the counters."""

    def __init__(self, port: str, store: TelemetryStore, opener: Callable[[str], Transport],
                 on_event: Callable[[Event], None] | None, hello: bool, started: float):
        self.port = port
        self.store = store
        self.opener = opener
        self.on_event = on_event
        self.send_hello = hello
        self.started = started
        self.transport: Transport | None = None
        self.decoder = protocol.FrameDecoder()
        self.past = dict.fromkeys(_LINK_KEYS, 0)     # decoder counts of closed connections
        self.reconnects = self.truncated = 0
        self.sink = FrameSink(store, port, on_event)
        self._cmd_seq = int(time.time() * 1000) % 1000000

    def emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    # -- the connection --------------------------------------------------------------------
    def connect(self, first: bool) -> None:
        try:
            transport = self.opener(self.port)
        except LinkError:
            if first:
                raise
            return
        self.transport = transport
        self.decoder = protocol.FrameDecoder()
        if not first:
            self.reconnects += 1
        self.emit({"event": "connected", "port": self.port, "reconnects": self.reconnects})
        if self.send_hello:
            self._hello()

    def _hello(self) -> None:
        self._cmd_seq = (self._cmd_seq + 1) % 2**31
        self.sink.hello_seq = self._cmd_seq
        try:
            self.transport.write(protocol.encode("C", self._cmd_seq, {"cmd": "hello"}))
        except LinkError as exc:
            self._lost(str(exc))

    def pump(self) -> None:
        try:
            data = self.transport.read(65536, timeout=0.1)
        except LinkError as exc:
            self._lost(str(exc))
            return
        for frame in self.decoder.feed(data):
            self.sink(frame)

    def _lost(self, reason: str) -> None:
        if self.decoder.pending():
            self.truncated += 1
        for key in _LINK_KEYS:
            self.past[key] += getattr(self.decoder.stats, key)
        self.decoder = protocol.FrameDecoder()
        self.transport.close()
        self.transport = None
        self.sink.boot = None
        self.emit({"event": "disconnected", "port": self.port, "reason": reason})

    # -- counters ----------------------------------------------------------------------------
    def link_counts(self) -> dict:
        now = asdict(self.decoder.stats)
        counts = {key: self.past[key] + now[key] for key in _LINK_KEYS}
        counts.update(truncated=self.truncated, invalid=self.sink.invalid,
                      reconnects=self.reconnects)
        return counts

    def sync(self) -> None:
        self.store.set_link(**self.link_counts())
        self.store.maybe_commit()

    def summary(self) -> dict:
        gaps, missing = self.store.gap_totals()
        elapsed = time.monotonic() - self.started
        counts = self.store.counts
        return {
            "port": self.port, "db": str(self.store.path), "session": self.store.session,
            "elapsed_s": round(elapsed, 3), "records": counts["records"],
            "duplicates": counts["duplicates"], "gaps": gaps, "missing": missing,
            **self.link_counts(), "logs": counts["logs"], "boots": sorted(self.store.boots),
            "rate_per_s": round(counts["records"] / elapsed, 1) if elapsed > 0 else 0.0,
            "connected": self.transport is not None,
        }

    def close(self) -> dict:
        """End the session: close the port, commit, close the store; returns the summary."""
        try:
            if self.transport is not None and self.decoder.pending():
                self.truncated += 1
            self.store.set_link(**self.link_counts())
            result = self.summary()
        finally:
            try:
                if self.transport is not None:
                    self.transport.close()
            finally:
                self.store.close()
        return result

