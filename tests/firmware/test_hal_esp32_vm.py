"""hal/esp32.py under the real MicroPython VM, with stand-ins for the board image's `tflm` and
`camera` modules and machine.I2S that record how they are called: the HAL must take pins, frame
format from the board data (/hal/board.json as deploy writes it), arena sizes and places and
modeled times from the release manifest's entry of each network (planned on the host for the
board: eyeauth.release.net_entry), and call exactly the documented module APIs
(firmware/image/tflm/modtflm.c, micropython-camera-API)."""
import json

from eyeauth import FIRMWARE_DIR, mpvm
from eyeauth.board.configs import load_board
from eyeauth.board.deploy import board_data
from eyeauth.release import net_entry

CARDS = {"m": {"arena_bytes_target": 41280, "latency_ms": {"esp32_espnn": 129.27, "esp32s3_espnn": 19.4}},
         "big": {"arena_bytes_target": 192784}}

_FAKES = r'''
import sys
calls = []

class _Tflm:
    ARENA_INTERNAL = 0
    ARENA_SPIRAM = 1
    class Interpreter:
        def __init__(self, model, arena_size, arena=0):
            calls.append(("Interpreter", len(model), arena_size, arena))
            self._in = bytearray(4)
            self._out = bytearray(b"\x01\x02")
        def input(self, i=0):
            return memoryview(self._in)
        def output(self, i=0):
            return memoryview(self._out)
        def invoke(self):
            calls.append(("invoke", bytes(self._in)))
            return 1234
        def arena_used_bytes(self):
            return 999

class _Cam:
    class PixelFormat:
        GRAYSCALE = 3
    class FrameSize:
        QVGA = 6
    class Camera:
        def __init__(self, **kw):
            calls.append(("Camera", sorted(kw.items())))
        def capture(self):
            return memoryview(bytearray(320 * 240))

class _Machine:
    class Pin:
        def __init__(self, n):
            self.n = n
    class I2S:
        RX = 0
        MONO = 0
        def __init__(self, i2s_id, sck, ws, sd, mode, bits, format, rate, ibuf):
            calls.append(("I2S", i2s_id, sck.n, ws.n, sd.n, bits, rate, ibuf))
        def readinto(self, buf):
            return len(buf)
    def soft_reset():
        pass

sys.modules["tflm"] = _Tflm
sys.modules["camera"] = _Cam
sys.modules["machine"] = _Machine
'''


