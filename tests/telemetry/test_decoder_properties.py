"""Property-based tests of eyeauth.link.protocol.FrameDecoder (the one host decoder).

What must hold for any input: ``feed`` never raises; the result does not depend on how the
bytes are chunked; every LF-terminated line is accounted for (a frame, a dropped frame, a
noise line, an overlong line, or a blank line); damage to one frame costs that frame (and the
next one when the damage eats the LF between them) and nothing else.
"""
from __future__ import annotations

import json
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eyeauth.link import protocol

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# -- strategies -------------------------------------------------------------------------------
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=10)
_telemetry = st.tuples(
    st.text("0123456789abcdef", min_size=8, max_size=8), st.sampled_from(
        ["capture", "detect", "embed", "match", "bench"]), st.sampled_from(["", "face_s"]),
    st.integers(0, 10**7), st.integers(-1, 10**7), st.integers(0, 4 * 2**20),
    st.integers(0, 2**20)).map(list)


@st.composite
def frames(draw):
    kind = draw(st.sampled_from("CRTHL"))
    payload = draw(_telemetry if kind == "T" else _json)
    return protocol.Frame(kind, draw(st.integers(0, 2**31 - 1)), payload)


def encode(frame: protocol.Frame, crlf: bool = False) -> bytes:
    data = protocol.encode(frame.kind, frame.seq, frame.payload)
    return data[:-1] + b"\r\n" if crlf else data


_noise = st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" ")).filter(
    lambda b: not (len(b) >= 3 and chr(b[0]) in "CRTHL" and b[1:3] == b"1 ")
    and b.rstrip(b"\r") != b"")


def feed_chunked(decoder: protocol.FrameDecoder, data: bytes, cuts: list[int]) -> list:
    out, prev = [], 0
    for cut in sorted({c % (len(data) + 1) for c in cuts}) + [len(data)]:
        out += decoder.feed(data[prev:cut])
        prev = cut
    return out


def accounted(decoder: protocol.FrameDecoder, data: bytes) -> None:
    """Every complete line is a frame, dropped, noise, overlong or blank; an overlong
    unfinished tail is counted as overlong as soon as it passes the limit."""
    *lines, tail = data.split(b"\n")
    limit = decoder.max_line
    long_lines = sum(len(line) > limit for line in lines)
    blank = sum(1 for line in lines if len(line) <= limit and not line.rstrip(b"\r"))
    s = decoder.stats
    assert s.overlong == long_lines + (len(tail) > limit)
    assert s.frames + s.dropped + s.noise_lines == len(lines) - long_lines - blank
    assert s.bytes_in == len(data)


# -- any bytes --------------------------------------------------------------------------------
@SETTINGS
@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(0, 600), max_size=8),
       limit=st.integers(14, 120))
def test_any_bytes_never_raise_and_every_line_is_counted(data, cuts, limit):
    decoder = protocol.FrameDecoder(max_line=limit)
    feed_chunked(decoder, data, cuts)
    accounted(decoder, data)


@SETTINGS
@given(data=st.lists(st.one_of(st.binary(max_size=40), frames().map(encode)), max_size=12)
       .map(b"".join), cuts=st.lists(st.integers(0, 2000), max_size=10))
def test_chunking_does_not_change_the_result(data, cuts):
    whole = protocol.FrameDecoder()
    expected = whole.feed(data)
    chunked = protocol.FrameDecoder()
    assert feed_chunked(chunked, data, cuts) == expected
    assert chunked.stats == whole.stats
    assert chunked.pending() == whole.pending()


# -- valid streams ------------------------------------------------------------------------------
@SETTINGS
@given(items=st.lists(st.one_of(frames().map(lambda f: ("frame", f)),
                                _noise.map(lambda n: ("noise", n))), max_size=15),
       crlf=st.booleans(), cuts=st.lists(st.integers(0, 4000), max_size=12))
def test_valid_frames_among_noise_are_all_decoded(items, crlf, cuts):
    stream = b"".join(encode(x, crlf) if k == "frame" else x + b"\n" for k, x in items)
    decoder = protocol.FrameDecoder()
    got = feed_chunked(decoder, stream, cuts)
    assert got == [x for k, x in items if k == "frame"]
    assert decoder.stats.dropped == 0
    assert decoder.stats.noise_lines == sum(k == "noise" for k, _ in items)
    assert decoder.pending() == 0
    accounted(decoder, stream)


@SETTINGS
@given(fs=st.lists(frames(), min_size=1, max_size=8), data=st.data())
def test_truncated_frame_costs_itself_and_the_line_it_runs_into(fs, data):
    k = data.draw(st.integers(0, len(fs) - 1), label="truncated frame")
    raw = [encode(f) for f in fs]
    cut = data.draw(st.integers(1, len(raw[k]) - 1), label="bytes kept")  # LF is lost
    raw[k] = raw[k][:cut]
    stream = b"".join(raw)
    decoder = protocol.FrameDecoder()
    got = decoder.feed(stream)
    lost = {k, k + 1}
    assert got == [f for i, f in enumerate(fs) if i not in lost]
    if k == len(fs) - 1:
        assert decoder.pending() == cut  # held back until the line ends
    else:
        assert decoder.stats.dropped + decoder.stats.noise_lines == 1
    accounted(decoder, stream)


