"""The spoken challenge's arithmetic: word segmentation, window placement, the decision rule
and the evaluation's rates (plain Python, the firmware's own words.py), the board's challenge
store under the MicroPython VM, and the board's keyword inputs against the host's."""
import subprocess

import numpy as np
import pytest

from eyeauth import mpvm
from eyeauth.evaluation import liveness
from eyeauth.fw import words as W
from eyeauth.models import keyword as K


def test_runs_and_merging_to_the_word_count():
    f = [0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 0, 1, 1, 0]
    assert W.runs(f) == [[1, 4], [6, 7], [8, 12], [13, 15]]
    # 3 words asked: the 1-frame run (a click) goes first, nothing is merged
    assert W.merge_to(W.runs(f), 3) == [[1, 4], [8, 12], [13, 15]]
    # 2 words: then the two runs with the shortest gap (1 frame) are joined
    assert W.merge_to(W.runs(f), 2) == [[1, 4], [8, 15]]
    # fewer runs than words: the count heard
    assert W.segment([0, 1, 1, 0, 0], [0.0] * 5, 3, 5 * 256) == 1


def test_segment_centres_and_windows():
    lv = [0, 5000, 5800, 5000, 0, 0, 5500, 5500]  # the VAD's frame levels (L = 256.1 log2 S)
    flags = [v > 1000 for v in lv]
    segs = W.segment(flags, lv, 2, 8 * 256)
    assert [(s, e) for s, e, _ in segs] == [(256, 1024), (1536, 2048)]
    assert segs[0][2] == 2 * 256 + 128  # the loud middle frame dominates
    assert segs[1][2] == 1792  # two equal frames: between them
    for s, e, c in segs:
        o, a, b = W.window((s, e, c), 256, 48)
        mids = [256 + (o + i) * 128 + 128 for i in range(48)]
        inside = [i for i in range(48) if s <= mids[i] < e and o + i >= 0]
        assert (a, b) == (inside[0], inside[-1] + 1)
        assert abs(mids[24] - c) <= 128  # centred on the energy centre


def test_margin_and_decision_rule():
    lg = [0.1, 2.0, 1.5, -1.0]
    assert W.argmax(lg) == 1
    assert W.margin(lg, 1) == pytest.approx(0.5)
    assert W.margin(lg, 2) == pytest.approx(-0.5)
    assert W.words_ok([0.6, 0.9], 0.5) and not W.words_ok([0.6, 0.4], 0.5)


def test_rates_and_word_accuracy():
    tr = [{"kind": "genuine", "expected": (1, 2, 3), "margins": [2.0, 3.0, 1.0], "heard": [1, 2, 3], "voice_score": 0.9},
          {"kind": "genuine", "expected": (4, 5, 6), "margins": [2.0, -1.0, 1.0], "heard": [4, 0, 6], "voice_score": 0.9},
          {"kind": "genuine", "expected": (4, 5, 6), "margins": [], "heard": ["?", "?"], "voice_score": 0.9},
          {"kind": "replay", "expected": (1, 2, 3), "margins": [2.0, 2.0, 2.0], "heard": [1, 2, 3], "voice_score": 0.9},
          {"kind": "replay", "expected": (1, 2, 3), "margins": [-3.0, 2.0, 2.0], "heard": [7, 2, 3], "voice_score": 0.9},
          {"kind": "impostor", "expected": (1, 2, 3), "margins": [2.0, 2.0, 2.0], "heard": [1, 2, 3], "voice_score": 0.5}]
    r = liveness.rates(tr, 0.5, 0.7)
    assert r["genuine"] == {"trials": 3, "accepted": 1, "voice_alone_accepted": 3}
    assert r["replay"]["accepted"] == 1 and r["impostor"]["accepted"] == 0
    assert r["impostor"]["voice_alone_accepted"] == 0
    acc, n = liveness.word_accuracy(tr)
    assert n == 9 and acc == pytest.approx(5 / 9)  # the unsegmented phrase counts 3 wrong


