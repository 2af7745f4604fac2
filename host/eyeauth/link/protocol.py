"""Host side of the app protocol (firmware/PROTOCOL.md): the one encoder and the one decoder.

The decoder takes raw bytes from the serial line in any chunking, never raises, and counts what
it drops, so a truncated or corrupted telemetry frame costs that frame and nothing else.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field

VERSION = 1
KINDS = frozenset("CRTHL")
MAX_LINE = 8192
_HEX_DIGITS = b"0123456789abcdef"
TELEMETRY_FIELDS = ("boot", "stage", "model", "latency_us", "modeled_us", "heap_free", "arena_used")


@dataclass(frozen=True)
class Frame:
    kind: str
    seq: int
    payload: object


@dataclass(frozen=True)
class TelemetryRecord:
    boot: str
    seq: int
    stage: str
    model: str
    latency_us: int
    modeled_us: int
    heap_free: int
    arena_used: int
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_frame(cls, frame: Frame) -> "TelemetryRecord":
        p = frame.payload
        if not isinstance(p, list) or len(p) not in (7, 8):
            raise ValueError("telemetry payload must be a list of 7 or 8 items")
        boot, stage, model, lat, mod, heap, arena = p[:7]
        extra = p[7] if len(p) == 8 else {}
        if not (isinstance(boot, str) and isinstance(stage, str) and isinstance(model, str)):
            raise ValueError("telemetry boot/stage/model must be strings")
        nums = (lat, mod, heap, arena)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in nums):
            raise ValueError("telemetry numbers must be integers")
        if not isinstance(extra, dict):
            raise ValueError("telemetry extra must be an object")
        return cls(boot, frame.seq, stage, model, lat, mod, heap, arena, extra)


def encode(kind: str, seq: int, payload) -> bytes:
    if kind not in KINDS:
        raise ValueError(f"unknown frame kind {kind!r}")
    body = f"{kind}{VERSION} {int(seq)} {json.dumps(payload, ensure_ascii=True, separators=(', ', ': '))}".encode("ascii")
    return body + b" %08x\n" % (zlib.crc32(body) & 0xFFFFFFFF)


def decode_line(line: bytes) -> Frame:
    """One line (without LF) to a Frame; ValueError when it is not a valid frame."""
    if line.endswith(b"\r"):
        line = line[:-1]
    n = len(line)
    if n < 14 or line[n - 9] != 0x20:
        raise ValueError("too short or no checksum field")
    body, crc_text = line[: n - 9], line[n - 8 :]
    if crc_text.strip(_HEX_DIGITS):  # int(x, 16) alone takes "ABCDEF01", " +abcdef", "0_abcdef"
        raise ValueError("checksum is not 8 lowercase hex digits")
    crc = int(crc_text, 16)
    if zlib.crc32(body) & 0xFFFFFFFF != crc:
        raise ValueError("checksum mismatch")
    if len(body) < 4 or chr(body[0]) not in KINDS or body[1:2] != b"1" or body[2:3] != b" ":
        raise ValueError("bad header")
    sp = body.find(b" ", 3)
    if sp < 0:
        raise ValueError("no payload")
    if not body[3:sp].isdigit():  # int() alone takes "+5", "1_0"
        raise ValueError("seq is not a decimal number")
    try:
        seq = int(body[3:sp])
        payload = json.loads(body[sp + 1 :].decode("ascii"))
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting: RecursionError
        raise ValueError("bad seq or payload") from None
    if seq < 0:
        raise ValueError("negative seq")
    return Frame(chr(body[0]), seq, payload)


@dataclass
class DecoderStats:
    frames: int = 0
    dropped: int = 0          # lines that looked like frames but failed to decode
    noise_lines: int = 0      # lines that are not frames at all (REPL output, tracebacks)
    overlong: int = 0         # lines longer than MAX_LINE, discarded
    bytes_in: int = 0


class FrameDecoder:
    """Incremental decoder: ``feed(bytes) -> list[Frame]``. Never raises on any input."""

    def __init__(self, max_line: int = MAX_LINE):
        self.max_line = max_line
        self.stats = DecoderStats()
        self._buf = bytearray()
        self._skipping = False
        self.noise: list[bytes] = []  # last few noise lines, for error messages

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        self.stats.bytes_in += len(data)
        start = 0
        while True:
            nl = data.find(b"\n", start)
            if nl < 0:
                self._buf += data[start:]
                if len(self._buf) > self.max_line:
                    self._buf.clear()
                    if not self._skipping:
                        self.stats.overlong += 1
                    self._skipping = True
                break
            self._buf += data[start:nl]
            start = nl + 1
            line = bytes(self._buf)
            self._buf.clear()
            if self._skipping or len(line) > self.max_line:
                if not self._skipping:
                    self.stats.overlong += 1
                self._skipping = False
                continue
            frame = self._line(line)
            if frame is not None:
                out.append(frame)
        return out

    def _line(self, line: bytes):
        stripped = line.rstrip(b"\r")
        if not stripped:
            return None
        try:
            frame = decode_line(stripped)
        except ValueError:
            # A line that starts like a frame header is a damaged frame; anything else is noise.
            if len(stripped) >= 3 and chr(stripped[0]) in KINDS and stripped[1:3] == b"1 ":
                self.stats.dropped += 1
            else:
                self.stats.noise_lines += 1
                self.noise = (self.noise + [stripped[:200]])[-5:]
            return None
        self.stats.frames += 1
        return frame

    def pending(self) -> int:
        """Bytes of an incomplete line held back (a frame truncated so far)."""
        return len(self._buf)
