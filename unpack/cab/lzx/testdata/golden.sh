#!/bin/sh
# Regenerates golden.txt (here and in ../../quantum/testdata) from 7-Zip's extraction of the
# shared conformance samples, so that `go test` needs no 7zz. Run from this directory:
#   ROLLGATE_SAMPLES=/work/shared/samples sh golden.sh
# Line format: sample<TAB>path inside the cabinet<TAB>bytes hashed<TAB>sha256 of those bytes.
# The nested large-files.cab holds 2 GiB files; only their first $PREFIX bytes are hashed
# (and the whole file when LONG=1, as for the committed golden.txt; the test checks those
# only with ROLLGATE_LONG=1).
set -eu
S=${ROLLGATE_SAMPLES:-../../../../../shared/samples}
PREFIX=67108864
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
out=$T/golden.txt
: >"$out"
for s in cab/test_read_format_cab_3.cab cab/libmspack/good/large-files-cab.cab \
	cab/libmspack/good/mixed.cab cab/libmspack/good/mszip_lzx_qtm.cab; do
	mkdir "$T/x"
	7zz x -y -o"$T/x" "$S/$s" >/dev/null
	(cd "$T/x" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) | while IFS= read -r p; do
		n=$(stat -c %s "$T/x/$p")
		h=$(sha256sum <"$T/x/$p" | cut -d' ' -f1)
		printf '%s\t%s\t%s\t%s\n' "$s" "$p" "$n" "$h" >>"$out"
	done
	if [ -f "$T/x/large-files.cab" ]; then
		for f in lzx15-2gb.txt lzx21-2gb.txt; do
			h=$(7zz x -so "$T/x/large-files.cab" "$f" | head -c $PREFIX | sha256sum | cut -d' ' -f1)
			printf '%s\t%s\t%s\t%s\n' "$s" "large-files.cab/$f" "$PREFIX" "$h" >>"$out"
			if [ "${LONG:-0}" = 1 ]; then
				n=$(7zz l -slt "$T/x/large-files.cab" "$f" | sed -n 's/^Size = //p')
				h=$(7zz x -so "$T/x/large-files.cab" "$f" | sha256sum | cut -d' ' -f1)
				printf '%s\t%s\t%s\t%s\n' "$s" "large-files.cab/$f" "$n" "$h" >>"$out"
			fi
		done
	fi
	rm -rf "$T/x"
done
cp "$out" golden.txt
cp "$out" ../../quantum/testdata/golden.txt
