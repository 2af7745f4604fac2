"""Dataset loaders for the layout ``<root>/<identity>/<files>`` (and FSDD's flat layout).

* images: .pgm .png .jpg .jpeg .bmp .tif (Pillow), returned as 2-D uint8 grey arrays;
* audio: .wav (scipy), returned as mono int16 at the rate asked for (polyphase resampling).
* FSDD: ``recordings/{digit}_{speaker}_{n}.wav`` in one folder; the identity is the speaker.

Splits are by identity only: :func:`split_identities` never puts an identity on both sides.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from math import gcd
from pathlib import Path

import numpy as np

from eyeauth.errors import DataError

IMAGE_EXT = (".pgm", ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
AUDIO_EXT = (".wav",)
_FSDD = re.compile(r"^(\d+)_([A-Za-z0-9-]+)_(\d+)\.wav$", re.IGNORECASE)


def natural_key(text):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(text))]


@dataclass
class Dataset:
    """Files grouped by identity (identity order and file order are natural-sorted)."""

    root: Path
    modality: str
    files: dict = field(default_factory=dict)  # identity -> [Path]

    @property
    def identities(self):
        return list(self.files)

    def subset(self, identities):
        missing = [i for i in identities if i not in self.files]
        if missing:
            raise DataError(f"identities not in {self.root}: {', '.join(map(str, missing))}")
        return Dataset(self.root, self.modality, {i: self.files[i] for i in identities})

    def items(self):
        """[(identity, path)] in order."""
        return [(i, p) for i in self.files for p in self.files[i]]

    def listing(self):
        """A stable description of the files (for build cache keys): name and size each."""
        return [(str(p.relative_to(self.root)), p.stat().st_size) for _, p in self.items()]


def _ext_for(modality):
    if modality in ("face", "image", "detector"):
        return IMAGE_EXT
    if modality in ("voice", "audio"):
        return AUDIO_EXT
    raise DataError(f"unknown modality {modality!r}; use face or voice")


def scan(root, modality):
    """Find the identities under ``root``. Raises DataError when nothing usable is found."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; give a folder laid out as <identity>/<files>")
    ext = _ext_for(modality)
    files: dict = {}

    def add_flat(paths):
        for p in paths:
            m = _FSDD.match(p.name)
            files.setdefault(m.group(2), []).append(p)

    top = sorted((p for p in root.iterdir() if p.is_file() and p.suffix.lower() in ext),
                 key=lambda p: natural_key(p.name))
    if top and all(_FSDD.match(p.name) for p in top):
        add_flat(top)
    for sub in sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: natural_key(p.name)):
        inner = sorted((p for p in sub.rglob("*") if p.is_file() and p.suffix.lower() in ext),
                       key=lambda p: natural_key(p.relative_to(sub)))
        speakers = {m.group(2) for m in map(_FSDD.match, (p.name for p in inner)) if m}
        if inner and len(speakers) > 1 and all(_FSDD.match(p.name) for p in inner):
            add_flat(inner)  # FSDD's flat recordings/ folder
        elif inner:
            files.setdefault(sub.name, []).extend(inner)
    if not files:
        kinds = "/".join(e.lstrip(".") for e in ext)
        raise DataError(f"no {kinds} files under {root}; expected <identity>/<files> "
                        "(or FSDD's {digit}_{speaker}_{n}.wav)")
    files = {k: sorted(v, key=lambda p: natural_key(p.name)) for k, v in
             sorted(files.items(), key=lambda kv: natural_key(kv[0]))}
    return Dataset(root, "face" if ext is IMAGE_EXT else "voice", files)


def split_identities(identities, holdout, seed=None):
    """(train, test) lists of identities, disjoint. ``holdout``: a count (the last ``holdout``
    identities in natural order, or a seeded random choice when ``seed`` is given) or an
    explicit list of identities to hold out."""
    ids = list(identities)
    if isinstance(holdout, int):
        if not 0 < holdout < len(ids):
            raise DataError(f"cannot hold out {holdout} of {len(ids)} identities")
        if seed is None:
            test = ids[-holdout:]
        else:
            rng = np.random.default_rng(seed)
            test = [ids[i] for i in sorted(rng.choice(len(ids), holdout, replace=False))]
    else:
        test = [i for i in ids if i in set(holdout)]
    train = [i for i in ids if i not in set(test)]
    assert not set(train) & set(test)
    return train, test


def load_image(path):
    """A 2-D uint8 grey image from any Pillow-readable file."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("L"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as exc:
        raise DataError(f"cannot read image {path}: {exc}; give a pgm/png/jpg file") from None


def load_audio(path, rate=8000):
    """Mono int16 samples of a .wav resampled to ``rate`` Hz."""
    from scipy.io import wavfile

    try:
        src_rate, data = wavfile.read(os.fspath(path))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read audio {path}: {exc}; give a PCM .wav file") from None
    return to_int16(data, src_rate, rate)


def to_int16(data, src_rate, rate=8000):
    """Convert any wav sample array (int16/int32/uint8/float, mono or multi-channel, any rate:
    44.1 and 48 kHz included) to mono int16 at ``rate`` Hz. Each sample is scaled to int16 range
    by its own dtype first, then the channels are averaged."""
    x = np.asarray(data)
    if x.dtype == np.uint8:
        x = (x.astype(np.float64) - 128) * 256
    elif x.dtype == np.int32:
        x = x.astype(np.float64) / 65536
    elif np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64) * 32767
    else:  # int16 (and any other integer type scipy gives at 16 bits or less)
        x = x.astype(np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if int(src_rate) != int(rate):
        from scipy.signal import resample_poly

        g = gcd(int(src_rate), int(rate))
        x = resample_poly(x, int(rate) // g, int(src_rate) // g)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


ORL_DIR = ("faces", "orl")
FSDD_DIR = ("voices", "fsdd", "recordings")


def orl(data_dir=None):
    from eyeauth import SHARED_DATA_DIR

    return scan(Path(data_dir or SHARED_DATA_DIR).joinpath(*ORL_DIR), "face")


def fsdd(data_dir=None):
    from eyeauth import SHARED_DATA_DIR

    return scan(Path(data_dir or SHARED_DATA_DIR).joinpath(*FSDD_DIR), "voice")