def _run(tmp_path, board, body):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "hal").mkdir()
    (tmp_path / "models").mkdir()
    (tmp_path / "hal" / "board.json").write_bytes(board_data(board))
    (tmp_path / "models" / "m.tflite").write_bytes(b"T" * 100)
    (tmp_path / "models" / "big.tflite").write_bytes(b"T" * 10)
    nets = {n: net_entry({**c, "modality": "face", "input": {"shape": [1, 2, 2, 1]},
                          "output": {"scale": 1.0, "zero_point": 0}}, load_board(board))
            for n, c in CARDS.items()}
    # the board's filesystem at "/" (as on the board), the firmware sources at /fw
    script = ("import os, sys\nos.umount('/')\nos.mount(os.VfsPosix(%r), '/')\n"
              "os.mount(os.VfsPosix(%r), '/fw')\nsys.path[:] = ['/fw']\n"
              % (str(tmp_path), str(FIRMWARE_DIR))) + _FAKES + (
              "from hal import esp32\nb = esp32.Board()\nNETS = %r\n" % nets + body)
    r = mpvm.run(script, heap_bytes=None, timeout=60, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    return [eval(line) for line in r.stdout.strip().splitlines()]


def test_nn_arena_from_the_manifest_planned_for_the_board(tmp_path):
    out = _run(tmp_path, "esp-eye", "o, info = b.nn_run('m', b'\\x05\\x06\\x07\\x08', NETS['m'])\n"
               "print(repr((o, info)))\nb.nn_run('big', b'abcd', NETS['big'])\nprint(repr(calls))\n")
    (o, info), calls = out
    nn = json.loads(board_data("esp-eye"))["hal"]["nn"]
    assert o == b"\x01\x02" and info["arena"] == 999 and info["invoke_us"] == 1234
    assert info["modeled_us"] == 129270  # the card's ESP32 + ESP-NN latency, for calibration
    assert calls[0] == ("Interpreter", 100, 41280 + nn["arena_margin_bytes"], 0)  # SRAM arena
    assert calls[1] == ("invoke", b"\x05\x06\x07\x08")
    # an arena bigger than the board's SRAM budget goes whole to PSRAM
    assert calls[2] == ("Interpreter", 10, 192784 + nn["arena_margin_bytes"], 1)


def test_s3_board_uses_its_own_latency_and_sram_budget(tmp_path):
    out = _run(tmp_path, "esp32-s3-eye", "o, info = b.nn_run('big', b'abcd', NETS['big'])\nprint(repr(info['modeled_us']))\n"
               "print(repr(calls[0]))\n")
    assert out[0] == -1  # no latency in that card: reported as unknown, not invented
    assert out[1][3] == 0  # 193 KB fits the S3's SRAM budget


def test_camera_and_mic_pins_come_from_the_board_data(tmp_path):
    out = _run(tmp_path, "esp-eye", "f, w, h = b.capture('camera')\nprint(repr((len(f), w, h)))\n"
               "clip, rate, _ = b.capture('mic')\nprint(repr((len(clip), rate)))\nprint(repr(calls))\n")
    (n, w, h), (nclip, rate), calls = out
    hal = json.loads(board_data("esp-eye"))["hal"]
    assert (n, w, h) == (320 * 240, 320, 240)
    cam = dict(calls[0][1])
    assert cam["pixel_format"] == 3 and cam["frame_size"] == 6  # GRAYSCALE, QVGA
    assert {k: cam[k] for k in hal["camera"]["pins"]} == hal["camera"]["pins"]
    m = hal["mic"]
    assert calls[1] == ("I2S", m["i2s_id"], m["sck"], m["ws"], m["sd"], m["bits"], m["rate"], m["ibuf"])
    assert rate == m["rate"] // m["decimate"] and nclip == m["capture_bytes"] // 2 // m["decimate"]


_PINS = r'''
LOW = set()
ADC_VALUE = [4095]
class _Pin:
    IN = 1
    PULL_UP = 2
    def __init__(self, n, mode=None, pull=None):
        self.n = n
    def value(self):
        return 0 if self.n in LOW else 1
class _ADC:
    ATTN_11DB = 3
    def __init__(self, pin, atten=None):
        self.pin = pin.n
    def read(self):
        return ADC_VALUE[0]
_Machine.Pin = _Pin
_Machine.ADC = _ADC
'''


def test_the_maintenance_button_is_never_gpio0(tmp_path):
    # issue 22, finding 3: the USB bridge's DTR/RTS hold GPIO0 (BOOT) low at will, so the button
    # that opens a paired board's REPL is another pin of the board data: the ESP-EYE's side key
    # (GPIO15), the ESP32-S3-EYE's MENU key on the GPIO1 resistor ladder
    body = _PINS + ("LOW.add(0)\nprint(repr(b.button_held()))\n"  # the cable holds GPIO0 low
                    "LOW.add(15)\nprint(repr(b.button_held()))\n")  # a finger on the side key
    assert _run(tmp_path / "eye", "esp-eye", body) == [False, True]
    body = _PINS + ("LOW.add(0)\nprint(repr(b.button_held()))\n"
                    "ADC_VALUE[0] = 2410\nprint(repr(b.button_held()))\n"
                    "ADC_VALUE[0] = 1980\nprint(repr(b.button_held()))\n")  # DN-, not MENU
    assert _run(tmp_path / "s3", "esp32-s3-eye", body) == [False, True, False]
    # board data naming GPIO0 (or none): no button at all, whatever the pin reads
    body = _PINS + ("LOW.add(0)\nb.hal['button'] = {'pin': 0, 'active': 0}\nprint(repr(b.button_held()))\n"
                    "b.hal.pop('button')\nprint(repr(b.button_held()))\n")
    assert _run(tmp_path / "zero", "esp-eye", body) == [False, False]
