"""The exact input preprocessing of every zoo model: pure numpy, integer-friendly, portable.

The firmware does the same steps in MicroPython; this module is the reference it is tested
against. Every model input is an int8 tensor with scale 1/128 and zero point 0, so the device
writes the int8 values ``q`` computed here straight into the input tensor (the Keras models were
trained on ``q / 128``).

Face embedder input (``face_input``), S x S grey:
  1. box (x, y, w, h) in frame pixels (from the detector, or the whole image); coordinates
     outside the frame repeat the edge pixel (clamped indices).
  2. area resize to S x S: output pixel (i, j) is the integer mean, rounded half up, of the
     source rectangle rows [y + floor(i*h/S), y + max(floor((i+1)*h/S), floor(i*h/S)+1)) and
     the same for columns (integer sums only: an integral image or two passes of row sums).
  3. contrast stretch on the S x S crop: lo = min, hi = max;
     p' = ((p - lo) * 255 + (hi - lo) // 2) // (hi - lo)   (if hi == lo: p' = p)
  4. q = p' - 128 (int8).

Detector input: the QVGA camera frame as it is (uint8 240 x 320; a photo becomes one with
``face_data.camera_frame``: letterbox to 4:3 with grey 128, bilinear to 320 x 240). The graph
quantizes it (q = p - 128) and pools it 4 x 4 to 60 x 80 itself. Output: sigmoid (cx, cy, side)
relative to the frame (``face_path.box_from_q``: the square box in frame pixels, integers).

Face embedder input: the aligned crop of ``align.face_input`` (the landmark net's five points,
an integer similarity fit to the ArcFace template); ``face_input`` below is the box crop the
landmark net's input uses.

Voice embedder input (``voice_input``), T frames x M mel bands:
  0. audio: mono int16 at 8000 Hz (resample first, see eyeauth.datasets.load_audio).
  1. rows of the audio front end (``frontend.py``: models/audio_fe.tflite, TFLM's signal ops,
     the model the board runs): row r covers samples 128 r .. 128 r + 255 of the clip (zero
     outside it); per row and mel band the log power of the Hann-windowed frame's spectrum in
     the band (HTK mel triangles 20..4000 Hz; pre-emphasis 0.97 as a weight on the power
     spectrum).
  2. the window: T rows from the row nearest to centre - W / 2, W = (T - 1) * 128 + 256, the
     centre being the clip's energy centre (``vad.energy_centre``) unless given.
  3. relative to the window's maximum, clipped at 80 dB, q = 127 - round(rel * 255 / 80 dB)
     (``frontend.quantize``; int8 in [-128, 127]).
"""
from __future__ import annotations

import numpy as np

from eyeauth.camera import as_grey as _as_grey, letterbox_geometry  # noqa: F401 - the camera model

INPUT_SCALE = 1.0 / 128
INPUT_ZERO_POINT = 0

DET_H, DET_W = 60, 80
FRAME = 256
HOP = 128
RATE = 8000
DB_RANGE = 80.0


def _edges(start, length, n):
    i = np.arange(n)
    lo = start + (i * length) // n
    hi = np.maximum(start + ((i + 1) * length) // n, lo + 1)
    return lo, hi


def area_resize(image, box, out_h, out_w):
    """Integer area resize of ``box`` = (x, y, w, h) of ``image`` to out_h x out_w (uint8)."""
    img = _as_grey(image).astype(np.int64)
    x, y, w, h = (int(round(v)) for v in box)
    w, h = max(w, 1), max(h, 1)
    r0, r1 = _edges(0, h, out_h)
    c0, c1 = _edges(0, w, out_w)
    rows = np.clip(np.arange(y, y + r1[-1]), 0, img.shape[0] - 1)
    cols = np.clip(np.arange(x, x + c1[-1]), 0, img.shape[1] - 1)
    ii = np.zeros((rows.size + 1, cols.size + 1), np.int64)
    ii[1:, 1:] = img[np.ix_(rows, cols)].cumsum(0).cumsum(1)
    s = ii[r1][:, c1] - ii[r0][:, c1] - ii[r1][:, c0] + ii[r0][:, c0]
    count = (r1 - r0)[:, None] * (c1 - c0)[None, :]
    return ((s + count // 2) // count).astype(np.uint8)


def stretch(patch):
    """Integer min/max contrast stretch of a uint8 patch (step 3 of the face input)."""
    p = patch.astype(np.int32)
    lo, hi = int(p.min()), int(p.max())
    if hi == lo:
        return patch.astype(np.uint8)
    return (((p - lo) * 255 + (hi - lo) // 2) // (hi - lo)).astype(np.uint8)


def default_face_box(shape):
    """The canonical face box of an already-cropped face image (ORL-like portrait): the
    centred square of side min(w, h), moved up by 1/11 of the spare height."""
    h, w = shape[:2]
    side = min(w, h)
    return ((w - side) // 2, (h - side) * 5 // 11, side, side)


def face_input(image, box, size):
    """int8 (size, size) face tensor from a grey image and a face box (steps 1-4)."""
    return (stretch(area_resize(image, box, size, size)).astype(np.int16) - 128).astype(np.int8)


def box_to_target(box, shape):
    """The detector's training target (cx, cy, side) in [0, 1] of a square box (x, y, w, h) in
    frame pixels (letterboxed frames: relative to the 4:3 canvas)."""
    px, py, pw, ph = letterbox_geometry(shape)
    x, y, w, h = box
    return ((x + px + w / 2) / pw, (y + py + h / 2) / ph, h / ph)


# ---------------------------------------------------------------- voice

def voice_window_samples(n_frames, hop=HOP, frame=FRAME):
    return (n_frames - 1) * hop + frame


def voice_input(wav, n_frames, n_mels, centre=None):
    """int8 (n_frames, n_mels) voice tensor from 8 kHz int16 audio (steps 1-3): the window the
    board's utterance path takes when a clip's speech fits one window."""
    from eyeauth.fw import speech
    from eyeauth.models import frontend, vad

    x = np.asarray(wav, np.int16).reshape(-1)
    c = vad.energy_centre(x) if centre is None else int(centre)
    r0 = speech.window_rows(c, 0, 0, n_frames, 1, 1)[0]
    fe = frontend.default()
    return frontend.quantize(fe.mel(fe.rows(x, r0, n_frames), n_mels))


def to_float(q):
    """The float the Keras model sees for an int8 input tensor: q / 128."""
    return np.asarray(q, np.float32) * INPUT_SCALE
