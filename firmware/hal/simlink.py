# The virtual board's link to its host service (sensors and the nn accelerator): one loopback
# socket, a JSON line per request and per reply; a tensor follows its line as raw bytes
# ("nbytes" in the line), so an inference allocates what a board's HAL does (the output bytes)
# and not a base64 text and a JSON copy of each tensor.
import json
import socket


class ServiceLink:
    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self._addr = socket.getaddrinfo(host, int(port))[0][-1]
        self._s = None
        self._f = None

    def _connect(self):
        s = socket.socket()
        s.connect(self._addr)
        self._s = s
        self._f = s.makefile("rwb")

    def call(self, req, payload=None):
        # -> the reply (dict); with ``payload`` (a buffer), it is sent raw after the line and a
        # reply's raw bytes come back as reply["payload"]
        if self._s is None:
            self._connect()
        f = self._f
        if payload is not None:
            # bytes-like tensors are int8; an array is the front end's int16 samples (MicroPython
            # arrays do not tell their item size)
            req["nbytes"] = len(payload) * (1 if isinstance(payload, (bytes, bytearray, memoryview)) else 2)
        f.write(json.dumps(req).encode() + b"\n")
        if payload is not None:
            f.write(payload)
        line = f.readline()
        if not line:
            self._s.close()
            self._s = None
            raise OSError("service closed")
        r = json.loads(line)
        n = r.get("nbytes")
        if n is not None:
            r["payload"] = f.read(n)
        return r
