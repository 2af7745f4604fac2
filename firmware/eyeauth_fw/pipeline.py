# One authentication as data: capture -> detect -> crop -> embed -> match (face) and
# capture -> VAD -> log-mel -> embed -> match (voice), each stage timed and reported as one
# telemetry record (measured on the target; modeled for the board: the nn stages by the timing
# model, Python stages by the host-VM-to-board factor of the HAL).
import gc
import math
import time
from array import array

from eyeauth_fw import audio, imgproc, release
from hal.common import StageError as PipelineError  # noqa: F401  (the HAL raises it too)

GC_EVERY = 64 * 1024


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
        out, info = self.board.nn_run(model, tensor, release.net(model))
        dt = time.ticks_diff(time.ticks_us(), t0)
        self.tel.record(stage, model, dt, info["modeled_us"], info["arena"])
        self.stages.append((stage, model, dt, info["modeled_us"]))
        return out

    # -- face --------------------------------------------------------------------------------
    def face_box(self, frame, w, h, detector):
        # -> square box (x, y, s, s) of the face in the QVGA camera frame. The frame itself is
        # the detector's input (uint8; the graph quantizes and pools it to 80x60 in C).
        if detector is None:
            return imgproc.default_face_box(w, h)
        if w != imgproc.CAM_W or h != imgproc.CAM_H:
            raise PipelineError("bad_frame", "camera frames are %dx%d grey (QVGA), got %dx%d: feed camera frames (the host converts photos)" % (imgproc.CAM_W, imgproc.CAM_H, w, h))
        out = self._nn("detect", detector, frame)
        c = release.net(detector)
        # face-presence gate: no face, no embedding, no attempt (noise, flat or blocky frames,
        # a hand over the lens); the threshold is the release manifest's
        if len(out) > 3:
            pres = (((out[3] + 128) & 0xFF) - 128 - c["zp"]) * c["scale"]
            pt = release.need("presence_threshold")
            if pres < pt:
                raise PipelineError("no_face", "no face in the frame (presence %.2f < %.2f): face the camera in good light" % (pres, pt))
        # sigmoid outputs: int8 with scale 1/256, zero point -128 (integer box, as the host)
        return imgproc.detector_box_q(out, w, h)

    def face_points(self, frame, w, h, box, landmark):
        # -> five landmarks [(x16, y16)] (1/16 pixel) from the landmark net on the region around
        # the box; without a landmark model, the template's points in the box
        if landmark is None:
            return imgproc.box_points(box)
        t0 = time.ticks_us()
        q = imgproc.landmark_input(frame, w, h, box, release.net(landmark)["shape"][1])
        self._py("lmk_pre", landmark, t0)
        out = self._nn("landmark", landmark, q)
        return imgproc.points_q4(out, imgproc.landmark_region(box))

    def face_embedding(self, frame, w, h, pts, model):
        size = release.net(model)["shape"][1]
        t0 = time.ticks_us()
        q = imgproc.aligned_input(frame, w, h, pts, size)
        self._py("face_pre", model, t0)
        return self._unit(model, self._nn("face_embed", model, q))

    # -- voice -------------------------------------------------------------------------------
    def voice_check(self, clip):
        # -> the speech of the clip (energy centre, span start, span end), for voice_embedding
        t0 = time.ticks_us()
        ok, centre, nsp, peak, s, e = audio.vad_span(clip)
        clipped = audio.clipped_fraction(clip)
        self._py("vad", "", t0, {"speech_frames": nsp})
        if clipped > 0.05:
            raise PipelineError("clipped", "%d%% of the clip is clipped: speak further from the mic" % int(clipped * 100))
        if not ok:
            raise PipelineError("no_speech", "no speech in the clip (%d speech frames, peak %.0f dB): speak up" % (nsp, peak))
        return (centre, s, e)

    def voice_embedding(self, clip, speech, model):
        # Utterance embedding: the model's windows over the speech (audio.utterance_plan), the
        # log-mel streamed row by row through a ring of one window (rows shared by overlapping
        # windows are computed once), unit(mean of the windows' unit embeddings). ``speech``:
        # voice_check's result (a bare energy centre means one centred window).
        c = release.net(model)
        n_frames, n_mels = c["shape"][1], c["shape"][2]
        if isinstance(speech, int):
            speech = (speech, 0, 0)
        start, offs = audio.utterance_plan(speech[0], speech[1], speech[2], n_frames, c["hop"], c["maxw"])
        # bounded garbage: the band logs allocate floats; collect every GC_EVERY bytes so the
        # free heap never sinks by more than that during the voice path
        gc.collect()
        old = gc.threshold()
        gc.threshold(GC_EVERY)
        try:
            lm = audio.LogMel(n_frames, n_mels)
            acc = None
            done = -1
            for o in offs:
                t0 = time.ticks_us()
                r = max(o, done + 1)
                while r < o + n_frames:
                    lm.row(clip, start + r * audio.HOP, r)
                    r += 1
                done = o + n_frames - 1
                q = lm.window(o)
                self._py("logmel", model, t0, {"window": o} if len(offs) > 1 else None)
                acc = add_to(acc, self._unit(model, self._nn("voice_embed", model, q)))
            return unit(acc)
        finally:
            gc.threshold(old)

    # -- matching ----------------------------------------------------------------------------
    def _unit(self, model, out):
        c = release.net(model)
        zp, sc = c["zp"], c["scale"]
        return unit([((((b + 128) & 0xFF) - 128) - zp) * sc for b in out])


def add_to(acc, v):
    # running sum of window embeddings (an utterance embedding is their normalised sum)
    if acc is None:
        return v
    for i in range(len(v)):
        acc[i] += v[i]
    return acc


def unit(acc):
    n = math.sqrt(sum(x * x for x in acc)) or 1.0
    return [x / n for x in acc]


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
