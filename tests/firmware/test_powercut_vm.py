"""Power cuts at every flash operation of enroll, delete, unlock, an attempt and config, under the
real MicroPython VM: the firmware's own store, security and fsutil code writes through a flash
stand-in that dies at operation k (a write is torn in half, a rename or remove does not happen,
nothing after it does), then the board "boots": everything is loaded from the files again and
must hold the state before or the state after the operation, never a third one, and never raise.
k runs from 1 until the operation completes; 60 users are enrolled first so shards hold several.
(tests/auth/test_power_cut.py kills the whole virtual board during enroll, fewer times.)"""
from eyeauth import mpvm

_SCRIPT = r"""
import sys, os, gc, math, random, json
from eyeauth_fw import store, security, fsutil, pipeline
store.DIR = 'tpl'; store.OLD = 'templates.bin'; store.OLD_TMP = 'templates.tmp'
security.STATE = 'state.json'; security.KEY = 'pairing.key'; security.BOARD_ID = 'board.id'
CONFIG = 'config.json'
random.seed(5)

class Cut(Exception):
    pass

class Flash:
    k = None
    n = 0
    dead = False
    def tick(self):
        if self.dead:
            raise Cut()
        self.n += 1
        if self.k is not None and self.n >= self.k:
            self.dead = True
            raise Cut()
F = Flash()
_open = open

class CutFile:
    def __init__(self, f):
        self.f = f
    def write(self, b):
        if F.dead:
            raise Cut()
        F.n += 1
        if F.k is not None and F.n >= F.k:
            F.dead = True
            self.f.write(b[:len(b) // 2])  # torn write
            raise Cut()
        return self.f.write(b)
    def close(self):
        self.f.close()
    def __enter__(self):
        return self
    def __exit__(self, *a):
        self.f.close()

def cut_open(path, mode='r'):
    f = _open(path, mode)
    return CutFile(f) if 'w' in mode else f

class CutOS:
    def rename(self, a, b):
        F.tick(); os.rename(a, b)
    def remove(self, p):
        F.tick(); os.remove(p)
    def mkdir(self, p):
        os.mkdir(p)
    def listdir(self, p='.'):
        return os.listdir(p)

for m in (store, security, fsutil):
    m.open = cut_open
store.os = CutOS()
fsutil.os = CutOS()

def unit(d):
    v = [random.random() - 0.5 for _ in range(d)]
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]

def sample():
    return {'face:m': [pipeline.quantize_unit(unit(128)) for _ in range(2)],
            'voice:v': [pipeline.quantize_unit(unit(64))]}

def snapshot():
    gc.collect()
    s = store.Store()
    s.load()
    rows = {}
    for u in s.users:
        rows[u] = {k: s._row(u, k) for k in s.users[u]}
    sec = security.Security(os.urandom)
    try:
        with _open(CONFIG) as f:
            cfg = json.load(f)
    except OSError:
        cfg = None
    del s
    gc.collect()
    return rows, dict(sec.state), cfg

def fresh_store():
    gc.collect()
    s = store.Store(write_delay_ms=1)  # 256-byte chunks: a cut point per chunk
    s.load()
    return s

def config_write(n):
    def op():
        sec = security.Security(os.urandom)
        try:
            with _open(CONFIG) as f:
                saved = json.load(f)
        except OSError:
            saved = {}
        saved['policy'] = 'p%d' % n
        fsutil.write_atomic(CONFIG, json.dumps(saved).encode())  # as admin._config does
        sec.state['lockout_n'] = 5 + n
        sec.save()
    return op

def run(name, op, allowed):
    # allowed(before, after_done) -> the states a reboot may find
    cuts = 0
    k = 1
    while True:
        before = snapshot()
        F.k, F.n, F.dead = k, 0, False
        try:
            op()
            done = True
        except Cut:
            done = False
        F.k, F.dead = None, False
        after = snapshot()
        ok = allowed(before, after)
        if not ok:
            print('CORRUPT', name, k, done, before[1:], after[1:], before[0] == after[0])
            sys.exit(1)
        if done:
            return cuts
        cuts += 1
        k += 1

def store_ok(before, after, user, new):
    b, a = before[0], after[0]
    others_b = {u: v for u, v in b.items() if u != user}
    others_a = {u: v for u, v in a.items() if u != user}
    if others_a != others_b or after[1:] != before[1:]:
        return False
    if user in b and a.get(user) == b[user]:
        return True  # the old state
    if new is None:
        return user not in a  # deleted (or it was never there)
    want = {k: (len(v), store.template(v)) for k, v in new.items()}
    return a.get(user) == want or (user not in b and user not in a)

s = fresh_store()
for i in range(60):
    s.enroll('u%d' % i, sample())
    gc.collect()
del s
sec = security.Security(os.urandom)
sec.save()
counts = {}

def enroll_op(u, new):
    def op():
        fresh_store().enroll(u, new)
    return op

def delete_op(u):
    def op():
        fresh_store().delete(u)
    return op

n = 0
for i in range(12):  # new users
    new = sample()
    n += run('enroll', enroll_op('n%d' % i, new), lambda b, a, u='n%d' % i, new=new: store_ok(b, a, u, new))
counts['enroll'] = n
n = 0
for i in range(4):  # enrolled users again (replaces their templates)
    new = sample()
    n += run('re-enroll', enroll_op('u%d' % i, new), lambda b, a, u='u%d' % i, new=new: store_ok(b, a, u, new))
counts['re-enroll'] = n
n = 0
for i in range(12):
    n += run('delete', delete_op('u%d' % (10 + i)), lambda b, a, u='u%d' % (10 + i): store_ok(b, a, u, None))
counts['delete'] = n

def state_ok(before, after, field, values):
    if after[0] != before[0] or after[2] != before[2]:
        return False
    b, a = before[1], after[1]
    return a == b or (all(a[k] == b[k] for k in a if k != field) and a[field] in values)

def attempt():
    security.Security(os.urandom).begin_attempt()

def unlock():
    security.Security(os.urandom).unlock()

n = 0
for i in range(16):
    cur = snapshot()[1]['failed']
    n += run('attempt', attempt, lambda b, a, c=cur: state_ok(b, a, 'failed', (c + 1,)))
counts['attempt'] = n
n = 0
for i in range(6):
    sec = security.Security(os.urandom)
    sec.state['failed'] = 3 + i
    sec.save()
    n += run('unlock', unlock, lambda b, a: state_ok(b, a, 'failed', (0,)))
counts['unlock'] = n

def config_ok(before, after, i):
    if after[0] != before[0]:
        return False
    cfg_ok = after[2] == before[2] or (after[2] or {}).get('policy') == 'p%d' % i
    st_ok = after[1] == before[1] or after[1]['lockout_n'] == 5 + i
    # the state file is written after the config file: a new state implies the new config
    new_cfg = (after[2] or {}).get('policy') == 'p%d' % i
    return cfg_ok and st_ok and (after[1] == before[1] or new_cfg)

n = 0
for i in range(8):
    n += run('config', config_write(i), lambda b, a, i=i: config_ok(b, a, i))
counts['config'] = n
print(json.dumps(counts))
"""


def test_every_flash_operation_cut_leaves_the_state_before_or_after(tmp_path):
    import json

    script = mpvm.firmware_prelude() + "import os\nos.chdir(%r)\n" % str(tmp_path) + _SCRIPT
    r = mpvm.run(script, heap_bytes=2097152, timeout=300, check=False)
    assert r.returncode == 0, (r.stdout + r.stderr)[-2000:]
    counts = json.loads(r.stdout.strip().splitlines()[-1])
    assert sum(counts.values()) >= 200 and all(counts.values()), counts
    print(counts, sum(counts.values()))
