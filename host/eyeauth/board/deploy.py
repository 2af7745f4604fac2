"""Put the app, the models and the premodel onto the board filesystem, with mpremote.

* The bundle is what ``firmware/manifest.py`` names, compiled with mpy-cross (``main.py`` and
  ``boot.py`` stay source, as MicroPython runs only those by name), plus the release: its
  ``models/*.tflite``, router documents and the manifest ``/models/release.json`` (the board
  reads no model card). A file that does not compile stops the build with its file and line.
* Incremental by content: the board hashes the files it has (sha256, in C on the device); only
  files whose hash differs are sent. An unchanged tree copies nothing.
* A paired board keeps Ctrl-C and the REPL locked (its app owns the line): deploy first sends the
  signed ``maintenance`` command with this host's pairing secret (one clear error without it),
  which opens them until the next reboot; the restart at the end locks them again.
* Atomic per file: each file is written to ``<name>.part``, its hash checked on the board, then
  renamed into place. A cable pulled mid-file leaves the old file (or none) under the real name
  and a ``.part`` that the next deploy removes.
"""
from __future__ import annotations

import ast
import base64
import contextlib
import io
import hashlib
import json
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from eyeauth import FIRMWARE_DIR, MODELS_DIR
from eyeauth.errors import EyeauthError, LinkError

MANAGED_DIRS = ("/eyeauth_fw", "/hal", "/models")
CHUNK = 3072  # raw bytes per exec: 4 KB of base64


class BuildError(EyeauthError):
    exit_code = 7


@dataclass
class DeployResult:
    port: str
    files_total: int = 0
    files_sent: list = field(default_factory=list)
    files_removed: list = field(default_factory=list)
    bytes_sent: int = 0
    seconds: float = 0.0
    app_started: bool | None = None

    def as_dict(self) -> dict:
        return {"port": self.port, "files_total": self.files_total, "files_sent": self.files_sent,
                "files_removed": self.files_removed, "bytes_sent": self.bytes_sent,
                "seconds": round(self.seconds, 3), "app_started": self.app_started,
                "bytes_per_s": round(self.bytes_sent / self.seconds) if self.seconds > 0 else None}


def manifest_entries(firmware_dir: Path = FIRMWARE_DIR) -> list[tuple[Path, str]]:
    """(local file, board path) for everything firmware/manifest.py names."""
    firmware_dir = Path(firmware_dir)
    entries: list[tuple[Path, str]] = []

    def package(name, base_path="."):
        root = firmware_dir / base_path / name
        for p in sorted(root.rglob("*.py")):
            entries.append((p, "/" + p.relative_to(firmware_dir / base_path).as_posix()))

    def module(name, base_path="."):
        p = firmware_dir / base_path / name
        entries.append((p, "/" + name))

    src = (firmware_dir / "manifest.py").read_text()
    exec(compile(src, str(firmware_dir / "manifest.py"), "exec"),
         {"package": package, "module": module, "require": lambda *a, **k: None,
          "include": lambda *a, **k: None, "freeze": lambda *a, **k: None})
    return entries


# sys.implementation._mpy >> 10 -> mpy-cross -march (native and viper code need the target's)
ARCHES = [None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
          "xtensa", "xtensawin", "rv32imc", "rv64imc"]
DEFAULT_ARCH = "xtensawin"  # the ESP32


