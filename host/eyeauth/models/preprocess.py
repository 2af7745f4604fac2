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
  1. window of N = (T - 1) * HOP + FRAME samples centred on the energy centroid of the clip
     (``vad.energy_centre``), zero padded where it runs off the clip.
  2. x = int16 / 32768; pre-emphasis y[n] = x[n] - 0.97 x[n-1] (y[0] = x[0]).
  3. frame t = y[t*HOP : t*HOP + FRAME] times a periodic Hann window of FRAME (=256) samples.
  4. power spectrum |rfft(frame, 256)|^2 -> 129 bins.
  5. mel energies: M triangular filters (HTK mel scale, 20 Hz .. 4000 Hz, ``mel_matrix``).
  6. dB = 10 * log10(mel + 1e-10); rel = dB - max(dB over the whole T x M patch);
     clip rel to [-80, 0].
  7. q = round(rel * 255 / 80) + 127  (int8 in [-128, 127]).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

INPUT_SCALE = 1.0 / 128
INPUT_ZERO_POINT = 0

DET_H, DET_W = 60, 80
FRAME = 256
HOP = 128
RATE = 8000
DB_RANGE = 80.0


def _as_grey(image):
    img = np.asarray(image)
    if img.ndim == 3:
        img = img[..., :3].astype(np.int32) @ np.array([77, 150, 29]) >> 8  # integer luma
    if img.ndim != 2 or img.size == 0:
        raise ValueError(f"expected a 2-D grey image, got shape {np.shape(image)}")
    return img.astype(np.uint8)


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


def letterbox_geometry(shape):
    """(pad_x, pad_y, padded_w, padded_h) making a frame of ``shape`` 4:3."""
    h, w = shape[:2]
    if w * 3 >= h * 4:
        ph = -(-w * 3 // 4)
        return 0, (ph - h) // 2, w, ph
    pw = -(-h * 4 // 3)
    return (pw - w) // 2, 0, pw, h


def box_to_target(box, shape):
    """The detector's training target (cx, cy, side) in [0, 1] of a square box (x, y, w, h) in
    frame pixels (letterboxed frames: relative to the 4:3 canvas)."""
    px, py, pw, ph = letterbox_geometry(shape)
    x, y, w, h = box
    return ((x + px + w / 2) / pw, (y + py + h / 2) / ph, h / ph)


# ---------------------------------------------------------------- voice

def voice_window_samples(n_frames, hop=HOP, frame=FRAME):
    return (n_frames - 1) * hop + frame


@lru_cache(maxsize=8)
def mel_matrix(n_mels, n_fft=FRAME, rate=RATE, fmin=20.0, fmax=None):
    """(n_mels, n_fft // 2 + 1) triangular HTK-mel filterbank, float32 (a table on device)."""
    fmax = fmax or rate / 2

    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    mels = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    bins = np.arange(n_fft // 2 + 1) * rate / n_fft
    fb = np.zeros((n_mels, bins.size), np.float32)
    for m in range(n_mels):
        lo, c, hi = hz[m], hz[m + 1], hz[m + 2]
        up = (bins - lo) / max(c - lo, 1e-9)
        down = (hi - bins) / max(hi - c, 1e-9)
        fb[m] = np.clip(np.minimum(up, down), 0, None)
    return fb


@lru_cache(maxsize=2)
def hann(n=FRAME):
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)


def voice_window(wav, n_frames, hop=HOP, frame=FRAME, centre=None):
    """int16 window of (n_frames - 1) * hop + frame samples centred on ``centre`` (step 1)."""
    from eyeauth.models.vad import energy_centre

    wav = np.asarray(wav, np.int16).reshape(-1)
    n = voice_window_samples(n_frames, hop, frame)
    c = energy_centre(wav) if centre is None else int(centre)
    start = c - n // 2
    out = np.zeros(n, np.int16)
    a, b = max(start, 0), min(start + n, wav.size)
    if b > a:
        out[a - start:b - start] = wav[a:b]
    return out


def logmel_db(window, n_frames, n_mels, hop=HOP, frame=FRAME):
    """Relative log-mel patch in dB, (n_frames, n_mels) float32, max 0, clipped at -80."""
    x = np.asarray(window, np.float32) / 32768.0
    y = np.empty_like(x)
    y[0] = x[0]
    y[1:] = x[1:] - 0.97 * x[:-1]
    idx = np.arange(n_frames)[:, None] * hop + np.arange(frame)[None, :]
    frames = np.zeros((n_frames, frame), np.float32)
    valid = idx < y.size
    frames[valid] = y[idx[valid]]
    spec = np.abs(np.fft.rfft(frames * hann(frame), n=frame)) ** 2
    mel = spec.astype(np.float32) @ mel_matrix(n_mels, frame).T
    db = 10.0 * np.log10(mel + 1e-10)
    return np.clip(db - db.max(), -DB_RANGE, 0.0).astype(np.float32)


def voice_input(wav, n_frames, n_mels, centre=None):
    """int8 (n_frames, n_mels) voice tensor from 8 kHz int16 audio (steps 1-7)."""
    win = voice_window(wav, n_frames, centre=centre)
    rel = logmel_db(win, n_frames, n_mels)
    q = np.round(rel * (255.0 / DB_RANGE)) + 127
    return np.clip(q, -128, 127).astype(np.int8)


def to_float(q):
    """The float the Keras model sees for an int8 input tensor: q / 128."""
    return np.asarray(q, np.float32) * INPUT_SCALE
