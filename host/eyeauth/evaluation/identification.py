"""Identification without a claimed user, over N enrolled people (issue 14, item 11).

An `auth` without `user` compares the probe with every template and takes the best. With the
1:1 threshold each comparison lets an impostor in with probability ~FAR, so over N templates
the attempt's FAR grows to about N x FAR. The board therefore uses, per comparison, the score an
impostor exceeds with probability far_target / N:

    thr_N = max(thr_1:1, mu + sd * z(far_target / N))

a normal law matched to the upper tail of the model's calibration impostor scores (the trials
`eyeauth eval thresholds` fits its 1:1 threshold on; mu and sd put the 95 % and 99.5 % quantiles
where the scores have them; on every model this is at or above the empirical quantiles down to
1e-3, i.e. on the safe side), z the standard normal upper quantile (Abramowitz and Stegun,
Handbook of Mathematical Functions, 26.2.23: error < 4.5e-4). ``build`` writes the fit to
``models/identification.json`` (``eyeauth eval identification``); deploy ships ``{"tail": ...}``
to ``/models/identification.json`` and firmware/eyeauth_fw/auth.py:ident_threshold computes the
same thr_N for the number of templates it holds. ``far_vs_n`` measures what it buys, and what it
costs, on people no model trained or calibrated on: LFW evaluation identities, real embeddings,
device scoring.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from eyeauth.evaluation import embeddings, scoring, thresholds
from eyeauth.errors import DataError, ModelError
from eyeauth.models import zoo
from eyeauth.models.progress import note

COMMAND = "eyeauth eval identification"
Q_LO, Q_HI = 0.05, 0.005  # the two impostor tail quantiles the normal law goes through


def z_upper(p: float) -> float:
    """The standard normal quantile exceeded with probability p (0 < p <= 0.5): Abramowitz and
    Stegun 26.2.23, as the board computes it (auth._z_upper)."""
    t = math.sqrt(-2.0 * math.log(p))
    return t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t)


def tail_fit(impostor) -> dict:
    """mu, sd of the normal law whose 95 % and 99.5 % quantiles are the impostor scores'."""
    s = np.asarray(impostor, np.float64)
    s = s[s > -1.0]  # refused probes (no face) score -1: never an accept, not part of the tail
    if s.size < 200:
        raise DataError(f"{s.size} impostor scores are too few to fit a tail (need 200)")
    a, b = np.quantile(s, 1.0 - Q_LO), np.quantile(s, 1.0 - Q_HI)
    sd = float((b - a) / (z_upper(Q_HI) - z_upper(Q_LO)))
    mu = float(a - sd * z_upper(Q_LO))
    return {"mu": round(mu, 6), "sd": round(sd, 6), "impostor_trials": int(s.size),
            "empirical": {f"{q:g}": round(float(np.quantile(s, 1.0 - q)), 4) for q in (0.01, 0.003, 0.001)}}


def threshold(tail: dict | None, far: float, n: int, thr: float) -> float:
    """thr_N as the board computes it (auth.ident_threshold)."""
    if n <= 1 or not tail:
        return thr
    return max(thr, tail["mu"] + tail["sd"] * z_upper(far / n))


def default_path() -> Path:
    return zoo.models_dir() / "identification.json"


def build(out=None, data_dir=None, write: bool = True) -> dict:
    """Fit the impostor tail of every face and voice model on its calibration trials."""
    th = thresholds.load()
    far = float(th.get("far_target") or thresholds.FAR_TARGET)
    res = {"command": COMMAND, "far_target": far, "quantiles": [1 - Q_LO, 1 - Q_HI], "tail": {}, "check": {}}
    for modality in thresholds.MODALITIES:
        for card in zoo.list_models(modality=modality):
            r = thresholds.evaluate_model(card, modality, data_dir, far_target=far)
            t = tail_fit(r["impostor"])
            name = card["name"]
            res["tail"][name] = {"mu": t["mu"], "sd": t["sd"], "far": far}
            tl = res["tail"][name]
            res["check"][name] = {"impostor_trials": t["impostor_trials"], "thr_1to1": round(r["threshold"], 4),
                                  "fit_at": {q: round(tl["mu"] + tl["sd"] * z_upper(float(q)), 4) for q in t["empirical"]},
                                  "empirical_at": t["empirical"],
                                  "thr_500": round(threshold(tl, far, 500, r["threshold"]), 4)}
            note(f"{name}: impostor tail mu {t['mu']:.4f} sd {t['sd']:.4f}; fit vs empirical at "
                 + ", ".join(f"{q}: {res['check'][name]['fit_at'][q]:.3f}/{v:.3f}" for q, v in t["empirical"].items())
                 + f"; thr N=500: {res['check'][name]['thr_500']:.4f}")
    if not res["tail"]:
        raise ModelError("no built face or voice models; run `eyeauth models build` first")
    out = Path(out) if out else default_path()
    if write:
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(res, indent=1) + "\n")
        tmp.replace(out)
    res["path"] = str(out)
    return res