def compile_mpy(path: Path, board_path: str, arch: str | None = DEFAULT_ARCH) -> bytes:
    """mpy-cross a file; BuildError with file and line if it does not compile."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mpy"
        march = [f"-march={arch}"] if arch else []
        proc = subprocess.run(["mpy-cross", "-O1", *march, "-s", board_path.lstrip("/"), "-o", str(out), str(path)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            msg = (proc.stderr or proc.stdout).strip().splitlines()
            where = next((l.strip() for l in msg if "line" in l), "")
            last = msg[-1] if msg else "mpy-cross failed"
            raise BuildError(f"{path}: does not compile for MicroPython ({where} {last}); fix it and build again")
        return out.read_bytes()


def board_data(board: str) -> bytes:
    """/hal/board.json: what firmware/hal/esp32.py needs of board_configs/<board>.json (chip,
    camera and mic pins, arena placement), so the HAL hard-codes no board."""
    from eyeauth.board.configs import load_board

    cfg = load_board(board)
    return json.dumps({"name": cfg["name"], "chip": cfg["chip"], "hal": cfg.get("hal", {})},
                      separators=(",", ":")).encode()


def build_bundle(firmware_dir: Path = FIRMWARE_DIR, models_dir: Path | None = MODELS_DIR,
                 use_mpy: bool = True, extra: dict[str, bytes] | None = None,
                 arch: str | None = DEFAULT_ARCH, board: str | None = "esp-eye",
                 only: set | None = None, release=None) -> dict[str, bytes]:
    """{board path: bytes} of the whole app image, .mpy compiled for `arch`, with the board's
    HAL data (/hal/board.json) for `board` and a release (``release``, an
    :class:`eyeauth.release.Release` already loaded and checked, else the one in
    `models_dir`): its models, router documents and the manifest /models/release.json, the
    board's only configuration (eyeauth.release). ``only``: just these models (and the audio
    front end with any voice or keyword model: the voice features come from it)."""
    files: dict[str, bytes] = {}
    if board:
        files["/hal/board.json"] = board_data(board)
    for local, board_path in manifest_entries(firmware_dir):
        if use_mpy and board_path not in ("/main.py", "/boot.py"):
            files[board_path[:-3] + ".mpy"] = compile_mpy(local, board_path, arch)
        else:
            compile_mpy(local, board_path, arch)  # compile anyway: a syntax error stops the build
            files[board_path] = local.read_bytes()
    if release is None and models_dir and Path(models_dir).is_dir():
        from eyeauth.release import load

        release = load(models_dir)
    if release is not None:
        from eyeauth.release import BOARD_MANIFEST

        if only is not None and any(m.name in only and m.modality in ("voice", "keyword")
                                    for m in release.models):  # what the voice models read
            only = set(only) | {m.name for m in release.models if m.modality == "frontend"}
        for m in release.models:
            if (only is None or m.name in only) and m.sha256:
                files["/models/" + m.file] = (release.dir / m.file).read_bytes()
        # the board's one configuration; it reports its id in `hello`
        files["/models/" + BOARD_MANIFEST] = json.dumps(release.board_manifest(board or "esp-eye", only),
                                                        separators=(",", ":")).encode()
        for pm in release.premodels:
            d = json.loads((release.dir / pm.file).read_text())
            d.pop("meta", None)  # host-only notes: not worth the board's heap
            files["/models/" + pm.file] = json.dumps(d, separators=(",", ":")).encode()
    files.update(extra or {})
    return files


def default_models_bundle(arch: str | None = DEFAULT_ARCH, models_dir: Path = MODELS_DIR) -> dict[str, bytes]:
    """The app with only the default face and voice models, the detector, the landmark net, the
    keyword model and
    the premodels (a quick deploy for benchmarks and tests); the manifest lists just those."""
    from eyeauth.release import load

    rel = load(models_dir)
    keep = {n for n in rel.defaults.values() if n} | ({rel.detector} if rel.detector else set())
    keep |= {rel.keyword} if rel.keyword else set()  # the spoken challenge's
    keep |= {rel.landmark} if rel.landmark else set()  # the aligned face crop's
    return build_bundle(arch=arch, only=keep, release=rel)


def board_arch(t) -> str | None:
    """The native-code architecture of the board on mpremote transport `t`."""
    n = int(t.eval("__import__('sys').implementation._mpy"))
    idx = n >> 10
    return ARCHES[idx] if idx < len(ARCHES) else None


# -- the board side, as MicroPython snippets run through mpremote's raw REPL ------------------

_HASH_ALL = """
import os, hashlib, binascii
def _h(p):
    h = hashlib.sha256()
    with open(p, 'rb') as f:
        while True:
            b = f.read(2048)
            if not b:
                break
            h.update(b)
    return binascii.hexlify(h.digest()).decode()
def _walk(d, out):
    try:
        items = list(os.ilistdir(d))
    except OSError:
        return
    for it in items:
        p = d + '/' + it[0]
        if it[1] & 0x4000:
            _walk(p, out)
        else:
            out[p] = _h(p)
_o = {}
for _d in %r:
    _walk(_d, _o)
for _p in %r:
    try:
        _o[_p] = _h(_p)
    except OSError:
        pass
