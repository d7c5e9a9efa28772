#!/usr/bin/env bash
# gen.sh — builds the NSIS fixtures of package nsis and their golden listings.
#
# Tools (Debian): apt-get install -y nsis gcc-mingw-w64-x86-64 clang-14 lld-14 osslsigncode openssl faketime 7zip
# (7zz), plus Go (the repository's testdata/gen/win/padcert.go grows a certificate table).
# Run from anywhere: unpack/nsis/testdata/gen.sh [--new-ca]
#
# Outputs (this folder):
#   ca/root.pem, ca/acme.pem (+ .key)  a private test CA made here with openssl (keys kept,
#                              so reruns reuse them unless --new-ca)
#   acme-5.1.0-setup.exe       Unicode, SetCompressor /SOLID lzma; bin/media.dll build 1 and a
#                              signed bin/gfxcomp_47.dll; the installer is signed (osslsigncode)
#   acme-5.2.0-setup.exe       the same script with media.dll build 2 (same FileVersion
#                              5.1.0.0) and gfxcomp_47.dll padded after its PKCS#7 blob
#                              (CVE-2013-3900 / 3CX pattern); not signed
#   acme-zlib-ansi.exe         Unicode false, zlib non-solid, notes.txt extracted twice
#   acme-bzip2.exe             Unicode true, bzip2 non-solid
#   acme-bzip2-solid-ansi.exe  Unicode false, /SOLID bzip2
#   acme-zlib-solid.exe        Unicode true, /SOLID zlib
#   acme-lzma-amd64.exe        Target amd64-unicode, lzma non-solid, inetc::get
# The NSISdl and inetc plug-ins are stand-ins built here (export table only).
#   golden/NAME.tsv            `7zz x -tnsis` of each: path, size, sha256 per file, sorted
#                              (7-Zip's names: "$INSTDIR\" removed, other roots kept as
#                              "$NAME"; -tnsis, or a signed installer opens as a PE overlay)
# Debian's 7zz is built without NSIS_SCRIPT, so it writes no [NSIS].nsi script listing; the
# script facts are checked against the script (src/acme.nsi) instead.
# Every script writes HKLM ...\Run, the Uninstall key (DisplayName, Publisher,
# DisplayVersion), ExecWait, ExecShell, Exec and NSISdl::download (or inetc::get).
set -euo pipefail
export LC_ALL=C TZ=UTC

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
SRC="$HERE/src"
CA="$HERE/ca"
CC=x86_64-w64-mingw32-gcc
WINDRES=x86_64-w64-mingw32-windres
for t in "$CC" "$WINDRES" clang-14 ld.lld-14 faketime makensis osslsigncode openssl 7zz go sha256sum; do
	command -v "$t" >/dev/null || { echo "gen.sh: $t not found" >&2; exit 2; }
done
B=$(mktemp -d "${TMPDIR:-/tmp}/rollgate-nsisgen.XXXXXX")
trap 'rm -rf "$B"' EXIT
CFLAGS=(-O2 -s -fno-ident -nostdlib -Wl,--no-insert-timestamp -Wl,--disable-auto-image-base -Wl,-e,DllMain -shared)
SIGN_TIME=1767225600 # 2026-01-01T00:00:00Z
quiet() { "$@" >"$B/quiet.log" 2>&1 || { cat "$B/quiet.log" >&2; echo "gen.sh: failed: $*" >&2; return 1; }; }

