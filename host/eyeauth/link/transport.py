"""One Transport interface for the board's serial line (the mpremote habit).

Every command (deploy, enroll, auth, monitor, bench) is written once on top of
:class:`Transport`. :class:`SerialTransport` opens any pyserial URL with ``serial_for_url``, so
``/dev/ttyUSB0``, the virtual board's pseudo-terminal, ``socket://host:port`` and
``rfc2217://`` all work the same. Errors of the line become :class:`~eyeauth.errors.LinkError`
here, at the boundary, with a message that says what to do.
"""
from __future__ import annotations

import time

from eyeauth.errors import LinkError

DEFAULT_BAUD = 115200


class Transport:
    """Byte pipe to the board. Subclasses implement the four primitives."""

    port = "?"

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def read(self, max_bytes: int = 4096, timeout: float = 0.1) -> bytes:
        """Up to max_bytes; b'' when nothing arrived within timeout."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def reset_input(self) -> None:
        """Drop whatever is buffered from the board."""
        while self.read(65536, timeout=0.0):
            pass

    def read_until(self, marker: bytes, timeout: float) -> bytes:
        """Read until marker (inclusive) or timeout; LinkError on timeout."""
        buf = bytearray()
        deadline = time.monotonic() + timeout
        while not buf.endswith(marker):
            left = deadline - time.monotonic()
            if left <= 0:
                tail = bytes(buf[-120:])
                raise LinkError(
                    f"board on {self.port} did not answer within {timeout:.0f} s (waited for "
                    f"{marker!r}, got {tail!r}); check the cable and that the eyeauth app runs "
                    f"(`eyeauth deploy --port {self.port}`)")
            buf += self.read(1 if len(marker) == 1 else 4096, timeout=min(left, 0.1))
        return bytes(buf)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SerialTransport(Transport):
    """pyserial backend; `port` is a device path or any pyserial URL."""

    def __init__(self, port: str, baudrate: int = DEFAULT_BAUD, exclusive: bool = False):
        import serial

        self.port = port
        self._serial_mod = serial
        try:
            # pyserial's RFC 2217 client has no write timeout (its socket has its own)
            wt = {} if port.startswith("rfc2217:") else {"write_timeout": 10}
            self._s = serial.serial_for_url(port, baudrate=baudrate, timeout=0.1,
                                            exclusive=exclusive or None, **wt)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkError(
                f"cannot open serial port {port}: {_reason(exc)}; check the cable and the port name "
                f"(`eyeauth devs` lists the boards it sees; --port auto picks the one), or start a "
                f"virtual board with `eyeauth sim start`"
            ) from None

    def write(self, data: bytes) -> None:
        try:
            self._s.write(data)
        except (self._serial_mod.SerialException, OSError) as exc:
            raise LinkError(f"lost the board on {self.port} while writing ({_reason(exc)}); "
                            f"reconnect it and run the command again") from None

    def read(self, max_bytes: int = 4096, timeout: float = 0.1) -> bytes:
        try:
            waiting = self._s.in_waiting
            if waiting:
                return self._s.read(min(max_bytes, waiting))
            if timeout <= 0:
                return b""
            self._s.timeout = timeout
            first = self._s.read(1)
            if not first:
                return b""
            more = self._s.in_waiting
            return first + (self._s.read(min(max_bytes - 1, more)) if more and max_bytes > 1 else b"")
        except (self._serial_mod.SerialException, OSError, TypeError) as exc:
            raise LinkError(f"lost the board on {self.port} while reading ({_reason(exc)}); "
                            f"reconnect it and run the command again") from None

    def close(self) -> None:
        try:
            self._s.close()
        except Exception:  # closing a port whose device vanished: nothing left to do
            pass


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:160]


def open_transport(port: str, baudrate: int = DEFAULT_BAUD) -> Transport:
    return SerialTransport(port, baudrate)
