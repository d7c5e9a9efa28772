#!/usr/bin/env bash
# gen.sh — the MSI transform fixtures and their oracle, made with Wine's own DLLs:
#
#   acme-evil.mst           changes testdata/fixtures/win/acme-1.1.msi: adds a table (_Tables,
#                           _Columns, its rows), a Binary row whose data is a stream of the
#                           transform, custom actions AcmeDrop (type 34) and AcmeDll (type 1,
#                           that Binary), their InstallExecuteSequence rows, a Registry Run
#                           value; deletes a sequence row and the ALLUSERS property; changes
#                           ProductName and INSTALLDIR's DefaultDir column by column; replaces
#                           the Core component's row whole
#   acme-evil-longrefs.mst  the same with 3-byte string references (pool flag 0x8000)
#   acme-hotfix.msp         a patch of acme-1.1.msi (root class MsiPatch; PID_TEMPLATE its
#                           ProductCode, PID_LASTAUTHOR ":acmehf1;:#acmehf1"): the cabinet
#                           stream acmehf.cab (hotfix.dll added, core.dll replaced whole), the
#                           transform acmehf1 (its Media, File rows, a Patch table row for a
#                           binary delta of ffmpeg.dll, a Run value, custom action HotfixCA) and
#                           #acmehf1 (the PatchPackage table). Wine has no PatchWiz and installs
#                           patches only into installed products, so the patch's container is
#                           assembled here around transforms made like the others
#   oracle/NAME/*.idt       Wine msi.dll's MsiDatabaseApplyTransform of NAME.mst (for
#                           acme-hotfix: of its two transforms, in order) to acme-1.1.msi, every
#                           table exported by MsiDatabaseExport
#
# gen.go authors the streams (Wine 8.0 does not implement MsiDatabaseGenerateTransform);
# mkstg.exe (ole32 StgCreateDocfile) writes them into the compound file; oracle.exe applies
# and exports. Needs Go, gcc-mingw-w64-x86-64 and a 64-bit Wine ($WINE, default wine64): in
# the rollgate/guest-base container with Debian's wine64, or Debian's wine64, libwine and
# libz-mingw-w64 .debs unpacked with dpkg -x (set WINE to the unpacked usr/lib/wine/wine64,
# WINEDLLPATH to usr/lib/x86_64-linux-gnu/wine, point usr/lib/wine/wineserver at the unpacked
# wineserver64; zlib1.dll is copied beside the tools).
set -euo pipefail
export LC_ALL=C TZ=UTC
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../../.." && pwd)
WINE=${WINE:-wine64}
B=$(mktemp -d "${TMPDIR:-/tmp}/rollgate-mstgen.XXXXXX")
trap 'rm -rf "$B"' EXIT
export WINEPREFIX="$B/prefix" WINEDEBUG=-all HOME="$B/home"
mkdir -p "$HOME"
x86_64-w64-mingw32-gcc -O2 -Wall -o "$B/mkstg.exe" "$HERE/mkstg.c" -lole32 -luuid
x86_64-w64-mingw32-gcc -O2 -Wall -municode -o "$B/oracle.exe" "$HERE/oracle.c" -lmsi
ZLIB=${ZLIB:-/usr/x86_64-w64-mingw32/lib/zlib1.dll}
[[ -f $ZLIB ]] && cp "$ZLIB" "$B/"
MSI="$ROOT/testdata/fixtures/win/acme-1.1.msi"
(cd "$HERE" && go run gen.go "$MSI" "$ROOT/testdata/fixtures/win/pe/acmeplugin.dll" "$B/work")
cp "$MSI" "$B/base.msi"
winpath() { printf 'Z:%s' "$1" | tr / '\\'; }
for d in "$B"/work/*/; do
	n=$(basename "$d")
	case $n in acme-hotfix) ext=msp ;; *) ext=mst ;; esac
	(cd "$d" && "$WINE" "$B/mkstg.exe" "$B/$n.$ext" list.txt)
done
for n in acme-evil acme-evil-longrefs acme-hotfix; do
	case $n in
	acme-hotfix) cp "$B/$n.msp" "$HERE/" && ts="acme-hotfix-t1.mst;acme-hotfix-t2.mst" ;;
	*) cp "$B/$n.mst" "$HERE/" && ts="$n.mst" ;;
	esac
	rm -rf "$HERE/oracle/$n" && mkdir -p "$HERE/oracle/$n"
	(cd "$B" && "$WINE" oracle.exe base.msi "$ts" "work-$n.msi" "$(winpath "$HERE/oracle/$n")")
done
