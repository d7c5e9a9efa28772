#!/usr/bin/env bash
# record-clamscan.sh — what ClamAV's InstallShield parser (libclamav/ishield.c) extracts from
# the InstallShield launchers Debian ships in clamav-testfiles (pinned by
# scripts/fetch-realfiles), as the oracle of TestClamAVConformance.
#
# For each launcher, clamav/NAME.tsv lists, in ClamAV's order, one line per file ClamAV names:
#   name <TAB> extraction path ("-" when the record has none) <TAB> size <TAB> sha256
# where sha256 is that of the file ClamAV extracted with --leave-temps, or "-" when ClamAV
# only names it (its InstallShield cabinets, which it hands to its own cabinet parser).
#
# Needs: clamav (clamscan; no signature database: a one-line database made here is used).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
corpus=${ROLLGATE_REALFILES:-$HOME/.cache/rollgate/realfiles}/files/installers/debian/clamav-testfiles@1.4.3
command -v clamscan >/dev/null || { echo "record-clamscan: clamscan not found (apt-get install clamav)" >&2; exit 2; }
B=$(mktemp -d)
trap 'rm -rf "$B"' EXIT
echo 'Rollgate.Never:0:*:00112233445566778899aabbccddeeff' >"$B/never.ndb"
for f in clam_ISmsi_int.exe clam_ISmsi_ext.exe clam_IScab_int.exe clam_IScab_ext.exe; do
	mkdir -p "$B/t-$f"
	clamscan --no-summary -d "$B/never.ndb" --leave-temps --tempdir="$B/t-$f" --debug "$corpus/$f" 2>"$B/log-$f" >/dev/null || true
	{
		echo "# oracle: $(clamscan --version | cut -d/ -f1), clamscan --debug --leave-temps on $f"
		# "ishield-msi: File NAME (csize: ..." / "ishield: @OFF found file NAME (PATH) - version V - size N",
		# each followed by "extracted to TMP" or (a cabinet) "added NAME to array".
		awk -v OFS='\t' '
			/ishield-msi: File / { s = $0; sub(/.*ishield-msi: File /, "", s); sub(/ \(csize: .*/, "", s); name = s; path = "-"; next }
			/ishield: @[0-9a-f]+ found file / { s = $0; sub(/.* found file /, "", s)
				size = s; sub(/.* - size /, "", size); sub(/ - version .*/, "", s)
				path = s; sub(/^[^(]* \(/, "", path); sub(/\)$/, "", path); name = s; sub(/ \(.*/, "", name); next }
			/ishield(-msi)?: extracted to / && name != "" { t = $0; sub(/.*extracted to /, "", t); print name, path, t; name = ""; next }
			/ishield: added .* to array/ && name != "" { print name, path, "-"; name = ""; next }
		' "$B/log-$f" | while IFS=$'\t' read -r name path tmp; do
			if [ "$tmp" = - ]; then
				size=$(grep -F "found file $name ($path)" "$B/log-$f" | head -1 | sed 's/.* - size //')
				printf '%s\t%s\t%s\t-\n' "$name" "$path" "$size"
			else
				printf '%s\t%s\t%s\t%s\n' "$name" "$path" "$(stat -c %s "$tmp")" "$(sha256sum <"$tmp" | cut -d' ' -f1)"
			fi
		done
	} >"$HERE/clamav/${f%.exe}.tsv"
done
