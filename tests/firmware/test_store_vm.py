"""The template store and HMAC code under the real MicroPython VM (unix port)."""
import hashlib
import hmac

from eyeauth import FIRMWARE_DIR, mpvm


def _run(tmp_path, body):
    script = ("import sys, os\nsys.path.insert(0, %r)\nos.chdir(%r)\n" % (str(FIRMWARE_DIR), str(tmp_path))
              + "from eyeauth_fw import store\nstore.PATH = 'templates.bin'\nstore.TMP = 'templates.tmp'\n" + body)
    r = mpvm.run(script, heap_bytes=None, timeout=60, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.strip()


def test_store_round_trips_and_detects_damage(tmp_path):
    out = _run(tmp_path, "s = store.Store().load()\n"
               "s.enroll('ann', {'face:m': [bytes(range(8))] * 3})\n"
               "s.enroll('bob', {'voice:v': [bytes(8)]})\n"
               "t = store.Store().load()\nprint(sorted(t.summary().items()))\n")
    assert out == "[('ann', {'face': 3}), ('bob', {'voice': 1})]"
    blob = bytearray((tmp_path / "templates.bin").read_bytes())
    blob[-1] ^= 0xFF
    (tmp_path / "templates.bin").write_bytes(bytes(blob))
    out = _run(tmp_path, "try:\n    store.Store().load()\n    print('loaded')\nexcept store.StoreError as e:\n    print('error', e)\n")
    assert out.startswith("error")


def test_complete_tmp_file_is_recovered(tmp_path):
    _run(tmp_path, "s = store.Store().load()\ns.enroll('ann', {'face:m': [bytes(8)]})\n")
    (tmp_path / "templates.bin").rename(tmp_path / "templates.tmp")  # cut between remove and rename
    out = _run(tmp_path, "t = store.Store().load()\nprint(t.recovered, list(t.summary()))\n")
    assert out == "True ['ann']"


def test_capacity_is_enforced(tmp_path):
    out = _run(tmp_path, "s = store.Store().load()\n"
               "for i in range(store.MAX_USERS):\n    s.enroll('u%d' % i, {'face:m': [bytes(4)]})\n"
               "try:\n    s.enroll('one_more', {'face:m': [bytes(4)]})\nexcept store.StoreError as e:\n    print(e)\n"
               "print(len(store.Store().load().users))\n")
    assert out.split() == ["full", "16"]


def test_device_hmac_equals_python_hmac(tmp_path):
    key = bytes(range(32))
    script = ("import sys\nsys.path.insert(0, %r)\nfrom eyeauth_fw import security\nfrom binascii import hexlify\n"
              "print(hexlify(security.hmac_sha256(%r, b'enroll|ann|42')).decode())\n"
              % (str(FIRMWARE_DIR), key))
    r = mpvm.run(script, heap_bytes=None, timeout=60, check=False)
    assert r.stdout.strip() == hmac.new(key, b"enroll|ann|42", hashlib.sha256).hexdigest()
