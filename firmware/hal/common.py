# Serial line reading shared by the backends: frames are lines of at most max_len bytes.
import os


class StageError(Exception):
    # A stage of one attempt failed (code, one-line msg): raised by the HAL (nn) and by the app's
    # pipeline (which names it PipelineError); the app turns it into an error reply.
    def __init__(self, code, msg):
        super().__init__(code)
        self.code = code
        self.msg = msg


def lines(read_byte_chunk, max_len):
    # Generator of complete lines (bytes, no LF); None for a line that was too long (dropped).
    buf = bytearray()
    over = False
    while True:
        chunk = read_byte_chunk()
        if not chunk:
            continue
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                buf.extend(chunk[start:])
                if len(buf) > max_len:
                    buf = bytearray()
                    over = True
                break
            buf.extend(chunk[start:nl])
            start = nl + 1
            if over or len(buf) > max_len:
                yield None
            else:
                yield bytes(buf)
            buf = bytearray()
            over = False


def button_held(spec, level, adc):
    # The maintenance button (board data hal.button) held now: {"pin", "active"} for a button
    # to ground, {"pin", "adc": [lo, hi]} for one of several on a resistor ladder. Never GPIO0:
    # on boards with a USB-UART bridge the cable drives it (DTR/RTS auto-reset), so a button
    # there would open the REPL to anyone with the cable. No spec: no button.
    if not spec or spec.get("pin", 0) == 0:
        return False
    if "adc" in spec:
        lo, hi = spec["adc"]
        return lo <= adc(spec["pin"]) <= hi
    return level(spec["pin"]) == spec.get("active", 0)


def board_data(path="/hal/board.json"):
    # /hal/board.json (`eyeauth deploy --board B` writes it from board_configs/B.json), or None
    import json
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fs_free(path="/"):
    st = os.statvfs(path)
    return st[0] * st[3]


class SerialBoard:
    # What every backend shares: the serial line is the REPL's stdin/stdout (the USB-serial
    # UART on the board, the pseudo-terminal on the virtual one).
    def __init__(self):
        import sys
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer

    def serial_write(self, b):
        self._out.write(b)

    def _read_chunk(self):
        # the first byte blocks; the rest of the line comes in one readline (the host sends
        # whole lines)
        b = self._in.read(1)
        if not b:
            raise SystemExit(0)  # the line is gone for good
        if b == b"\n":
            return b
        return b + self._in.readline(4096)

    def serial_lines(self, max_len):
        return lines(self._read_chunk, max_len)

    def button_held(self):
        # The maintenance button held while the app starts (a physical action); none: False.
        return False

    def urandom(self, n):
        return os.urandom(n)

    def fs_free(self):
        return fs_free("/")
