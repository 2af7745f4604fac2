"""What a new user meets first, run as the user runs it (`eyeauth ...` in a subprocess, no
board): file inputs checked before a port opens, one settings resolver, one vocabulary (usage
errors exit 2, contradictions refused, --json error objects, quiet closed pipes), progress
with rate and ETA on a terminal only, a monitor that leaves nothing behind when the port is
wrong, every EYEAUTH_* variable documented."""
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from scipy.io import wavfile

from eyeauth import REPO_ROOT


def run(*args, env=None, cwd=None, timeout=180):
    e = {**os.environ, **(env or {})}
    for var in ("EYEAUTH_PORT", "ESPTOOL_PORT", "ESPPORT", "EYEAUTH_MODELS_DIR", "EYEAUTH_BOARD"):
        if var not in (env or {}):
            e.pop(var, None)
    return subprocess.run([sys.executable, "-m", "eyeauth", *args], capture_output=True,
                          text=True, timeout=timeout, env=e, cwd=cwd)


def one_line(r):
    lines = r.stderr.strip().splitlines()
    assert "Traceback" not in r.stderr, r.stderr
    assert len(lines) == 1 and lines[0].startswith("eyeauth: "), r.stderr
    return lines[0]


def _wav(path, rate, seconds, channels=1, dtype=np.int16):
    t = np.arange(int(rate * seconds)) / rate
    x = 0.3 * np.sin(2 * np.pi * 300 * t)
    x = (x * 32767).astype(dtype) if dtype == np.int16 else x.astype(dtype)
    if channels == 2:
        x = np.stack([x, x], axis=1)
    wavfile.write(path, rate, x)
    return path


# -- file inputs: converted with one note, or refused in one line; never cut --------------------

def test_a_long_wav_is_refused_not_cut(tmp_path):
    long = _wav(tmp_path / "six.wav", 44100, 6.0, channels=2)
    r = run("enroll", "--port", "/dev/null", "--user", "ann", "--voice", str(long))
    assert r.returncode == 6
    line = one_line(r)
    assert "6.0 s long" in line and "at most 4 s" in line and "trim" in line


@pytest.mark.parametrize("name,content,needle", [
    ("notwav.wav", b"hello", "is not a WAV file"),
    ("tiny.wav", None, "at least 0.1 s"),
    ("slow.wav", "4k", "4000 Hz"),
])
def test_bad_wavs_are_refused_in_one_line(tmp_path, name, content, needle):
    p = tmp_path / name
    if content == b"hello":
        p.write_bytes(content)
    elif content == "4k":
        _wav(p, 4000, 1.0)
    else:
        _wav(p, 8000, 0.05)
    r = run("auth", "--port", "/dev/null", "--voice", str(p))
    assert r.returncode == 6 and needle in one_line(r)


def test_a_stereo_44k_wav_is_converted_with_a_note_before_the_port_opens(tmp_path):
    from eyeauth.auth.inputs import read_clip

    p = _wav(tmp_path / "ok.wav", 44100, 2.0, channels=2)
    clip, notes = read_clip(p)
    assert clip.dtype == np.int16 and abs(clip.size - 16000) <= 1  # 2 s at 8 kHz: nothing cut
    assert notes == ["ok.wav: 2 channels mixed to mono, 44100 Hz resampled to 8000 Hz"]
    r = run("auth", "--port", "/dev/eyeauth-none", "--voice", str(p))
    assert r.returncode == 3  # the port, after the check
    lines = r.stderr.strip().splitlines()
    assert lines[0] == "[eyeauth] converted ok.wav: 2 channels mixed to mono, 44100 Hz resampled to 8000 Hz"
    assert lines[1].startswith("eyeauth: cannot open serial port /dev/eyeauth-none")


def test_a_tiny_image_is_refused(tmp_path):
    from PIL import Image

    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "small.png")
    r = run("enroll", "--port", "/dev/null", "--user", "ann", "--face", str(tmp_path / "small.png"))
    assert r.returncode == 6 and "20x20" in one_line(r)


# -- one settings resolver ---------------------------------------------------------------------

@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.eyeauth]\nmodels = "x-release"\n')
    return tmp_path


def test_every_command_reads_the_project_file(project):
    """`release check` checks the folder `deploy` would ship: the project's, not the checkout's."""
    r = run("release", "check", cwd=project)
    assert r.returncode != 0 and str(project / "x-release") in one_line(r)
    r = run("deploy", "--port", "/dev/null", cwd=project)
    assert r.returncode != 0 and str(project / "x-release") in one_line(r)
    r = run("release", "check", "--models", str(REPO_ROOT / "models"), cwd=project)
    assert str(project / "x-release") not in r.stderr  # a flag wins


def test_an_unknown_key_is_refused_by_every_command(project):
    (project / "pyproject.toml").write_text('[tool.eyeauth]\nmodles = "x"\n')
    for args in (("release", "check"), ("users",), ("models", "list"), ("devs",)):
        r = run(*args, cwd=project)
        assert r.returncode == 2 and "unknown key(s) modles" in one_line(r), args


def test_release_build_plans_its_commands_onto_the_folder_given(tmp_path):
    """A dry run names --models DIR in every step it plans, so running the steps as printed
    writes into DIR, never into the checkout's models/."""
    rel = tmp_path / "rel"
    shutil.copytree(REPO_ROOT / "models", rel, ignore=shutil.ignore_patterns("float"))
    f = next(rel.glob("face_s48.tflite"))
    f.write_bytes(f.read_bytes()[:-1] + bytes([f.read_bytes()[-1] ^ 1]))  # stale thresholds
    r = run("release", "build", "--dry-run", "--models", str(rel), "--json")
    assert r.returncode == 0, r.stderr
    steps = json.loads(r.stdout)["steps"]
    assert any(s["command"].startswith("eyeauth eval thresholds") for s in steps)
    assert all(s["command"].endswith(f"--models {rel}") for s in steps), steps


