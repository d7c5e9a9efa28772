#!/usr/bin/env bash
# gen-span.sh — disk-spanning Inno Setup installers (DiskSpanning=yes) made by Inno Setup's
# own compiler, for TestConformance: the .exe carries the setup headers, the file data is in
# slice files beside it, named as Inno names them. Same compilers, container and oracle as
# gen.sh (read it first); only span.iss/span5.iss and the generated payload are ours.
#
#   span-innosetup-compiler-5.5.9.exe  + -1a.bin -1b.bin  data 5.5.7 (u), stored chunks,
#       SlicesPerDisk=2 (letter suffixes), a file read across the slice boundary
#   span-innosetup-6.4.1.exe           + -1.bin -2.bin    data 6.4.0.1, an LZMA1 chunk
#       decoded across the slice boundary
#
# The compiler counts the setup .exe (≈ 0.5 MB for 5.5.9, 1.8 MB for 6.4.1) against the
# first slice's DiskSliceSize, so each size below is the .exe's plus what the first slice
# should hold, and a third slice would need a whole DiskSliceSize (more than the .exe) of
# data: two slices each keep the fixtures small (the synthetic tests in slice_test.go span
# fifteen). blob*.bin is AES-128-CTR keystream (incompressible, the same bytes every run).
# Payload times are fixed, so the builds are byte-reproducible.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
B=$(mktemp -d)
trap 'rm -rf "$B"' EXIT
base=$(docker images --format '{{.Repository}}:{{.Tag}}' rollgate/guest-base | head -1)
[[ -n $base ]] || { echo "gen-span.sh: no rollgate/guest-base image (run scripts/test once)" >&2; exit 1; }
compilers=(innosetup-compiler@5.5.9 innosetup@6.4.1)
for c in "${compilers[@]}"; do
	mkdir -p "$B/c/${c/@/-}" && (cd "$B/c/${c/@/-}" && npm pack -q "$c" >/dev/null && tar -xzf ./*.tgz)
done
mkdir -p "$B/payload"
cp "$HERE/payload/readme.txt" "$B/payload/"
keystream() { head -c "$1" /dev/zero | openssl enc -aes-128-ctr -nosalt -K 726f6c6c67617465696e6e6f7370616e -iv 00000000000000000000000000000000; }
keystream 60000 >"$B/payload/blob5.bin"
keystream 100000 >"$B/payload/blob6.bin"
find "$B/payload" -exec touch -h -d 2024-01-01T00:00:00Z {} +
common='AppVersion=1.0
AppPublisher=Rollgate Conformance
OutputDir=out
DiskSpanning=yes'
cat >"$B/span5.iss" <<ISS
[Setup]
AppName=RollgateConformanceSpan5
$common
DefaultDirName={pf}\\RollgateConformanceSpan
Compression=none
DiskSliceSize=540000
SlicesPerDisk=2
[Files]
Source: "payload\\blob5.bin"; DestDir: "{app}"
Source: "payload\\readme.txt"; DestDir: "{app}\\docs"
ISS
cat >"$B/span.iss" <<ISS
[Setup]
AppName=RollgateConformanceSpan
$common
DefaultDirName={autopf}\\RollgateConformanceSpan
Compression=lzma
SolidCompression=yes
DiskSliceSize=1900000
[Files]
Source: "payload\\blob6.bin"; DestDir: "{app}"
Source: "payload\\readme.txt"; DestDir: "{app}\\docs"
ISS
cat >"$B/run.sh" <<'SH'
set -e
dpkg --add-architecture i386
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wine32:i386 >/dev/null
export WINEDEBUG=-all HOME=/w/home WINEPREFIX=/w/home/wp32
mkdir -p /w/home && cd /w
for c in /w/c/*; do
	v=${c##*/}
	iss=span.iss
	case $v in innosetup-compiler-5.*) iss=span5.iss ;; esac
	wine "$c/package/bin/ISCC.exe" /Q /Oout "/Fspan-$v" "$iss"
done
SH
docker run --rm --network host --user 0:0 --entrypoint bash -v "$B:/w" "$base" /w/run.sh
for c in "${compilers[@]}"; do
	n=span-${c/@/-}
	rm -f "$HERE/$n".exe "$HERE/$n"-*.bin
	cp "$B/out/$n.exe" "$B/out/$n"-*.bin "$HERE/"
	tool=innoextract
	[[ $c == innosetup@6.4.1 ]] && tool=${INNOEXTRACT_NEW:?innoextract >= 1.10 needed for 6.4}
	rm -rf "$B/x" && "$tool" -q -e -d "$B/x" "$HERE/$n.exe" >/dev/null
	{
		echo "# fixture: iscc/$n.exe"
		echo "# sha256: $(sha256sum "$HERE/$n.exe" | cut -d' ' -f1)"
		echo "# source: ISCC.exe of npm $c (JR Software), testdata/iscc/gen-span.sh; slices $(cd "$HERE" && ls "$n"-*.bin | tr '\n' ' ')"
		echo "# ci: true"
		echo "# tool: $("$tool" --version | head -1)"
		(cd "$B/x" && find . -type f | sed 's#^\./##' | LC_ALL=C sort | while IFS= read -r p; do
			printf '%s\t%s\t%s\n' "$p" "$(stat -c %s "$p")" "$(sha256sum "$p" | cut -d' ' -f1)"
		done)
	} >"$HERE/../innoextract/iscc-$n.tsv"
done
echo "gen-span.sh: done" >&2
