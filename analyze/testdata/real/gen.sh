#!/usr/bin/env bash
# gen.sh — golden listings of real installers from the pinned corpus (scripts/fetch-realfiles)
# for TestRealInstallShieldCabinet: `7zz x` of each (path, size, sha256 per file, sorted).
#
#   clam_IScab_int.tsv  ClamAV's InstallShield EXE carrying a cabinet (clamav-testfiles 1.4.3)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
corpus=${ROLLGATE_REALFILES:-$HOME/.cache/rollgate/realfiles}/files
B=$(mktemp -d)
trap 'rm -rf "$B"' EXIT
7zz x -y -o"$B/x" "$corpus/installers/debian/clamav-testfiles@1.4.3/clam_IScab_int.exe" >/dev/null
(cd "$B/x" && find . -type f -printf '%P\n' | LC_ALL=C sort | while IFS= read -r p; do
	printf '%s\t%s\t%s\n' "$p" "$(stat -c %s "$p")" "$(sha256sum <"$p" | cut -d' ' -f1)"
done) >"$HERE/clam_IScab_int.tsv"
