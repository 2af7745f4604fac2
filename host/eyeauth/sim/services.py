"""Loopback service the firmware's sim HAL talks to: the physical sensors and the nn accelerator.

Line-delimited JSON requests from the VM, one reply line each. Handlers are registered by name
(``ServiceServer.handlers``), so the sensor feed and the TFLM runner plug in without this module
knowing about them.
"""
from __future__ import annotations

import json
import socket
import threading
from collections import deque


class ServiceServer:
    def __init__(self, board: dict):
        self.board = board
        self.port = 0
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self.queues: dict[str, deque] = {"camera": deque(maxlen=64), "mic": deque(maxlen=64)}
        self.button_held = False  # the board's button (BOOT): a person holding it down
        self.handlers = {"ping": lambda req: {"ok": True}, "sensor": self._sensor,
                         "button": lambda req: {"ok": True, "held": self.button_held}}
        try:
            from eyeauth.sim import nn_service
        except ImportError:
            nn_service = None
        if nn_service is not None:
            nn_service.register(self)

    def push(self, req: dict) -> None:
        """From the control socket: a person in front of the board (a frame or a clip)."""
        self.queues[req["sensor"]].append(req)

    def _sensor(self, req: dict) -> dict:
        q = self.queues.get(req.get("sensor"))
        if q is None:
            return {"ok": False, "err": "no_sensor"}
        if not q:
            return {"ok": False, "err": "no_input"}
        return {"ok": True, **{k: v for k, v in q.popleft().items() if k not in ("op",)}}

    def start(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(4)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        # a request line may announce raw bytes after it ("nbytes": the nn input tensor), and a
        # reply may carry raw bytes after its line ("payload": the output tensor)
        with conn, conn.makefile("rwb") as f:
            for line in f:
                try:
                    req = json.loads(line)
                    if "nbytes" in req:
                        req["payload"] = f.read(int(req.pop("nbytes")))
                    handler = self.handlers.get(req.get("op"))
                    reply = handler(req) if handler else {"ok": False, "err": "unknown_op"}
                except Exception as exc:
                    reply = {"ok": False, "err": "service_error", "msg": f"{type(exc).__name__}: {exc}"}
                try:
                    payload = reply.pop("payload", None)
                    if payload is not None:
                        reply["nbytes"] = len(payload)
                    f.write(json.dumps(reply).encode() + b"\n")
                    if payload is not None:
                        f.write(payload)
                    f.flush()
                except OSError:
                    return

    def stop(self) -> None:
        self._stop.set()
        if self._sock:
            self._sock.close()