def load(path=None) -> dict:
    f = Path(path) if path else default_path()
    try:
        return json.loads(f.read_text())
    except OSError:
        raise ModelError(f"{f} is missing; run `{COMMAND}`") from None


def lfw_eval_embeddings(model: str, data_dir=None):
    """Real embeddings of the LFW evaluation identities (never trained or calibrated on):
    -> dict with templates (I, D) as the board enrols each identity's first <= 3 photos, probes
    (P, D) = every photo, its identity index, whether the presence gate refuses it, whether it
    is a genuine probe (not one of its identity's enrolled photos), and the identity names."""
    from eyeauth import SHARED_DATA_DIR, datasets, splits

    root = Path(data_dir or SHARED_DATA_DIR) / splits.SOURCES["lfw"][0]
    ds = datasets.scan(root, "face")
    ids = [i for i in splits.identities("lfw", "eval") if i in ds.files]
    if len(ids) < 2:
        raise DataError(f"LFW evaluation identities missing from {root}")
    paths = [p for i in ids for p in ds.files[i]]
    card = zoo.load_card(model)
    emb = embeddings.embed_files([card], paths, "face", label=f"embedding {len(paths)} LFW evaluation photos with {model}")[model]
    refused = embeddings.no_face(paths)
    index = {str(p): k for k, p in enumerate(paths)}
    temps = np.stack([scoring.template(scoring.quantize_unit(emb[[index[str(p)] for p in ds.files[i][:3]]]))
                      for i in ids])
    lab = np.asarray([k for k, i in enumerate(ids) for _ in ds.files[i]])
    genuine = np.asarray([j >= 3 for i in ids for j in range(len(ds.files[i]))])
    return {"templates": temps, "probes": emb, "labels": lab, "refused": refused, "genuine": genuine, "ids": ids}


def far_vs_n(model: str, ns, far: float, thr: float, tail: dict | None, data_dir=None,
             repeats: int = 5, seed: int = 0, emb=None) -> list[dict]:
    """Identification error rates per attempt against the number of enrolled people N, with the
    1:1 threshold and with thr_N. Impostor attempts: every photo of every LFW evaluation identity
    against a gallery of N other identities (random, `repeats` draws), a false accept when the
    best score reaches the threshold. Genuine attempts: every photo beyond an identity's 3
    enrolled ones against its own template plus N - 1 others, a false reject unless the best is
    its own and reaches the threshold. A photo the presence gate refuses is a reject."""
    e = emb or lfw_eval_embeddings(model, data_dir)
    lab, ids = e["labels"], e["ids"]
    s = scoring.score_matrix(e["probes"], e["templates"])  # (P, I)
    s[e["refused"]] = -1.0
    rows = np.arange(len(lab))
    own = s[rows, lab].copy()
    s[rows, lab] = -np.inf  # impostor galleries never hold the probe's own identity
    g = e["genuine"]
    rng = np.random.default_rng(seed)
    out = []
    for n in ns:
        n = int(min(n, len(ids) - 1))
        thr_n = threshold(tail, far, n, thr)
        fa = {"1": 0, "n": 0}
        fr = {"1": 0, "n": 0}
        imp = gen = 0
        for _ in range(repeats):
            keys = rng.random(s.shape)
            keys[rows, lab] = 2.0  # own identity last: never drawn
            gal = np.argpartition(keys, n - 1, axis=1)[:, :n]
            best_other = np.take_along_axis(s, gal, axis=1)
            imp_best = best_other.max(axis=1)
            # genuine: own template + the first n - 1 of the drawn others
            gen_other = best_other[:, :max(n - 1, 0)].max(axis=1) if n > 1 else np.full(len(lab), -np.inf)
            for k, t in (("1", thr), ("n", thr_n)):
                fa[k] += int((imp_best >= t).sum())
                ok = (own >= t) & (own > gen_other)
                fr[k] += int((~ok[g]).sum())
            imp += len(lab)
            gen += int(g.sum())
        out.append({"n": n, "threshold_1to1": round(thr, 4), "threshold_n": round(thr_n, 4),
                    "far_1to1_threshold": round(fa["1"] / imp, 4), "far_n_threshold": round(fa["n"] / imp, 4),
                    "frr_1to1_threshold": round(fr["1"] / gen, 4), "frr_n_threshold": round(fr["n"] / gen, 4),
                    "impostor_attempts": imp, "genuine_attempts": gen})
    return out
