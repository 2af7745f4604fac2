"""Device preprocessing (MicroPython VM) against the host preprocessing used in training.

Stated tolerances:
* face and detector inputs: exact (0 LSB): the device runs the same integer arithmetic.
* voice log-mel: the device computes it in fixed point (block-floating-point FFT in viper, ~7x
  faster than float on the VM), the host in float64. Per clip: mean |diff| <= 0.3 LSB, 97% of
  values within 1 LSB, 98% within 2 LSB (the rest are bins 60-80 dB under the frame's peak, at
  the fixed-point noise floor; over 30 FSDD clips: mean 0.13 LSB, 99% within 1 LSB), and the
  voice model's embedding of the device input has cosine >= 0.98 with that of the host input.
"""
import subprocess
from pathlib import Path

import numpy as np
import pytest

from eyeauth import FIRMWARE_DIR
from eyeauth.models import preprocess as P
from eyeauth.models import vad as V

VM_SCRIPT = r'''
import sys
sys.path.insert(0, "{fw}")
from array import array
from eyeauth_fw import imgproc, audio
f = bytearray(open("{d}/frame.bin", "rb").read())
open("{d}/face.bin", "wb").write(imgproc.face_input(f, {w}, {h}, {box}, {size}))
open("{d}/det.bin", "wb").write(imgproc.detector_input(f, {w}, {h}))
x = array("h", open("{d}/clip.bin", "rb").read())
sp, c, nsp, peak = audio.vad(x)
open("{d}/voice.bin", "wb").write(audio.voice_input(x, {frames}, {mels}, c))
print(c, int(sp))
'''


def _frame(shared_data, w, h, rng):
    from eyeauth.datasets import load_image
    face = load_image(shared_data / "faces/orl/s7/3.pgm")
    frame = rng.integers(40, 200, (h, w), dtype=np.uint8)
    y, x = (h - face.shape[0]) // 2, (w - face.shape[1]) // 3
    frame[y:y + face.shape[0], x:x + face.shape[1]] = face
    return frame


@pytest.mark.parametrize("w,h,size,frames,mels,clip", [
    (320, 240, 64, 32, 20, "voices/fsdd/recordings/3_theo_5.wav"),
    (200, 200, 48, 48, 40, "voices/fsdd/recordings/7_george_12.wav"),
])
def test_device_preprocessing_matches_host(tmp_path, shared_data, w, h, size, frames, mels, clip):
    from eyeauth.datasets import load_audio
    rng = np.random.default_rng(0)
    frame = _frame(shared_data, w, h, rng)
    frame.tofile(tmp_path / "frame.bin")
    wav = load_audio(shared_data / clip, 8000)
    wav.tofile(tmp_path / "clip.bin")
    box = (w // 3 - 5, h // 4, 100, 100)
    script = VM_SCRIPT.format(fw=FIRMWARE_DIR, d=tmp_path, w=w, h=h, box=box, size=size, frames=frames, mels=mels)
    r = subprocess.run(["micropython", "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    centre, speech = map(int, r.stdout.split())
    assert centre == V.energy_centre(wav) and bool(speech) == V.has_speech(wav)

    def dev(name, shape):
        return np.frombuffer((tmp_path / name).read_bytes(), np.int8).reshape(shape).astype(int)

    assert np.array_equal(dev("face.bin", (size, size)), P.face_input(frame, box, size))
    assert np.array_equal(dev("det.bin", (60, 80)), P.detector_input(frame))
    dv = dev("voice.bin", (frames, mels))
    hv = P.voice_input(wav, frames, mels).astype(int)
    diff = np.abs(dv - hv)
    assert diff.mean() <= 0.3 and np.mean(diff <= 1) >= 0.97 and np.mean(diff <= 2) >= 0.98, diff.mean()
    _embedding_agrees(frames, mels, dv, hv)


def _embedding_agrees(frames, mels, dv, hv):
    from eyeauth.models import tflm, zoo
    for card in zoo.list_models(modality="voice"):
        if list(card["input"]["shape"][1:3]) != [frames, mels]:
            continue
        data = zoo.model_bytes(card["name"])
        _, out = tflm.io_details(data)
        a, b = (tflm.dequantize(tflm.run(data, q.astype(np.int8)[None, ..., None]), out).ravel() for q in (dv, hv))
        cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        assert cos >= 0.98, (card["name"], cos)


def test_every_firmware_file_compiles_for_the_esp32():
    for f in sorted(Path(FIRMWARE_DIR).rglob("*.py")):
        r = subprocess.run(["mpy-cross", "-march=xtensawin", "-o", "/dev/null", str(f)], capture_output=True, text=True)
        assert r.returncode == 0, f"{f}: {r.stderr}"
