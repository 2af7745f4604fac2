"""Which face teacher to distil from: dlib's ResNet, SFace, or both (each unit-normalised,
concatenated). Scored with the board's protocol (first 3 photos enrol, the rest probe, template =
normalised sum) on the LFW `calib` identities of data/splits.json, which is where the choice is
made; ORL and the LFW `eval` identities are printed for the record only (never used to choose).

    python3 bench/face_teachers.py [--json]

Each teacher sees every photo through its own detector and alignment (dlib: HOG box, 5-point
chip; SFace: YuNet's five landmarks, OpenCV alignCrop). A photo in which a teacher's detector
finds no face is still embedded (dlib: its central box; SFace: counted as a refused probe).
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from eyeauth import datasets, splits
from eyeauth.evaluation import scoring as metrics
from eyeauth.models import face_teacher


def files_of(name, part):
    ds = datasets.scan(splits.folder(name), "face")
    return {i: list(ds.files[i]) for i in splits.identities(name, part) if i in ds.files}


def score(files, emb, found):
    split, _ = metrics.enrol_split(files, 3)
    idx = {}
    paths = [p for i in split for p in split[i][0] + split[i][1]]
    for n, p in enumerate(paths):
        idx[str(p)] = n
    E, F = emb(paths), found(paths)
    tpl, probes, lab, gone = [], [], [], []
    for k, i in enumerate(split):
        e = E[[idx[str(p)] for p in split[i][0]]]
        t = e.sum(0)
        tpl.append(t / max(np.linalg.norm(t), 1e-12))
        rest = [idx[str(p)] for p in split[i][1]]
        probes.append(E[rest])
        gone.append(~F[rest])
        lab += [k] * len(rest)
    s = np.concatenate(probes) @ np.array(tpl).T
    s[np.concatenate(gone)] = -1
    same = np.array(lab)[:, None] == np.arange(len(tpl))[None, :]
    g, imp = s[same], s[~same]
    return {"eer": round(metrics.eer(g, imp), 4), "frr_at_far_1pct": round(metrics.frr_at_far(g, imp), 4),
            "genuine": int(g.size), "impostor": int(imp.size), "identities": len(split)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    from eyeauth.models import face_data

    sets = {"lfw_calib (choice)": files_of("lfw", "calib"),
            f"lfw_calib + rest of LFW, <= {face_data.EVAL_CAP} photos a person (choice)":
                face_data.part_files("calib"),
            "orl (record)": files_of("orl", "eval"), "lfw_eval (record)": files_of("lfw", "eval"),
            f"lfw_eval + rest of LFW, <= {face_data.EVAL_CAP} photos a person (record)":
                face_data.part_files("eval")}
    out = {}
    for name, files in sets.items():
        paths = [p for ps in files.values() for p in ps]
        d = face_teacher.teacher_table(paths)
        s = face_teacher.sface_table(paths)
        k = {str(p): n for n, p in enumerate(paths)}

        def pick(tab, key):
            return lambda ps: tab[key][[k[str(p)] for p in ps]]
        both = np.concatenate([d["emb"], s["emb"]], 1) / np.sqrt(2)
        ones = np.ones(len(paths), bool)
        out[name] = {
            "dlib": score(files, pick(d, "emb"), lambda ps: ones[:len(ps)]),
            "sface": score(files, pick(s, "emb"), pick(s, "found")),
            "dlib+sface": score(files, lambda ps: both[[k[str(p)] for p in ps]], lambda ps: ones[:len(ps)]),
            "sface_found": round(float(s["found"].mean()), 4), "dlib_found": round(float(d["found"].mean()), 4)}
    if a.json:
        print(json.dumps(out, indent=1))
        return
    for name, r in out.items():
        print(f"{name}: dlib found {r['dlib_found']:.1%}, YuNet found {r['sface_found']:.1%}")
        for t in ("dlib", "sface", "dlib+sface"):
            x = r[t]
            print(f"  {t:11s} EER {100 * x['eer']:5.2f} %  FRR@FAR1% {100 * x['frr_at_far_1pct']:5.1f} %  "
                  f"({x['identities']} people, {x['genuine']} genuine / {x['impostor']} impostor)")


if __name__ == "__main__":
    main()
