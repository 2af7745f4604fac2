"""`eyeauth release build`: re-derive what is stale in a release, in order, then check it.

The orchestration above :mod:`eyeauth.release` (which only reads and checks) and above both the
build and the evaluation layer: stale models are rebuilt (:mod:`eyeauth.models.build`, cached on
each card's build hash; :func:`build_models` adds the evaluation figures to each card), then the thresholds
(:mod:`eyeauth.evaluation.thresholds`) if a model changed or they do not match the files, then the
premodel (:mod:`eyeauth.premodel.route`) of each modality whose models or thresholds changed.
When the zoo is current the plan is empty and nothing is trained.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eyeauth.release import FIX_PREMODEL, FIX_THRESHOLDS, load


def build_models(names=None, force=False, data_dir=None, out_dir=None):
    """`eyeauth models build`: the stale models (or ``force``: all of ``names``), each card
    finished with its evaluation figures (:func:`eyeauth.evaluation.cards.finish`)."""
    from eyeauth.evaluation import cards
    from eyeauth.models import build

    return build.build(names, force=force, data_dir=data_dir, out_dir=out_dir, finish=cards.finish)


def finish_cards(names=None, out_dir=None):
    """`eyeauth models build --cards`: the evaluation figures of the built cards (all, or
    ``names``) again, never training; returns one status dict per card."""
    from eyeauth.errors import ModelError
    from eyeauth.evaluation import cards
    from eyeauth.models import zoo

    built = zoo.list_models(out_dir)
    unknown = set(names or ()) - {c["name"] for c in built}
    if unknown:
        raise ModelError(f"not built: {', '.join(sorted(unknown))}; run `eyeauth models build`")
    out = []
    for c in built:
        if not names or c["name"] in names:
            c = cards.finish(c, out_dir)
            out.append({"name": c["name"], "status": "carded", "build_hash": c.get("build_hash"),
                        "eer": c.get("eer")})
    return out


@dataclass(frozen=True)
class Step:
    """One thing `eyeauth release build` runs: the command a user would type, and why."""
    command: str
    reason: str
    kind: str                       # models | thresholds | premodel
    args: tuple = ()                # model names (models) or modality (premodel)
    force: bool = False             # models: rebuild although the build key is current


def plan(models_dir, data_dir=None) -> list[Step]:
    """What `eyeauth release build` runs, in order, to make the release in ``models_dir``
    consistent: stale models only (their build hash differs from the spec, code and data), then
    thresholds if any model changed or they do not match the files, then the premodel of each
    modality whose models or thresholds changed. [] when the release is current."""
    from eyeauth import MODELS_DIR
    from eyeauth.models import build

    d = Path(models_dir)
    # the commands name the folder unless it is the checkout's own: typed as printed, each one
    # writes into this release, never into another
    here = "" if d.resolve() == MODELS_DIR.resolve() else f" --models {d}"
    rows = build.plan(data_dir, d)
    stale = [r[0]["name"] for r in rows if not r[5]]
    rel = load(d)
    # a file that is not the one its card was built with (changed or corrupt): rebuilt too
    corrupt = [m.name for m in rel.models if m.name not in stale and m.sha256
               and m.card.get("sha256") not in (None, m.sha256)]
    stale_mods = {r[0]["modality"] for r in rows if r[0]["name"] in stale + corrupt}
    steps = []
    if stale:
        steps.append(Step(f"eyeauth models build {' '.join(stale)}{here}",
                          "spec, training code or data changed since they were built",
                          "models", tuple(stale)))
    if corrupt:
        steps.append(Step(f"eyeauth models build {' '.join(corrupt)} --force{here}",
                          "the file differs from the one its card was built with",
                          "models", tuple(corrupt), force=True))
    stale = stale + corrupt
    th_probs = [p for p in rel.problems if FIX_THRESHOLDS in p]
    if stale or th_probs:
        steps.append(Step(f"eyeauth eval thresholds{here}",
                          f"{len(stale)} model(s) rebuilt" if stale else th_probs[0], "thresholds"))
    mods = stale_mods & {"face", "voice"}
    if "detector" in stale_mods:
        mods.add("face")
    if th_probs:  # the premodels of the modalities whose thresholds are re-fitted
        mods |= _refit_modalities(rel)
    for p in rel.problems:
        if FIX_PREMODEL in p:
            mods |= {pm.modality for pm in rel.premodels if p.startswith(pm.file)}
    for m in sorted(mods):
        why = next((p for p in rel.problems if p.startswith(f"premodel_{m}")),
                   "its models or their thresholds change")
        steps.append(Step(f"eyeauth premodel train --modality {m}{here}", why, "premodel", (m,)))
    return steps


def _refit_modalities(rel):
    """Modalities whose thresholds `eval thresholds` changes: a model's file or build differs
    from the one its threshold was fitted on, or a listed model is missing (all without a file)."""
    th = rel.thresholds
    if th is None:
        return {m.modality for m in rel.models} & {"face", "voice"}
    have = {m.name: m for m in rel.models}
    out = set()
    for mod, names in th.models.items():
        for n in names:
            m, c = have.get(n), th.calibration.get(n)
            if m is None or c is None or n not in th.thresholds or \
                    (c.build_hash and c.build_hash != m.build_hash) or (c.sha256 and c.sha256 != m.sha256):
                out.add(mod)
    for n in th.thresholds:
        if n not in have:
            out |= {mod for mod, names in th.models.items() if n in names} or {"face", "voice"}
    return out & {"face", "voice"}


def build(models_dir, data_dir=None, dry_run=False, progress=None, board=None):
    """Run :func:`plan`'s steps in order (``progress(line)`` before each), then check the
    release; returns {"steps": [...], "ran": bool, "release": Release.as_dict()}. Dry run: only
    the plan. The release's folder is the zoo folder for the steps ($EYEAUTH_MODELS_DIR)."""
    import os

    from eyeauth.models import zoo

    d = zoo.models_dir(models_dir)
    steps = plan(d, data_dir)
    say = progress or (lambda line: None)
    if not dry_run:
        old = os.environ.get("EYEAUTH_MODELS_DIR")
        os.environ["EYEAUTH_MODELS_DIR"] = str(d)  # every step reads and writes this release
        try:
            for i, st in enumerate(steps, 1):
                say(f"[{i}/{len(steps)}] {st.command}: {st.reason}")
                _run(st, d, data_dir)
        finally:
            if old is None:
                os.environ.pop("EYEAUTH_MODELS_DIR", None)
            else:
                os.environ["EYEAUTH_MODELS_DIR"] = old
    rel = load(d, board)
    return {"models_dir": str(d), "dry_run": dry_run,
            "steps": [{"command": s.command, "reason": s.reason} for s in steps],
            "release": rel.as_dict()}


def _run(step, d, data_dir):
    if step.kind == "models":
        build_models(list(step.args), force=step.force, data_dir=data_dir, out_dir=d)
    elif step.kind == "thresholds":
        from eyeauth.evaluation import thresholds as T

        T.build(out=d / "thresholds.json", data_dir=data_dir)
    elif step.kind == "premodel":
        from eyeauth.premodel import route

        route.train(step.args[0], out=d / f"premodel_{step.args[0]}.json")
