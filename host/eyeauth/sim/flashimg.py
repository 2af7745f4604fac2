"""The virtual board's SPI flash and the app bundle format it boots frozen modules from.

Bundle (what `eyeauth flash` writes at the app offset for the virtual board): a header
``b"EAFW" | u16 version | u16 count | u32 body_len | 32-byte sha256(body)`` then ``count``
entries ``u16 name_len | name | u32 size | data``. A blank, foreign or damaged app region gives no
frozen modules (a real ESP32 would not boot it either; the virtual one still runs MicroPython
from its filesystem, and says so in board.log).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import struct
from pathlib import Path

MAGIC = b"EAFW"
HEADER = struct.Struct("<4sHHI32s")
FLASH_SIZE = 4 * 1024 * 1024


def make_bundle(files: dict[str, bytes], keep_order: bool = False) -> bytes:
    body = bytearray()
    for name in (files if keep_order else sorted(files)):
        raw = name.encode()
        body += struct.pack("<H", len(raw)) + raw + struct.pack("<I", len(files[name])) + files[name]
    return HEADER.pack(MAGIC, 1, len(files), len(body), hashlib.sha256(body).digest()) + bytes(body)


def parse_bundle(blob: bytes) -> dict[str, bytes] | None:
    if len(blob) < HEADER.size:
        return None
    magic, version, count, length, digest = HEADER.unpack_from(blob, 0)
    body = blob[HEADER.size:HEADER.size + length]
    if magic != MAGIC or version != 1 or len(body) != length or hashlib.sha256(body).digest() != digest:
        return None
    out, pos = {}, 0
    for _ in range(count):
        (n,) = struct.unpack_from("<H", body, pos)
        name = body[pos + 2:pos + 2 + n].decode()
        (size,) = struct.unpack_from("<I", body, pos + 2 + n)
        start = pos + 6 + n
        out[name] = bytes(body[start:start + size])
        pos = start + size
    return out


def unpack_bundle(files: dict[str, bytes] | None, dest: Path) -> None:
    """Replace dest's contents with the bundle's files (nothing when there is no bundle)."""
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name, data in (files or {}).items():
        target = (dest / name).resolve()
        if dest.resolve() not in target.parents:
            continue  # a name that escapes the folder is not ours to write
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


class PersistentFlash:
    """esp32-mock-bootloader's FlashImage, loaded from and saved to a file."""

    def __init__(self, path: Path):
        from esp32_mock_bootloader.server import FlashImage

        self.path = Path(path)
        self.image = FlashImage()
        if self.path.exists() and self.path.stat().st_size == len(self.image.data):
            self.image.data[:] = self.path.read_bytes()
        self.saved_digest = self.digest()

    def digest(self) -> bytes:
        return hashlib.md5(self.image.data).digest()

    def dirty(self) -> bool:
        return self.digest() != self.saved_digest

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(self.image.data)
        os.replace(tmp, self.path)
        self.saved_digest = self.digest()

    def app_bundle(self, offset: int) -> dict[str, bytes] | None:
        head = self.image.read(offset, HEADER.size)
        if len(head) < HEADER.size or head[:4] != MAGIC:
            return None
        length = HEADER.unpack(head)[3]
        return parse_bundle(self.image.read(offset, HEADER.size + length))


def build_app_image(out: Path | None = None) -> Path:
    """The app image `eyeauth flash` writes to a virtual board by default: the firmware modules,
    .mpy-compiled, as a bundle the board boots frozen modules from. Written to ``out``, else
    to the cache folder (never into the checkout). Returns its path."""
    from eyeauth import cache_dir
    from eyeauth.board.deploy import build_bundle

    files = build_bundle(models_dir=None)
    blob = make_bundle({k.lstrip("/"): v for k, v in files.items()})
    # named by content in the shared cache: two checkouts flashing at once never swap images
    out = Path(out) if out else cache_dir() / f"eyeauth-app-{hashlib.sha256(blob).hexdigest()[:12]}.bin"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.part")
    tmp.write_bytes(blob)
    os.replace(tmp, out)
    return out
