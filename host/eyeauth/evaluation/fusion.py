"""Face + voice fusion, scored with the board's own scoring and decisions (`eyeauth eval fusion`).

Protocol
--------
* Virtual persons: face identities and voice identities, each in natural order; the first k of
  each are paired (k = the smaller count, or ``persons``): person n = (n-th face, n-th voice).
* Enrolment: the first ``enrol_face`` images and ``enrol_voice`` clips of each person, stored as
  the board stores them (int8 ``quantize_unit``); the rest are probes.
* Probe trials: each person gets ``trials_per_person`` (default: the larger of its face and voice
  probe counts) face+voice probe pairs: its face probes and its voice probes are each shuffled
  (seeded) and cycled, so every probe is used and the pairing is random.
* Verification: every trial claims every enrolled person: its own (genuine) and each other one
  (impostor: a coherent other person, face and voice of the same stranger).
* Margins: score (cosine with the normalised sum of the int8 samples, ``scoring.score``) minus
  the model's operating threshold from models/thresholds.json.
* Decisions at the operating point come from the firmware's own ``fw_fusion.decide`` (the file
  firmware/eyeauth_fw/fusion.py, imported as eyeauth.fw.fusion). For the threshold sweep each policy has
  a fused score whose sign is that decision: face f; voice v; sum f + v; both min(f, v);
  cascade f if |f| >= CASCADE_MARGIN else f + v.
* Latency (modeled, ESP-EYE by default): the stages the board runs for the policy: detector +
  face model + voice model from the cards' modeled latency on the board's own chip
  (:func:`eyeauth.timing.card_latency_ms`), plus the Python stages (preprocessing, VAD,
  log-mel, matching, fusion) from :mod:`eyeauth.latency.stages`; cascade adds
  the voice stages only for the trials where face was unsure (|f| < CASCADE_MARGIN).
"""
from __future__ import annotations


import numpy as np

from eyeauth import datasets
from eyeauth.evaluation import embeddings, scoring, thresholds as T
from eyeauth.errors import DataError, ModelError, UsageError
from eyeauth.fw import fusion as fw_fusion
from eyeauth.release import read_thresholds
from eyeauth.latency import stages as costs
from eyeauth.models import zoo

FUSED = ("sum", "both", "cascade")


def fused_score(policy, f, v, margin=None):
    """The fused score of a policy (numpy arrays of face and voice margins): accept iff >= 0."""
    if margin is None:
        margin = fw_fusion.CASCADE_MARGIN
    f = np.asarray(f, np.float64)
    v = np.asarray(v, np.float64)
    if policy == "face":
        return f
    if policy == "voice":
        return v
    if policy == "sum":
        return f + v
    if policy == "both":
        return np.minimum(f, v)
    if policy == "cascade":
        return np.where(np.abs(f) >= margin, f, f + v)
    raise UsageError(f"unknown policy {policy!r}")


def device_decisions(policy, f, v):
    """(accepted bool array, voice_used bool array) from the firmware's fw_fusion.decide."""
    fus = fw_fusion
    acc = np.empty(len(f), bool)
    used = np.empty(len(f), bool)
    for n, (a, b) in enumerate(zip(np.asarray(f, float).tolist(), np.asarray(v, float).tolist())):
        ok, u = fus.decide(policy, a, b)
        acc[n], used[n] = bool(ok), "voice" in u
    return acc, used


def _card(name, modality):
    card = zoo.load_card(name)
    if card.get("modality") != modality:
        raise UsageError(f"{name} is a {card.get('modality')} model, not a {modality} model")
    return card


def _training_ids(card):
    tr = card.get("training")
    return set(tr.get("identities") or []) if isinstance(tr, dict) else set()


def _persons(faces, voices, persons=None, heldout=None):
    fids, vids = faces.identities, voices.identities
    if heldout:
        fids = [i for i in fids if i in heldout[0]]
        vids = [i for i in vids if i in heldout[1]]
    k = min(len(fids), len(vids))
    if persons:
        k = min(k, int(persons))
    if k < 2:
        raise DataError(f"need at least 2 virtual persons; have {len(fids)} face and {len(vids)} "
                        "voice identities (give folders with 2 or more identities each"
                        f"{', or drop --heldout-only' if heldout else ''})")
    return list(zip(fids[:k], vids[:k]))


def _split(files, ident, enrol, what):
    paths = files[ident]
    if len(paths) <= enrol:
        raise DataError(f"{what} identity {ident!r} has {len(paths)} files; need more than "
                        f"{enrol} (enrolment) to probe it")
    return paths[:enrol], paths[enrol:]


