"""The one scoring rule, the board's, and the error rates every evaluation reports.

Device scoring (firmware/eyeauth_fw/pipeline.py), re-implemented here in numpy:

* enrolment stores each unit embedding as int8: ``quantize_unit(v) = clip(round(127 v), +-127)``
  (round half to even, as MicroPython's and numpy's ``round``);
* ``score(v, samples)`` = cosine of the probe's unit vector ``v`` (float, not quantized) with the
  normalised SUM of the user's int8 samples (a sum of zero scores 0);
* a modality's margin = score - threshold[model]; the board accepts on margin >= 0.

tests/evaluation/test_scoring.py checks these against the firmware functions run in the real
MicroPython VM. Every evaluation of the host (cross-dataset tables, ``--data`` folders, the
thresholds, identification, fusion, liveness, routers, the cards, the explorer's scores) scores
through :func:`device_trials` (or :func:`trials`, its form for labelled embeddings).
"""
import numpy as np

from eyeauth.errors import DataError


def _scores(genuine, impostor):
    g = np.asarray(genuine, np.float64).reshape(-1)
    i = np.asarray(impostor, np.float64).reshape(-1)
    if g.size == 0 or i.size == 0:
        raise DataError("need at least one genuine and one impostor trial; give more identities "
                        "or more files per identity")
    return g, i


# ------------------------------------------------------------------ the board's scoring

def quantize_unit(v):
    """int8 vector(s) the board stores for unit embedding(s) ``v`` (pipeline.quantize_unit)."""
    q = np.round(np.asarray(v, np.float64) * 127.0)
    return np.clip(q, -127, 127).astype(np.int8)


def template(samples):
    """The normalised sum of a user's int8 samples (what pipeline.score compares with)."""
    acc = np.asarray(samples, np.int64).reshape(len(samples), -1).sum(axis=0).astype(np.float64)
    n = float(np.sqrt(np.sum(acc * acc))) or 1.0
    return acc / n


def score(v, samples):
    """pipeline.score: cosine of unit vector ``v`` with the normalised sum of int8 ``samples``."""
    return float(np.dot(np.asarray(v, np.float64).reshape(-1), template(samples)))


def score_matrix(probes, templates):
    """(P, T) scores of unit probe vectors against templates (rows from :func:`template`)."""
    return np.asarray(probes, np.float64) @ np.asarray(templates, np.float64).T


def enrol_split(files, enrol):
    """The one "enrol first, score the rest" split: ({identity: (first ``enrol`` files, the
    rest)}, skipped identities). Identities with <= ``enrol`` files cannot enrol and probe: they
    are skipped and counted, never fatal (every evaluator)."""
    keep, skipped = {}, []
    for ident, ps in files.items():
        if len(ps) <= enrol:
            skipped.append(ident)
        else:
            keep[ident] = (list(ps[:enrol]), list(ps[enrol:]))
    return keep, skipped


def device_trials(emb_of, split, refused=None):
    """Genuine and impostor scores with the board's scoring.

    ``emb_of(items)`` -> (N, D) unit embeddings; ``split`` from :func:`enrol_split`;
    ``refused(items)`` -> bool per probe the board refuses before scoring (no face, no speech):
    such a probe scores -1 against every template (a reject, counted in FRR; never an accept).
    Returns (genuine, impostor, templates (T, D), probe embeddings (P, D), probe labels)."""
    idents = list(split)
    templates = np.stack([template(quantize_unit(emb_of(split[i][0]))) for i in idents])
    probes, labels, gone = [], [], []
    for k, i in enumerate(idents):
        e = emb_of(split[i][1])
        probes.append(e)
        labels.extend([k] * len(e))
        gone.append(refused(split[i][1]) if refused else np.zeros(len(e), bool))
    probes = np.concatenate(probes)
    labels = np.asarray(labels)
    s = score_matrix(probes, templates)
    s[np.concatenate(gone)] = -1.0
    same = labels[:, None] == np.arange(len(idents))[None, :]
    return s[same], s[~same], templates, probes, labels


