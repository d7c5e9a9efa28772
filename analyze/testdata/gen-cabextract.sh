#!/usr/bin/env bash
# Records what cabextract lists and extracts for the parts of the conformance cabinet set
# split-1..5.cab when given a single part, so `go test ./analyze` can check that inspecting
# one part inventories the whole set (found beside it by the header's names) without
# cabextract installed.
#
#   apt-get install cabextract
#   analyze/testdata/gen-cabextract.sh [SAMPLES_DIR] > analyze/testdata/cabextract-split.tsv
#
# One line per file cabextract -l lists: part<TAB>size<TAB>sha256<TAB>name (sorted by name);
# the hash is that of the file cabextract -d extracts.
set -euo pipefail
samples=${1:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/samples}
cd "$samples/cab/libmspack/good"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C.UTF-8
for part in split-1.cab split-3.cab; do
	rm -rf "$tmp/x" && mkdir "$tmp/x"
	cabextract -q -d "$tmp/x" "$part" >/dev/null
	cabextract -l "$part" | awk -F' [|] ' '/^ *[0-9]+ [|] / { gsub(/^ +/, "", $1); print $1 "\t" $3 }' |
		LC_ALL=C sort -t "$(printf '\t')" -k2 | while IFS="$(printf '\t')" read -r size name; do
		sum=$(sha256sum <"$tmp/x/$name" | cut -d' ' -f1)
		printf '%s\t%s\t%s\t%s\n' "$part" "$size" "$sum" "$name"
	done
done
