"""Fixtures of the premodel tests: the MicroPython VM runner and private caches."""
import json
import subprocess

import pytest

from eyeauth import FIRMWARE_DIR


@pytest.fixture(scope="session", autouse=True)
def _private_caches(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        d = tmp_path_factory.mktemp("premodel_cache")
        mp.setenv("EYEAUTH_PREMODEL_CACHE", str(d / "premodel"))
        mp.setenv("EYEAUTH_COSTS_CACHE", str(d / "py_costs.json"))
        yield


@pytest.fixture(scope="session")
def vm():
    """vm(body) runs ``body`` in the MicroPython VM with the firmware on sys.path; the body
    prints one JSON line with ``out(obj)``; returns that object."""
    def run(body, timeout=60):
        script = ("import sys, json\nsys.path.insert(0, %r)\n"
                  "def out(o):\n    print('OUT ' + json.dumps(o))\n" % str(FIRMWARE_DIR)) + body
        r = subprocess.run(["micropython", "-X", "heapsize=2097152", "-c", script],
                           capture_output=True, text=True, timeout=timeout)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        line = [ln for ln in r.stdout.splitlines() if ln.startswith("OUT ")]
        assert line, r.stdout[-2000:]
        return json.loads(line[-1][4:])
    return run