# ---- test CA: a root and a code-signing leaf
mkdir -p "$CA"
[[ ${1:-} == --new-ca ]] && rm -f "$CA"/*.key
for k in root acme; do
	[[ -s $CA/$k.key ]] || quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$CA/$k.key"
done
CAT=(faketime "2025-01-01 00:00:00") # validity from 2025-01-01, so 2026 signatures verify
quiet "${CAT[@]}" openssl req -new -x509 -key "$CA/root.key" -subj "/O=Rollgate NSIS Test/CN=Rollgate NSIS Test Root" \
	-days 36500 -set_serial 1 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-out "$CA/root.pem"
quiet openssl req -new -key "$CA/acme.key" -subj "/O=Acme Softphone Ltd/CN=Acme Softphone Ltd" -out "$B/acme.csr"
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' >"$B/leaf.ext"
quiet "${CAT[@]}" openssl x509 -req -in "$B/acme.csr" -CA "$CA/root.pem" -CAkey "$CA/root.key" -set_serial 4097 \
	-days 36500 -sha256 -extfile "$B/leaf.ext" -out "$CA/acme.pem"

sign() { # IN OUT
	rm -f "$2"
	quiet osslsigncode sign -certs "$CA/acme.pem" -key "$CA/acme.key" -h sha256 -n "Acme Softphone" \
		-i "https://www.acme-softphone.test/" -time "$SIGN_TIME" -in "$1" -out "$2"
	quiet osslsigncode verify -CAfile "$CA/root.pem" -time "$SIGN_TIME" -ignore-cdp -in "$2"
}

# ---- DLLs (x86_64, mingw-w64)
res() { # OUT CSV STR ORIGINAL
	"$WINDRES" -O coff -o "$1" -DVER_CSV="$2" -DVER_STR="\\\"$3\\\"" -DVER_COMPANY="\\\"Acme Softphone Ltd\\\"" \
		-DVER_PRODUCT="\\\"Acme Softphone\\\"" -DVER_ORIGINAL="\\\"$4\\\"" "$SRC/version.rc"
}
res "$B/media.o" 5,1,0,0 5.1.0.0 media.dll
res "$B/gfx.o" 10,0,19041,1 10.0.19041.1 gfxcomp_47.dll
mkdir -p "$B/5.1.0" "$B/5.2.0" "$B/plain" "$B/plugins"
"$CC" "${CFLAGS[@]}" -DBUILD=1 -o "$B/5.1.0/media.dll" "$SRC/media.c" "$B/media.o" -lkernel32
"$CC" "${CFLAGS[@]}" -DBUILD=2 -o "$B/5.2.0/media.dll" "$SRC/media.c" "$B/media.o" -lkernel32
"$CC" "${CFLAGS[@]}" -o "$B/gfx.dll" "$SRC/gfxcomp.c" "$B/gfx.o" -lkernel32
# Plug-in stand-ins: x86_64 by mingw-w64, i686 by clang + lld (Debian has no i686 mingw here).
mkdir -p "$B/plugins/amd64" "$B/plugins/x86"
for fn in inetc:get NSISdl:download; do
	"$CC" "${CFLAGS[@]}" -DPLUGIN_FN="${fn#*:}" -o "$B/plugins/amd64/${fn%%:*}.dll" "$SRC/plugin.c" -lkernel32
	clang-14 --target=i686-w64-mingw32 -O2 -nostdlib -shared -fuse-ld=/usr/bin/ld.lld-14 -Wl,-e,_DllMain@12 \
		-Wl,--no-insert-timestamp -DPLUGIN_FN="${fn#*:}" -o "$B/plugins/x86/${fn%%:*}.dll" "$SRC/plugin.c"
done
sign "$B/gfx.dll" "$B/5.1.0/gfxcomp_47.dll"
(cd "$ROOT/testdata/gen/win" && go run padcert.go "$B/5.1.0/gfxcomp_47.dll" "$B/5.2.0/gfxcomp_47.dll")
quiet osslsigncode verify -CAfile "$CA/root.pem" -time "$SIGN_TIME" -ignore-cdp -in "$B/5.2.0/gfxcomp_47.dll"
cp "$B/5.1.0/media.dll" "$B/5.1.0/gfxcomp_47.dll" "$B/plain/"
touch -d "@$SIGN_TIME" "$SRC"/* "$B"/*/*.dll

# ---- installers
# makensis finds plug-ins in $NSISDIR/Plugins first; a private NSISDIR holds only the stand-ins.
mkdir -p "$B/nsisdir/Plugins"/{x86-ansi,x86-unicode,amd64-unicode}
for d in Stubs Include Contrib Bin; do ln -s "/usr/share/nsis/$d" "$B/nsisdir/$d"; done
cp "$B"/plugins/amd64/*.dll "$B/nsisdir/Plugins/amd64-unicode/"
cp "$B"/plugins/x86/*.dll "$B/nsisdir/Plugins/x86-ansi/"
cp "$B"/plugins/x86/*.dll "$B/nsisdir/Plugins/x86-unicode/"
export NSISDIR="$B/nsisdir"
build() { # NAME BIN VERSION UNICODE COMPRESSOR [makensis -D...]
	local name=$1 bin=$2 ver=$3 uni=$4 comp=$5
	shift 5
	quiet makensis -V2 -NOCD -DSRC="$SRC" -DBIN="$bin" -DVERSION="$ver" -DUNICODE="$uni" \
		-DCOMPRESSOR="$comp" -DOUT="$B/$name" "$@" "$SRC/acme.nsi"
}
build acme-5.1.0-setup.exe "$B/5.1.0" 5.1.0 true "/SOLID lzma"
sign "$B/acme-5.1.0-setup.exe" "$HERE/acme-5.1.0-setup.exe"
build acme-5.2.0-setup.exe "$B/5.2.0" 5.2.0 true "/SOLID lzma"
build acme-zlib-ansi.exe "$B/plain" 5.1.0 false zlib -DDUP
build acme-bzip2.exe "$B/plain" 5.1.0 true bzip2
build acme-bzip2-solid-ansi.exe "$B/plain" 5.1.0 false "/SOLID bzip2"
build acme-zlib-solid.exe "$B/plain" 5.1.0 true "/SOLID zlib"
build acme-lzma-amd64.exe "$B/plain" 5.1.0 true lzma -DTARGET=amd64-unicode -DINETC
for f in acme-5.2.0-setup.exe acme-zlib-ansi.exe acme-bzip2.exe acme-bzip2-solid-ansi.exe acme-zlib-solid.exe acme-lzma-amd64.exe; do
	cp "$B/$f" "$HERE/$f"
done

# ---- golden listings from 7-Zip
mkdir -p "$HERE/golden"
for f in "$HERE"/acme-*.exe; do
	n=$(basename "$f" .exe)
	rm -rf "$B/x" && mkdir "$B/x"
	quiet 7zz x -tnsis -y -o"$B/x" "$f"
	(cd "$B/x" && find . -type f -printf '%P\n' | sort | while IFS= read -r p; do
		printf '%s\t%s\t%s\n' "$p" "$(stat -c %s "$p")" "$(sha256sum <"$p" | cut -d' ' -f1)"
	done) >"$HERE/golden/$n.tsv"
done
echo "gen.sh: done" >&2