print(repr(_o))
"""


def _board_hashes(t, top_files: list[str]) -> dict[str, str]:
    """{path: sha256 hex} of the files the board has in the managed folders and at the top."""
    out = t.exec(_HASH_ALL % (list(MANAGED_DIRS), top_files)).decode().strip()
    return ast.literal_eval(out)


def _mkdirs(t, path: str, made: set):
    parts = path.strip("/").split("/")[:-1]
    cur = ""
    for p in parts:
        cur += "/" + p
        if cur not in made:
            t.exec("import os\ntry:\n    os.mkdir(%r)\nexcept OSError:\n    pass" % cur)
            made.add(cur)


def _write_atomic(t, path: str, data: bytes, progress=None):
    part = path + ".part"
    t.exec("from binascii import a2b_base64 as _d\n_f=open(%r,'wb')" % part)
    for i in range(0, len(data), CHUNK):
        t.exec("_f.write(_d(%r))" % base64.b64encode(data[i:i + CHUNK]).decode())
        if progress:
            progress(min(CHUNK, len(data) - i))
    digest = hashlib.sha256(data).hexdigest()
    res = t.exec(
        "_f.close()\nimport os, hashlib, binascii\n_h=hashlib.sha256()\n_f=open(%r,'rb')\n"
        "while True:\n    _b=_f.read(2048)\n    if not _b:\n        break\n    _h.update(_b)\n_f.close()\n"
        "if binascii.hexlify(_h.digest()).decode()!=%r:\n    os.remove(%r)\n    print('BAD')\nelse:\n"
        "    try:\n        os.rename(%r,%r)\n    except OSError:\n        os.remove(%r)\n        os.rename(%r,%r)\n"
        "    print('OK')" % (part, digest, part, part, path, path, part, path)).decode().strip()
    if res != "OK":
        raise LinkError(f"{path} arrived damaged on the board (hash mismatch); run the deploy again")


def _interrupt(ser, timeout: float = 8.0) -> None:
    """Ctrl-C until the REPL prompt answers (twice in a row, so a stale prompt from an earlier
    session does not count): the app may be running, or the board still booting (a Ctrl-C
    that lands before MicroPython is up is lost, on a real board as here)."""
    deadline = time.monotonic() + timeout
    saved, ser.timeout = ser.timeout, 0.05
    answered = 0
    while time.monotonic() < deadline and answered < 2:
        while ser.in_waiting:
            ser.read(ser.in_waiting)
        ser.write(b"\r\x03\x03\x02")  # interrupt; leave the raw REPL if in it
        seen = b""
        t_end = time.monotonic() + 0.4
        while time.monotonic() < t_end and b">>> " not in seen:
            seen = (seen + ser.read(ser.in_waiting or 1))[-512:]
        answered = answered + 1 if b">>> " in seen else 0
    ser.timeout = saved  # mpremote's own reads need their timeout back
    if answered < 2:
        raise LinkError("the board does not answer Ctrl-C with a REPL prompt; is MicroPython on it? "
                        "Flash it first (`eyeauth flash`), then deploy again")


def _app_command(ser, cmd: str, timeout: float, **args) -> dict | None:
    """One app-protocol command on the raw serial object: its reply, or None when no app
    answers within timeout (the board sits in the REPL, or is still starting)."""
    from eyeauth.link import protocol

    seq = int(time.monotonic() * 1000) % 1000000 + 1
    saved, ser.timeout = ser.timeout, 0.05
    try:
        ser.write(b"\n" + protocol.encode("C", seq, {"cmd": cmd, **args}))
        dec = protocol.FrameDecoder()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for f in dec.feed(ser.read(ser.in_waiting or 1)):
                if f.kind == "R" and f.seq == seq and isinstance(f.payload, dict):
                    return f.payload
            if any(n.startswith((b">>>", b"raw REPL", b">")) for n in dec.noise):
                return None  # a REPL prompt: no app is running
        return None
    finally:
        ser.timeout = saved


def open_repl(ser, secret, timeout: float = 1.5) -> str | None:
    """A paired board's app owns the line (Ctrl-C is data): send it the signed `maintenance`
    command, so Ctrl-C and the REPL work until the next reboot. Returns the board id it opened,
    or None when no app answered or the board is not paired (nothing to open)."""
    from eyeauth.auth import pairing
    from eyeauth.errors import UsageError

    hello = _app_command(ser, "hello", timeout)
    if not hello or not hello.get("ok") or not hello.get("paired"):
        return None
    bid = hello.get("board_id") or ""
    if callable(secret):
        try:
            secret = secret()
        except UsageError:
            raise UsageError(f"board {bid} is paired and keeps its REPL locked; deploy needs the pairing "
                             f"secret it was paired with and this host has none ({pairing.key_path()}): "
                             f"copy it from that host (or set EYEAUTH_PAIRING_KEY), or hold the board's "
                             f"maintenance button (ESP-EYE: the side key) while it starts to open it once") from None
    chal = (_app_command(ser, "challenge", timeout) or {}).get("chal")
    if not chal:
        raise LinkError(f"board {bid} did not answer `challenge`; run the deploy again")
    body = {"cmd": "maintenance", "chal": chal}
    body["mac"] = pairing.sign(pairing.board_key(secret, bid), bid, body)
    body.pop("cmd")
    r = _app_command(ser, "maintenance", timeout, **body) or {}
    if r.get("err") == "bad_mac":
        raise UsageError(f"board {bid} was paired with another pairing secret than this host's "
                         f"({pairing.key_path()}); deploy refused (the board keeps its REPL locked). "
                         f"Use that host's secret (EYEAUTH_PAIRING_KEY), or hold the board's maintenance "
                         f"button (ESP-EYE: the side key) while it starts to open it once")
    if not r.get("ok"):
        raise LinkError(f"board {bid} refused `maintenance` ({r.get('msg') or r.get('err') or 'no reply'}); "
                        f"run the deploy again")
    return bid


def _restart_app(ser, timeout: float = 10.0) -> bool:
    """Soft reset from the friendly REPL; True once the app's hello frame shows."""
    ser.write(b"\x04")
    ser.timeout = 0.1
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = (seen + ser.read(ser.in_waiting or 1))[-4096:]
        if b"\nH1 0 " in seen or seen.startswith(b"H1 0 "):
            return True
    return False


