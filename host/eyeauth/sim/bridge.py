"""The virtual board's USB-UART bridge lines: DTR/RTS, and what they do to the chip.

Espressif boards with a USB-UART bridge (the ESP-EYE's CP2102) wire the bridge's DTR and RTS
through two transistors to the chip's EN (reset) and GPIO0 (boot mode) pins, so that esptool can
reset the chip into its ROM download mode (ESP-IDF, "Flashing Troubleshooting"; the ESP32-DevKitC
schematic). With the lines as pyserial sets them (True = asserted):

    DTR  RTS   EN   GPIO0
     -    -    high high
     x    x    high high
     -    x    LOW  high     (chip held in reset)
     x    -    high LOW      (GPIO0 low: ROM download mode if the chip starts now)

A pseudo-terminal has no modem lines, so the virtual board also serves its UART as an RFC 2217
port (``rfc2217://127.0.0.1:PORT``, pyserial's telnet COM-port control): pyserial, esptool and
mpremote open it like a serial device and set DTR/RTS; :class:`Rfc2217Port` hands each change to
the board (:meth:`eyeauth.sim.board.VirtualBoard.set_lines`).
"""
from __future__ import annotations

import select
import socket
import threading

OUT_BUFFER = 256 * 1024  # bytes for a client that does not read; beyond, the oldest go


def auto_reset(dtr: bool, rts: bool) -> tuple[bool, bool]:
    """(EN held low, GPIO0 pulled low) for the bridge's DTR/RTS (the auto-reset circuit)."""
    return rts and not dtr, dtr and not rts


class _Lines:
    """The serial object pyserial's RFC 2217 PortManager drives: line settings are kept, DTR and
    RTS go to the board."""

    def __init__(self, on_lines):
        self._on_lines = on_lines
        self._dtr = self._rts = False
        self.baudrate, self.bytesize, self.parity, self.stopbits = 115200, 8, "N", 1
        self.xonxoff = self.rtscts = self.break_condition = False
        self.cts = self.dsr = self.ri = self.cd = False

    @property
    def dtr(self):
        return self._dtr

    @dtr.setter
    def dtr(self, value):
        self._dtr = bool(value)
        self._on_lines(dtr=self._dtr)

    @property
    def rts(self):
        return self._rts

    @rts.setter
    def rts(self, value):
        self._rts = bool(value)
        self._on_lines(rts=self._rts)

    def reset_input_buffer(self):
        pass

    def reset_output_buffer(self):
        pass


class Rfc2217Port:
    """One client at a time on 127.0.0.1 (a new one replaces the old). ``host_input(data)`` gets
    the client's bytes, ``room()`` says whether the board takes more now (back-pressure),
    ``on_lines(dtr=, rts=)`` each line change; :meth:`send` queues the chip's output."""

    def __init__(self, host_input, room, on_lines, stopping: threading.Event):
        self._host_input, self._room, self._on_lines = host_input, room, on_lines
        self._stopping = stopping
        self._srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(2)
        self._srv.settimeout(0.2)
        self.port = self._srv.getsockname()[1]
        self.url = f"rfc2217://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._client: socket.socket | None = None
        self._out = bytearray()
        self.dropped = 0

    def start(self) -> None:
        threading.Thread(target=self._accept, daemon=True).start()

    def send(self, data: bytes) -> None:
        """Chip output for the client (telnet-escaped here); nothing when none is connected."""
        with self._lock:
            if self._client is None:
                return
            self._out += data.replace(b"\xff", b"\xff\xff")
            if len(self._out) > OUT_BUFFER:
                extra = len(self._out) - OUT_BUFFER
                del self._out[:extra]
                self.dropped += extra

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._srv.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()
        self._srv.close()

    def _serve(self, conn: socket.socket) -> None:
        from serial.rfc2217 import PortManager

        with self._lock:
            if self._client is not None:
                try:
                    self._client.close()
                except OSError:
                    pass
            self._client, self._out = conn, bytearray()
        conn.setblocking(False)
        pm = PortManager(_Lines(self._on_lines), self)  # telnet replies go out through write()
        try:
            while not self._stopping.is_set():
                with self._lock:
                    if self._client is not conn:
                        return
                    pending = bool(self._out)
                r, w, _ = select.select([conn] if self._room() else [], [conn] if pending else [], [], 0.02)
                if w:
                    with self._lock:
                        try:
                            n = conn.send(self._out[:65536])
                        except BlockingIOError:
                            n = 0
                        del self._out[:n]
                if r:
                    data = conn.recv(65536)
                    if not data:
                        return
                    payload = b"".join(pm.filter(data))
                    if payload:
                        self._host_input(payload)
        except OSError:
            return
        finally:
            with self._lock:
                if self._client is conn:
                    self._client = None
                    self._out = bytearray()
            try:
                conn.close()
            except OSError:
                pass
            self._on_lines(dtr=False, rts=False)  # a closed port lets both lines go

    def write(self, data: bytes) -> None:
        """PortManager's connection: telnet negotiation replies, in order with the data."""
        with self._lock:
            self._out += data
