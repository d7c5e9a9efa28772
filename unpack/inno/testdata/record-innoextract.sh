#!/usr/bin/env bash
# Record innoextract's extraction of a real Inno Setup installer as the golden file list
# TestConformance holds the reader to: one "path<TAB>size<TAB>sha256" line per file that
# `innoextract -e` writes, after a header naming the installer.
#
# Usage: record-innoextract.sh CACHE_PATH SOURCE CI [INNOEXTRACT]
#   CACHE_PATH  the installer's path under ${ROLLGATE_REALFILES:-$HOME/.cache/rollgate/realfiles}/files
#   SOURCE      where it comes from (a fetch-realfiles line, a repository and commit)
#   CI          true when scripts/fetch-realfiles fetches it (the test then fails without it
#               under CI=true), false for a file only a developer can place in the cache
#   INNOEXTRACT the innoextract binary (default: innoextract on PATH)
# Writes testdata/innoextract/<basename of CACHE_PATH>.tsv.
set -euo pipefail
[[ $# -ge 3 ]] || { echo "usage: $0 CACHE_PATH SOURCE CI [INNOEXTRACT]" >&2; exit 2; }
cache=${ROLLGATE_REALFILES:-$HOME/.cache/rollgate/realfiles}/files
file=$cache/$1
tool=${4:-innoextract}
here=$(cd "$(dirname "$0")" && pwd)
out=$here/innoextract/$(basename "$1").tsv
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$tool" -q -e -d "$tmp/x" "$file" >/dev/null
mkdir -p "$here/innoextract"
{
	echo "# cache: $1"
	echo "# sha256: $(sha256sum "$file" | cut -d' ' -f1)"
	echo "# source: $2"
	echo "# ci: $3"
	echo "# tool: $("$tool" --version | head -1)"
	(cd "$tmp/x" && find . -type f | sed 's#^\./##' | LC_ALL=C sort | while IFS= read -r p; do
		printf '%s\t%s\t%s\n' "$p" "$(stat -c %s "$p")" "$(sha256sum "$p" | cut -d' ' -f1)"
	done)
} > "$out"
echo "wrote $out"