def deploy(port: str, files: dict[str, bytes] | None = None, progress=None, restart: bool = True,
           baudrate: int = 115200, prune: bool = True, build=None, pairing_key: bytes | None = None,
           secret: bytes | None = None) -> DeployResult:
    """Copy what changed onto the board at `port`; restart the app afterwards. With prune, files
    in the app's folders that the bundle no longer has are removed. `pairing_key` (the host
    secret) pairs the board anew; `secret` only opens a paired board (default: `pairing_key`,
    else the host's secret file)."""
    from mpremote.transport import TransportError
    from mpremote.transport_serial import SerialTransport

    result = DeployResult(port=port)
    t0 = time.monotonic()
    try:
        t = SerialTransport(port, baudrate=baudrate)
    except Exception as exc:
        raise LinkError(f"cannot open {port} for deploy ({str(exc).splitlines()[0][:120]}); "
                        f"check the port (`eyeauth sim start` prints the virtual board's)") from None
    def host_secret():
        if secret is not None or pairing_key is not None:
            return secret if secret is not None else pairing_key
        from eyeauth.auth.pairing import load_key
        return load_key(create=False)

    try:
        for attempt in range(3):
            try:
                _interrupt(t.serial, timeout=3.0)
            except LinkError:
                # a paired board's app does not answer Ctrl-C: open it with the signed
                # `maintenance` command, then interrupt (it may also have been still starting)
                open_repl(t.serial, host_secret, timeout=3.0)
                try:
                    _interrupt(t.serial)
                except LinkError:
                    if attempt == 2:
                        raise
                    continue
            try:
                with contextlib.redirect_stdout(io.StringIO()):  # mpremote prints what it got on failure
                    t.enter_raw_repl(soft_reset=True)
                break
            except TransportError:
                if attempt == 2:  # the board reset under us (just flashed, or rebooting): again
                    raise
                time.sleep(0.5)
        if files is None:
            files = (build or (lambda arch: build_bundle(arch=arch)))(board_arch(t))
        if pairing_key is not None:  # this board's id and key, never the host's secret
            from eyeauth.auth.pairing import pairing_files
            files = {**files, **pairing_files(pairing_key)}
        result.files_total = len(files)
        top = [p for p in files if p.count("/") == 1]
        have = _board_hashes(t, top)
        stale = [p for p in have if p.endswith(".part")
                 or (prune and p not in files and p.startswith(MANAGED_DIRS))]
        for p in stale:
            t.exec("import os\nos.remove(%r)" % p)
            result.files_removed.append(p)
        todo = {p: d for p, d in sorted(files.items()) if have.get(p) != hashlib.sha256(d).hexdigest()}
        if progress:
            progress(0, total=sum(len(d) for d in todo.values()))
        made: set = set()
        for path, data in todo.items():
            _mkdirs(t, path, made)
            _write_atomic(t, path, data, progress)
            result.files_sent.append(path)
            result.bytes_sent += len(data)
        if restart:
            t.exit_raw_repl()
            result.app_started = _restart_app(t.serial)
    except (TransportError, OSError) as exc:
        raise LinkError(f"lost the board on {port} during deploy ({str(exc).splitlines()[0][:100]}); "
                        f"files already copied are complete; reconnect and run `eyeauth deploy` again") from None
    except Exception as exc:
        if type(exc).__name__ in ("SerialException", "SerialTimeoutException"):
            raise LinkError(f"lost the board on {port} during deploy; reconnect and run "
                            f"`eyeauth deploy` again (it resumes where it stopped)") from None
        raise
    finally:
        try:
            t.close()
        except Exception:  # the port may already be gone (cable pulled)
            pass
    result.seconds = time.monotonic() - t0
    return result
