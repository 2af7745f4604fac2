# Virtual ESP-EYE backend (MicroPython unix port). The serial line is the VM's stdin/stdout (a
# pseudo-terminal on the host); sensors and nn come from the host service on a loopback socket
# whose address the virtual board's `_vboard` module gives (the physical sensor stand-in).
from binascii import a2b_base64

import _vboard
from hal import common

NAME = _vboard.board


class Board(common.SerialBoard):
    NAME = NAME

    def __init__(self):
        super().__init__()
        self._svc = None
        # Python stages: host-VM microseconds times this = the board's (board config).
        self.py_factor = _vboard.py_factor

    def soft_reset(self):
        raise SystemExit(10)

    def service(self):
        if self._svc is None:
            from hal.simlink import ServiceLink
            self._svc = ServiceLink(_vboard.service)
        return self._svc

    def button_held(self):
        # The virtual board's button (`eyeauth sim button --hold`), read once as the app starts.
        return bool(self.service().call({"op": "button"}).get("held"))

    def nn_run(self, model, tensor):
        # -> (output tensor bytes, {"modeled_us", "arena"}): the host runs the model in TFLM;
        # the tensors cross the loopback raw (simlink), as a board's HAL copies them in place
        r = self.service().call({"op": "nn", "model": model}, tensor)
        if not r.get("ok"):
            raise common.StageError(r.get("err", "nn"), r.get("msg", "inference failed"))
        return r.pop("payload"), r

    def capture(self, sensor):
        # What the (virtual) camera sees or the microphone hears: the host's sensor feed.
        r = self.service().call({"op": "sensor", "sensor": sensor})
        if not r.get("ok"):
            return None
        raw = a2b_base64(r["data"])
        if sensor == "camera":
            return raw, r["w"], r["h"]
        from array import array
        return array("h", raw), r.get("rate", 8000), 0
