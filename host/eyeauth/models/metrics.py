"""Verification metrics: equal error rate and false-reject rate at a false-accept rate."""
import numpy as np

from eyeauth.errors import DataError


def _scores(genuine, impostor):
    g = np.asarray(genuine, np.float64).reshape(-1)
    i = np.asarray(impostor, np.float64).reshape(-1)
    if g.size == 0 or i.size == 0:
        raise DataError("need at least one genuine and one impostor trial; give more identities "
                        "or more files per identity")
    return g, i


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


def cosine_matrix(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return a @ b.T


def enrol_split(files, enrol):
    """The one "enrol first, score the rest" split: ({identity: (first ``enrol`` files, the
    rest)}, skipped identities). Identities with <= ``enrol`` files cannot enrol and probe: they
    are skipped and counted, never fatal (every evaluator: crosseval, thresholds, evaluate)."""
    keep, skipped = {}, []
    for ident, ps in files.items():
        if len(ps) <= enrol:
            skipped.append(ident)
        else:
            keep[ident] = (list(ps[:enrol]), list(ps[enrol:]))
    return keep, skipped


def verification_trials(embeddings, labels, enrol_per_id=3):
    """Enrol the first ``enrol_per_id`` embeddings of each identity (mean of unit vectors),
    score every other embedding against every template. Returns (genuine, impostor) scores."""
    emb = np.asarray(embeddings, np.float64)
    labels = np.asarray(labels)
    ids = list(dict.fromkeys(labels.tolist()))
    split, short = enrol_split({i: np.flatnonzero(labels == i).tolist() for i in ids}, enrol_per_id)
    if short:
        n = int(np.sum(labels == short[0]))
        raise DataError(f"identity {short[0]!r} has {n} files; need more than "
                        f"{enrol_per_id} (enrolment) to score it")
    templates, probes, probe_lab = [], [], []
    for k, ident in enumerate(ids):
        first, rest = split[ident]
        e = emb[first]
        e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        templates.append(e.mean(axis=0))
        probes.append(emb[rest])
        probe_lab.extend([k] * len(rest))
    s = cosine_matrix(np.concatenate(probes), np.array(templates))
    same = np.array(probe_lab)[:, None] == np.arange(len(ids))[None, :]
    return s[same], s[~same]


def summary(genuine, impostor):
    return {"eer": eer(genuine, impostor), "frr_at_far_1pct": frr_at_far(genuine, impostor, 0.01),
            "genuine_trials": int(np.size(genuine)), "impostor_trials": int(np.size(impostor))}
