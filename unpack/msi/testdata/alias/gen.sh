#!/bin/sh
# Builds the install-path alias fixtures for alias_test.go: MSIs whose File rows Windows would
# install to one path, or to a path the inventory would not show. Needs wixl (apt-get install
# wixl); the .msi files are committed so the tests need no toolchain.
set -eu
cd "$(dirname "$0")"
for w in *.wxs; do
	wixl -o "${w%.wxs}.msi" "$w"
done

# noncompressed.msi: ../fixture/fixture.msi with app.exe's File row marked Noncompressed
# (0x2000): Windows installs it from the source layout beside the MSI although the embedded
# cabinet still holds a copy under its key. Needs msitools (msiinfo, msibuild).
T=$(printf '\t')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp ../fixture/fixture.msi noncompressed.msi
msiinfo export noncompressed.msi File |
	sed "s/^app\.exe${T}Main${T}app\.exe${T}12${T}${T}${T}512${T}/app.exe${T}Main${T}app.exe${T}12${T}${T}${T}8704${T}/" >"$tmp/File.idt"
grep -q "${T}8704${T}" "$tmp/File.idt"
msibuild noncompressed.msi -i "$tmp/File.idt"

# hidden.msi: ../fixture/fixture.msi whose cabinet also holds payload.dll, which no File row
# names. dupentry.msi: its cabinet holds app.exe twice (Windows extracts both, the last wins).
printf 'MZ fake app\n' >"$tmp/app.exe"
printf 'MZ another app\n' >"$tmp/app2.exe"
printf 'read me\n' >"$tmp/readme"
head -c 3000 /dev/zero | tr '\0' 'c' >"$tmp/core.dll"
: >"$tmp/empty.dat"
printf 'MZ hidden payload\n' >"$tmp/payload.dll"
set -- app.exe="$tmp/app.exe" readme="$tmp/readme" core.dll="$tmp/core.dll" empty.dat="$tmp/empty.dat"
python3 mkcab.py "$tmp/hidden.cab" "$@" payload.dll="$tmp/payload.dll"
python3 mkcab.py "$tmp/dup.cab" "$@" app.exe="$tmp/app2.exe"
cp ../fixture/fixture.msi hidden.msi
msibuild hidden.msi -a fixture.cab "$tmp/hidden.cab"
cp ../fixture/fixture.msi dupentry.msi
msibuild dupentry.msi -a fixture.cab "$tmp/dup.cab"