def test_phrase_segments_into_its_words_in_order(shared_data):
    from eyeauth import datasets
    from eyeauth.models import voice_phrase

    folder = shared_data / "voices/speech_commands/5c8af87a"
    clips = [datasets.load_audio(folder / f) for f in ("up_0.wav", "go_0.wav", "left_0.wav")]
    rng = np.random.default_rng(3)
    x = voice_phrase.make_phrase(clips, rng)
    segs = K.segments(x, 3)
    assert len(segs) == 3
    # where make_phrase put each trimmed clip (its gaps are the first draws of the same rng)
    rng2 = np.random.default_rng(3)
    at, places = 800, []
    for k, c in enumerate(clips):
        if k:
            at += int(round(rng2.uniform(0.1, 0.4) * 8000))
        n = voice_phrase.trim(c).size
        places.append((at, at + n))
        at += n
    for (s, e, c), (a, b) in zip(segs, places):
        assert a - 256 <= s < e <= b + 256 and a <= c < b  # each word in its own segment, in order
    with pytest.raises(Exception):
        liveness.word_clips(shared_data / "voices/fsdd/recordings")


def test_spoken_challenges_under_the_vm(tmp_path):
    body = r"""
import os
from eyeauth_fw import security
security.time = clock
sp = security.Spoken(os.urandom)
vocab = ("a", "b", "c", "d", "e", "f", "g", "h", "i", "j")
seen = set()
for _ in range(200):
    cid, w = sp.draw(vocab, 4)
    assert len(set(w)) == 4 and all(x in vocab for x in w)
    seen.update(w)
assert len(seen) == 10
cid, w = sp.draw(vocab, 3)
assert sp.take(cid, 20000) == tuple(w)
assert sp.take(cid, 20000) is None  # valid once
cid, w = sp.draw(vocab, 3)
clock.t += 20001
assert sp.take(cid, 20000) is None  # expired
ids = [sp.draw(vocab, 3)[0] for _ in range(5)]
assert sp.take(ids[0], 20000) is None and sp.take(ids[-1], 20000) is not None  # 4 pending at most
print("ok")
"""
    script = (mpvm.firmware_prelude()
              + "class _C:\n t = 1000\n def ticks_ms(self): return self.t\n"
                " def ticks_diff(self, a, b): return a - b\nclock = _C()\n" + body)
    r = subprocess.run(["micropython", "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr


_VM = r"""
import json
from array import array
from eyeauth_fw import pipeline, release, spoken
release.use({"nets": json.loads(%(nets)r)})
seen = []
class B(SimBoard):
    def nn_run(self, model, tensor, net=None):
        if model != "audio_fe":
            open(%(d)r + "/%%s_%%d.bin" %% (model, len(seen)), "wb").write(bytes(tensor))
            seen.append(model)
        return SimBoard.nn_run(self, model, tensor, net)
class T:
    def record(self, *a):
        pass
x = array("h", open(%(d)r + "/clip.bin", "rb").read())
p = pipeline.Pipeline(B(), T())
heard, margins, v = spoken.listen(p, x, ("up", "go", "left"), %(kw)r, %(vm)r)
print("OUT " + json.dumps(seen))
"""


def test_board_keyword_inputs_match_the_host(tmp_path, shared_data):
    """The keyword windows the board reads from the front end's rows (spoken.listen in the VM,
    audio_fe and the models in TFLM through the sim HAL) equal keyword.clip_tensors exactly, and
    the voice windows come from the same rows, equal to voice_phrase.tensors."""
    import json

    from eyeauth import datasets, latency
    from eyeauth.models import voice_phrase, zoo
    from eyeauth.release import net_entry
    from eyeauth.sim import vmnn

    try:
        kcard, vcard, fe = (zoo.load_card(n) for n in ("kw10", "voice_m", zoo.FRONTEND))
    except Exception:
        pytest.skip("needs kw10, voice_m and the front end built")
    folder = shared_data / "voices/speech_commands/5c8af87a"
    clips = [datasets.load_audio(folder / f) for f in ("up_0.wav", "go_0.wav", "left_0.wav")]
    x = voice_phrase.make_phrase(clips, np.random.default_rng(3))
    x.tofile(tmp_path / "clip.bin")
    cfg = latency.board_facts("esp-eye")[0]
    nets = {c["name"]: net_entry(c, cfg) for c in (kcard, vcard, fe)}
    with vmnn.serve(zoo.models_dir()) as addr:
        seen = mpvm.run_json(vmnn.vm_prelude(addr) + _VM % {
            "nets": json.dumps(nets), "d": str(tmp_path), "kw": "kw10", "vm": "voice_m"}, "OUT")
    assert seen[:3] == ["kw10"] * 3 and "voice_m" in seen[3:]  # voice windows from the shared rows
    _, host = K.clip_tensors(kcard, x, 3)
    for i, h in enumerate(host):
        dev = np.frombuffer((tmp_path / f"kw10_{i}.bin").read_bytes(), np.int8).reshape(48, 32)
        assert np.array_equal(dev, h)
    vh = voice_phrase.tensors(vcard, x)
    vd = [np.frombuffer((tmp_path / f"voice_m_{i}.bin").read_bytes(), np.int8).reshape(32, 32)
          for i in range(3, 3 + len(vh))]
    assert len(vd) == len(vh) and all(np.array_equal(a, b) for a, b in zip(vd, vh))


@pytest.mark.parametrize("args,needle,code", [
    (("--words-from", "/tmp/eyeauth-no-such-folder"), "is not a folder; give a folder of <word>_<n>.wav clips", 6),
    (("--words-from", "{fsdd}"), "has no clip of yes, no, up", 6),
    (("--voice", "x.wav", "--words-from", "{fsdd}"), "give --voice (a recording) or --words-from", 2),
])
def test_challenge_cli_errors_are_one_line_before_the_board(args, needle, code, shared_data):
    import sys

    fsdd = str(shared_data / "voices/fsdd/recordings")
    args = [a.replace("{fsdd}", fsdd) for a in args]
    r = subprocess.run([sys.executable, "-m", "eyeauth", "auth", "--port", "/dev/does-not-exist",
                        "--challenge", *args], capture_output=True, text=True, timeout=120)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == code and len(lines) == 1 and lines[0].startswith("eyeauth: "), r.stderr
    assert needle in lines[0]


def test_challenge_policies_need_words_and_voice():
    from eyeauth.fw import fusion as fus
    assert set(fus.ALL) - set(fus.POLICIES) == {"challenge", "face+challenge"}
    assert fus.decide("challenge", None, 0.1, words=True) == (True, ("voice",))
    assert not fus.decide("challenge", None, 0.1, words=False)[0]
    assert not fus.decide("challenge", None, -0.01, words=True)[0]
    assert fus.decide("face+challenge", 0.2, 0.1, words=True) == (True, ("face", "voice"))
    assert not fus.decide("face+challenge", -0.2, 0.5, words=True)[0]
    assert not fus.decide("face+challenge", 0.2, 0.5, words=False)[0]
    # a challenge attempt under a configured policy
    assert [fus.with_challenge(p) for p in ("voice", "face", "cascade", "challenge", "face+challenge")] == \
        ["challenge", "face+challenge", "face+challenge", "challenge", "face+challenge"]


def test_order_check_rejects_the_right_words_in_another_order():
    """wordorder.order_ok: the drawn order must beat every other order of the same words; the
    board (MicroPython) and the host's evaluation decide alike."""
    import json

    from eyeauth.fw import wordorder as wo

    # segment i said word i, but weakly for the first two (a left / right confusion)
    fair = [[2.0, 1.5, -3.0], [1.4, 1.6, -2.0], [-4.0, -3.0, 5.0]]
    assert wo.order_ok(fair)
    # the same words said in another order: segments 0 and 1 swapped
    swapped = [fair[1], fair[0], fair[2]]
    assert not wo.order_ok(swapped)
    assert not wo.order_ok([[1.0, 1.0], [1.0, 1.0]])  # a tie is not the drawn order
    assert not wo.order_ok([])
    rng = np.random.default_rng(2)
    cases = [rng.normal(0, 2, (n, n)).round(3).tolist() for n in (2, 3, 4) for _ in range(30)]
    host = [wo.order_ok(c) for c in cases]
    assert 0 < sum(host) < len(host)
    script = mpvm.firmware_prelude() + (
        "import json\nfrom eyeauth_fw import wordorder\n"
        "print(json.dumps([wordorder.order_ok(c) for c in json.loads(%r)]))" % json.dumps(cases))
    r = subprocess.run(["micropython", "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and json.loads(r.stdout) == host, r.stderr
