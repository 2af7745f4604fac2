# The premodel (adaptive model selection, Marco et al. arXiv 1911.04946): a tiny integer
# classifier reads the cheap features of features.py and picks which zoo model runs on this
# input. Trained and exported by the host (`eyeauth premodel train`) into
# premodel_face.json and premodel_voice.json, shipped in /models and named by the release
# manifest ("routers", release.py).
#
# Wiring (auth.py _face_factor / _voice_factor / _routed), with t0 = time.ticks_us() first:
#   first, feats = premodel.route_face(frame, w, h, box)   (or route_voice(clip) after
#   voice_check); with the cascade policy, premodel.poor("face", feats) sends the attempt to the
#   voice factor; p._py("premodel", first, t0, {"choice": first}); run `first` if it is one of
#   the release's models of the modality (else the configured default); then, while
#   premodel.escalate(modality, model, margin, feats) names a next model, run that one too
#   (telemetry stage "escalate"). No router named by the release: (None, ()) and no escalation.
# A corrupt or mismatched file raises pipeline.PipelineError("bad_premodel", msg) (auth.py
# turns it into an AppError); the file is read once and kept (premodel.reset() forgets it).
#
# File (all numbers integers): {"format": "eyeauth-premodel", "version": 1, "modality",
#   "models": [class 0, class 1, ...], "features": [names], "index": [positions in
#   features.FACE_NAMES / VOICE_NAMES], "kind": "tree" | "knn",
#   tree: "tree": [f, t, l, r, ...] node n at 4n; f < 0: leaf of class t; else go to l when
#         feats[index[f]] <= t, to r otherwise;
#   knn:  "k", "shift", "off", "mul", "points" (n*d int8 values), "labels" (n classes):
#         q_j = clamp((x_j - off_j) * mul_j >> shift, -127, 127); squared L2 to every point;
#         the k nearest (earlier point first on equal distance) vote; ties: lower class.
#   A tree with no features (one leaf) is a constant choice: choose_face/voice then compute
#   no features at all.
#   Optional "escalate": [[from, to, feature, split, lo, hi, lo2, hi2], ...] (a confidence
#   cascade: after `from` ran, run `to` when lo <= margin < hi; the band (lo2, hi2) when
#   feature >= 0 and feats[feature] > split) and, for faces, "quality": [[feature, minimum]]
#   (a frame with feats[feature] < minimum is too poor: ask for the voice factor).
#   route_face / route_voice give (first model, features); escalate() and poor() read them.
import json
from array import array

import micropython

from eyeauth_fw import features, release
from eyeauth_fw.pipeline import PipelineError

DIR = "/models"
_FORMAT = "eyeauth-premodel"
_loaded = {}


def _bad(path, why):
    return PipelineError("bad_premodel", "%s: %s; rerun `eyeauth premodel train` and "
                         "`eyeauth deploy`" % (path, why))


def _ints(v, n, path, what):
    if not isinstance(v, list) or len(v) != n:
        raise _bad(path, "%s must be a list of %d integers" % (what, n))
    for x in v:
        if not isinstance(x, int):
            raise _bad(path, "%s must hold integers" % what)
    return v


