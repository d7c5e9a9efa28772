#!/bin/sh
# Regenerates the .xz fixtures with Debian's xz-utils (tested with xz 5.4) and python3.
# The inputs are `seq 1 100` and `seq 1 30000`; xz_test.go rebuilds them to compare.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
seq 1 100 >"$tmp/small"
seq 1 30000 >"$tmp/large"
xz -6 -c "$tmp/large" >default.xz                       # CRC64, one block
xz -9 -c "$tmp/large" >best.xz                          # 64 MiB dictionary
xz -6 --block-size=64KiB -T1 -c "$tmp/large" >multiblock.xz # sizes in the block headers
xz --check=crc32 -c "$tmp/small" >crc32.xz
xz --check=crc64 -c "$tmp/small" >crc64.xz
xz --check=sha256 -c "$tmp/small" >sha256.xz
xz --check=none -c "$tmp/small" >none.xz
xz -c </dev/null >empty.xz                              # a stream with no blocks
xz --lzma2=preset=1,dict=64KiB -c "$tmp/large" >smalldict.xz
# two streams with four bytes of stream padding between them and after
{ cat crc32.xz; printf '\0\0\0\0'; cat sha256.xz; printf '\0\0\0\0'; } >concat.xz
xz --x86 --lzma2=preset=6 -c "$tmp/small" >bcj.xz
xz --delta=dist=2 --lzma2=preset=6 -c "$tmp/small" >delta.xz
# crc32.xz with its LZMA2 dictionary property set to 37 (1.5 GiB) and the header CRC fixed
python3 - <<'PY'
import struct, zlib
b = bytearray(open("crc32.xz", "rb").read())
hs = (b[12] + 1) * 4
assert b[13] == 0 and b[14] == 0x21 and b[15] == 1, "unexpected block header layout"
b[16] = 37
struct.pack_into("<I", b, 12 + hs - 4, zlib.crc32(bytes(b[12:12 + hs - 4])))
open("bigdict.xz", "wb").write(b)
PY