def latency_model(face_card, voice_card, enrol_face, enrol_voice, board="esp-eye"):
    """Modeled board milliseconds of the face path and of the voice path (dict): the one
    latency assembly (:mod:`eyeauth.latency`) over the firmware's Python stages timed in the VM
    and the networks on this board's chip."""
    from eyeauth import latency

    det = zoo.load_card(zoo.DETECTOR)
    size = face_card["input"]["shape"][1]
    t, m = voice_card["input"]["shape"][1:3]
    df, dv = face_card["output"]["shape"][-1], voice_card["output"]["shape"][-1]
    c = costs.stage_costs([size], [(t, m)], [(df, enrol_face), (dv, enrol_voice)], board=board)
    _, chip, _ = latency.board_facts(board)
    face = latency.face_path(face_card, det, c["modeled_ms"], chip, enrol_face)
    voice = latency.voice_path(voice_card, c["modeled_ms"], chip, c["python_speed_factor"], enrol_voice)
    return {"board": board, "python_speed_factor": c["python_speed_factor"],
            "face_ms": round(face["total_ms"], 2), "voice_ms": round(voice["total_ms"], 2),
            "fusion_ms": c["modeled_ms"]["fusion"], "face_stages_ms": face["stages_ms"],
            "voice_stages_ms": voice["stages_ms"], "python_vm_us": c["vm_us"]}


