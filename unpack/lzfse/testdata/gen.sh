#!/bin/sh
# gen.sh regenerates the LZFSE test vectors with Apple's reference encoder
# (github.com/lzfse/lzfse, tested at e634ca58b4821d9f3d560cdc6df5dec02ffc93fd), so that
# `go test` needs neither the encoder nor the inputs.
# Usage: ./gen.sh PATH_TO_LZFSE_CHECKOUT   (run inside testdata/)
# For each input it writes NAME.lzfse and appends "NAME SIZE SHA256" of the input to
# vectors.txt. Inputs are generated deterministically by python3 (fixed seed):
#   text    ~300 KiB of words: several bvx2 blocks with matches across blocks
#   small   1 KiB of words: one bvxn (LZVN) block
#   random  12 KiB of random bytes: one bvx- (stored) block
#   runs    200 KiB of byte runs and short-distance repeats: overlapping matches
set -eu
src=${1:?usage: gen.sh PATH_TO_LZFSE_CHECKOUT}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -o "$tmp/lzfse" "$src"/src/*.c
python3 - "$tmp" <<'PY'
import random, sys
d = sys.argv[1]
r = random.Random(1)
words = [''.join(r.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(r.randint(2, 9))) for _ in range(400)]
def text(n):
    out = []
    size = 0
    while size < n:
        w = r.choice(words) + r.choice([' ', ' ', ' ', ', ', '.\n'])
        out.append(w); size += len(w)
    return ''.join(out)[:n].encode()
open(d + '/text', 'wb').write(text(300 * 1024))
open(d + '/small', 'wb').write(text(1024))
open(d + '/random', 'wb').write(bytes(r.getrandbits(8) for _ in range(12 * 1024)))
runs = bytearray()
while len(runs) < 200 * 1024:
    k = r.randint(1, 7)
    pat = bytes(r.getrandbits(8) for _ in range(k))
    runs += pat * r.randint(1, 300)
open(d + '/runs', 'wb').write(bytes(runs[:200 * 1024]))
PY
: >vectors.txt
for n in text small random runs; do
	"$tmp/lzfse" -encode -i "$tmp/$n" -o "$n.lzfse"
	printf '%s %s %s\n' "$n" "$(stat -c %s "$tmp/$n")" "$(sha256sum <"$tmp/$n" | cut -d' ' -f1)" >>vectors.txt
done