@SETTINGS
@given(fs=st.lists(frames(), min_size=1, max_size=6), data=st.data())
def test_flipping_one_byte_costs_at_most_that_frame(fs, data):
    raw = [encode(f) for f in fs]
    k = data.draw(st.integers(0, len(fs) - 1), label="damaged frame")
    pos = data.draw(st.integers(0, len(raw[k]) - 1), label="position")
    mask = data.draw(st.integers(1, 255), label="xor mask")
    damaged = bytearray(raw[k])
    damaged[pos] ^= mask
    lf_lost = pos == len(raw[k]) - 1  # the damaged frame runs into the next line
    stream = b"".join(raw[:k]) + bytes(damaged) + b"".join(raw[k + 1:])
    decoder = protocol.FrameDecoder()
    got = decoder.feed(stream)
    kept = [f for i, f in enumerate(fs) if not (lf_lost and i == k + 1)]
    without_k = [f for i, f in enumerate(kept) if kept[i] is not fs[k]]
    # CRC-32 catches every single-byte error, so the damaged frame is either rejected or, when
    # the byte is in the checksum text and still parses to the same number, decoded unchanged.
    assert got in (without_k, kept)
    if got == without_k:
        s = decoder.stats
        assert s.dropped + s.noise_lines >= 1 or (lf_lost and k == len(fs) - 1
                                                  and decoder.pending() == len(raw[k]))
    accounted(decoder, stream)


@SETTINGS
@given(lengths=st.lists(st.integers(0, 300), min_size=1, max_size=10),
       limit=st.integers(20, 200), fs=st.lists(frames(), max_size=3),
       cuts=st.lists(st.integers(0, 5000), max_size=10))
def test_overlong_lines_are_counted_and_skipped(lengths, limit, fs, cuts):
    short = [f for f in fs if len(encode(f)) - 1 <= limit]
    junk = [b"x" * n + b"\n" for n in lengths]
    stream = b"".join(junk) + b"".join(encode(f) for f in short)
    decoder = protocol.FrameDecoder(max_line=limit)
    got = feed_chunked(decoder, stream, cuts)
    assert got == short
    assert decoder.stats.overlong == sum(n > limit for n in lengths)
    accounted(decoder, stream)


def test_overlong_tail_without_lf_is_counted_once_and_the_next_line_survives():
    decoder = protocol.FrameDecoder(max_line=64)
    for _ in range(10):
        assert decoder.feed(b"y" * 50) == []
    frame = protocol.Frame("T", 1, ["0badcafe", "embed", "", 1, 2, 3, 4])
    assert decoder.feed(b"\n" + encode(frame)) == [frame]
    assert decoder.stats.overlong == 1
    assert decoder.stats.frames == 1 and decoder.stats.noise_lines == 0


def test_a_frame_just_after_an_overlong_line_is_decoded():
    decoder = protocol.FrameDecoder(max_line=64)
    frame = protocol.Frame("L", 3, {"level": "info", "msg": "hi"})
    got = decoder.feed(b"z" * 500 + b"\n" + encode(frame))
    assert got == [frame]
    assert decoder.stats.overlong == 1


# -- strictness of the frame format (firmware/PROTOCOL.md) ------------------------------------
def _with_crc(body: bytes, crc_text: bytes) -> bytes:
    return body + b" " + crc_text + b"\n"


def test_deeply_nested_payload_with_a_good_checksum_does_not_raise():
    body = b"T1 1 " + b"[" * 3000 + b"]" * 3000
    line = _with_crc(body, b"%08x" % zlib.crc32(body))
    decoder = protocol.FrameDecoder()
    assert decoder.feed(line) == []
    assert decoder.stats.dropped == 1


@pytest.mark.parametrize("variant", ["upper", "space", "plus", "underscore"])
def test_checksum_must_be_eight_lowercase_hex_digits(variant):
    # A frame whose checksum has two leading zeros and a letter: every variant below parses
    # to the same number with int(text, 16), though only the lowercase 8-digit form is valid.
    body = next(b for b in (b"T1 %d [%d]" % (i, i) for i in range(100000))
                if (zlib.crc32(b) & 0xFFFFFFFF) < 0x01000000
                and any(c in b"abcdef" for c in b"%08x" % zlib.crc32(b)))
    crc = b"%08x" % zlib.crc32(body)
    text = {"upper": crc.upper(), "space": b" " + crc[1:], "plus": b"+" + crc[1:],
            "underscore": b"0_" + crc[2:]}[variant]
    assert int(text, 16) == int(crc, 16) and len(text) == 8
    decoder = protocol.FrameDecoder()
    assert decoder.feed(_with_crc(body, text)) == []
    assert decoder.stats.dropped == 1


def test_payload_round_trip_is_exact_json():
    frame = protocol.Frame("L", 0, {"msg": "caf\u00e9 \u2713", "n": [1, 2, {"x": None}]})
    assert protocol.FrameDecoder().feed(encode(frame)) == [frame]
    assert json.loads(encode(frame).split(b" ", 2)[2].rsplit(b" ", 1)[0]) == frame.payload
