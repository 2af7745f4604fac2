"""Fixtures of the premodel tests: the MicroPython VM runner and private caches."""
import json
import subprocess

import pytest

from eyeauth import mpvm


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
    prints one JSON line with ``out(obj)``; returns that object. ``use_routers(folder)``: the
    router documents of a folder, named by a release manifest as deploy names them."""
    def run(body, timeout=60):
        script = mpvm.firmware_prelude() + _HELPERS + body
        r = subprocess.run(["micropython", "-X", "heapsize=2097152", "-c", script],
                           capture_output=True, text=True, timeout=timeout)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        line = [ln for ln in r.stdout.splitlines() if ln.startswith("OUT ")]
        assert line, r.stdout[-2000:]
        return json.loads(line[-1][4:])
    return run


_HELPERS = """import json
def out(o):
    print('OUT ' + json.dumps(o))
def use_routers(d):
    import os
    from eyeauth_fw import premodel, release
    premodel.DIR = d
    have = os.listdir(d)
    release.use({"routers": {m: "premodel_%s.json" % m for m in ("face", "voice")
                             if "premodel_%s.json" % m in have}})
"""
