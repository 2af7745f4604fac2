"""The board's face path on the host, networks in the real TFLM interpreter: the pooled detector
on a QVGA camera frame, then the landmark net on the region around its box. Integer arithmetic
after each network, exactly as the firmware (``eyeauth_fw/pipeline.py``, ``imgproc.py``)."""
from __future__ import annotations

import numpy as np

from eyeauth.models import align, tflm


def box_from_q(q, shape):
    """Square box (x, y, s, s) in frame pixels from the detector's three int8 sigmoid outputs
    (scale 1/256, zero point -128), integer arithmetic as on the board:
    cx = ((q0 + 128) W + 128) // 256, cy likewise with H, s = max(4, ((q2 + 128) H + 128) // 256)."""
    h, w = shape[:2]
    cx = ((int(q[0]) + 128) * w + 128) // 256
    cy = ((int(q[1]) + 128) * h + 128) // 256
    s = max(4, ((int(q[2]) + 128) * h + 128) // 256)
    return cx - s // 2, cy - s // 2, s, s


def detect(frame, det_bytes):
    """((x, y, side) face box in frame pixels, presence in [0, 1]) of the int8 detector graph
    on a QVGA camera frame (uint8 (240, 320))."""
    _, out = tflm.io_details(det_bytes)
    q = tflm.run(det_bytes, np.asarray(frame, np.uint8)[None, ..., None]).reshape(-1)
    x, y, s, _ = box_from_q(q[:3], np.asarray(frame).shape)
    pres = (int(q[3]) - out["zero_point"]) * out["scale"] if q.size > 3 else 1.0
    return (x, y, s), pres


def landmark_points(frame, box, lmk_bytes):
    """Five landmarks in 1/16 pixel (int (5, 2)) from the int8 landmark net."""
    size = tflm.io_details(lmk_bytes)[0]["shape"][1]
    q = tflm.run(lmk_bytes, align.landmark_input(frame, box, size)[None, ..., None]).reshape(-1)
    return align.points_q4(q, align.landmark_region(box))
