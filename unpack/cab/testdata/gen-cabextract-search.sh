#!/usr/bin/env bash
# Records what cabextract lists and tests for the libmspack conformance cabinets that read
# on their own (every good sample but the split-N.cab set), so `go test ./unpack/cab` checks
# NewSearchReader against cabextract's own search (libmspack cabd_search) without cabextract
# installed. search.cab holds 24 cabinets after 6 bytes of text; the others one each.
#
#   apt-get install cabextract
#   unpack/cab/testdata/gen-cabextract-search.sh [SAMPLES_DIR] > unpack/cab/testdata/cabextract-search.tsv
#
# One line per file, in cabextract's order: sample<TAB>size<TAB>md5<TAB>name. The size is
# cabextract -l's, the MD5 cabextract -t's (the MD5 of the bytes it extracts), the name
# cabextract's, which matches this package's for every sample listed.
set -euo pipefail
samples=${1:-$(cd "$(dirname "$0")/../../../.." && pwd)/shared/samples}
cd "$samples/cab/libmspack/good"
export LC_ALL=C.UTF-8
for cab in case-ascii.cab dir.cab mixed.cab mszip_lzx_qtm.cab search.cab simple.cab large-files-cab.cab; do
	paste <(cabextract -l "$cab" | awk -F' [|] ' '/^ *[0-9]+ [|] / { gsub(/^ +/, "", $1); print $1 "\t" $3 }') \
		<(cabextract -t "$cab" | awk '/  OK  +[0-9a-f]+$/ { print $NF }') |
		awk -v cab="$cab" -F'\t' '{ print cab "\t" $1 "\t" $3 "\t" $2 }'
done
