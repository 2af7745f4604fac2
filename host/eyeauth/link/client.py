"""Talk to the eyeauth app on the board: commands with replies, telemetry on the side."""
from __future__ import annotations

import time
from collections import deque

from eyeauth.errors import DeviceError, LinkError
from eyeauth.link import protocol
from eyeauth.link.transport import Transport


class AppClient:
    """Sends `C` frames and waits for the matching `R`; keeps `T`, `H` and `L` frames it sees.

    ``telemetry`` holds :class:`~eyeauth.link.protocol.TelemetryRecord` objects in arrival
    order (bounded); ``on_frame`` (optional) is called with every frame as it arrives, which is
    how ``monitor`` stores telemetry while commands run.
    """

    def __init__(self, transport: Transport, timeout: float = 15.0, on_frame=None,
                 keep: int = 100000):
        self.t = transport
        self.timeout = timeout
        self.decoder = protocol.FrameDecoder()
        self.telemetry: deque = deque(maxlen=keep)
        self.hellos: list = []
        self.logs: list = []
        self.on_frame = on_frame
        self.invalid_telemetry = 0
        self._seq = int(time.time() * 1000) % 1000000

    def _dispatch(self, frame):
        if self.on_frame:
            self.on_frame(frame)
        if frame.kind == "T":
            try:
                self.telemetry.append(protocol.TelemetryRecord.from_frame(frame))
            except ValueError:
                self.invalid_telemetry += 1
        elif frame.kind == "H":
            self.hellos.append(frame.payload)
        elif frame.kind == "L":
            self.logs.append(frame.payload)

    def pump(self, timeout: float = 0.05):
        """Read what the board sent within timeout; returns the frames."""
        frames = self.decoder.feed(self.t.read(65536, timeout=timeout))
        for f in frames:
            self._dispatch(f)
        return frames

    def command(self, cmd: str, timeout: float | None = None, **args) -> dict:
        """Send one command, return its reply; DeviceError for an error reply."""
        self._seq = (self._seq + 1) % (2**31)
        seq = self._seq
        payload = {"cmd": cmd}
        payload.update(args)
        self.t.write(protocol.encode("C", seq, payload))
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            for f in self.pump(0.05):
                if f.kind == "R" and f.seq == seq:
                    reply = f.payload if isinstance(f.payload, dict) else {}
                    if not reply.get("ok"):
                        raise DeviceError(
                            f"board refused `{cmd}`: {reply.get('msg') or reply.get('err', 'error')}",
                            code=reply.get("err"))
                    return reply
        hint = ""
        if self.decoder.noise:
            hint = f" (it printed {self.decoder.noise[-1][:80]!r})"
        raise LinkError(f"no reply to `{cmd}` from the board on {self.t.port} within "
                        f"{timeout or self.timeout:.0f} s{hint}; is the eyeauth app running? "
                        f"Run `eyeauth deploy --port {self.t.port}` to install and start it")

    def wait_hello(self, timeout: float = 10.0) -> dict:
        """Wait for the app's hello frame (after a reset)."""
        n = len(self.hellos)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump(0.05)
            if len(self.hellos) > n:
                return self.hellos[-1]
        raise LinkError(f"the app did not start on {self.t.port} within {timeout:.0f} s; "
                        f"run `eyeauth deploy --port {self.t.port}`")

    def ensure_app(self, timeout: float = 10.0) -> dict:
        """Make sure the app answers; if the board sits in the REPL, soft-reset it into main.py."""
        try:
            return self.command("hello", timeout=2.0)
        except LinkError:
            pass
        # Leave raw REPL if we are in it, then Ctrl-D: a soft reset runs main.py.
        self.t.write(b"\r\x03\x03\x02")
        time.sleep(0.1)
        self.t.write(b"\x04")
        self.wait_hello(timeout)
        return self.command("hello", timeout=timeout)
