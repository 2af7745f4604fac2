"""The one MicroPython runner: firmware on the path, tagged JSON out, one-line errors."""
import pytest

from eyeauth import mpvm
from eyeauth.errors import DataError


def test_runs_firmware_code_and_returns_the_tagged_line():
    got = mpvm.run_json(mpvm.firmware_prelude() + "import json\nfrom eyeauth_fw import fusion\n"
                        "print('noise')\nprint('OUT ' + json.dumps(fusion.decide('sum', 0.1, -0.05)))")
    assert got == [True, ["face", "voice"]]


def test_failures_are_one_line_in_the_callers_error():
    with pytest.raises(DataError) as ei:
        mpvm.run("raise ValueError('boom')", what="testing", error=DataError)
    assert "failed testing" in str(ei.value) and "boom" in str(ei.value) and "\n" not in str(ei.value)
    with pytest.raises(mpvm.VMError, match="took over 1 s"):
        mpvm.run("import time\ntime.sleep(5)", timeout=1)
