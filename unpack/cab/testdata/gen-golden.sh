#!/usr/bin/env bash
# Records what 7-Zip extracts from the conformance cabinets, so `go test` can compare the cab
# reader against it without 7zz installed.
#
#   apt-get install 7zip
#   unpack/cab/testdata/gen-golden.sh [SAMPLES_DIR] > unpack/cab/testdata/golden.tsv
#
# One line per extracted file: sample<TAB>size<TAB>sha256<TAB>hex(path bytes)<TAB>printable path.
# 7-Zip writes names without _A_NAME_IS_UTF as their raw bytes, hence the hex column.
# A sample 7-Zip cannot open gets one line: sample<TAB>error.
# The split set split-1..5.cab is extracted from split-1.cab; its entry is named "split-1.cab+".
set -euo pipefail
samples=${1:-$(cd "$(dirname "$0")/../../../.." && pwd)/shared/samples}
cd "$samples"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C.UTF-8

emit() { # sample dir
	local sample=$1 dir=$2
	(cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z) | while IFS= read -r -d '' p; do
		p=${p#./}
		size=$(stat -c %s "$dir/$p")
		sum=$(sha256sum <"$dir/$p" | cut -d' ' -f1)
		hex=$(printf '%s' "$p" | od -An -tx1 | tr -d ' \n')
		printable=$(printf '%s' "$p" | LC_ALL=C tr -c '[:print:]' '?')
		printf '%s\t%s\t%s\t%s\t%s\n' "$sample" "$size" "$sum" "$hex" "$printable"
	done
}

extract() { # sample archive
	local sample=$1 archive=$2 out="$tmp/out"
	rm -rf "$out"
	mkdir "$out"
	if ! 7zz x -y -bd -o"$out" "$archive" >"$tmp/log" 2>&1; then
		if ! grep -q '^Everything is Ok' "$tmp/log"; then
			printf '%s\terror\n' "$sample"
			return
		fi
	fi
	emit "$sample" "$out"
}

for f in cab/*.cab cab/libmspack/good/*.cab; do
	case $f in */split-[2-9].cab) continue ;; esac
	if [[ $f == */split-1.cab ]]; then
		# 7-Zip looks for the next volume by szCabinetNext ("Split-2.CAB").
		mkdir -p "$tmp/set"
		for i in 1 2 3 4 5; do ln -sf "$samples/cab/libmspack/good/split-$i.cab" "$tmp/set/Split-$i.CAB"; done
		extract "${f#cab/}+" "$tmp/set/Split-1.CAB"
		continue
	fi
	extract "${f#cab/}" "$f"
done
