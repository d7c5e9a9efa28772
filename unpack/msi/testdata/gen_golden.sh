#!/bin/sh
# Regenerates the golden install-path listings from msitools' msiextract (apt-get install
# msitools). For each sample MSI it writes testdata/<name>.golden: "sha256  install-path" per
# file, sorted by path. msiextract names the standard folders by their Windows names
# ("Program Files"); rollgate names them by their Directory ids ("ProgramFilesFolder"), so the
# first path element is mapped back. Only the folders the samples use are mapped: extend the
# sed list when adding a sample.
#
# usage: testdata/gen_golden.sh [samples-dir]   (default ../shared/samples from the repo root)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
samples=${1:-${ROLLGATE_SAMPLES:-$here/../../../../shared/samples}}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for msi in relic-dummy osslsigncode-unsigned; do
	out="$tmp/$msi"
	mkdir -p "$out"
	msiextract -C "$out" "$samples/msi/$msi.msi" >/dev/null
	(cd "$out" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | while IFS= read -r f; do
		sum=$(sha256sum "$f" | cut -d' ' -f1)
		p=$(printf '%s\n' "$f" | sed -e 's|^Program Files/|ProgramFilesFolder/|')
		printf '%s  %s\n' "$sum" "$p"
	done) >"$here/$msi.golden"
done
