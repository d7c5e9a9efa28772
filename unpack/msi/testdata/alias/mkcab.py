#!/usr/bin/env python3
"""mkcab.py OUT NAME=FILE... — writes an uncompressed (stored) cabinet holding each FILE under
NAME, in the order given, one folder; for gen.sh, which has no cabinet tool."""
import struct, sys

out, pairs = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
files = [(n.encode(), open(f, "rb").read()) for n, f in pairs]
blob = b"".join(d for _, d in files)
chunks = [blob[i:i + 32768] for i in range(0, len(blob), 32768)] or [b""]
hdr, folder = 36, 8
cffiles = b""
off = 0
for name, data in files:
    cffiles += struct.pack("<IIHHHH", len(data), off, 0, 0x5a21, 0, 0x20) + name + b"\0"
    off += len(data)
data_start = hdr + folder + len(cffiles)
cfdata = b"".join(struct.pack("<IHH", 0, len(c), len(c)) + c for c in chunks)
total = data_start + len(cfdata)
head = b"MSCF" + struct.pack("<IIIIIBBHHHHH", 0, total, 0, hdr + folder, 0, 3, 1, 1, len(files), 0, 0x1234, 0)
fold = struct.pack("<IHH", data_start, len(chunks), 0)
open(out, "wb").write(head + fold + cffiles + cfdata)
