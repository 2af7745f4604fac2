# The release manifest deploy writes, /models/release.json (host: eyeauth/release.py,
# Release.board_manifest): the board's only configuration of what it runs. It names the models
# per modality and the default of each, every threshold (the embedders', the detector's
# presence gate, the keyword margin, the identification tails), the fusion policy and margin,
# the router documents and the keyword model, and per network what the pipeline and the HAL
# need (input shape, output quantization, utterance windows, arena size and place, modeled
# time). Read once per boot. Nothing has a default here: a value the manifest lacks is an
# error naming the fix (the host's `eyeauth release check` and `deploy` refuse such a release
# before it reaches the board).
import json

from eyeauth_fw.registry import AppError

PATH = "/models/release.json"
_doc = []


def get():
    # -> the manifest (dict), or None when no release is deployed
    if not _doc:
        try:
            with open(PATH) as f:
                d = json.load(f)
        except OSError:
            d = None
        except ValueError:
            raise AppError("bad_release", "%s is corrupt: run `eyeauth deploy`" % PATH)
        _doc.append(d)
    return _doc[0]


def use(doc):
    # the manifest to use instead of the file (the host's timing scripts and tests)
    _doc[:] = [doc]


def need(*keys):
    # -> the value under keys (need("thresholds", "face_s48")), or AppError("no_release")
    d = get()
    if d is None:
        raise AppError("no_release", "no release on the board (%s): run `eyeauth deploy`" % PATH)
    for k in keys:
        if type(d) is not dict or k not in d:
            raise AppError("no_release", "%s has no %s: run `eyeauth release check`, then `eyeauth deploy`" % (PATH, "/".join(keys)))
        d = d[k]
    return d


def net(name):
    # what one network needs: shape, scale and zp (output), arena and where, us (modeled
    # time on this chip); voice embedders also hop and maxw (utterance windows)
    return need("nets", name)


def models(modality):
    # the deployed models of a modality ([] without a release)
    d = get()
    return ((d or {}).get("models") or {}).get(modality) or []
