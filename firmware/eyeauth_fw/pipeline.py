# One authentication as data: capture -> detect -> crop -> embed -> match (face) and
# capture -> VAD -> log-mel -> embed -> match (voice), each stage timed and reported as one
# telemetry record (measured on the target; modeled for the board: the nn stages by the timing
# model, Python stages by the host-VM-to-board factor of the HAL).
import gc
import json
import math
import time
from array import array

from eyeauth_fw import audio, imgproc

_cards = {}


class PipelineError(Exception):
    def __init__(self, code, msg):
        super().__init__(code)
        self.code = code
        self.msg = msg


def card(name):
    c = _cards.get(name)
    if c is None:
        try:
            with open("/models/%s.json" % name) as f:
                full = json.load(f)
        except OSError:
            raise PipelineError("no_model", "/models/%s.json missing: run `eyeauth deploy`" % name)
        c = {"shape": full["input"]["shape"], "scale": full["output"]["scale"],
             "zp": full["output"]["zero_point"], "pt": full["output"].get("presence_threshold")}
        _cards[name] = c
        gc.collect()
    return c


class Pipeline:
    def __init__(self, board, tel):
        self.board = board
        self.tel = tel
        self.stages = []

    def _py(self, stage, model, t0, extra=None):
        dt = time.ticks_diff(time.ticks_us(), t0)
        modeled = int(dt * self.board.py_factor)
        self.tel.record(stage, model, dt, modeled, 0, extra)
        self.stages.append((stage, model, dt, modeled))

    def _nn(self, stage, model, tensor):
        t0 = time.ticks_us()
        out, info = self.board.nn_run(model, tensor)
        dt = time.ticks_diff(time.ticks_us(), t0)
        self.tel.record(stage, model, dt, info["modeled_us"], info["arena"])
        self.stages.append((stage, model, dt, info["modeled_us"]))
        return out

    # -- face --------------------------------------------------------------------------------
    def face_box(self, frame, w, h, detector):
        if detector is None:
            return imgproc.default_face_box(w, h)
        t0 = time.ticks_us()
        q = imgproc.detector_input(frame, w, h)
        self._py("det_pre", detector, t0)
        out = self._nn("detect", detector, q)
        c = card(detector)
        probs = [(((v + 128) & 0xFF) - 128 - c["zp"]) * c["scale"] for v in out[:4]]
        # face-presence gate: no face, no embedding, no attempt (noise, flat or blocky frames,
        # a hand over the lens); the threshold is the detector card's
        if c["pt"] is not None and len(probs) > 3 and probs[3] < c["pt"]:
            raise PipelineError("no_face", "no face in the frame (presence %.2f < %.2f): face the camera in good light" % (probs[3], c["pt"]))
        return imgproc.detector_box(probs[:3], w, h)

    def face_embedding(self, frame, w, h, box, model):
        size = card(model)["shape"][1]
        t0 = time.ticks_us()
        q = imgproc.face_input(frame, w, h, box, size)
        self._py("face_pre", model, t0)
        return self._unit(model, self._nn("face_embed", model, q))

    # -- voice -------------------------------------------------------------------------------
    def voice_check(self, clip):
        t0 = time.ticks_us()
        ok, centre, nsp, peak = audio.vad(clip)
        clipped = audio.clipped_fraction(clip)
        self._py("vad", "", t0, {"speech_frames": nsp})
        if clipped > 0.05:
            raise PipelineError("clipped", "%d%% of the clip is clipped: speak further from the mic" % int(clipped * 100))
        if not ok:
            raise PipelineError("no_speech", "no speech in the clip (%d speech frames, peak %.0f dB): speak up" % (nsp, peak))
        return centre

    def voice_embedding(self, clip, centre, model):
        shape = card(model)["shape"]
        t0 = time.ticks_us()
        q = audio.voice_input(clip, shape[1], shape[2], centre)
        self._py("logmel", model, t0)
        return self._unit(model, self._nn("voice_embed", model, q))

    # -- matching ----------------------------------------------------------------------------
    def _unit(self, model, out):
        c = card(model)
        zp, sc = c["zp"], c["scale"]
        v = [((((b + 128) & 0xFF) - 128) - zp) * sc for b in out]
        n = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / n for x in v]


def quantize_unit(v):
    return bytes((max(-127, min(127, int(round(x * 127)))) & 0xFF for x in v))


def score(v, samples):
    # cosine of unit vector v with the normalised mean of the enrolled int8 samples.
    dim = len(v)
    acc = [0.0] * dim
    for s in samples:
        for i in range(dim):
            b = s[i]
            acc[i] += b - 256 if b > 127 else b
    n = math.sqrt(sum(x * x for x in acc)) or 1.0
    return sum(v[i] * acc[i] for i in range(dim)) / n


def as_int16(raw):
    return array("h", raw)
