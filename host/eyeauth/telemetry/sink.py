"""Frames into the store: the part of ``monitor`` that other commands can reuse.

:class:`FrameSink` is a callable that takes decoded frames, so it plugs into
:class:`eyeauth.link.client.AppClient` as ``on_frame`` and stores the telemetry a command run
produces (``bench``, ``auth``) while that command holds the port::

    with TelemetryStore(db) as store:
        store.begin_session(port)
        client = AppClient(transport, on_frame=FrameSink(store, port))
        client.command("bench_link", n=1000)
"""
from __future__ import annotations

from typing import Callable

from eyeauth.link import protocol
from eyeauth.telemetry.store import TelemetryStore


class FrameSink:
    """Stores ``T`` records, ``H`` hellos (and the reply to the ``hello`` command whose seq is
    ``hello_seq``) and ``L`` logs; ``invalid`` counts checksummed frames with a bad payload.
    ``on_event`` gets ``hello`` and ``log`` events (see :mod:`eyeauth.telemetry.monitor`)."""

    def __init__(self, store: TelemetryStore, port: str,
                 on_event: Callable[[dict], None] | None = None):
        self.store = store
        self.port = port
        self.on_event = on_event
        self.invalid = 0
        self.boot: str | None = None     # the boot the latest frame came from
        self.hello_seq = -1

    def __call__(self, frame: protocol.Frame) -> None:
        if frame.kind == "T":
            self._telemetry(frame)
        elif frame.kind == "H":
            self._boot_info(frame.payload, reset=True)
        elif frame.kind == "R" and frame.seq == self.hello_seq:
            self._boot_info(frame.payload, reset=False)
        elif frame.kind == "L":
            self._log(frame)

    def _emit(self, event: dict) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _telemetry(self, frame: protocol.Frame) -> None:
        try:
            rec = protocol.TelemetryRecord.from_frame(frame)
        except ValueError:
            self.invalid += 1
            return
        self.store.add_record(rec, port=self.port)
        self.boot = rec.boot

    def _boot_info(self, info: object, reset: bool) -> None:
        if not (isinstance(info, dict) and isinstance(info.get("boot"), str)):
            self.invalid += 1
            return
        board, fw, proto = (_text(info.get(k)) for k in ("board", "fw", "proto"))
        virtual = info.get("virtual")
        self.store.note_boot(info["boot"], board=board, fw=fw, port=self.port, hello=reset,
                             proto=int(proto) if proto and proto.isdigit() else None,
                             virtual=virtual if isinstance(virtual, bool) else None)
        self.boot = info["boot"]
        self._emit({"event": "hello", "boot": self.boot, "board": board, "fw": fw,
                    "reset": reset})

    def _log(self, frame: protocol.Frame) -> None:
        payload = frame.payload if isinstance(frame.payload, dict) else {"msg": frame.payload}
        level = _text(payload.get("level")) or "info"
        msg = _text(payload.get("msg")) or ""
        self.store.add_log(self.boot, frame.seq, level, msg)
        self._emit({"event": "log", "boot": self.boot, "level": level, "msg": msg})


def _text(value: object) -> str | None:
    return None if value is None else str(value)