def trials(embeddings, labels, enrol, refused=None):
    """(genuine, impostor) device-scored trials of labelled embeddings (natural order): the first
    ``enrol`` of each label enrol, every other one probes every template. ``refused``: a bool
    per embedding the board refuses before scoring. DataError when a label cannot enrol."""
    emb = np.asarray(embeddings, np.float64)
    labels = np.asarray(labels)
    ids = list(dict.fromkeys(labels.tolist()))
    split, short = enrol_split({i: np.flatnonzero(labels == i).tolist() for i in ids}, enrol)
    if short:
        n = int(np.sum(labels == short[0]))
        raise DataError(f"identity {short[0]!r} has {n} files; need more than {enrol} "
                        "(enrolment) to score it")
    gone = None if refused is None else np.asarray(refused, bool)
    g, imp, *_ = device_trials(lambda idx: emb[idx], split,
                               None if gone is None else (lambda idx: gone[idx]))
    return g, imp


# ------------------------------------------------------------------ error rates

def rates(genuine, impostor):
    """(thresholds, far, frr): accept when score >= threshold."""
    g, i = _scores(genuine, impostor)
    thr = np.unique(np.concatenate([g, i, [np.inf]]))
    gs, is_ = np.sort(g), np.sort(i)
    frr = np.searchsorted(gs, thr, side="left") / g.size
    far = 1.0 - np.searchsorted(is_, thr, side="left") / i.size
    return thr, far, frr


def eer(genuine, impostor):
    """Equal error rate in [0, 1] (linear interpolation where FAR and FRR cross)."""
    _, far, frr = rates(genuine, impostor)
    d = far - frr  # decreasing from ~1 to <= 0
    k = int(np.argmax(d <= 0))
    if k == 0:
        return float((far[0] + frr[0]) / 2)
    d0, d1 = d[k - 1], d[k]
    t = d0 / (d0 - d1) if d0 != d1 else 0.0
    return float(far[k - 1] + t * (far[k] - far[k - 1]))


def frr_at_far(genuine, impostor, far_target=0.01):
    """Smallest FRR over thresholds whose FAR <= far_target."""
    _, far, frr = rates(genuine, impostor)
    ok = far <= far_target
    return float(frr[ok].min()) if ok.any() else 1.0


def at_threshold(genuine, impostor, threshold):
    """(FAR, FRR) at an operating threshold (accept when score >= threshold)."""
    g, i = _scores(genuine, impostor)
    return float(np.mean(i >= threshold)), float(np.mean(g < threshold))


def eer_threshold(genuine, impostor):
    """(eer, threshold): the EER of :func:`eer` and the score threshold where FAR and FRR cross
    (interpolated between the two sweep thresholds around the crossing)."""
    value = eer(genuine, impostor)
    thr, far, frr = rates(genuine, impostor)
    d = far - frr
    k = int(np.argmax(d <= 0))
    if k == 0:
        t = float(thr[0])
    else:
        lo, hi = float(thr[k - 1]), float(thr[k])
        if not np.isfinite(hi):  # every finite threshold still has FAR > FRR
            hi = lo + 1e-6
        d0, d1 = d[k - 1], d[k]
        f = d0 / (d0 - d1) if d0 != d1 else 0.0
        t = lo + f * (hi - lo)
    return value, t


def far_threshold(impostor, far_target):
    """The lowest threshold whose FAR (share of impostor scores >= threshold) is <= far_target."""
    imp = np.sort(np.asarray(impostor, np.float64))
    k = int(np.floor(far_target * imp.size))  # impostors allowed at or above the threshold
    if k >= imp.size:
        return float(imp[0])
    return float(np.nextafter(imp[imp.size - 1 - k], np.inf))


def summary(genuine, impostor):
    return {"eer": eer(genuine, impostor), "frr_at_far_1pct": frr_at_far(genuine, impostor, 0.01),
            "genuine_trials": int(np.size(genuine)), "impostor_trials": int(np.size(impostor))}
