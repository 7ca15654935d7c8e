#!/usr/bin/env python3
"""make-midi-seeds.py: writes the seed corpus midi-seeds/ for fuzz-midi (and its regression run).

Small valid SMF files that reach every feature of the reader, the bad inputs of test-midi, and
deterministic corruptions (truncations, byte flips, bad lengths) of a real POP909 fixture. Inputs
the fuzzer found to crash are kept beside them as crash-*.mid and are never rewritten by this
script. Run from anywhere: python3 tests/fuzz/make-midi-seeds.py. Standard library only.
"""
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "midi-seeds")
FIXTURE = os.path.join(HERE, "..", "data", "midi", "pop909-098.mid")


def vlq(v):
    out = [v & 0x7F]
    v >>= 7
    while v:
        out.append(0x80 | (v & 0x7F))
        v >>= 7
    return bytes(reversed(out))


def header(fmt, ntrks, division):
    return b"MThd" + struct.pack(">IHHH", 6, fmt, ntrks, division)


def chunk(events, eot=True):
    body = bytes(events) + (b"\x00\xff\x2f\x00" if eot else b"")
    return b"MTrk" + struct.pack(">I", len(body)) + body


def meta(delta, kind, data):
    return vlq(delta) + bytes([0xFF, kind]) + vlq(len(data)) + data


def notes(ch=0, base=60, n=4, step=96):
    ev = b""
    for i in range(n):
        ev += vlq(0) + bytes([0x90 | ch, base + i, 100]) + vlq(step) + bytes([0x80 | ch, base + i, 64])
    return ev


def seeds():
    s = {}
    s["valid-type0"] = header(0, 1, 96) + chunk(notes())
    conductor = (meta(0, 0x03, b"Title") + meta(0, 0x51, b"\x07\xa1\x20") +
                 meta(0, 0x58, b"\x03\x02\x18\x08") + meta(0, 0x59, b"\xfd\x01") +
                 meta(0, 0x06, b"Intro") + meta(480, 0x51, b"\x09\x27\xc0"))
    piano = meta(0, 0x03, b"Piano") + b"\x00\xc0\x05" + meta(0, 0x05, b"la") + notes()
    drums = notes(ch=9, base=36, n=3, step=10)
    s["valid-type1"] = header(1, 3, 480) + chunk(conductor) + chunk(piano) + chunk(drums)
    s["valid-running-status"] = header(0, 1, 480) + chunk(
        b"\x00\x91\x3c\x64\x00\x40\x65\x81\x70\x3c\x00" + meta(0, 0x01, b"hi") +
        b"\x00\x40\x00\x00\xf0\x03\x7e\x7f\xf7\x10\xf7\x02\x01\x02\x00\x43\x32\x10\x81\x43\x00")
    s["valid-fifo"] = header(0, 1, 480) + chunk(
        b"\x00\x90\x3c\x32\x0a\x3c\x3c\x0a\x3c\x46\x0a\x80\x3c\x00\x0a\x3c\x00\x0a\x3c\x00\x0a\x3c\x00")
    s["valid-unterminated"] = header(1, 2, 480) + chunk(b"\x00\x90\x3c\x64\x00\x3c\x5a") + \
        chunk(b"\x05\x80\x3c\x00\x00\x90\x3d\x28", eot=False)
    s["valid-split"] = header(0, 1, 100) + chunk(
        meta(0, 0x03, b"a") + b"\x00\x93\x32\x0a\x00\xc1\x07\x00\x91\x3c\x14\x0a\x81\x3c\x00"
        b"\x00\xc1\x02\x00\x91\x3d\x1e\x05\xc1\x09\x05\x81\x3d\x00\x00\x83\x32\x00")
    s["valid-long-delta"] = header(0, 1, 480) + chunk(
        b"".join(vlq(0x0FFFFFFF) + b"\x90\x3c\x64\x01\x80\x3c\x00" for _ in range(4)))
    inner = s["valid-type0"]
    riff_body = b"RMID" + b"LIST" + struct.pack("<I", 3) + b"abc\x00" + b"data" + \
        struct.pack("<I", len(inner)) + inner
    s["valid-riff"] = b"RIFF" + struct.pack("<I", len(riff_body)) + riff_body
    s["valid-unknown-chunk"] = b"MThd" + struct.pack(">IHHH", 8, 1, 5, 480) + b"\xaa\xbb" + \
        b"XFIH" + struct.pack(">I", 3) + b"\x01\x02\x03" + chunk(notes())
    s["valid-trailing"] = s["valid-type0"] + b"\xaa\x55\x00"
    s["valid-after-eot"] = header(0, 1, 480) + chunk(notes() + b"\x00\xff\x2f\x00\xf4\xf4\xff", eot=False)
    s["bad-empty"] = b""
    s["bad-not-midi"] = b"hello world\n\x00\x00\x00\x00"
    s["bad-division0"] = header(0, 1, 0) + chunk(b"")
    s["bad-smpte"] = header(0, 1, 0xE728) + chunk(notes())
    s["bad-type2"] = header(2, 1, 480) + chunk(notes())
    s["bad-type7"] = header(7, 1, 480)
    s["bad-header-length"] = b"MThd" + struct.pack(">IHHH", 5, 0, 1, 480)
    s["bad-chunk-length"] = header(1, 2, 480) + chunk(b"") + b"MTrk\x7f\xff\xff\xff\x00\xff\x2f\x00"
    s["bad-ntrks-65535"] = header(1, 65535, 480) + chunk(notes())
    s["bad-running-status"] = header(0, 1, 480) + chunk(b"\x00\x3c\x40", eot=False)
    s["bad-status-f4"] = header(0, 1, 480) + chunk(b"\x00\xf4", eot=False)
    s["bad-status-f8"] = header(0, 1, 480) + chunk(b"\x00\xf8", eot=False)
    s["bad-vlq-5"] = header(0, 1, 480) + chunk(b"\x00\x90\x3c\x40\x81\x82\x83\x84\x05\x80\x3c\x00", eot=False)
    s["bad-data-status"] = header(0, 1, 480) + chunk(b"\x00\x90\x3c\x90", eot=False)
    s["bad-meta-length"] = header(0, 1, 480) + chunk(b"\x00\xff\x03\x10ab", eot=False)
    s["bad-sysex-length"] = header(0, 1, 480) + chunk(b"\x00\xf0\x05\x01\x02", eot=False)
    fixture = open(FIXTURE, "rb").read()
    s["pop909-098"] = fixture
    rng = random.Random(909)
    for i, cut in enumerate([13, 22, 40, 100, 500, len(fixture) // 2, len(fixture) - 1]):
        s["trunc-%02d" % i] = fixture[:cut]
    for i in range(8):
        b = bytearray(fixture)
        for _ in range(1 + i % 4):
            b[rng.randrange(len(b))] = rng.randrange(256)
        s["flip-%02d" % i] = bytes(b)
    b = bytearray(fixture)
    b[18:22] = b"\x00\x00\xff\xff"   # first chunk's length: far too long
    s["bad-first-length"] = bytes(b)
    return s


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        if not name.startswith("crash-"):
            os.remove(os.path.join(OUT, name))
    for name, data in sorted(seeds().items()):
        with open(os.path.join(OUT, name + ".mid"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
