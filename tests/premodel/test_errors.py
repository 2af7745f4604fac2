"""A missing, corrupt or mismatched premodel file gives one clear error (what and the fix), on
the host (ModelError, `eyeauth: ...` from the CLI) and on the device (PipelineError
"bad_premodel", which auth.py turns into an AppError)."""
import json

import pytest

from eyeauth.cli.main import main
from eyeauth.errors import ModelError
from eyeauth.premodel import classify as C, export

GOOD = export.document("voice", ["a", "b"], [], C.fit({"kind": "constant", "model": 1}, None,
                                                       None, 2), {})
BROKEN = {
    "truncated": '{"format": "eyeauth-premodel", "version": 1, "modal',
    "not_premodel": json.dumps({"hello": 1}),
    "wrong_feature": json.dumps({**GOOD, "features": ["nope"], "index": [0],
                                 "tree": [0, 5, 1, 2, -1, 0, 0, 0, -1, 1, 0, 0]}),
    "bad_tree": json.dumps({**GOOD, "tree": [-1, 7, 0, 0]}),
    "cyclic_tree": json.dumps({**GOOD, "features": ["dur"], "index": [0],
                               "tree": [0, 5, 0, 0]}),
    "knn_range": json.dumps({**GOOD, "kind": "knn", "features": ["dur"], "index": [0], "k": 1,
                             "shift": 12, "off": [0], "mul": [1], "points": [300],
                             "labels": [0]}),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_host_rejects_corrupt_file(tmp_path, case):
    f = tmp_path / "premodel_voice.json"
    f.write_text(BROKEN[case])
    with pytest.raises(ModelError) as e:
        export.load("voice", f)
    msg = str(e.value)
    assert str(f) in msg and "eyeauth premodel train" in msg
    if case == "truncated":
        assert "corrupt" in msg


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_device_rejects_corrupt_file(tmp_path, vm, case):
    (tmp_path / "premodel_voice.json").write_text(BROKEN[case])
    got = vm(f"""
from eyeauth_fw import premodel
from eyeauth_fw.pipeline import PipelineError
use_routers({str(tmp_path)!r})
try:
    premodel.choose("voice", [0] * 10)
    out("no error")
except PipelineError as e:
    out([e.code, e.msg])
""")
    assert got[0] == "bad_premodel"
    assert "premodel_voice.json" in got[1] and "eyeauth premodel train" in got[1]


def test_missing_file(tmp_path, vm):
    with pytest.raises(ModelError, match="missing; run `eyeauth premodel train --modality face`"):
        export.load("face", tmp_path / "premodel_face.json")
    got = vm(f"""
from eyeauth_fw import premodel
use_routers({str(tmp_path)!r})
out(premodel.choose("face", [0] * 14))
""")
    assert got is None


def test_cli_reports_corrupt_premodel(tmp_path, capsys):
    f = tmp_path / "p.json"
    f.write_text(BROKEN["truncated"])
    code = main(["premodel", "eval", "--modality", "voice", "--premodel", str(f), "--json"])
    err = capsys.readouterr().err
    assert code == ModelError.exit_code
    assert err.startswith("eyeauth: ") and "is corrupt" in err and "Traceback" not in err
