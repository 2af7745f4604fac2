# Live capture (`capture`, PROTOCOL.md): the board's own camera or microphone takes one input,
# the board checks it as an attempt would (a face: the detector's presence gate, then the
# router's quality rule when a router is deployed; a voice: speech present and not clipped)
# and keeps it in the input store (inputs.py: the same ids, budget and expiry as a fed
# input), so enroll and auth name it by its id. A refused capture is not kept: the error says
# why, and the host asks the person to try again.
import gc
import time

from eyeauth_fw import pipeline
from eyeauth_fw.registry import AppError, register


def _face(app, p, cfg, item):
    from eyeauth_fw.auth import setting
    frame, w, h = item
    box = p.face_box(frame, w, h, setting(cfg, "detector"))  # the release's (or config's) detector
    if cfg.get("premodel"):
        from eyeauth_fw import premodel
        _, feats = premodel.route_face(frame, w, h, box)
        if premodel.poor("face", feats):
            raise AppError("poor_face", "a face, but the frame is too poor (dark, flat or blurred) to recognise it: more light on the face")
    return frame, (w, h), {"w": w, "h": h, "box": list(box)}


def _voice(app, p, cfg, item):
    clip, rate = item[0], item[1]
    if rate != 8000:
        raise AppError("bad_audio", "the microphone gave %d Hz; the voice path needs 8000 (board config hal.mic)" % rate)
    s, e = p.voice_check(clip)[1:3]  # (centre, start, end, the front end's rows)
    return bytes(clip), (rate,), {"rate": rate, "seconds": len(clip) / rate, "speech_s": (e - s) / rate}


@register("capture")
def _capture(app, args):
    from eyeauth_fw.auth import _input_error, _st
    from eyeauth_fw.inputs import InputError
    sensor = args.get("sensor")
    if sensor not in ("camera", "mic"):
        raise AppError("bad_args", "sensor must be camera or mic")
    s = _st(app)
    p = pipeline.Pipeline(app.board, app.tel)
    t0 = time.ticks_us()
    item = app.board.capture(sensor)
    if item is None:
        raise AppError("no_input", "the %s gave nothing: is it connected (board config hal)?" % sensor)
    dt = time.ticks_diff(time.ticks_us(), t0)
    # the sensor's own time, not Python work: no python_speed_factor (measured = modeled)
    app.tel.record("capture", sensor, dt, dt, 0, {"live": True})
    try:
        raw, meta, out = (_face if sensor == "camera" else _voice)(app, p, s["cfg"], item)
    except pipeline.PipelineError as e:
        raise AppError(e.code, e.msg)
    item = None
    inp = s["in"]
    try:
        iid = inp.begin(sensor, len(raw), meta, 1)
        have, _ = inp.add(iid, 0, raw)
    except InputError as e:
        raise _input_error(e)
    raw = None
    gc.collect()
    out.update({"input": iid, "sensor": sensor, "size": have, "sha256": inp.items[iid][7]})
    return out
