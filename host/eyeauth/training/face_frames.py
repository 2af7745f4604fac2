"""Camera framings of training photos for the face path (detector, landmark net, embedders):
each photo framed as the board's QVGA camera would see it, with its five landmarks mapped into
the frame, and a process pool over photos."""
from __future__ import annotations

import os

import numpy as np

from eyeauth.models import face_data as FD
from eyeauth.models.progress import Steps, note
from eyeauth.training import synth


def landmarked_photos(data_dir=None, sources=("lfw", "lfw_more", "utkface")):
    """Training photos YuNet finds a face in: dict paths, identities (None: no identity),
    sources, points (n, 5, 2), sface (n, 128) teacher embeddings, skipped (count)."""
    from eyeauth.models import face_teacher

    rows = FD.training_files(data_dir, sources)
    paths = [r[0] for r in rows]
    sf = face_teacher.sface_table(paths, label="SFace teacher (training photos)")
    keep = np.flatnonzero(sf["found"])
    out = {"paths": [paths[k] for k in keep], "identities": [rows[k][1] for k in keep],
           "sources": [rows[k][2] for k in keep], "points": sf["pts"][keep],
           "sface": sf["emb"][keep], "skipped": int(len(paths) - keep.size)}
    note(f"face training photos: {keep.size} of {len(paths)} with a face YuNet finds "
         f"({out['skipped']} left out)")
    return out


def camera_view(photo, points, rng, min_frac=0.25, max_frac=0.8):
    """The photo framed as a camera would (a 4:3 window around the face, the face box 25-80 %
    of its height, resized to QVGA; where the photo ends, a cluttered room goes on), camera
    photometrics: (frame uint8 (240, 320), points in the frame)."""
    from PIL import Image

    bx, by, bs = FD.points_box(points)
    wh = bs / rng.uniform(min_frac, max_frac)
    ww = wh * 4 / 3
    x0 = bx + bs / 2 - ww * rng.uniform(0.3, 0.7)
    y0 = by + bs / 2 - wh * rng.uniform(0.3, 0.7)
    f = FD.QVGA[0] / wh
    # frame pixel centre u <- photo x0 + u / f (PIL's affine works on pixel edges)
    data = (1 / f, 0, x0 + 0.5 - 0.5 / f, 0, 1 / f, y0 + 0.5 - 0.5 / f)
    size = (FD.QVGA[1], FD.QVGA[0])
    img = Image.fromarray(np.asarray(photo, np.uint8)).transform(size, Image.AFFINE, data,
                                                                 resample=Image.BILINEAR)
    cover = Image.fromarray(np.full(np.shape(photo), 255, np.uint8)).transform(
        size, Image.AFFINE, data, resample=Image.BILINEAR)
    m = np.asarray(cover, np.float32) / 255.0
    x = np.asarray(img, np.float32) * m + synth.background(rng, FD.QVGA) * (1 - m)
    frame = synth.camera_photometric(x, rng, 0.8).astype(np.uint8)
    pts = (np.asarray(points, np.float64).reshape(-1, 2) - (x0, y0)) * f
    return frame, pts


def scene_view(photo, points, rng):
    """The whole photo pasted into a cluttered QVGA scene (synth.photo_frame, face 20-80 % of
    the height): (frame, points in the frame)."""
    ph, pw = np.asarray(photo).shape
    frame, _, (f, px, py) = synth.photo_frame(photo, FD.points_box(points), rng)
    # PIL's resize to (round(pw f), round(ph f)) maps pixel centres: u = (x + 0.5) sx - 0.5
    sx, sy = max(2, int(round(pw * f))) / pw, max(2, int(round(ph * f))) / ph
    p = np.asarray(points, np.float64).reshape(-1, 2)
    return frame, np.stack([(p[:, 0] + 0.5) * sx - 0.5 + px, (p[:, 1] + 0.5) * sy - 0.5 + py], 1)


def framing(photo, points, rng, scene_frac=0.4):
    """One camera frame of a training photo: a camera view, or (``scene_frac``) a scene."""
    if rng.random() < scene_frac:
        return scene_view(photo, points, rng)
    return camera_view(photo, points, rng)


def eval_frames(paths, points, seed):
    """Each photo as the camera gives it (``camera_frame``) and pasted into a QVGA scene:
    [(frame, points in the frame)] (the detector's and landmark net's evaluation frames)."""
    from eyeauth import datasets

    rng = np.random.default_rng(seed)
    out = []
    for p, pts in zip(paths, points):
        photo = datasets.load_image(p)
        out.append((FD.camera_frame(photo), FD.camera_points(pts, photo.shape)))
        out.append(scene_view(photo, pts, rng))
    return out


_JOB = None


def pmap(fn, n, label, workers=None, every=10):
    """[fn(i) for i in range(n)] in forked workers (fn and its data reach them through fork)."""
    global _JOB
    _JOB = fn
    workers = workers or min(2, os.cpu_count() or 1)
    out = [None] * n
    with Steps(label, n, every=every) as st:
        if workers > 1:
            import multiprocessing as mp

            with mp.get_context("fork").Pool(workers) as pool:
                for i, r in enumerate(pool.imap(_call, range(n), chunksize=16)):
                    out[i] = r
                    st.tick()
        else:
            for i in range(n):
                out[i] = fn(i)
                st.tick()
    return out


def _call(i):
    return _JOB(i)
