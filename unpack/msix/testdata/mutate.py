#!/usr/bin/env python3
"""Edits a stored (uncompressed) ZIP entry in place and fixes its CRC-32 in the local header
and the central directory, so that only the package's own hashes can tell.
Usage: mutate.py IN OUT NAME flip OFFSET | mutate.py IN OUT NAME replace OLD NEW"""
import struct, sys, zlib

src, dst, name, op = sys.argv[1:5]
b = bytearray(open(src, "rb").read())
eocd = b.rfind(b"PK\x05\x06")
cd_size, cd_off = struct.unpack_from("<II", b, eocd + 12)
p = cd_off
while p < cd_off + cd_size:
    n, x, c = struct.unpack_from("<HHH", b, p + 28)
    if b[p + 46:p + 46 + n].decode() == name:
        method, = struct.unpack_from("<H", b, p + 10)
        size, = struct.unpack_from("<I", b, p + 20)
        lh, = struct.unpack_from("<I", b, p + 42)
        assert method == 0, "entry must be stored"
        ln, lx = struct.unpack_from("<HH", b, lh + 26)
        data = lh + 30 + ln + lx
        body = bytearray(b[data:data + size])
        if op == "flip":
            body[int(sys.argv[5])] ^= 0x01
        else:
            old, new = sys.argv[5].encode(), sys.argv[6].encode()
            assert len(old) == len(new) and body.count(old) == 1
            body = body.replace(old, new)
        b[data:data + size] = body
        crc = zlib.crc32(body) & 0xffffffff
        struct.pack_into("<I", b, lh + 14, crc)
        struct.pack_into("<I", b, p + 16, crc)
        open(dst, "wb").write(b)
        sys.exit(0)
    p += 46 + n + x + c
sys.exit("no entry " + name)