def _parse(modality, d, path):
    if not isinstance(d, dict) or d.get("format") != _FORMAT or d.get("version") != 1:
        raise _bad(path, "not an eyeauth premodel (version 1)")
    if d.get("modality") != modality:
        raise _bad(path, "a premodel for %s, not %s" % (d.get("modality"), modality))
    names = features.FACE_NAMES if modality == "face" else features.VOICE_NAMES
    models = d.get("models")
    feats = d.get("features")
    if not isinstance(models, list) or not models or not isinstance(feats, list):
        raise _bad(path, "models must be a non-empty list, features a list")
    index = _ints(d.get("index"), len(feats), path, "index")
    for i, f in zip(index, feats):
        if not 0 <= i < len(names) or names[i] != f:
            raise _bad(path, "feature %s is not features.%s[%d] (firmware and premodel differ)"
                       % (f, "FACE_NAMES" if modality == "face" else "VOICE_NAMES", i))
    nm, nd = len(models), len(feats)
    m = {"models": models, "index": index, "kind": d.get("kind")}
    if m["kind"] == "tree":
        t = d.get("tree")
        if not isinstance(t, list) or not t or len(t) % 4:
            raise _bad(path, "tree must be a list of 4 integers per node")
        t = _ints(t, len(t), path, "tree")
        nn = len(t) // 4
        for n in range(nn):
            f, v, lo, hi = t[4 * n:4 * n + 4]
            if (f < 0 and not 0 <= v < nm) or (f >= nd) or \
                    (f >= 0 and not (n < lo < nn and n < hi < nn)):
                raise _bad(path, "tree node %d is malformed" % n)
        m["tree"] = t
    elif m["kind"] == "knn":
        k, s = d.get("k"), d.get("shift")
        labels = d.get("labels")
        if not nd or not isinstance(k, int) or not isinstance(s, int) or k < 1 or \
                not 0 <= s < 31 or not isinstance(labels, list) or not labels:
            raise _bad(path, "knn needs k >= 1, shift and labels")
        n = len(labels)
        pts = _ints(d.get("points"), n * nd, path, "points")
        for x in _ints(labels, n, path, "labels"):
            if not 0 <= x < nm:
                raise _bad(path, "a knn label is not a model index")
        for x in pts:
            if not -127 <= x <= 127:
                raise _bad(path, "knn points must be int8 values")
        m.update({"k": min(k, n), "shift": s, "off": _ints(d.get("off"), nd, path, "off"),
                  "mul": _ints(d.get("mul"), nd, path, "mul"),
                  "points": bytearray(x & 0xFF for x in pts), "labels": bytearray(labels),
                  "n": n, "q": bytearray(nd), "kd": array("i", bytes(4 * k)),
                  "kl": array("i", bytes(4 * k)), "votes": array("i", bytes(4 * nm))})
    else:
        raise _bad(path, "kind must be tree or knn")
    # the cascade: {from model: (to model, feature position or -1, split, lo, hi, lo2, hi2)}
    esc = {}
    rows = d.get("escalate") or []
    if not isinstance(rows, list):
        raise _bad(path, "escalate must be a list of rules")
    for r in rows:
        if not isinstance(r, list) or len(r) != 8:
            raise _bad(path, "an escalate rule must be [from, to, feature, split, lo, hi, lo, hi]")
        for x in r[:4]:
            if not isinstance(x, int):
                raise _bad(path, "escalate from, to, feature and split must be integers")
        for x in r[4:]:
            if not isinstance(x, (int, float)):
                raise _bad(path, "escalate bands must be numbers")
        a, b, f = r[0], r[1], r[2]
        if not (0 <= a < nm and 0 <= b < nm and a != b and -1 <= f < len(names)) or \
                r[4] > r[5] or r[6] > r[7]:
            raise _bad(path, "escalate rule %s is malformed" % r[:3])
        esc[models[a]] = (models[b], f, r[3], float(r[4]), float(r[5]), float(r[6]), float(r[7]))
    m["escalate"] = esc
    q = d.get("quality") or []
    if not isinstance(q, list):
        raise _bad(path, "quality must be a list of rules")
    for r in q:
        if not isinstance(r, list) or len(r) != 2 or not isinstance(r[0], int) or \
                not isinstance(r[1], int) or not 0 <= r[0] < len(names):
            raise _bad(path, "a quality rule must be [feature, minimum] integers")
    m["quality"] = q
    # features are computed when the chooser, a band or a quality rule reads them
    m["feats"] = bool(index) or bool(q) or any(e[1] >= 0 for e in esc.values())
    return m


def load(modality):
    # -> the parsed premodel, or None when the release names none (cached either way).
    if modality in _loaded:
        return _loaded[modality]
    name = ((release.get() or {}).get("routers") or {}).get(modality)
    if name is None:
        _loaded[modality] = None
        return None
    path = "%s/%s" % (DIR, name)
    try:
        f = open(path)
    except OSError:
        raise _bad(path, "missing (the release manifest names it)")
    try:
        d = json.load(f)
    except (ValueError, MemoryError) as e:
        raise _bad(path, "corrupt JSON (%s)" % e)
    finally:
        f.close()
    m = _parse(modality, d, path)
    _loaded[modality] = m
    return m


