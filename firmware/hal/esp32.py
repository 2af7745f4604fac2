# ESP-EYE backend: USB-serial REPL UART (via sys.stdin/stdout), OV2640 camera and I2S mic.
# Camera and mic need the custom firmware image (platformio.ini) with the camera and TFLM
# modules; they are imported lazily so that the app still answers status/bench without them.

from hal import common


class Board(common.SerialBoard):
    NAME = "esp-eye"

    def __init__(self):
        super().__init__()
        self.py_factor = 1.0  # measured on the board itself
        self._nn = {}
        self._cam = None
        self._mic = None

    def soft_reset(self):
        import machine
        machine.soft_reset()

    def nn_run(self, model, tensor):
        # TFLM + ESP-NN through the `tflm` C module of the firmware image (platformio.ini).
        import tflm
        it = self._nn.get(model)
        if it is None:
            with open("/models/%s.tflite" % model, "rb") as f:
                it = tflm.Interpreter(f.read(), arena_size=200 * 1024)
            self._nn[model] = it
        it.input(0)[:] = tensor
        it.invoke()
        return bytes(it.output(0)), {"modeled_us": -1, "arena": it.arena_used_bytes()}

    def capture(self, sensor):
        if sensor == "camera":
            import camera  # OV2640 driver in the firmware image
            if self._cam is None:
                camera.init(0, format=camera.GRAYSCALE, framesize=camera.FRAME_QVGA)
                self._cam = True
            return camera.capture(), 320, 240
        from array import array
        from machine import I2S, Pin
        if self._mic is None:
            # ESP-EYE: I2S MEMS mic on SCK 26, WS 32, SD 33; 16 kHz capture, decimated to 8 kHz.
            self._mic = I2S(0, sck=Pin(26), ws=Pin(32), sd=Pin(33), mode=I2S.RX, bits=16,
                            format=I2S.MONO, rate=16000, ibuf=32000)
        raw = bytearray(32000)
        self._mic.readinto(raw)
        x = array("h", raw)
        return array("h", (x[i] for i in range(0, len(x), 2))), 8000, 0
