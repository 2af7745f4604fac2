"""Device features (firmware/eyeauth_fw/features.py in the MicroPython VM) == the numpy
reference (eyeauth.premodel.features), exactly, on synthetic and real inputs, including the
extremes that bound the viper sums (white frames, full-scale square waves, 4-s clips)."""
import json

import numpy as np

from eyeauth.premodel import features as PF


def _frames(shared_data, rng):
    from eyeauth.datasets import load_image
    from eyeauth.training import synth

    face = load_image(shared_data / "faces/orl/s7/3.pgm")
    scene, box = synth.scene_frame(face, rng)
    out = [(face, (-1, 7, 96, 96)), (scene, box), (scene, (300, 220, 80, 80)),
           (np.full((240, 320), 255, np.uint8), (0, 0, 320, 240)),
           (np.indices((240, 320)).sum(0).astype(np.uint8) % 2 * 255, (10, 10, 200, 200)),
           (np.zeros((32, 32), np.uint8), (-40, -40, 10, 10))]
    for _ in range(12):
        h, w = int(rng.integers(32, 260)), int(rng.integers(32, 340))
        f = rng.integers(0, 256, (h, w), dtype=np.uint8)
        if rng.random() < 0.5:
            f = (f // 8 + int(rng.integers(0, 200))).astype(np.uint8)
        out.append((f, (int(rng.integers(-60, w)), int(rng.integers(-60, h)),
                        int(rng.integers(1, 400)), int(rng.integers(1, 400)))))
    return out


def _clips(shared_data, rng):
    from eyeauth.datasets import load_audio

    wav = load_audio(shared_data / "voices/fsdd/recordings/3_theo_5.wav", 8000)
    square = np.where(np.arange(32000) // 20 % 2, 32767, -32768).astype(np.int16)
    out = [wav, (wav.astype(np.int32) * 40).clip(-32768, 32767).astype(np.int16), square,
           np.zeros(0, np.int16), np.zeros(1, np.int16), np.zeros(300, np.int16),
           np.concatenate([square, square[:9000]])]
    for _ in range(10):
        n = int(rng.integers(2, 36000))
        out.append(rng.normal(0, 10 ** rng.uniform(0, 4.6), n).clip(-32768, 32767)
                   .astype(np.int16))
    return out


def test_device_features_equal_host(tmp_path, shared_data, vm):
    rng = np.random.default_rng(7)
    frames, clips = _frames(shared_data, rng), _clips(shared_data, rng)
    meta = []
    for i, (f, box) in enumerate(frames):
        np.ascontiguousarray(f, np.uint8).tofile(tmp_path / f"f{i}.bin")
        meta.append([f.shape[1], f.shape[0], list(box)])
    for i, c in enumerate(clips):
        c.tofile(tmp_path / f"c{i}.bin")
    got = vm(f"""
from array import array
from eyeauth_fw import features as F
meta = json.loads({json.dumps(json.dumps(meta))})
face = [F.face_features(open("{tmp_path}/f%d.bin" % i, "rb").read(), w, h, tuple(b))
        for i, (w, h, b) in enumerate(meta)]
voice = [F.voice_features(array("h", open("{tmp_path}/c%d.bin" % i, "rb").read()))
         for i in range({len(clips)})]
out([face, voice, list(F.FACE_NAMES), list(F.VOICE_NAMES)])
""")
    face, voice, fnames, vnames = got
    assert tuple(fnames) == PF.FACE_NAMES and tuple(vnames) == PF.VOICE_NAMES
    for (f, box), dev in zip(frames, face):
        assert PF.face_features(f, box) == dev, box
    for c, dev in zip(clips, voice):
        assert PF.voice_features(c) == dev, c.size


def test_ilog_matches_device(vm):
    vals = [0, 1, 2, 3, 7, 8, 9, 15, 16, 1000, 65535, 1 << 20, (1 << 28) + 12345]
    got = vm(f"from eyeauth_fw import features as F\nout([F.ilog(v) for v in {vals}])")
    assert got == [PF.ilog(v) for v in vals]
