"""Security building blocks under the real MicroPython VM: the signed message is the host's
byte for byte, inputs expire and stay within budget, the lockout backs off and survives a
restart, frames are bounded in depth and ASCII on the way out."""
import json

from eyeauth import mpvm
from eyeauth.auth import pairing

_CLOCK = """
class _Clock:
    t = 1000
    def ticks_ms(self): return self.t
    def ticks_us(self): return self.t * 1000
    def ticks_diff(self, a, b): return a - b
    def ticks_add(self, a, b): return a + b
clock = _Clock()
"""


def _run(tmp_path, body):
    script = (mpvm.firmware_prelude() + "import os\nos.chdir(%r)\n" % str(tmp_path)
              + _CLOCK + body)
    r = mpvm.run(script, heap_bytes=None, timeout=60, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.strip()


ARGS = [
    {"cmd": "delete", "user": "ann", "chal": "00ff"},
    {"cmd": "config", "set": {"lockout_n": 5, "policy": "both", "premodel": False, "detector": None}, "chal": "x"},
    {"cmd": "enroll", "user": "jos\u00e9 \"q\" \\ \t", "face": ["a1", "b2"], "voice": [], "chal": "c"},
]


def test_signed_message_is_the_hosts_byte_for_byte(tmp_path):
    key = bytes(range(32))
    out = _run(tmp_path, "import json\nfrom binascii import hexlify\nfrom eyeauth_fw import security\n"
               "for a in json.loads(%r):\n"
               "    print(hexlify(security.hmac_sha256(%r, security.message('b0a1', a, ['d1', 'd2']))).decode())\n"
               % (json.dumps(ARGS), key))
    want = [pairing.sign(key, "b0a1", a, ["d1", "d2"]) for a in ARGS]
    assert out.split() == want


def test_inputs_expire_evict_and_flush(tmp_path):
    out = _run(tmp_path, "from eyeauth_fw import inputs\ninputs.time = clock\nimport os\n"
               "inp = inputs.Inputs(os.urandom)\n"
               "a = inp.begin('camera', 4, (2, 2), 2)\nprint(inp.add(a, 0, b'ab'))\nprint(inp.add(a, 1, b'cd'))\n"
               "print(inp.get(a, 'camera')[1] == b'abcd')\n"
               "clock.t += 30001\n"
               "try:\n    inp.get(a, 'camera')\nexcept inputs.InputError as e:\n    print(e.code)\n"
               "b = inp.begin('mic', 300000, (8000,), 1)\nc = inp.begin('mic', 300000, (8000,), 1)\n"
               "d = inp.begin('mic', 300000, (8000,), 1)\nprint(b in inp.items, c in inp.items, d in inp.items, inp.used() <= 700000)\n"
               "try:\n    inp.add(c, 1, b'x')\nexcept inputs.InputError as e:\n    print(e.code, c in inp.items)\n"
               "print(inp.flush(), len(inp.items))\n")
    assert out.splitlines() == ["(2, False)", "(4, True)", "True", "no_input",
                                "False True True True", "bad_args False", "1 0"]


def test_lockout_backs_off_counts_aborts_and_survives_restart(tmp_path):
    out = _run(tmp_path, "from eyeauth_fw import security\nsecurity.time = clock\nimport os\n"
               "s = security.Security(os.urandom)\n"
               "for i in range(5):\n    s.begin_attempt()\n    s.end_attempt(False)\n"
               "print(s.wait_s())\n"
               "s.begin_attempt()\n"  # an attempt that never ends (power cut, exception)
               "t = security.Security(os.urandom)\nprint(t.state['failed'], t.wait_s())\n"
               "clock.t += 60001\nprint(t.wait_s())\n"
               "t.begin_attempt(); t.end_attempt(False)\nprint(t.wait_s())\n"
               "clock.t += 120001\nt.begin_attempt(); t.end_attempt(True)\nprint(t.wait_s(), t.state['failed'])\n")
    assert out.splitlines() == ["30", "6 60", "0", "120", "0 0"]


def test_frames_are_depth_bounded_and_ascii(tmp_path):
    out = _run(tmp_path, "from eyeauth_fw import protocol\n"
               "print(protocol.depth_ok(b'{\"a\": [[[1]]], \"s\": \"[[[[[[[[[[[[\"}'))\n"
               "print(protocol.depth_ok(b'[' * 1200 + b']' * 1200))\n"
               "f = protocol.encode('R', 1, {'user': 'jos\\u00e9', 'e': '\\U0001f600'})\n"
               "print(all(b < 128 for b in f), f)\n")
    lines = out.splitlines()
    assert lines[:2] == ["True", "False"]
    assert lines[2].startswith("True")
    from eyeauth.link.protocol import decode_line
    frame = eval(lines[2][5:])
    assert decode_line(frame.rstrip(b"\n")).payload == {"user": "jos\u00e9", "e": "\U0001f600"}


def test_frames_with_a_repeated_key_are_refused(tmp_path):
    # issue 22, finding 8: json.loads keeps the last of two equal keys, so {"cmd":"ping","cmd":
    # "reset"} read as a ping by a logger and as a reset by the board; the board refuses it
    cases = ['{"cmd":"ping","cmd":"reset"}', '{"a":{"x":1,"x":2}}', '{"a":"x\\":y","a":1}',
             '{"a":1,"\\u0061":2}', '{"cmd": "ping", "data": "a:b"}', '[{"a":1},{"a":2}]',
             '{"a":"x\\":y","b":1}', '{}', '"s:"']
    out = _run(tmp_path, "import json\nfrom binascii import crc32\nfrom eyeauth_fw import protocol\n"
               "for t in json.loads(%r):\n"
               "    body = ('C1 7 ' + t).encode()\n"
               "    line = body + (' %%08x' %% (crc32(body) & 0xFFFFFFFF)).encode()\n"
               "    try:\n        protocol.decode(line)\n        print('ok')\n"
               "    except ValueError as e:\n        print('refused', e)\n" % json.dumps(cases))
    assert out.splitlines() == ["refused duplicate key"] * 4 + ["ok"] * 5
