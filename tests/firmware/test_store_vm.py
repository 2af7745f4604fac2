"""The template store and HMAC code under the real MicroPython VM (unix port, the board's 2 MB
heap): sharded layout, damage detection and recovery, the version-1 file converted, 500 users
(finding 11: the store refused the 17th), and the vectorised matcher against pipeline.score."""
import hashlib
import hmac

from eyeauth import mpvm

_SETUP = """
import sys, os, gc, math, random
from eyeauth_fw import store, pipeline
store.DIR = 'tpl'
store.OLD = 'templates.bin'
store.OLD_TMP = 'templates.tmp'
random.seed(3)
def unit(d):
    v = [random.random() - 0.5 for _ in range(d)]
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]
"""


def _run(tmp_path, body):
    script = (mpvm.firmware_prelude() + "import os\nos.chdir(%r)\n" % str(tmp_path)
              + _SETUP + body)
    r = mpvm.run(script, heap_bytes=2097152, timeout=120, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.strip()


def test_store_round_trips_and_detects_damage(tmp_path):
    out = _run(tmp_path, "s = store.Store().load()\n"
               "s.enroll('ann', {'face:m': [bytes(range(8))] * 3})\n"
               "s.enroll('bob', {'voice:v': [bytes(8)]})\n"
               "t = store.Store().load()\nprint(sorted(t.summary().items()))\n")
    assert out == "[('ann', {'face': 3}), ('bob', {'voice': 1})]"
    shard = next(p for p in (tmp_path / "tpl").iterdir() if p.stat().st_size > 14 and "ann" in p.read_bytes().decode("latin1"))
    blob = bytearray(shard.read_bytes())
    blob[-1] ^= 0xFF
    shard.write_bytes(bytes(blob))
    out = _run(tmp_path, "try:\n    store.Store().load()\n    print('loaded')\nexcept store.StoreError as e:\n    print('error', e)\n")
    assert out.startswith("error") and "damaged" in out


def test_complete_tmp_shard_is_recovered(tmp_path):
    _run(tmp_path, "s = store.Store().load()\ns.enroll('ann', {'face:m': [bytes(8)]})\n")
    shard = next(p for p in (tmp_path / "tpl").iterdir() if p.suffix == ".bin" and p.stat().st_size > 14)
    shard.rename(shard.with_suffix(".tmp"))  # cut between remove and rename
    out = _run(tmp_path, "t = store.Store().load()\nprint(t.recovered, list(t.summary()))\n")
    assert out == "True ['ann']"


def test_version_1_file_is_converted(tmp_path):
    # a /templates.bin as the old store wrote it (b"EAT1", int8 samples)
    import struct
    import zlib

    samples = [bytes([1, 2, 3, 250]), bytes([3, 2, 1, 5])]
    body = bytes([3]) + b"ann" + bytes([6]) + b"face:m" + struct.pack("<HB", 4, 2) + b"".join(samples)
    (tmp_path / "templates.bin").write_bytes(struct.pack("<4sHII", b"EAT1", 1, len(body), zlib.crc32(body)) + body)
    out = _run(tmp_path, "t = store.Store().load()\nprint(list(t.summary().items()), 'templates.bin' in os.listdir())\n"
               "v = [0.5, -0.5, 0.5, -0.5]\n"
               "print(abs(t.match('face:m', v, 'ann')[1] - pipeline.score(v, %r)) < 1e-3)\n" % samples)
    assert out.splitlines() == ["[('ann', {'face': 2})] False", "True"]


def test_500_users_fit_and_the_501st_is_refused(tmp_path):
    # finding 11: the old store refused the 17th user
    out = _run(tmp_path, "s = store.Store().load()\n"
               "for i in range(store.MAX_USERS):\n"
               "    s.enroll('u%d' % i, {'face:m': [pipeline.quantize_unit(unit(128))], 'voice:v': [pipeline.quantize_unit(unit(64))]})\n"
               "    gc.collect()\n"
               "try:\n    s.enroll('one_more', {'face:m': [bytes(128)]})\nexcept store.StoreError as e:\n    print(e)\n"
               "n = s.nbytes\ndel s\ngc.collect()\nt = store.Store().load()\nprint(len(t.users), t.count('face:m'), t.nbytes == n)\n")
    assert out.split() == ["full", "500", "500", "True"]


def test_vectorised_match_equals_pipeline_score(tmp_path):
    out = _run(tmp_path, "s = store.Store().load()\nsam = {}\n"
               "for i in range(60):\n"
               "    sam['u%d' % i] = [pipeline.quantize_unit(unit(64)) for _ in range(1 + i % 5)]\n"
               "    s.enroll('u%d' % i, {'face:m': sam['u%d' % i]})\n"
               "s.delete('u7'); del sam['u7']\n"
               "worst, agree = 0.0, 0\n"
               "for k in range(20):\n"
               "    v = unit(64)\n"
               "    ref = {u: pipeline.score(v, x) for u, x in sam.items()}\n"
               "    who, sc = s.match('face:m', v)\n"
               "    best = max(ref, key=lambda u: ref[u])\n"
               "    agree += who == best or abs(ref[who] - ref[best]) < 1e-3\n"
               "    worst = max(worst, abs(sc - ref[who]), abs(s.match('face:m', v, 'u3')[1] - ref['u3']))\n"
               "print(agree, worst < 1e-3, s.match('face:m', unit(64), 'u7'))\n")
    assert out == "20 True (None, -2.0)"


def test_device_hmac_equals_python_hmac(tmp_path):
    key = bytes(range(32))
    script = mpvm.firmware_prelude() + (
        "from eyeauth_fw import security\nfrom binascii import hexlify\n"
        "print(hexlify(security.hmac_sha256(%r, b'enroll|ann|42')).decode())\n" % key)
    r = mpvm.run(script, heap_bytes=None, timeout=60, check=False)
    assert r.stdout.strip() == hmac.new(key, b"enroll|ann|42", hashlib.sha256).hexdigest()
