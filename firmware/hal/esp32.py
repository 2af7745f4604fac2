# ESP-EYE backend: USB-serial REPL UART (via sys.stdin/stdout), OV2640 camera and I2S mic.
# Camera and mic need the custom firmware image (platformio.ini) with the camera and TFLM
# modules; they are imported lazily so that the app still answers status/bench without them.
import os
import sys

from hal import common


class Board:
    NAME = "esp-eye"

    def __init__(self):
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer

    def serial_write(self, b):
        self._out.write(b)

    def _read_chunk(self):
        b = self._in.read(1)
        if b == b"\n":
            return b
        return b + self._in.readline(4096)

    def serial_lines(self, max_len):
        return common.lines(self._read_chunk, max_len)

    def urandom(self, n):
        return os.urandom(n)

    def fs_free(self):
        return common.fs_free("/")

    def soft_reset(self):
        import machine
        machine.soft_reset()
