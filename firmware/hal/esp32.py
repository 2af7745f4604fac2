# ESP-EYE / ESP32-S3-EYE backend: USB-serial REPL (sys.stdin/stdout), OV2640 camera, I2S mic,
# TFLM + ESP-NN. Needs the board image of firmware/image (modules `camera` and `tflm`); both are
# imported lazily so that the app still answers hello/status/bench on a stock MicroPython.
#
# Everything board-specific is data: /hal/board.json, written by `eyeauth deploy --board B` from
# board_configs/B.json ("chip" and "hal": camera and mic pins). Each network's arena size and
# place (internal SRAM or PSRAM) and its modeled time come with the call (nn_run's net: the
# release manifest's entry, planned on the host for this board by eyeauth/release.py).
#
# Module APIs used, exactly:
#   camera (cnadler86/micropython-camera-API, firmware/image/versions.env CAMERA_API_REF):
#     Camera(data_pins=, vsync_pin=, href_pin=, sda_pin=, scl_pin=, pclk_pin=, xclk_pin=,
#            xclk_freq=, powerdown_pin=, reset_pin=, pixel_format=, frame_size=, fb_count=,
#            init=True); PixelFormat.GRAYSCALE; FrameSize.QVGA; .capture() -> memoryview
#   tflm (firmware/image/tflm/modtflm.c): Interpreter(model, arena_size, arena=ARENA_INTERNAL|
#            ARENA_SPIRAM); .input(0) / .output(0) memoryviews; .invoke() -> us;
#            .arena_used_bytes()
#   machine.I2S (MicroPython docs, machine.I2S): I2S(id, sck=Pin, ws=Pin, sd=Pin, mode=I2S.RX,
#            bits=, format=I2S.MONO, rate=, ibuf=); .readinto(buf)
import json

from hal import common

_BOARD_JSON = "/hal/board.json"


def load_board_data(path=_BOARD_JSON):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        raise OSError("%s missing: run `eyeauth deploy --board <board>`" % path)


class Board(common.SerialBoard):
    NAME = "esp-eye"

    def __init__(self, data=None):
        super().__init__()
        self.data = data or load_board_data()
        self.NAME = self.data.get("name", Board.NAME)
        self.chip = self.data.get("chip", "esp32")
        self.hal = self.data.get("hal", {})
        self.py_factor = 1.0  # the board times its own Python stages
        self._nn = {}
        self._cam = None
        self._mic = None

    def soft_reset(self):
        import machine
        machine.soft_reset()

    def button_held(self):
        # The maintenance button (hal.button of the board data: the ESP-EYE's side key, the
        # ESP32-S3-EYE's MENU key) held while the app starts: the physical action that opens
        # the REPL of a paired board until the next reboot (app.run). Never BOOT (GPIO0): the
        # USB bridge's DTR/RTS drive it (common.button_held).
        from machine import ADC, Pin
        return common.button_held(
            self.hal.get("button"), lambda pin: Pin(pin, Pin.IN, Pin.PULL_UP).value(),
            lambda pin: ADC(Pin(pin), atten=ADC.ATTN_11DB).read())

    # -- nn -----------------------------------------------------------------------------------
    def _interpreter(self, model, net):
        it = self._nn.get(model)
        if it is None:
            import tflm
            with open("/models/%s.tflite" % model, "rb") as f:
                blob = f.read()
            arena = tflm.ARENA_SPIRAM if net["where"] == "spiram" else tflm.ARENA_INTERNAL
            it = tflm.Interpreter(blob, net["arena"], arena=arena)
            del blob  # the interpreter keeps its own aligned copy
            self._nn[model] = it
        return it

    def nn_run(self, model, tensor, net):
        # net: the model's entry in the release manifest (the app's release.net): arena size
        # and place (planned on the host for this board), modeled time on this chip (telemetry
        # carries measured and modeled side by side for `eyeauth explore calibrate`)
        it = self._interpreter(model, net)
        it.input(0)[:] = tensor
        us = it.invoke()
        return bytes(it.output(0)), {"modeled_us": net["us"], "arena": it.arena_used_bytes(),
                                     "invoke_us": us}

    # -- sensors ------------------------------------------------------------------------------
    def _camera(self):
        if self._cam is None:
            from camera import Camera, FrameSize, PixelFormat
            c = self.hal["camera"]
            kw = dict(c["pins"])
            self._cam = Camera(pixel_format=getattr(PixelFormat, c.get("pixel_format", "GRAYSCALE")),
                               frame_size=getattr(FrameSize, c.get("frame_size", "QVGA")),
                               fb_count=c.get("fb_count", 1), init=True, **kw)
        return self._cam

    def _i2s(self):
        if self._mic is None:
            from machine import I2S, Pin
            m = self.hal.get("mic")
            if not m:
                raise OSError("no microphone the HAL can read on this board (board config hal.mic)")
            self._mic = I2S(m.get("i2s_id", 0), sck=Pin(m["sck"]), ws=Pin(m["ws"]), sd=Pin(m["sd"]),
                            mode=I2S.RX, bits=m.get("bits", 16), format=I2S.MONO,
                            rate=m.get("rate", 16000), ibuf=m.get("ibuf", 32000))
        return self._mic

    def capture(self, sensor):
        if sensor == "camera":
            c = self.hal["camera"]
            return bytes(self._camera().capture()), c["width"], c["height"]
        from array import array
        mic = self._i2s()
        m = self.hal["mic"]
        raw = bytearray(m.get("capture_bytes", 32000))
        mic.readinto(raw)
        x = array("h", raw)
        step = m.get("decimate", 1)
        return array("h", (x[i] for i in range(0, len(x), step))), m.get("rate", 16000) // step, 0