# -- one vocabulary ----------------------------------------------------------------------------

@pytest.mark.parametrize("args,needle", [
    (("enroll", "--port", "/dev/null", "--user", "ann"), "give --live"),
    (("auth", "--port", "/dev/null", "--words", "3"), "--words goes with --challenge"),
    (("models", "eval", "--set", "orl", "--model", "face_xx"), "--model face_xx: no such"),
    (("models", "eval", "--set", "orl", "--modality", "voice"), "different modalities"),
    (("models", "eval", "--enroll", "2"), "only with --data"),
    (("explore", "--out", "x", "--set", "far_target=0.1"), "--assume far_target=0.1"),
    (("explore", "--out", "x", "--policy", "zsum"), "unknown policy 'zsum'"),
    (("models", "list", "--bogus"), "unrecognized arguments: --bogus"),
    (("enroll", "--user", "ann", "--live", "--samples", "9", "--port", "/dev/null"), "1 to 5"),
])
def test_usage_errors_exit_2_in_one_line(args, needle):
    r = run(*args)
    assert r.returncode == 2, r.stderr
    assert needle in one_line(r)


@pytest.mark.parametrize("args,code", [
    (("sim", "status", "--state-dir", "/tmp/eyeauth-no-board-here", "--json"), 1),
    (("release", "check", "--models", "/tmp/eyeauth-no-release", "--json"), 5),
    (("models", "list", "--bogus", "--json"), 2),
])
def test_json_prints_an_error_object_on_failure(args, code):
    r = run(*args)
    assert r.returncode == code
    err = json.loads(r.stdout)
    assert err["ok"] is False and err["exit_code"] == code and err["error"] in one_line(r)


def test_a_pipe_closed_early_ends_quietly():
    """`eyeauth models list | head -0`: the reader is gone before the first line."""
    r_fd, w_fd = os.pipe()
    os.close(r_fd)
    env = {k: v for k, v in os.environ.items()}
    p = subprocess.run([sys.executable, "-m", "eyeauth", "models", "list"], stdout=w_fd,
                       stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    os.close(w_fd)
    assert p.returncode == 141 and p.stderr == "", p.stderr


def test_monitor_with_a_bad_port_leaves_no_database(tmp_path):
    db = tmp_path / "t.db"
    r = run("monitor", "--port", "/dev/eyeauth-none", "--db", str(db))
    assert r.returncode == 3 and "eyeauth devs" in one_line(r)
    assert list(tmp_path.iterdir()) == []


# -- progress: rate and ETA on a terminal, nothing under --json or into a pipe -----------------

def _in_pty(args, timeout=120):
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-m", "eyeauth", *args])
    out = b""
    while True:
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def test_explore_shows_progress_with_rate_and_eta_on_a_terminal(tmp_path):
    code, out = _in_pty(["explore", "--out", str(tmp_path / "a"), "--board", "esp-eye",
                         "--no-plots"])
    assert code == 0, out
    assert "explore: configurations" in out and "cfg/s" in out and "eta" in out
    r = run("explore", "--out", str(tmp_path / "b"), "--board", "esp-eye", "--no-plots", "--json")
    assert r.returncode == 0 and r.stderr == ""
    assert json.loads(r.stdout)["counts"]["configurations"] > 0
    r = run("explore", "--out", str(tmp_path / "c"), "--board", "esp-eye", "--no-plots")
    assert r.returncode == 0 and "cfg/s" not in r.stderr  # not a terminal: no bars


# -- every EYEAUTH_* variable the code reads is in the README's table ------------------------------

def test_every_environment_variable_is_documented():
    used = set()
    for p in list((REPO_ROOT / "host").rglob("*.py")) + list((REPO_ROOT / "firmware" / "image").rglob("*.sh")):
        used |= set(re.findall(r"\b(EYEAUTH_[A-Z_]+)\b", p.read_text()))
    used -= {"EYEAUTH_TFLM_ENGINE_H", "EYEAUTH_ESP_EYE", "EYEAUTH_ESP32S3_EYE"}  # not variables
    readme = (REPO_ROOT / "README.md").read_text()
    table = readme.split("## Settings and environment variables", 1)[1].split("\n## ", 1)[0]
    missing = sorted(v for v in used if f"`{v}`" not in table)
    assert not missing, f"not in the README's table: {missing}"
    for var in ("ESPTOOL_PORT", "ESPPORT"):
        assert f"`{var}`" in table


def test_report_of_a_virtual_boards_telemetry_says_so(tmp_path):
    """`eyeauth report` on records from a virtual board (its hello said `"virtual": true`):
    "virtual board" in the report and the boots table, a per-model table per stage."""
    from eyeauth.link.protocol import TelemetryRecord
    from eyeauth.telemetry.store import TelemetryStore

    db = tmp_path / "t.db"
    with TelemetryStore(db) as store:
        store.begin_session("/tmp/b/ttyEYE")
        store.note_boot("0badf00d", board="esp-eye", fw="0.1.0", proto=1, hello=True, virtual=True)
        for seq, (stage, model) in enumerate([("det_pre", "face_det"), ("detect", "face_det")] * 5):
            store.add_record(TelemetryRecord("0badf00d", seq, stage, model, 900, 90000, 1_400_000,
                                             0, {}), host_time=1_760_000_000.0 + seq)
    r = run("report", "--db", str(db), "--out", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "a **virtual board**" in text and "esp-eye (virtual board)" in text
    assert "## Latency and memory per model, per stage" in text
    assert "| `face_det` | `det_pre` |" in text and "| `face_det` | `detect` |" in text
