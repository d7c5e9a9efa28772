#!/usr/bin/env bash
# record-unshield.sh — what unshield extracts from the InstallShield cabinets the InstallScript
# launchers of Debian's clamav-testfiles carry (pinned by scripts/fetch-realfiles), as the
# oracle of TestUnshieldConformance.
#
# For each launcher, unshield/NAME.tsv lists, in unshield's order, one line per file:
#   path <TAB> size <TAB> sha256
# where path is unshield's listing path ("unshield l": file group, directory, name, with "\"
# as "/") and size and sha256 are those of the file "unshield -d DIR x" wrote (its listing
# and its extraction go through the files in the same order; extraction renames directories,
# so the two are paired line by line).
#
# The cabinets are taken out of each launcher by package ishield (testdata/payload), which is
# itself checked against ClamAV (unpack/ishield/testdata/record-clamscan.sh).
#
# A second oracle for the header: ClamAV's own header parser (libclamav/ishield.c
# is_parse_hdr, run by "clamscan --debug" on the launcher). clamav/NAME.tsv lists, sorted, one
# line per file descriptor it reads from the cabinet (not those it calls external):
#   name <TAB> expanded size <TAB> compressed size <TAB> md5
#
# Needs: unshield (Debian package unshield), clamav (clamscan), go.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
corpus=${ROLLGATE_REALFILES:-$HOME/.cache/rollgate/realfiles}/files/installers/debian/clamav-testfiles@1.4.3
command -v unshield >/dev/null || { echo "record-unshield: unshield not found (apt-get install unshield)" >&2; exit 2; }
command -v clamscan >/dev/null || { echo "record-unshield: clamscan not found (apt-get install clamav)" >&2; exit 2; }
B=$(mktemp -d)
trap 'rm -rf "$B"' EXIT
mkdir -p "$HERE/unshield" "$HERE/clamav"
echo 'Rollgate.Never:0:*:00112233445566778899aabbccddeeff' >"$B/never.ndb"
for f in clam_IScab_int clam_IScab_ext; do
	(cd "$HERE/../../.." && go run ./unpack/iscab/testdata/payload "$corpus/$f.exe" "$B/$f")
	unshield l "$B/$f/Disk1/data1.cab" | sed -n 's/^ *[0-9][0-9]*  //p' >"$B/$f.list"
	(cd "$B" && unshield -d "x-$f" x "$f/Disk1/data1.cab") | sed -n 's/^  extracting: //p' >"$B/$f.x"
	[ "$(wc -l <"$B/$f.list")" = "$(wc -l <"$B/$f.x")" ] || { echo "record-unshield: listing and extraction differ in length" >&2; exit 1; }
	{
		echo "# oracle: $(unshield -V 2>&1 | head -1 | cut -d. -f1-2), unshield l and unshield -d DIR x on $f.exe's Disk1/data1.cab"
		paste "$B/$f.list" "$B/$f.x" | while IFS=$'\t' read -r path out; do
			printf '%s\t%s\t%s\n' "${path//\\//}" "$(stat -c %s "$B/$out")" "$(sha256sum <"$B/$out" | cut -d' ' -f1)"
		done
	} >"$HERE/unshield/$f.tsv"
	{
		echo "# oracle: $(clamscan --version | cut -d/ -f1), clamscan --debug on $f.exe: is_parse_hdr's file lines"
		clamscan --no-summary -d "$B/never.ndb" --debug "$corpus/$f.exe" 2>&1 >/dev/null |
			sed -n 's/.*is_parse_hdr: file \\\(.*\) (size: \([0-9]*\) csize: \([0-9]*\) md5:\([0-9a-f]*\) offset:.*/\1\t\2\t\3\t\4/p' | LC_ALL=C sort
	} >"$HERE/clamav/$f.tsv"
done