def reset():
    _loaded.clear()


def _tree(t, index, feats):
    n = 0
    while True:
        f = t[4 * n]
        if f < 0:
            return t[4 * n + 1]
        n = t[4 * n + 2] if feats[index[f]] <= t[4 * n + 1] else t[4 * n + 3]


@micropython.viper
def _knn(q: ptr8, d: int, pts: ptr8, lab: ptr8, n: int, k: int, kd: ptr32, kl: ptr32,
         votes: ptr32, nm: int) -> int:
    # squared L2 of int8 vectors: <= d * 254 * 254 (d <= 16: < 2**21)
    filled = 0
    p = 0
    while p < n:
        s = 0
        j = 0
        while j < d:
            a = int(q[j])
            if a > 127:
                a -= 256
            b = int(pts[p * d + j])
            if b > 127:
                b -= 256
            s += (a - b) * (a - b)
            j += 1
        if filled < k or s < int(kd[filled - 1]):
            i = filled if filled < k else k - 1
            while i > 0 and int(kd[i - 1]) > s:
                kd[i] = kd[i - 1]
                kl[i] = kl[i - 1]
                i -= 1
            kd[i] = s
            kl[i] = int(lab[p])
            if filled < k:
                filled += 1
        p += 1
    c = 0
    while c < nm:
        votes[c] = 0
        c += 1
    i = 0
    while i < filled:
        votes[kl[i]] = votes[kl[i]] + 1
        i += 1
    best = 0
    c = 1
    while c < nm:
        if int(votes[c]) > int(votes[best]):
            best = c
        c += 1
    return best


def _knn_choose(m, feats):
    q = m["q"]
    s = m["shift"]
    index, off, mul = m["index"], m["off"], m["mul"]
    for j in range(len(index)):
        v = (feats[index[j]] - off[j]) * mul[j] >> s
        q[j] = (127 if v > 127 else -127 if v < -127 else v) & 0xFF
    return _knn(q, len(q), m["points"], m["labels"], m["n"], m["k"], m["kd"], m["kl"],
                m["votes"], len(m["models"]))


def choose(modality, feats):
    # -> model name chosen for these features, or None when no premodel is deployed.
    m = load(modality)
    if m is None:
        return None
    if m["kind"] == "tree":
        return m["models"][_tree(m["tree"], m["index"], feats)]
    return m["models"][_knn_choose(m, feats)]


def choose_face(frame, w, h, box):
    return route_face(frame, w, h, box)[0]


def choose_voice(clip):
    return route_voice(clip)[0]


def route_face(frame, w, h, box):
    # -> (first model or None, features or ()) for one frame: what the router needs later
    # (escalate, poor) is computed here once.
    m = load("face")
    if m is None:
        return None, ()
    f = features.face_features(frame, w, h, box) if m["feats"] else ()
    return choose("face", f), f


def route_voice(clip):
    m = load("voice")
    if m is None:
        return None, ()
    f = features.voice_features(clip) if m["feats"] else ()
    return choose("voice", f), f


def escalate(modality, model, margin, feats):
    # -> the model to run next when `model`'s margin (score - threshold) is in its unsure band,
    # else None (the margin decides).
    m = load(modality)
    if m is None:
        return None
    e = m["escalate"].get(model)
    if e is None:
        return None
    if e[1] < 0 or feats[e[1]] <= e[2]:
        lo, hi = e[3], e[4]
    else:
        lo, hi = e[5], e[6]
    return e[0] if lo <= margin < hi else None


def poor(modality, feats):
    # True when a quality rule says the frame is too poor for a face model (then the board
    # asks for the voice factor, as for a frame without a face).
    m = load(modality)
    if m is None or not feats:
        return False
    for f, lo in m["quality"]:
        if feats[f] < lo:
            return True
    return False
