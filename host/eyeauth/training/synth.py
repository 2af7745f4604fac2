"""Synthetic camera frames for the face detector: a face photo placed into a textured scene.

``scene_frame`` pastes a face image (an ORL-like portrait) at a random position and scale into a
grey 240x320 (QVGA) frame built from random textures, gradients and clutter, with a hard or a
soft elliptical edge, and returns the frame and the face box (the canonical box of the portrait,
``preprocess.default_face_box``, mapped into the frame). ``portrait_frame`` returns the portrait
itself, jittered, as the detector sees an uncropped photo that is mostly face.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from eyeauth.models.preprocess import default_face_box

QVGA = (240, 320)


def _smooth_noise(rng, h, w):
    gh, gw = int(rng.integers(2, 24)), int(rng.integers(2, 32))
    small = rng.uniform(0, 255, (gh, gw)).astype(np.uint8)
    return np.asarray(Image.fromarray(small).resize((w, h), Image.BILINEAR), np.float32)


def _stripes(rng, h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, np.pi)
    period = rng.uniform(4, 80)
    v = np.sin((xx * np.cos(ang) + yy * np.sin(ang)) * 2 * np.pi / period)
    if rng.random() < 0.5:
        v = np.sign(v)
    return 128 + v * rng.uniform(20, 110)


def _gradient(rng, h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a, b = rng.uniform(-1, 1, 2)
    g = a * xx / w + b * yy / h
    return rng.uniform(40, 200) + g * rng.uniform(20, 120)


def _clutter(rng, h, w, base):
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(0, 14))):
        x0, y0 = rng.integers(-w // 4, w), rng.integers(-h // 4, h)
        x1, y1 = x0 + rng.integers(5, w // 2), y0 + rng.integers(5, h // 2)
        fill = int(rng.integers(0, 256))
        if rng.random() < 0.5:
            draw.rectangle([int(x0), int(y0), int(x1), int(y1)], fill=fill)
        else:
            draw.ellipse([int(x0), int(y0), int(x1), int(y1)], fill=fill)
    return np.asarray(img, np.float32)


def background(rng, shape=QVGA):
    h, w = shape
    parts = [_smooth_noise, _stripes, _gradient]
    bg = np.zeros((h, w), np.float32)
    weights = rng.dirichlet(np.ones(len(parts)))
    for wgt, fn in zip(weights, parts):
        bg += wgt * fn(rng, h, w)
    if rng.random() < 0.7:
        bg = _clutter(rng, h, w, bg)
    if rng.random() < 0.3:
        bg = np.asarray(Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))
                        .filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 3))), np.float32)
    return bg


def photometric(img, rng, strength=1.0):
    """Random gain/offset/gamma/noise on a float or uint8 image -> float32 in [0, 255]."""
    x = np.asarray(img, np.float32) / 255.0
    x = np.clip(x, 0, 1) ** rng.uniform(1 - 0.35 * strength, 1 + 0.5 * strength)
    x = x * rng.uniform(1 - 0.4 * strength, 1 + 0.4 * strength) + rng.uniform(-0.15, 0.15) * strength
    x = x * 255.0 + rng.normal(0, rng.uniform(0, 8) * strength, x.shape)
    return np.clip(x, 0, 255).astype(np.float32)


def scene_frame(face, rng, shape=QVGA, min_frac=0.25, max_frac=0.95):
    """(frame uint8 (H, W), box (x, y, w, h)) with ``face`` placed at random."""
    h, w = shape
    fh, fw = face.shape
    bx, by, bs, _ = default_face_box(face.shape)
    side = rng.uniform(min_frac, max_frac) * h
    f = side / bs
    nw, nh = max(2, int(round(fw * f))), max(2, int(round(fh * f)))
    box_x = rng.uniform(0, w - side)
    box_y = rng.uniform(0, h - side)
    px, py = int(round(box_x - bx * f)), int(round(box_y - by * f))
    face_img = photometric(face, rng, 0.6)
    pasted = np.asarray(Image.fromarray(face_img.astype(np.uint8)).resize((nw, nh), Image.BILINEAR),
                        np.float32)
    frame = background(rng, shape)
    mask = np.ones((nh, nw), np.float32)
    if rng.random() < 0.5:  # soft ellipse around the head instead of the whole photo
        yy, xx = np.mgrid[0:nh, 0:nw].astype(np.float32)
        cx, cy = (bx + bs / 2) * f, (by + bs / 2) * f
        rx, ry = rng.uniform(0.5, 0.65) * side, rng.uniform(0.6, 0.75) * side
        d = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
        mask = np.clip((1.25 - d) / 0.5, 0, 1)
    y0, x0 = max(py, 0), max(px, 0)
    y1, x1 = min(py + nh, h), min(px + nw, w)
    if y1 > y0 and x1 > x0:
        m = mask[y0 - py:y1 - py, x0 - px:x1 - px]
        src = pasted[y0 - py:y1 - py, x0 - px:x1 - px]
        frame[y0:y1, x0:x1] = frame[y0:y1, x0:x1] * (1 - m) + src * m
    frame = photometric(frame, rng, 0.5)
    box = (int(round(box_x)), int(round(box_y)), int(round(side)), int(round(side)))
    return frame.astype(np.uint8), box


def portrait_frame(face, rng, jitter=0.08):
    """The portrait itself, photometrically changed and randomly cropped by up to ``jitter``
    of its size on each side; returns (image, canonical box in the cropped image)."""
    fh, fw = face.shape
    l, t = (int(rng.integers(0, int(jitter * fw) + 1)), int(rng.integers(0, int(jitter * fh) + 1)))
    r, b = (int(rng.integers(0, int(jitter * fw) + 1)), int(rng.integers(0, int(jitter * fh) + 1)))
    img = photometric(face, rng, 0.8)[t:fh - b, l:fw - r].astype(np.uint8)
    bx, by, bs, _ = default_face_box(face.shape)
    return img, (bx - l, by - t, bs, bs)


def iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


# ---------------------------------------------------------------- camera-like frames of photos

def camera_photometric(img, rng, strength=1.0):
    """What a cheap camera and real light do to a grey image -> float32 in [0, 255]: gamma,
    contrast and brightness, light from one side (a linear ramp), defocus blur, sensor noise
    and JPEG compression, each at random."""
    x = np.asarray(img, np.float32) / 255.0
    h, w = x.shape
    x = np.clip(x, 0, 1) ** rng.uniform(1 - 0.4 * strength, 1 + 0.7 * strength)
    m = x.mean()
    x = (x - m) * rng.uniform(1 - 0.5 * strength, 1 + 0.3 * strength) + m
    x = x * rng.uniform(1 - 0.4 * strength, 1 + 0.3 * strength) + rng.uniform(-0.12, 0.12) * strength
    if rng.random() < 0.5 * strength:  # one-sided light
        ang = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = ((xx / w - 0.5) * np.cos(ang) + (yy / h - 0.5) * np.sin(ang)) + 0.5
        x = x * (1 - rng.uniform(0.2, 0.7) * np.clip(t, 0, 1))
    x = np.clip(x, 0, 1) * 255.0
    img = Image.fromarray(x.astype(np.uint8))
    if rng.random() < 0.3 * strength:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.6)))
    x = np.asarray(img, np.float32)
    if rng.random() < 0.7:
        x = x + rng.normal(0, rng.uniform(1, 6) * strength, x.shape)
    x = np.clip(x, 0, 255)
    if rng.random() < 0.4 * strength:
        import io

        buf = io.BytesIO()
        Image.fromarray(x.astype(np.uint8)).save(buf, "JPEG", quality=int(rng.integers(25, 90)))
        buf.seek(0)
        x = np.asarray(Image.open(buf), np.float32)
    return x.astype(np.float32)


def photo_frame(photo, box, rng, shape=QVGA, min_frac=0.2, max_frac=0.8):
    """A QVGA frame with a whole photo (its own background kept) pasted at a random position and
    scale, the face box (x, y, side) of the photo becoming ``frac`` of the frame height.

    Returns (frame uint8, face box (x, y, w, h) in the frame, (f, px, py): frame = f * photo +
    (px, py))."""
    h, w = shape
    ph, pw = photo.shape
    bx, by, bs = box
    side = rng.uniform(min_frac, max_frac) * h
    f = side / bs
    fx = rng.uniform(0, max(w - side, 1))
    fy = rng.uniform(0, max(h - side, 1))
    px, py = fx - bx * f, fy - by * f
    nw, nh = max(2, int(round(pw * f))), max(2, int(round(ph * f)))
    pasted = np.asarray(Image.fromarray(np.asarray(photo, np.uint8)).resize((nw, nh), Image.BILINEAR),
                        np.float32)
    frame = background(rng, shape)
    mask = np.ones((nh, nw), np.float32)
    if rng.random() < 0.3:  # a cut-out head on another background
        yy, xx = np.mgrid[0:nh, 0:nw].astype(np.float32)
        cx, cy = (bx + bs / 2) * f, (by + bs / 2) * f
        rx, ry = rng.uniform(0.65, 0.9) * side, rng.uniform(0.8, 1.1) * side
        d = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
        mask = np.clip((1.25 - d) / 0.5, 0, 1)
    ipx, ipy = int(round(px)), int(round(py))
    y0, x0 = max(ipy, 0), max(ipx, 0)
    y1, x1 = min(ipy + nh, h), min(ipx + nw, w)
    if y1 > y0 and x1 > x0:
        m = mask[y0 - ipy:y1 - ipy, x0 - ipx:x1 - ipx]
        src = pasted[y0 - ipy:y1 - ipy, x0 - ipx:x1 - ipx]
        frame[y0:y1, x0:x1] = frame[y0:y1, x0:x1] * (1 - m) + src * m
    frame = camera_photometric(frame, rng, 0.8)
    fbox = (int(round(fx)), int(round(fy)), int(round(side)), int(round(side)))
    return frame.astype(np.uint8), fbox, (f, float(ipx), float(ipy))


def negative_frame(rng, shape=QVGA):
    """A frame with no face: textured clutter, sensor noise, a flat or gradient field, blocks,
    stripes or a checkerboard, photometrically varied (what must never open the door)."""
    h, w = shape
    kind = int(rng.integers(0, 7))
    if kind == 0:
        x = background(rng, shape)
    elif kind == 1:
        x = rng.uniform(0, 255, shape) if rng.random() < 0.5 else rng.normal(128, rng.uniform(10, 80), shape)
    elif kind == 2:
        x = np.full(shape, rng.uniform(0, 255), np.float32)
    elif kind == 3:
        x = _gradient(rng, h, w)
    elif kind == 4:
        b = int(rng.integers(4, 40))
        small = rng.uniform(0, 255, (-(-h // b), -(-w // b)))
        x = np.kron(small, np.ones((b, b)))[:h, :w]
    elif kind == 5:
        x = _stripes(rng, h, w)
    else:
        b = int(rng.integers(6, 60))
        yy, xx = np.mgrid[0:h, 0:w]
        x = (((yy // b) + (xx // b)) % 2) * rng.uniform(60, 255) + rng.uniform(0, 60)
    return camera_photometric(np.clip(x, 0, 255), rng, 0.6).astype(np.uint8)
