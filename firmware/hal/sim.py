# Virtual ESP-EYE backend (MicroPython unix port). The serial line is the VM's stdin/stdout (a
# pseudo-terminal on the host); sensors and nn come from the host service on a loopback socket
# whose address the virtual board's `_vboard` module gives (the physical sensor stand-in).
from binascii import a2b_base64

import _vboard
from hal import common

NAME = _vboard.board


class Board(common.SerialBoard):
    NAME = NAME
    VIRTUAL = True  # said in hello: the host labels this board's telemetry as a virtual board's

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
        # The maintenance button of the board data (hal.button), read as on the chip: the pin's
        # level (or ADC value) from the virtual board, where `eyeauth sim button` holds the
        # function button and the cable's DTR/RTS drive GPIO0 (common.button_held never reads it).
        svc = self.service()
        spec = ((common.board_data() or {}).get("hal") or {}).get("button")
        return common.button_held(
            spec, lambda pin: svc.call({"op": "pin", "pin": pin}).get("level", 1),
            lambda pin: svc.call({"op": "adc", "pin": pin, "range": spec["adc"]}).get("value", 4095))

    def nn_run(self, model, tensor, net=None):
        # -> (output tensor bytes, {"modeled_us", "arena"}): the host runs the model in TFLM
        # (and models its time itself; net, the manifest's entry, is the real board's); the
        # tensors cross the loopback raw (simlink), as a board's HAL copies them in place
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
