"""Loopback service the firmware's sim HAL talks to: the physical sensors and the nn accelerator.

Line-delimited JSON requests from the VM, one reply line each. Handlers are registered by name
(``ServiceServer.handlers``), so the sensor feed and the TFLM runner plug in without this module
knowing about them.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque

HOLD_S = 10.0  # how long a pushed frame stays in front of the camera (a clip: in the air)
MAX_HOLD_S = 60.0


class ServiceServer:
    def __init__(self, board: dict):
        self.board = board
        self.port = 0
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self.queues: dict[str, deque] = {"camera": deque(maxlen=64), "mic": deque(maxlen=64)}
        self.sources: dict = {"camera": None, "mic": None}  # sim.sensors.Source: a folder
        self.button_held = False  # the board's function button: a person holding it down
        self.io0_low = False  # GPIO0 pulled low by the USB bridge's DTR/RTS (eyeauth.sim.bridge)
        self.handlers = {"ping": lambda req: {"ok": True}, "sensor": self._sensor,
                         "pin": self._pin, "adc": self._adc}
        try:
            from eyeauth.sim import nn_service
        except ImportError:
            nn_service = None
        if nn_service is not None:
            nn_service.register(self)

    def push(self, req: dict) -> None:
        """From the control socket: a person in front of the board (a frame or a clip). It is
        there for ``hold_s`` seconds (default HOLD_S): a camera captures at the moment of the
        attempt, so what was shown earlier and not captured is gone by then."""
        hold = min(max(float(req.get("hold_s", HOLD_S)), 0.0), MAX_HOLD_S)
        self.queues[req["sensor"]].append((time.monotonic() + hold, req))

    def set_source(self, sensor: str, path) -> dict | None:
        """What the camera or microphone sees from now on: a folder of files (None: nothing)."""
        from eyeauth.sim.sensors import Source

        if sensor not in self.sources:
            raise ValueError(f"sensor must be camera or mic, not {sensor!r}")
        cam = (self.board.get("hal") or {}).get("camera") or {}
        self.sources[sensor] = None if path is None else Source(
            sensor, path, int(cam.get("width", 320)), int(cam.get("height", 240)))
        return self.sources[sensor].describe() if self.sources[sensor] else None

    def _sensor(self, req: dict) -> dict:
        q = self.queues.get(req.get("sensor"))
        if q is None:
            return {"ok": False, "err": "no_sensor"}
        now = time.monotonic()
        while q and q[0][0] < now:
            q.popleft()  # walked away before anyone captured it
        if q:
            item = q.popleft()[1]
            return {"ok": True, **{k: v for k, v in item.items() if k not in ("op", "hold_s")}}
        src = self.sources.get(req.get("sensor"))
        if src is None:
            return {"ok": False, "err": "no_input"}
        return {"ok": True, **src.take()}

    def _pin(self, req: dict) -> dict:
        """A GPIO's level: GPIO0 follows the bridge's lines, any other pin the firmware reads
        as its button is the function button (`eyeauth sim button`); 1 = released (pull-up)."""
        low = self.io0_low if req.get("pin") == 0 else self.button_held
        return {"ok": True, "level": 0 if low else 1}

    def _adc(self, req: dict) -> dict:
        """A button on a resistor ladder (ESP32-S3-EYE): the middle of its range while held."""
        lo, hi = req.get("range") or (0, 0)
        return {"ok": True, "value": (int(lo) + int(hi)) // 2 if self.button_held else 4095}

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
