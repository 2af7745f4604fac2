"""The board's camera as the host models it: a QVGA (320 x 240) grey frame. A photo of any size
becomes the frame the board's camera would give for it (letterboxed to 4:3 with grey 128, then
resized), and points of the photo move with it. The board client (auth/), the virtual board's
sensors and the model build all frame photos here, so a photo is the same frame everywhere."""
from __future__ import annotations

import numpy as np

#: the camera frame (height, width)
QVGA = (240, 320)


def as_grey(image):
    """uint8 2-D grey of a grey or RGB(A) image (integer luma 77/150/29 >> 8)."""
    img = np.asarray(image)
    if img.ndim == 3:
        img = img[..., :3].astype(np.int32) @ np.array([77, 150, 29]) >> 8  # integer luma
    if img.ndim != 2 or img.size == 0:
        raise ValueError(f"expected a 2-D grey image, got shape {np.shape(image)}")
    return img.astype(np.uint8)


def letterbox_geometry(shape):
    """(pad_x, pad_y, padded_w, padded_h) making a frame of ``shape`` 4:3."""
    h, w = shape[:2]
    if w * 3 >= h * 4:
        ph = -(-w * 3 // 4)
        return 0, (ph - h) // 2, w, ph
    pw = -(-h * 4 // 3)
    return (pw - w) // 2, 0, pw, h


def camera_frame(image):
    """uint8 (240, 320): what the board's QVGA camera gives for a photo (letterbox to 4:3 with
    grey 128, bilinear resize to 320x240; a 320x240 grey frame passes unchanged)."""
    from PIL import Image

    img = as_grey(image)
    if img.shape == QVGA:
        return img
    px, py, pw, ph = letterbox_geometry(img.shape)
    if (pw, ph) != (img.shape[1], img.shape[0]):
        canvas = np.full((ph, pw), 128, np.uint8)
        canvas[py:py + img.shape[0], px:px + img.shape[1]] = img
        img = canvas
    return np.asarray(Image.fromarray(img).resize((QVGA[1], QVGA[0]), Image.BILINEAR), np.uint8)


def camera_points(points, shape):
    """Map points (pixels of an image of ``shape``) into its camera frame's pixels."""
    px, py, pw, ph = letterbox_geometry(shape)
    p = np.asarray(points, np.float64).reshape(-1, 2)
    # PIL's resize maps pixel centres: x' = (x + 0.5) * W' / W - 0.5
    sx, sy = QVGA[1] / pw, QVGA[0] / ph
    return np.stack([(p[:, 0] + px + 0.5) * sx - 0.5, (p[:, 1] + py + 0.5) * sy - 0.5], 1)
