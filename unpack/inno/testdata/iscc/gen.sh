#!/usr/bin/env bash
# gen.sh — Inno Setup installers made by Inno Setup's own compiler, for TestConformance: the
# loader and setup runtime in them are JR Software's bytes (SetupLdr.e32, Setup.e32 from the
# npm packages below, whose ISCC.exe Martijn Laan signs); only tree.iss/tree5.iss and
# payload/ are ours. No third-party Inno installer is fetchable from npm, Debian or the Go
# proxy (the registries CI reaches), so these are the CI-run conformance cases; the goldens
# beside them are innoextract's extraction of each.
#
#   tree-innosetup-compiler-5.5.9.exe  npm innosetup-compiler@5.5.9  setup data 5.5.7 (u)
#   tree-innosetup-compiler-6.2.0.exe  npm innosetup-compiler@6.2.0  setup data 6.1.0 (u)
#   tree-innosetup-6.4.1.exe           npm innosetup@6.4.1           setup data 6.4.0.1
#
# ISCC.exe is 32-bit: it runs under wine32 (Debian's wine32:i386), installed in a throw-away
# container of the sandbox's guest-base image (debootstrapped Debian; see sandbox/image.go)
# with the host's network for the Debian mirror only. Inno stores file times, so the payload's
# are fixed first. Needs docker, npm, and innoextract (1.9 for data up to 6.1; for 6.4 pass
# INNOEXTRACT_NEW=an innoextract >= 1.10, e.g. sid's 1.13 .debs run through sid's loader).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
B=$(mktemp -d)
trap 'rm -rf "$B"' EXIT
base=$(docker images --format '{{.Repository}}:{{.Tag}}' rollgate/guest-base | head -1)
[[ -n $base ]] || { echo "gen.sh: no rollgate/guest-base image (run scripts/test once)" >&2; exit 1; }
compilers=(innosetup-compiler@5.5.9 innosetup-compiler@6.2.0 innosetup@6.4.1)
for c in "${compilers[@]}"; do
	mkdir -p "$B/c/${c/@/-}" && (cd "$B/c/${c/@/-}" && npm pack -q "$c" >/dev/null && tar -xzf ./*.tgz)
done
cp -r "$HERE/payload" "$HERE/tree.iss" "$HERE/tree5.iss" "$B/"
find "$B/payload" -exec touch -h -d 2024-01-01T00:00:00Z {} +
cat >"$B/run.sh" <<'SH'
set -e
dpkg --add-architecture i386
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wine32:i386 >/dev/null
export WINEDEBUG=-all HOME=/w/home WINEPREFIX=/w/home/wp32
mkdir -p /w/home && cd /w
for c in /w/c/*; do
	v=${c##*/}
	iss=tree.iss
	case $v in innosetup-compiler-5.*) iss=tree5.iss ;; esac
	wine "$c/package/bin/ISCC.exe" /Q /Oout "/Ftree-$v" "$iss"
done
SH
docker run --rm --network host --user 0:0 --entrypoint bash -v "$B:/w" "$base" /w/run.sh
for c in "${compilers[@]}"; do
	n=tree-${c/@/-}
	cp "$B/out/$n.exe" "$HERE/$n.exe"
	tool=innoextract
	[[ $c == innosetup@6.4.1 ]] && tool=${INNOEXTRACT_NEW:?innoextract >= 1.10 needed for 6.4}
	rm -rf "$B/x" && "$tool" -q -e -d "$B/x" "$HERE/$n.exe" >/dev/null
	{
		echo "# fixture: iscc/$n.exe"
		echo "# sha256: $(sha256sum "$HERE/$n.exe" | cut -d' ' -f1)"
		echo "# source: ISCC.exe of npm $c (JR Software), testdata/iscc/gen.sh"
		echo "# ci: true"
		echo "# tool: $("$tool" --version | head -1)"
		(cd "$B/x" && find . -type f | sed 's#^\./##' | LC_ALL=C sort | while IFS= read -r p; do
			printf '%s\t%s\t%s\n' "$p" "$(stat -c %s "$p")" "$(sha256sum "$p" | cut -d' ' -f1)"
		done)
	} >"$HERE/../innoextract/iscc-$n.tsv"
done
echo "gen.sh: done" >&2
