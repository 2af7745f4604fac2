"""Device preprocessing (MicroPython VM) against the host preprocessing used in training.

Stated tolerances:
* face inputs (box crops; the landmark net's input): exact (0 LSB): the device runs the same
  integer arithmetic. The detector's input is the camera frame itself.
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

from eyeauth import FIRMWARE_DIR, mpvm
from eyeauth.models import preprocess as P
from eyeauth.models import vad as V

VM_SCRIPT = r'''
from array import array
from eyeauth_fw import imgproc, audio
f = bytearray(open("{d}/frame.bin", "rb").read())
open("{d}/face.bin", "wb").write(imgproc.face_input(f, {w}, {h}, {box}, {size}))
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
    script = mpvm.firmware_prelude() + VM_SCRIPT.format(d=tmp_path, w=w, h=h, box=box, size=size, frames=frames, mels=mels)
    r = mpvm.run(script, heap_bytes=None, timeout=120, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    centre, speech = map(int, r.stdout.split())
    assert centre == V.energy_centre(wav) and bool(speech) == V.has_speech(wav)

    def dev(name, shape):
        return np.frombuffer((tmp_path / name).read_bytes(), np.int8).reshape(shape).astype(int)

    assert np.array_equal(dev("face.bin", (size, size)), P.face_input(frame, box, size))
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


# -- utterances: windows over the speech of a phrase, streamed log-mel, mean embedding ------------
# The VM runs the firmware's own Pipeline.voice_check + voice_embedding with a stand-in board
# whose nn_run records the window tensors (pass 1) and then serves the int8 outputs the host's
# TFLM computed for exactly those tensors (pass 2), and a telemetry stand-in that samples
# gc.mem_free() at every stage record. The VM heap is PHRASE_HEAP (512 KB): the voice path of a
# 3 s phrase, clip included, must leave >= 256 KB of it free at every stage (garbage included),
# i.e. it needs at most 256 KB of the board's 2 MB heap.
PHRASE_HEAP = 512 * 1024
PHRASE_MIN_FREE = 256 * 1024

PHRASE_SCRIPT = r'''
import gc, json
from array import array
from eyeauth_fw import audio, pipeline
outs = [bytes(json.loads(l)) for l in open("{d}/outs.txt")] if {pass2} else []
gc.collect()
x = array("h", open("{d}/phrase.bin", "rb").read())
tensors = []
frees = []
class Board:
    py_factor = 1.0
    def nn_run(self, model, tensor, net=None):
        tensors.append(bytes(tensor))
        o = outs[len(tensors) - 1] if outs else bytes([1] * {dim})
        return o, {{"modeled_us": 0, "arena": 0}}
class Tel:
    def record(self, stage, model, dt, modeled=-1, arena=0, extra=None):
        frees.append([stage, gc.mem_free()])
from eyeauth_fw import release
release.use({{"nets": {{"{model}": {card}}}}})
p = pipeline.Pipeline(Board(), Tel())
sp = p.voice_check(x)
v = p.voice_embedding(x, sp, "{model}")
with open("{d}/tensors.bin", "wb") as f:
    for t in tensors:
        f.write(t)
print(json.dumps({{"speech": list(sp), "emb": v, "frees": frees, "n": len(tensors)}}))
'''


def _phrase(shared_data, seconds_min=2.0):
    from eyeauth.datasets import load_audio
    from eyeauth.models import voice_phrase as VP
    rng = np.random.default_rng(3)
    clips = [load_audio(shared_data / f"voices/fsdd/recordings/{d}_theo_{n}.wav") for d, n in ((4, 7), (1, 12), (9, 30))]
    x = VP.make_phrase(clips, rng, gap=(0.3, 0.4))
    assert x.size >= seconds_min * 8000
    return x


def _utterance_card(card):
    """The card with the utterance settings the test needs: the committed ones, else several
    windows (so the test exercises the ring even on a zoo built before utterances)."""
    import copy
    c = copy.deepcopy(card)
    u = c["input"].setdefault("preprocess", {}).setdefault("utterance", {})
    u.setdefault("hop_frames", 16)
    u.setdefault("max_windows", 4)
    return c


def _vm_phrase(tmp_path, card, pass2):
    from eyeauth.models import voice_phrase as VP
    u = VP.utterance_settings(card)
    from eyeauth.board.configs import load_board
    from eyeauth.release import net_entry

    dev_card = net_entry(card, load_board("esp-eye"))  # the manifest's entry, as deploy writes it
    assert (dev_card["hop"], dev_card["maxw"]) == (u["hop_frames"], u["max_windows"])
    script = mpvm.firmware_prelude() + PHRASE_SCRIPT.format(d=tmp_path, pass2=pass2, dim=card["output"]["shape"][-1],
                                  model=card["name"], card=repr(dev_card))
    r = mpvm.run(script, heap_bytes=PHRASE_HEAP, timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    import json
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_device_phrase_embedding_matches_host(tmp_path, shared_data):
    from eyeauth.models import voice_phrase as VP, zoo, vad as V
    cards = zoo.list_models(modality="voice")
    if not cards:
        pytest.skip("no voice models built")
    x = _phrase(shared_data)
    x.tofile(tmp_path / "phrase.bin")
    span = V.speech_span(x)
    for card in cards:
        card = _utterance_card(card)
        t, m = card["input"]["shape"][1:3]
        res = _vm_phrase(tmp_path, card, pass2=False)
        assert res["speech"] == [V.energy_centre(x), span[0], span[1]]
        host_q = VP.tensors(card, x)
        dev_q = np.frombuffer((tmp_path / "tensors.bin").read_bytes(), np.int8).reshape(-1, t, m)
        assert len(dev_q) == len(host_q) == res["n"], card["name"]
        if VP.utterance_settings(card)["max_windows"] > 1:
            assert len(dev_q) > 1, "a 2 s phrase must get several windows"
        for d, h in zip(dev_q, host_q):
            diff = np.abs(d.astype(int) - h.astype(int))
            assert diff.mean() <= 0.3 and np.mean(diff <= 1) >= 0.97, (card["name"], diff.mean())
        # pass 2: the board's nn service answers with TFLM's int8 outputs for the device's tensors
        from eyeauth.models import tflm
        data = zoo.model_bytes(card["name"])
        outs = [tflm.run(data, q[None, ..., None]).astype(np.int8).ravel() for q in dev_q]
        (tmp_path / "outs.txt").write_text("".join(f"{list(o.view(np.uint8).tolist())}\n" for o in outs))
        res = _vm_phrase(tmp_path, card, pass2=True)
        dev = np.array(res["emb"])
        host = VP.embed(card, x)
        cos = float(dev @ host / (np.linalg.norm(dev) * np.linalg.norm(host)))
        assert cos >= 0.98, (card["name"], cos)
        low = min(f for _, f in res["frees"])
        assert low >= PHRASE_MIN_FREE, (card["name"], res["frees"])
