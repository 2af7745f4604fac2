"""Face training pilots: train one face model with spec overrides for N epochs and score it
(float Keras model, device crops through the int8 detector) on the LFW *calib* identities,
never on the evaluation ones. The figures in models/README.md ("Pilot runs") came from:

    python3 bench/face_pilot.py face_s48 8 distill=1.0 distill=4.0 distill=4.0,cls=0
    python3 bench/face_pilot.py face_s48 24 distill=4.0,cls=0
    python3 bench/face_pilot.py face_s48 24 distill=4.0,cls=0,target_mix=0.5

(cls=0: no identity classifier; target_mix: how far each photo's teacher target moves towards
its identity's mean). Each variant line prints "PILOT ... calib EER ...". About 2-5 min per
variant on 2 cores after the detector boxes and crop bank (~3 min, once per run).
"""
import sys, time, numpy as np
from eyeauth.evaluation import scoring as metrics
from eyeauth.models import build, zoo, embed, preprocess as P
from eyeauth.training import Data, face as face_recipe, train
from eyeauth import splits, datasets
from eyeauth.evaluation import scoring as T
name = sys.argv[1]; epochs = int(sys.argv[2]); variants = sys.argv[3:]
entry = dict(zoo.spec_entry(name)); ds, tr, te = build.entry_data(entry, None)
d = face_recipe.training_data(entry, Data(ds, tr, te), None)
# calib probes via the detector
full = datasets.scan(splits.folder("lfw"), "face")  # the build's dataset holds train + eval only
files = {i: full.files[i] for i in splits.identities("lfw", "calib") if len(full.files[i]) > 3}
split = {i: (f[:3], f[3:]) for i, f in files.items()}
paths = [p for i in split for p in split[i][0] + split[i][1]]
size = entry["input"][0]
crops = np.stack([P.face_input(datasets.load_image(p), embed.detect_face(datasets.load_image(p)), size) for p in paths])
index = {str(p): n for n, p in enumerate(paths)}
from eyeauth.models import face_teacher
for v in variants:
    kv = dict(x.split("=") for x in v.split(","))
    e = dict(entry); e["target_mix"] = 0.0  # the pilots' base: photo targets, classifier on
    e.update({k: (int(x) if k == "emb_dim" else float(x)) for k, x in kv.items()}); e["epochs"] = epochs
    project = face_teacher.pca_projection(d["temb"], e["emb_dim"])
    tt = d["temb"].copy()
    mix = float(e.get("target_mix", 0.0))
    if mix > 0:
        for c in np.unique(d["labels"]):
            k = d["labels"] == c
            mu = tt[k].mean(0); mu /= np.linalg.norm(mu)
            tt[k] = (1 - mix) * tt[k] + mix * mu
        tt /= np.linalg.norm(tt, axis=1, keepdims=True)
    targets = project(tt)[d["idx"]]; labels = d["labels"][d["idx"]]; cr = d["crops"][size]
    n = e["samples_per_epoch"]
    def make_epoch(rng):
        j = rng.choice(len(cr), n, replace=False)
        y = labels[j] if e.get("cls", 1.0) > 0 else -np.ones(n, int)
        return cr[j], y, targets[j]
    t0 = time.time()
    m = train.train_embedder(e, make_epoch, d["classes"], epochs, e["seed"], e["lr"])
    emb = m.predict(P.to_float(crops)[..., None], verbose=0)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    g, imp, *_ = T.device_trials(lambda ps: emb[[index[str(p)] for p in ps]], split)
    print(f"PILOT {name} {v} epochs={epochs}: calib EER {100*metrics.eer(g, imp):.2f}% FRR@1% {100*metrics.frr_at_far(g, imp):.1f}% ({time.time()-t0:.0f}s, {g.size}+{imp.size})", flush=True)
