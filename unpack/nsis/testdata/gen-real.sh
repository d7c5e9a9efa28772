#!/usr/bin/env bash
# gen-real.sh — golden listings of real NSIS installers that other projects publish, for
# TestRealConformance: `7zz x -tnsis` of each (path, size, sha256 per file, sorted), from the
# pinned real-file corpus (scripts/fetch-realfiles). Needs 7zz (Debian package 7zip).
#
#   golden/real/win32-loader.tsv  Debian's win32-loader 0.10.6 (NSIS, LZMA)
#   golden/real/clam-nsis.tsv     ClamAV's test NSIS installer (clamav-testfiles 1.4.3)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
corpus=${ROLLGATE_REALFILES:-$HOME/.cache/rollgate/realfiles}/files
B=$(mktemp -d)
trap 'rm -rf "$B"' EXIT
mkdir -p "$HERE/golden/real"
for pair in \
	"win32-loader installers/debian/win32-loader@0.10.6/win32-loader.exe" \
	"clam-nsis installers/debian/clamav-testfiles@1.4.3/clam-nsis.exe"; do
	n=${pair%% *} f=$corpus/${pair#* }
	rm -rf "$B/x" && mkdir "$B/x"
	7zz x -tnsis -y -o"$B/x" "$f" >/dev/null
	(cd "$B/x" && find . -type f -printf '%P\n' | LC_ALL=C sort | while IFS= read -r p; do
		printf '%s\t%s\t%s\n' "$p" "$(stat -c %s "$p")" "$(sha256sum <"$p" | cut -d' ' -f1)"
	done) >"$HERE/golden/real/$n.tsv"
done
echo "gen-real.sh: done" >&2
