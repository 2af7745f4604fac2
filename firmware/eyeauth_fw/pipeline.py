# One authentication as data: capture -> detect -> crop -> embed -> match (face) and
# capture -> front end (TFLM signal ops) -> VAD -> windows -> embed -> match (voice), each stage
# timed and reported as one telemetry record (measured on the target; modeled for the board: the
# nn stages by the timing model, Python stages by the host-VM-to-board factor of the HAL).
import gc
import math
import time
from array import array

from eyeauth_fw import audio, imgproc, release, speech
from hal.common import StageError as PipelineError  # noqa: F401  (the HAL raises it too)


class Pipeline:
    def __init__(self, board, tel):
        self.board = board
        self.tel = tel
        self.stages = []
        self._fe = [0, 0, 0, 0]  # front-end chunks since the last flush: us, modeled us, arena, n

    def _py(self, stage, model, t0, extra=None, exclude=0):
        # a Python stage from t0 to now, less ``exclude`` us spent in nn calls inside it
        dt = time.ticks_diff(time.ticks_us(), t0) - exclude
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

    def _fe_run(self, tensor):
        # one front-end chunk (audio.Features): timed, recorded by _fe_flush as one stage
        t0 = time.ticks_us()
        out, info = self.board.nn_run(audio.FE, tensor, release.net(audio.FE))
        fe = self._fe
        fe[0] += time.ticks_diff(time.ticks_us(), t0)
        fe[1] += info["modeled_us"]
        fe[2] = info["arena"]
        fe[3] += 1
        return out

    def _fe_flush(self):
        # the "frontend" stage of the chunks run since the last flush; -> their measured us
        fe = self._fe
        dt = fe[0]
        if fe[3]:
            self.tel.record("frontend", audio.FE, dt, fe[1], fe[2], {"chunks": fe[3]})
            self.stages.append(("frontend", audio.FE, dt, fe[1]))
        self._fe = [0, 0, 0, 0]
        return dt

    def features(self, clip):
        return audio.Features(self._fe_run, clip, release.net(audio.FE)["lay"])

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
        # -> the speech of the clip (energy centre, span start, span end, its front-end rows),
        # for voice_embedding. Stages: frontend (the rows of the whole clip), vad (Python: the
        # frame levels' comparisons, the clipping count). One collection first, outside the
        # stages (as before the front end): the voice path then runs without a pause of the
        # collector inside a timed stage.
        gc.collect()
        t0 = time.ticks_us()
        f = self.features(clip)
        ok, centre, nsp, peak, s, e, lv, fl = audio.vad(f)
        clipped = audio.clipped_count(clip, len(clip)) / max(1, len(clip))
        self._py("vad", "", t0, {"speech_frames": nsp}, self._fe_flush())
        if clipped > 0.05:
            raise PipelineError("clipped", "%d%% of the clip is clipped: speak further from the mic" % int(clipped * 100))
        if not ok:
            raise PipelineError("no_speech", "no speech in the clip (%d speech frames, peak %.0f dB): speak up" % (nsp, audio.level_db(peak)))
        return (centre, s, e, f)

    def voice_embedding(self, clip, sp, model):
        # Utterance embedding: the model's windows over the speech (speech.window_rows), each
        # read from the front end's rows of the clip (shared with the VAD and any other model;
        # rows outside them are computed on demand), unit(mean of the windows' unit embeddings).
        # ``sp``: voice_check's result (a bare energy centre means one centred window).
        c = release.net(model)
        n_frames, n_mels = c["shape"][1], c["shape"][2]
        if isinstance(sp, int):
            sp = (sp, 0, 0, None)
        f = sp[3] if len(sp) > 3 and sp[3] is not None else self.features(clip)
        rows = speech.window_rows(sp[0], sp[1], sp[2], n_frames, c["hop"], c["maxw"])
        q = bytearray(n_frames * n_mels)
        acc = None
        for r0 in rows:
            t0 = time.ticks_us()
            f.window(r0, n_frames, n_mels, q)
            self._py("logmel", model, t0, {"window": r0} if len(rows) > 1 else None, self._fe_flush())
            acc = add_to(acc, self._unit(model, self._nn("voice_embed", model, q)))
        return unit(acc)

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
