# The virtual board's link to its host service (sensors and the nn accelerator): one loopback
# socket, a JSON line per request and per reply.
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

    def call(self, req):
        if self._s is None:
            self._connect()
        self._f.write(json.dumps(req).encode() + b"\n")
        line = self._f.readline()
        if not line:
            self._s.close()
            self._s = None
            raise OSError("service closed")
        return json.loads(line)
