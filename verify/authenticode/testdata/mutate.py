#!/usr/bin/env python3
"""Derives the mutated fixtures from the signed ones (called by gen.sh).

PE: tampered (a byte of .text flipped), bytes hidden after the PKCS#7 blob inside the
certificate table (the CVE-2013-3900 / 3CX pattern) or after the table, a corrupt table.
MSI: a byte of a stream's content flipped in place (the compound file's structure is intact).
"""
import struct
import sys


def read(p):
    with open(p, "rb") as f:
        return bytearray(f.read())


def write(p, b):
    with open(p, "wb") as f:
        f.write(bytes(b))


def pe_layout(b):
    pe = struct.unpack_from("<I", b, 0x3C)[0]
    nsec, optsize = struct.unpack_from("<H", b, pe + 6)[0], struct.unpack_from("<H", b, pe + 20)[0]
    opt = pe + 24
    magic = struct.unpack_from("<H", b, opt)[0]
    dd = opt + (96 if magic == 0x10B else 112)
    secs = []
    for i in range(nsec):
        s = opt + optsize + 40 * i
        name = bytes(b[s:s + 8]).rstrip(b"\0").decode()
        size, ptr = struct.unpack_from("<II", b, s + 16)
        secs.append((name, ptr, size))
    return dd + 4 * 8, secs


def der_len(b, off):
    assert b[off] == 0x30
    n = b[off + 1]
    if n < 0x80:
        return 2 + n
    k = n & 0x7F
    return 2 + k + int.from_bytes(b[off + 2:off + 2 + k], "big")


def rebuild(src, dst, extra, dwlen_covers_padding=True):
    """Rewrites the single certificate entry as DER + extra, 8-byte aligned."""
    b = read(src)
    ddoff, _ = pe_layout(b)
    start, size = struct.unpack_from("<II", b, ddoff)
    der = bytes(b[start + 8:start + 8 + der_len(b, start + 8)])
    body = der + extra
    pad = (-(8 + len(body))) % 8
    dwlen = 8 + len(body) + (pad if dwlen_covers_padding else 0)
    entry = struct.pack("<IHH", dwlen, 0x0200, 0x0002) + body + b"\0" * pad
    out = b[:start] + entry
    struct.pack_into("<II", out, ddoff, start, len(entry))
    write(dst, out)


def pe():
    b = read("signed.exe")
    _, secs = pe_layout(b)
    text = [s for s in secs if s[0] == ".text"][0]
    b[text[1] + 0x40] ^= 0x01
    write("tampered.exe", b)

    payload = b"3CX-style payload hidden in the certificate table" + bytes(range(1, 40))
    rebuild("signed.exe", "padded-nonzero.exe", payload)
    rebuild("signed.exe", "padded-zero.exe", b"\0" * 16)
    rebuild("signed.exe", "aligned.exe", b"", dwlen_covers_padding=True)
    rebuild("signed.exe", "aligned-short.exe", b"", dwlen_covers_padding=False)

    b = read("signed.exe") + b"C2=203.0.113.7;" * 3
    write("appended.exe", b)

    b = read("signed.exe")
    ddoff, _ = pe_layout(b)
    start, size = struct.unpack_from("<II", b, ddoff)
    struct.pack_into("<I", b, start, size + 8)  # dwLength beyond the table
    write("corrupt-table.exe", b)

    b = read("signed.exe")
    struct.pack_into("<II", b, ddoff, start, size + 64)  # table beyond the file
    write("table-beyond-eof.exe", b)


def msi():
    b = read("signed.msi")
    i = b.find(b"rollgate fixture file")
    if i < 0:
        i = b.find(b"RollgateFixture")
    assert i > 0
    b[i] ^= 0x20
    write("tampered.msi", b)


if __name__ == "__main__":
    msi() if sys.argv[1:] == ["msi"] else pe()
