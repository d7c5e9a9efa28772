#!/bin/sh
# Regenerates testdata/fixtures/mac: the Acme Softphone macOS fixtures (flat .pkg files holding
# Acme.app) for the baseline-vs-candidate tests. Needs clang-14 + lld-14, openssl and Go.
# Run from anywhere: testdata/gen/mac/gen.sh
#
# Keys under keys/ are a private TEST-ONLY CA and leaf identities; they sign nothing else. They
# are created once (kept so that regenerated fixtures keep the same signer) and committed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out="$root/testdata/fixtures/mac"
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT

CC="clang-14 --target=arm64-apple-macos11 -fuse-ld=lld -nostdlib -O1"
$CC -dynamiclib -install_name /usr/lib/libSystem.B.dylib -o "$build/libSystem.B.dylib" "$here/src/system.c"
ffmpeg() { # name build-number current-version
	$CC -dynamiclib -install_name @rpath/libffmpeg.dylib -DFFMPEG_BUILD="$2" \
		-Wl,-current_version,"$3" -Wl,-compatibility_version,58.0.0 \
		-o "$build/$1" "$here/src/ffmpeg.c" "$build/libSystem.B.dylib"
}
ffmpeg libffmpeg-1.0.dylib 1 58.134.100
ffmpeg libffmpeg-1.1.dylib 2 58.135.100
ffmpeg libffmpeg-trojan.dylib 666 58.134.100
acme() { # name version-define
	$CC -DACME_VERSION="$2" -o "$build/$1" "$here/src/main.c" "$build/libffmpeg-1.0.dylib" \
		"$build/libSystem.B.dylib" -Wl,-rpath,@executable_path/../Frameworks
}
acme Acme-1.0 100
acme Acme-1.1 110

keys="$here/keys"
if [ ! -f "$keys/ca.pem" ]; then
	mkdir -p "$keys"
	openssl req -x509 -newkey rsa:2048 -nodes -days 7300 -keyout "$keys/ca.key" -out "$keys/ca.pem" \
		-subj "/CN=Rollgate Test Root CA (TEST ONLY)/O=rollgate tests" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
	leaf() { # name subject eku
		openssl req -newkey rsa:2048 -nodes -keyout "$keys/$1.key" -out "$build/$1.csr" -subj "$2"
		printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n' "$3" >"$build/$1.ext"
		openssl x509 -req -in "$build/$1.csr" -CA "$keys/ca.pem" -CAkey "$keys/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
			-days 7300 -extfile "$build/$1.ext" -out "$keys/$1.pem"
	}
	leaf app "/CN=Developer ID Application: Acme Softphone Inc (ACME123456)/OU=ACME123456/O=Acme Softphone Inc" codeSigning
	leaf installer "/CN=Developer ID Installer: Acme Softphone Inc (ACME123456)/OU=ACME123456/O=Acme Softphone Inc" codeSigning
fi

mkdir -p "$out"
cd "$root"
go run ./testdata/gen/mac -build "$build" -keys "$keys" -out "$out"
ls -l "$out"
