"""`eyeauth release check`: do the models, thresholds and premodels that would ship belong
together?"""
from eyeauth.cli.main import Result, add_json_flag, help_when_bare


def register(subparsers):
    p = subparsers.add_parser("release", help="check what deploy would ship (models, thresholds, premodels)",
                              description="A release is the models folder deploy ships: int8 "
                              "models and cards, thresholds.json, premodel_*.json. `check` lists "
                              "every mismatch (a model rebuilt or changed after its threshold was "
                              "fitted, a threshold or premodel naming a model that is not there, an "
                              "arena larger than the board's) with the command that fixes it; "
                              "deploy refuses a release with any.")
    sub = p.add_subparsers(dest="release_command", metavar="ACTION")
    c = sub.add_parser("check", help="list the release's problems (exit 0 when there are none)")
    c.add_argument("--models", metavar="DIR", help="release folder (default: $EYEAUTH_MODELS_DIR "
                   "or the checkout's models/)")
    add_json_flag(c)
    c.set_defaults(func=_check)
    help_when_bare(p)


def _check(args):
    from eyeauth import release
    from eyeauth.models import zoo

    d = zoo.models_dir(args.models)
    probs = release.check(d)
    res = {"models_dir": str(d), "release_id": release.release_id(d), "problems": probs,
           "ok": not probs}
    text = (f"{d}: release {res['release_id']} is consistent" if not probs else
            "\n".join([f"{d}: {len(probs)} problem(s):"] + [f"  {p}" for p in probs]))
    if probs:  # one line, every problem, non-zero exit
        raise release.ReleaseError(f"{d}: {len(probs)} problem(s): " + "; ".join(probs))
    return Result(res, text)