def evaluate(faces, voices, face_model=None, voice_model=None, enrol_face=3, enrol_voice=5,
             seed=0, trials_per_person=None, persons=None, heldout_only=False,
             thresholds_path=None, board="esp-eye"):
    """Evaluate every fusion policy on a faces folder and a voices folder (see module doc)."""
    fus = fw_fusion
    if enrol_face < 1 or enrol_voice < 1:
        raise UsageError("enrolment counts must be at least 1")
    th = read_thresholds(thresholds_path or T.default_path())
    face_model = face_model or th.default.get("face")
    voice_model = voice_model or th.default.get("voice")
    if not face_model or not voice_model:
        raise ModelError("thresholds.json names no default face or voice model (is a voice "
                         "model built?); run `eyeauth models build`, then `eyeauth eval "
                         "thresholds`, or pass --face-model/--voice-model")
    fcard, vcard = _card(face_model, "face"), _card(voice_model, "voice")
    for name in (face_model, voice_model):
        if name not in th.thresholds:
            raise ModelError(f"no operating threshold for {name} in thresholds.json; rerun "
                             "`eyeauth eval thresholds`")
    thr_f, thr_v = th.thresholds[face_model], th.thresholds[voice_model]

    fds, vds = datasets.scan(faces, "face"), datasets.scan(voices, "voice")
    heldout = None
    if heldout_only is True:
        heldout_only = "both"
    if heldout_only:
        if heldout_only not in ("both", "face", "voice"):
            raise UsageError(f"heldout_only must be both, face or voice, not {heldout_only!r}")
        det = zoo.load_card(zoo.DETECTOR)
        hf = set(T.heldout_of(fcard, "face")[0]) - _training_ids(det)
        hv = set(T.heldout_of(vcard, "voice")[0])
        heldout = (hf if heldout_only != "voice" else set(fds.identities),
                   hv if heldout_only != "face" else set(vds.identities))
    pairs = _persons(fds, vds, persons, heldout)
    k = len(pairs)

    fsplit = [_split(fds.files, f, enrol_face, "face") for f, _ in pairs]
    vsplit = [_split(vds.files, v, enrol_voice, "voice") for _, v in pairs]
    fpaths = [p for e, pr in fsplit for p in e + pr]
    vpaths = [p for e, pr in vsplit for p in e + pr]
    femb = embeddings.embed_files([fcard], fpaths, "face")[face_model]
    vemb = embeddings.embed_files([vcard], vpaths, "voice")[voice_model]
    fidx = {str(p): n for n, p in enumerate(fpaths)}
    vidx = {str(p): n for n, p in enumerate(vpaths)}

    def rows(emb, idx, paths):
        return emb[[idx[str(p)] for p in paths]]

    ftpl = np.stack([scoring.template(scoring.quantize_unit(rows(femb, fidx, e))) for e, _ in fsplit])
    vtpl = np.stack([scoring.template(scoring.quantize_unit(rows(vemb, vidx, e))) for e, _ in vsplit])

    rng = np.random.default_rng(seed)
    fprobe, vprobe, label = [], [], []
    for n in range(k):
        fp, vp = fsplit[n][1], vsplit[n][1]
        m = int(trials_per_person or max(len(fp), len(vp)))
        fo = np.resize(rng.permutation(len(fp)), m)
        vo = np.resize(rng.permutation(len(vp)), m)
        fprobe.append(rows(femb, fidx, [fp[i] for i in fo]))
        vprobe.append(rows(vemb, vidx, [vp[i] for i in vo]))
        label.extend([n] * m)
    label = np.asarray(label)
    fm = scoring.score_matrix(np.concatenate(fprobe), ftpl) - thr_f  # (trials, persons) margins
    vm = scoring.score_matrix(np.concatenate(vprobe), vtpl) - thr_v
    same = label[:, None] == np.arange(k)[None, :]
    fg, fi, vg, vi = fm[same], fm[~same], vm[same], vm[~same]

    lat = latency_model(fcard, vcard, enrol_face, enrol_voice, board)
    out = {}
    for policy in fus.POLICIES:
        sg, si = fused_score(policy, fg, vg, fus.CASCADE_MARGIN), \
            fused_score(policy, fi, vi, fus.CASCADE_MARGIN)
        acc_g, used_g = device_decisions(policy, fg, vg)
        acc_i, used_i = device_decisions(policy, fi, vi)
        if np.any(acc_g != (sg >= 0)) or np.any(acc_i != (si >= 0)):
            raise RuntimeError(f"fused score of {policy} disagrees with fw_fusion.decide; "
                               "update evaluation.fusion.fused_score to the firmware's rule")
        needs = fus.needs(policy)
        used_all = np.concatenate([used_g, used_i])
        voice_frac = float(used_all.mean()) if "voice" in needs else 0.0
        voice_frac_g = float(used_g.mean()) if "voice" in needs else 0.0
        face_ms = lat["face_ms"] if "face" in needs else 0.0
        ms = face_ms + voice_frac * lat["voice_ms"] + lat["fusion_ms"]
        ms_g = face_ms + voice_frac_g * lat["voice_ms"] + lat["fusion_ms"]
        out[policy] = {"eer": round(scoring.eer(sg, si), 4),
                       "far": round(float(acc_i.mean()), 4),
                       "frr": round(float(1.0 - acc_g.mean()), 4),
                       "frr_at_far_1pct": round(scoring.frr_at_far(sg, si, 0.01), 4),
                       "mean_latency_ms": round(ms, 1), "mean_latency_ms_genuine": round(ms_g, 1),
                       "voice_fraction": round(voice_frac, 4)}

    singles = {p: out[p]["eer"] for p in ("face", "voice")}
    best = min(FUSED, key=lambda p: (out[p]["eer"], out[p]["mean_latency_ms"]))
    warnings = []
    det_train = _training_ids(zoo.load_card(zoo.DETECTOR))
    seen_f = [f for f, _ in pairs if f in _training_ids(fcard) | det_train]
    seen_v = [v for _, v in pairs if v in _training_ids(vcard)]
    if seen_f:
        warnings.append(f"{len(seen_f)} of {k} face identities were training identities of "
                        f"{face_model} or the detector ({', '.join(seen_f[:6])}"
                        f"{' ...' if len(seen_f) > 6 else ''}): face scores are optimistic")
    if seen_v:
        warnings.append(f"{len(seen_v)} of {k} voice identities were training identities of "
                        f"{voice_model} ({', '.join(seen_v)}): voice scores are optimistic")
    n_g, n_i = int(fg.size), int(fi.size)
    return {"policies": out, "persons": k,
            "trials": {"genuine": n_g, "impostor": n_i, "per_person": n_g // k,
                       "face_probes": sum(len(s[1]) for s in fsplit),
                       "voice_probes": sum(len(s[1]) for s in vsplit), "seed": seed},
            "models": {"face": face_model, "voice": voice_model},
            "thresholds": {face_model: thr_f, voice_model: thr_v},
            "enrol": {"face": enrol_face, "voice": enrol_voice},
            "pairs": [list(p) for p in pairs],
            "cascade_margin": fus.CASCADE_MARGIN,
            "best_fused": {"policy": best, "eer": out[best]["eer"],
                           "beats_face": out[best]["eer"] < singles["face"],
                           "beats_voice": out[best]["eer"] < singles["voice"],
                           "beats_both": out[best]["eer"] < min(singles.values())},
            "latency": lat, "heldout_only": heldout_only or None,
            "data": {"faces": str(faces), "voices": str(voices)}, "warnings": warnings}
