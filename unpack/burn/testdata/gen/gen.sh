#!/usr/bin/env bash
# gen.sh — builds the synthetic WiX Burn bundle fixtures into unpack/burn/testdata/.
# Tools: gcc-mingw-w64-x86-64 and osslsigncode (Debian), Go; the test CA of testdata/fixtures/win/ca. The stub is mingw-built from stub.c; gen.go fills
# its .wixburn header and appends the UX and attached containers (MSZIP cabinets it writes)
# around the committed MSIs and PEs of testdata/fixtures/win (built by testdata/gen/win/gen.sh).
#
#   acme-bundle-1.0.exe             MsiPackage AcmePhone.msi = acme-1.0.msi   (the baseline)
#   acme-bundle-1.1.exe             MsiPackage AcmePhone.msi = acme-1.1.msi   (benign update)
#   acme-bundle-1.1-runkey.exe      AcmePhone.msi = msitables/acme-1.1-runkey.msi (a Registry row
#                                   writing HKLM\...\CurrentVersion\Run)
#   acme-bundle-1.1-exepackage.exe  acme-1.1.msi + a new ExePackage redist/AcmeHelper.exe run
#                                   with "/quiet /autostart"
#   acme-bundle-1.1-external.exe    acme-1.1.msi + the ExePackage's payload external (not in
#                                   the file: listed as missing)
#   acme-bundle-1.1-renamed.exe     acme-1.1.msi as AcmePhone-1.1.0.msi (the file name carries the
#                                   version; the package Id stays AcmePhone)
#   acme-bundle-1.1-customaction.exe  AcmePhone-1.1.0.msi = acme-1.1-customaction.msi (a new
#                                   custom action AcmeRegister)
#   acme-bundle-1.1-nested.exe      acme-1.1.msi + an ExePackage redist/AcmeRuntime.exe that is
#                                   acme-bundle-1.1-runkey.exe (a bundle carrying a bundle)
#   acme-bundle-1.1-layoutonly.exe  the exepackage bundle with AcmePhone.msi downloaded, marked
#                                   LayoutOnly="yes" (the chain references it: the engine installs it)
#   acme-bundle-1.1-transform.exe   acme-1.1.msi with MsiProperty TRANSFORMS=acme.mst, a carried payload
#                                   of the package: unpack/msi/testdata/transform/acme-evil.mst (a Run value,
#                                   custom actions AcmeDrop and AcmeDll, INSTALLDIR renamed)
#   acme-bundle-1.1-msp.exe         acme-1.1.msi + an MspPackage hotfix.msp =
#                                   unpack/msi/testdata/transform/acme-hotfix.msp (targets
#                                   acme-1.1.msi's ProductCode: adds hotfix.dll, a Run value, a
#                                   custom action; replaces core.dll; a binary delta of ffmpeg.dll)
#   acme-bundle-1.1-trailingdot.exe the exepackage bundle + a payload redist\version.dll. (Win32
#                                   creates redist\version.dll, a system DLL's name)
#   acme-bundle-1.1-signed.exe      acme-bundle-1.1.exe signed as WiX signs bundles (engine signed,
#                                   containers reattached, bundle signed again) by the Acme test key
#   acme-bundle-1.1-engine-signed.exe  the signed engine with the attached container appended
#                                   after its signature, not signed again
# Every bundle carries the UX payloads mbapreq.dll (pe/core-1.1.dll) and
# BootstrapperApplicationData.xml, bundle upgrade code {5B1C2D4E-7A8F-4C3B-9E1D-0A2B3C4D5E6F}.
# No real Burn bundle (vc_redist and the like) is pinned: the reader is held only to these
# synthetic bundles (TestOracle) and the engine's source, not to bundles WiX itself built.
set -euo pipefail
export LC_ALL=C TZ=UTC
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../../.." && pwd)
B=$(mktemp -d "${TMPDIR:-/tmp}/rollgate-burngen.XXXXXX")
trap 'rm -rf "$B"' EXIT
x86_64-w64-mingw32-gcc -nostdlib -e start -s -Os -fno-ident -Wl,--no-insert-timestamp \
	-Wl,--subsystem,windows -o "$B/stub.exe" "$HERE/stub.c"
(cd "$HERE" && go run gen.go "$B/stub.exe" "$ROOT/testdata/fixtures/win" "$HERE/.." "$B")

# The signed bundle, made as WiX does it: sign the engine (stub + UX container), reattach the
# attached container (insignia -ab: the engine signature becomes the .wixburn original
# signature), sign the whole bundle. acme-bundle-1.1-engine-signed.exe is the intermediate
# state, the signed engine with the attached container appended after its signature and not
# signed again: its payloads are outside what the signature covers.
CA="$ROOT/testdata/fixtures/win/ca"
SIGN_TIME=1767225600
sign() {
	rm -f "$2"
	osslsigncode sign -certs "$CA/acme-chain.pem" -key "$CA/acme.key" -h sha256 -n "Acme Softphone Setup" \
		-i https://acme.test/ -time "$SIGN_TIME" -TSA-certs "$CA/tsa-chain.pem" -TSA-key "$CA/tsa.key" \
		-TSA-time "$SIGN_TIME" -in "$1" -out "$2" >"$B/sign.log" 2>&1 || { cat "$B/sign.log" >&2; return 1; }
}
sign "$B/acme-bundle-1.1.engine.exe" "$B/engine-signed.exe"
cat "$B/engine-signed.exe" "$B/acme-bundle-1.1.attached.cab" >"$HERE/../acme-bundle-1.1-engine-signed.exe"
(cd "$HERE" && go run gen.go reattach "$B/engine-signed.exe" "$B/acme-bundle-1.1.attached.cab" "$B/reattached.exe")
sign "$B/reattached.exe" "$HERE/../acme-bundle-1.1-signed.exe"

# The golden payload lists, written by oracle/oracle.sh (cabextract and Python, independent of
# unpack/burn); TestOracle holds the reader to them.
for f in "$HERE"/../acme-bundle-*.exe; do
	"$HERE/../oracle/oracle.sh" "$f" >"$HERE/../oracle/$(basename "$f" .exe).golden"
done
