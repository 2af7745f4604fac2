"""Device preprocessing (MicroPython VM) against the host preprocessing used in training.

Stated tolerances:
* face inputs (box crops; the landmark net's input): exact (0 LSB): the device runs the same
  integer arithmetic. The detector's input is the camera frame itself.
* voice: exact (0 LSB). The device runs the audio front end (models/audio_fe.tflite) in TFLM
  and its own speech.py / audio.py on the rows; the host runs the same model in the same TFLM
  and the same speech.py. Here the VM runs the firmware with the sim HAL against a loopback nn
  service (sim/vmnn.py) that runs every model in the real TFLM interpreter, as the virtual board
  does: VAD decisions, energy centre, speech span and every window tensor must equal the host's.
"""
import subprocess
from pathlib import Path

import numpy as np
import pytest

from eyeauth import FIRMWARE_DIR, mpvm
from eyeauth.models import preprocess as P
from eyeauth.models import vad as V

VM_SCRIPT = r'''
from eyeauth_fw import imgproc
f = bytearray(open("{d}/frame.bin", "rb").read())
open("{d}/face.bin", "wb").write(imgproc.face_input(f, {w}, {h}, {box}, {size}))
'''


def _frame(shared_data, w, h, rng):
    from eyeauth.datasets import load_image
    face = load_image(shared_data / "faces/orl/s7/3.pgm")
    frame = rng.integers(40, 200, (h, w), dtype=np.uint8)
    y, x = (h - face.shape[0]) // 2, (w - face.shape[1]) // 3
    frame[y:y + face.shape[0], x:x + face.shape[1]] = face
    return frame


@pytest.mark.parametrize("w,h,size", [(320, 240, 64), (200, 200, 48)])
def test_device_image_preprocessing_matches_host(tmp_path, shared_data, w, h, size):
    rng = np.random.default_rng(0)
    frame = _frame(shared_data, w, h, rng)
    frame.tofile(tmp_path / "frame.bin")
    box = (w // 3 - 5, h // 4, 100, 100)
    script = mpvm.firmware_prelude() + VM_SCRIPT.format(d=tmp_path, w=w, h=h, box=box, size=size)
    r = mpvm.run(script, heap_bytes=None, timeout=120, check=False)
    assert r.returncode == 0, r.stdout + r.stderr

    def dev(name, shape):
        return np.frombuffer((tmp_path / name).read_bytes(), np.int8).reshape(shape).astype(int)

    assert np.array_equal(dev("face.bin", (size, size)), P.face_input(frame, box, size))


def test_every_firmware_file_compiles_for_the_esp32():
    for f in sorted(Path(FIRMWARE_DIR).rglob("*.py")):
        r = subprocess.run(["mpy-cross", "-march=xtensawin", "-o", "/dev/null", str(f)], capture_output=True, text=True)
        assert r.returncode == 0, f"{f}: {r.stderr}"


# -- the voice path: front end, VAD, windows, embedding -------------------------------------------
# The VM runs the firmware's own Pipeline.voice_check + voice_embedding with the sim HAL; the nn
# service runs audio_fe and the voice models in TFLM; the board records every window tensor it
# sends and samples gc.mem_free() at every stage record (the loopback transport's own garbage is
# collected after each nn call: the ESP32 HAL copies tensors in place). The VM heap is PHRASE_HEAP (512 KB):
# the voice path of a phrase, clip included, must leave >= 256 KB of it free at every stage
# (garbage included), i.e. it needs at most 256 KB of the board's 2 MB heap.
PHRASE_HEAP = 512 * 1024
PHRASE_MIN_FREE = 256 * 1024

PHRASE_SCRIPT = r'''
import gc, json
from array import array
from eyeauth_fw import pipeline, release
release.use({"nets": json.loads(%(nets)r)})
gc.collect()
x = array("h", open(%(clip)r, "rb").read())
tensors = []
frees = []
class Board(SimBoard):
    def nn_run(self, model, tensor, net=None):
        if model != "audio_fe":
            tensors.append(bytes(tensor))
        r = SimBoard.nn_run(self, model, tensor, net)
        gc.collect()  # the loopback transport's JSON line and payload: a real board's HAL makes none
        return r
class Tel:
    def record(self, stage, model, dt, modeled=-1, arena=0, extra=None):
        frees.append([stage, gc.mem_free()])
p = pipeline.Pipeline(Board(), Tel())
sp = p.voice_check(x)
embs = [p.voice_embedding(x, sp, m) for m in %(models)r]
with open(%(out)r, "wb") as f:
    for t in tensors:
        f.write(t)
print("OUT " + json.dumps({"speech": list(sp[:3]), "embs": embs, "frees": frees, "n": len(tensors)}))
'''


def _phrase(shared_data, seconds_min=2.0):
    from eyeauth.datasets import load_audio
    from eyeauth.models import voice_phrase as VP
    rng = np.random.default_rng(3)
    clips = [load_audio(shared_data / f"voices/fsdd/recordings/{d}_theo_{n}.wav") for d, n in ((4, 7), (1, 12), (9, 30))]
    x = VP.make_phrase(clips, rng, gap=(0.3, 0.4))
    assert x.size >= seconds_min * 8000
    return x


def _vm_voice(tmp_path, x, cards, heap=PHRASE_HEAP):
    import json

    from eyeauth.board.configs import load_board
    from eyeauth.models import zoo
    from eyeauth.release import net_entry
    from eyeauth.sim import vmnn
    x.tofile(tmp_path / "clip.bin")
    fe = zoo.load_card(zoo.FRONTEND)
    board = load_board("esp-eye")
    nets = {c["name"]: net_entry(c, board) for c in cards + [fe]}  # the manifest's, as deploy writes it
    with vmnn.serve(zoo.models_dir()) as addr:
        script = vmnn.vm_prelude(addr) + PHRASE_SCRIPT % {
            "nets": json.dumps(nets), "clip": str(tmp_path / "clip.bin"),
            "models": [c["name"] for c in cards], "out": str(tmp_path / "tensors.bin")}
        return mpvm.run_json(script, "OUT", heap_bytes=heap, timeout=300)


@pytest.mark.parametrize("clip", ["voices/fsdd/recordings/3_theo_5.wav",
                                  "voices/fsdd/recordings/7_george_12.wav", "phrase"])
def test_device_voice_path_matches_host_exactly(tmp_path, shared_data, clip):
    from eyeauth.datasets import load_audio
    from eyeauth.models import voice_phrase as VP, zoo
    cards = zoo.list_models(modality="voice")
    if not cards or not zoo.card_path(zoo.FRONTEND).exists():
        pytest.skip("no voice models or front end built")
    x = _phrase(shared_data) if clip == "phrase" else load_audio(shared_data / clip, 8000)
    res = _vm_voice(tmp_path, x, cards)
    c = V.clip(x)
    assert res["speech"] == [c.centre, c.start, c.end]
    host = [q for card in cards for q in VP.tensors(card, x)]
    dev = np.frombuffer((tmp_path / "tensors.bin").read_bytes(), np.int8)
    assert res["n"] == len(host) and dev.size == sum(q.size for q in host)
    assert np.array_equal(dev, np.concatenate([q.ravel() for q in host]))  # 0 LSB
    if clip == "phrase":
        assert res["n"] > len(cards), "a 2 s phrase must get several windows"
    for card, e in zip(cards, res["embs"]):
        host_e = VP.embed(card, x)
        assert float(np.dot(e, host_e)) >= 0.99999, card["name"]
    low = min(f for _, f in res["frees"])
    assert low >= PHRASE_MIN_FREE, res["frees"]
