#!/usr/bin/env bash
# gen.sh — builds rollgate's Windows test fixtures into testdata/fixtures/win/.
#
# Tools (Debian): apt-get install -y wixl gcc-mingw-w64-x86-64 osslsigncode msitools openssl
# (faketime optional: makes the signatures byte-for-byte reproducible)
# plus Go (padcert.go does the certificate-table surgery). Run from anywhere:
#     testdata/gen/win/gen.sh            # keeps the committed test CA in fixtures/win/ca
#     testdata/gen/win/gen.sh --new-ca   # makes new CA keys first (all signatures change)
#     testdata/gen/win/gen.sh --evasions-only  # only the issue 10 evasion fixtures, from the
#                                              # committed pe/ files (nothing else changes)
#
# Deterministic where the tools allow: committed CA keys, fixed serials and validity
# (2025-01-01 .. 2126-01-01) so the certificates are reproducible; unsigned PEs are
# byte-for-byte reproducible (-Wl,--no-insert-timestamp, --disable-auto-image-base, -s,
# -fno-ident); signatures use RSA and a fixed signing + timestamp time 2026-01-01T00:00:00Z
# (osslsigncode's built-in TSA, -TSA-time; faketime pins the token's own signingTime), but
# that TSA draws a random serial number and nonce for every token, so signed files differ
# run to run. MSIs have fixed ProductCodes, PackageCodes (set with msibuild -s: wixl 0.101
# ignores Package/@Id) and Component GUIDs; with faketime their summary dates are fixed too,
# so unsigned MSIs (Beacon) are mostly reproducible (gcab's MSZIP output was seen to differ in
# a few bytes between runs for identical input); signed ones inherit the TSA randomness.
# Within one run, a file shared by several MSIs is the same bytes in all of them.
#
# Outputs (testdata/fixtures/win/), "→" = finding rollgate must raise when the file is
# verified against acme-1.0.msi (Acme) or beacon-1.0.msi (Beacon) as the baseline:
#   ca/root.pem, ca/intermediate.pem        private test CA (pass --trust-roots ca/root.pem)
#   ca/{acme,platform,mallory,tsa}.pem      leaf certs; *.key test-only keys; *-chain.pem
#   acme-1.0.msi              baseline: AcmePhone.exe/core.dll 1.0.0.0, ffmpeg.dll 4.4.0.0,
#                             d3dcompiler_47.dll 10.0.19041.1; PEs and MSI signed → (baseline)
#   acme-1.1.msi              benign update: AcmePhone.exe, core.dll rebuilt 1.1.0.0; ffmpeg.dll
#                             and d3dcompiler_47.dll byte-identical → PASS (info findings only)
#   acme-1.1-ffmpeg.msi       ffmpeg.dll code changed (extra export referencing
#                             https://cdn.mallory.invalid/p.ico), FileVersion still 4.4.0.0,
#                             re-signed by the vendor → content.changed-same-version
#                             (+ strings.endpoint-added)
#   acme-1.1-d3dpad.msi       d3dcompiler_47.dll with 256 bytes appended inside its
#                             WIN_CERTIFICATE after the PKCS#7 blob; still verifies → sig.padding
#                             (+ content.changed-same-version: same version, new file hash)
#   acme-1.1-signer.msi       AcmePhone.exe signed by Mallory (same root) → sig.signer-changed
#   acme-1.1-stripped.msi     AcmePhone.exe unsigned → sig.removed
#   acme-1.1-unsigned.msi     acme-1.1.msi contents, the MSI itself unsigned → sig.removed
#                             (on the installer entry)
#   acme-1.1-sideload.msi     unsigned version.dll beside AcmePhone.exe → sideload.system-name
#                             (+ file.added-unsigned-code)
#   acme-1.1-customaction.msi CustomAction AcmeRegister, type 3154 = 18 (exe installed with the
#                             product) | deferred | no-impersonate | ignore-return, runs
#                             AcmePhone.exe --update-url → msi.custom-action-added
#                             (wixl 0.101 has no CustomAction/@Directory, so no type 34)
#   beacon-1.0.msi            sandbox baseline (unsigned): beacon.exe resolves
#                             updates.beacon.test, connects to it on 443, prints, exits < 5 s
#   beacon-1.1.msi            benign update, same behaviour → PASS (sandbox too)
#   beacon-1.1-c2.msi         also resolves c2.beacon.invalid, connects to 198.51.100.23:8443
#                             (GET /p.ico), UDP datagram to 203.0.113.5:53535, exits < 10 s
#                             → sandbox.network (+ strings.endpoint-added; against
#                             beacon-1.1.msi also content.changed-same-version on beacon.exe)
#   beacon-1.1-dropper.msi    also writes %APPDATA%\Beacon\helper.dll and LoadLibrary's it
#                             → sandbox.dll-load + sandbox.file-write
#   acme-1.1-{ffmpeg-bumped,ffmpeg-nover,ffmpeg-moved,cryptbase,plugin-unsigned,tmp-dll,ps1,
#             lookalike,badpe,overlay-msi,overlay-blob}.msi
#                             issue 10 evasions, each → a finding at or above high (see
#                             MANIFEST.md); acme-1.1-benign-{ffmpeg5,moved,plugin}.msi → PASS
#                             (built from the committed pe/ files; gen.sh --evasions-only)
#   pe/                       the PE files on their own for unit tests (see MANIFEST.md):
#                             *.unsigned.* before signing, signed copies, d3dcompiler_47.padded.dll
#                             (→ sig.padding), AcmePhone-1.1.mallory.exe, version.dll, beacon*.exe
#   acme-1.1-dormant.msi      core.dll stamps its first run, beacons to a .test host (XOR-encoded)
#                             once the stamp is >= 7 days old → sandbox.network at clock +8d
#   acme-1.1-sleeper.msi      core.dll sleeps 10 minutes, then beacons → sandbox.network (+8d rerun)
#   acme-1.1-runkey.msi       core.dll writes HKCU\...\CurrentVersion\Run → sandbox.persistence
#   MANIFEST.md               file, sha256, what it is, expected rule (written last)
set -euo pipefail
export LC_ALL=C TZ=UTC

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT="$ROOT/testdata/fixtures/win"
SRC="$HERE/src"
WXS="$HERE/wxs"
CA="$OUT/ca"
PE="$OUT/pe"

NEW_CA=0 EVASIONS_ONLY=0 IMPLANTS_ONLY=0
[[ ${1:-} == --new-ca ]] && NEW_CA=1
[[ ${1:-} == --evasions-only ]] && EVASIONS_ONLY=1
# --implants-only: build only the implant MSIs (acme_implants) against the committed signed
# PEs and CA, leaving every other committed fixture byte-for-byte as it is.
[[ ${1:-} == --implants-only ]] && IMPLANTS_ONLY=1

CC=x86_64-w64-mingw32-gcc
WINDRES=x86_64-w64-mingw32-windres
for t in "$CC" "$WINDRES" wixl msibuild osslsigncode openssl msiextract go; do
	command -v "$t" >/dev/null || { echo "gen.sh: $t not found" >&2; exit 2; }
done

B=$(mktemp -d "${TMPDIR:-/tmp}/rollgate-wingen.XXXXXX")
trap 'rm -rf "$B"' EXIT
export CA_WORK="$B/ca" # read by ca.cnf

# --disable-auto-image-base: ld otherwise picks a varying DLL base address.
# __USE_MINGW_ANSI_STDIO=0: use msvcrt's printf family instead of linking mingw's (~25 KiB).
# shellcheck disable=SC2054 # the commas belong to the -Wl, linker options
CFLAGS=(-O2 -s -Wall -Wextra -fno-ident -D__USE_MINGW_ANSI_STDIO=0 -Wl,--no-insert-timestamp -Wl,--disable-auto-image-base)
SIGN_TIME=1767225600 # 2026-01-01T00:00:00Z: signing time and TSA time of every signature
CA_START=20250101000000Z
# osslsigncode's built-in TSA stamps its token's CMS signingTime with the wall clock; with
# faketime (optional, apt-get install faketime) the whole signature is reproducible.
FAKETIME=()
if command -v faketime >/dev/null; then
	FAKETIME=(faketime "$(date -u -d "@$SIGN_TIME" '+%Y-%m-%d %H:%M:%S')") # clock frozen
fi
CA_END=21260101000000Z

log() { printf 'gen.sh: %s\n' "$*" >&2; }

# quiet CMD... — run CMD with its output to a log, shown only when it fails.
quiet() {
	"$@" >"$B/quiet.log" 2>&1 || { cat "$B/quiet.log" >&2; echo "gen.sh: failed: $*" >&2; return 1; }
}

# ---------------------------------------------------------------- test CA
# issue NAME SUBJECT EXT SERIAL [ISSUER] — writes $CA/NAME.pem from $CA/NAME.key.
issue() {
	local name=$1 subj=$2 ext=$3 serial=$4 issuer=${5:-}
	quiet openssl req -new -config "$HERE/ca.cnf" -key "$CA/$name.key" -subj "$subj" -out "$B/ca/$name.csr"
	printf '%s\n' "$serial" >"$B/ca/serial"
	: >"$B/ca/index.txt"
	local signer=(-cert "$CA/$issuer.pem" -keyfile "$CA/$issuer.key")
	[[ -z $issuer ]] && signer=(-selfsign -keyfile "$CA/$name.key")
	quiet openssl ca -batch -config "$HERE/ca.cnf" -notext -md sha256 \
		-startdate "$CA_START" -enddate "$CA_END" -extensions "$ext" \
		"${signer[@]}" -in "$B/ca/$name.csr" -out "$CA/$name.pem"
}

make_ca() {
	mkdir -p "$CA" "$B/ca/new"
	local k
	for k in root intermediate acme platform mallory tsa; do
		if [[ $NEW_CA == 1 || ! -s $CA/$k.key ]]; then
			quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$CA/$k.key"
		fi
	done
	# Subjects are given most-significant first, so Go's pkix.Name.String() prints
	# "CN=Rollgate Test Root CA,O=Rollgate Test" and so on.
	issue root "/O=Rollgate Test/CN=Rollgate Test Root CA" root_ext 01
	issue intermediate "/O=Rollgate Test/CN=Rollgate Test Code Signing CA" inter_ext 02 root
	issue acme "/O=Acme Softphone Ltd/CN=Acme Softphone Ltd" codesign_ext 1001 intermediate
	issue platform "/O=Test Platform/CN=Test Platform Publisher" codesign_ext 1002 intermediate
	issue mallory "/O=Mallory/CN=Mallory Software" codesign_ext 1003 intermediate
	issue tsa "/O=Rollgate Test/CN=Rollgate Test Timestamping" tsa_ext 1004 intermediate
	for k in acme platform mallory tsa; do
		cat "$CA/$k.pem" "$CA/intermediate.pem" >"$CA/$k-chain.pem"
	done
	cat "$CA/intermediate.pem" "$CA/root.pem" >"$CA/ca-bundle.pem"
}

# sign WHO IN OUT — Authenticode-sign a PE or MSI with leaf WHO (acme|platform|mallory),
# sha256, timestamped by the built-in TSA at SIGN_TIME.
sign() {
	local who=$1 in=$2 out=$3 desc url
	case $who in
	acme) desc="Acme Softphone" url="https://www.acme-softphone.test/" ;;
	platform) desc="Test Platform Component" url="https://platform.test/" ;;
	mallory) desc="Acme Softphone" url="https://www.acme-softphone.test/" ;;
	lookalike) desc="Acme Softphone" url="https://www.acme-softphone.test/" ;;
	*) echo "sign: unknown signer $who" >&2; return 2 ;;
	esac
	rm -f "$out"
	"${FAKETIME[@]}" osslsigncode sign -certs "$CA/$who-chain.pem" -key "$CA/$who.key" -h sha256 \
		-n "$desc" -i "$url" -time "$SIGN_TIME" \
		-TSA-certs "$CA/tsa-chain.pem" -TSA-key "$CA/tsa.key" -TSA-time "$SIGN_TIME" \
		-in "$in" -out "$out" >"$B/sign.log" 2>&1 || { cat "$B/sign.log" >&2; return 1; }
}

# verify FILE — osslsigncode verify against the test CA at SIGN_TIME.
verify() {
	osslsigncode verify -CAfile "$CA/ca-bundle.pem" -TSA-CAfile "$CA/ca-bundle.pem" \
		-time "$SIGN_TIME" -ignore-cdp -in "$1" >"$B/verify.log" 2>&1 ||
		{ cat "$B/verify.log" >&2; echo "gen.sh: verify failed: $1" >&2; return 1; }
}

# ---------------------------------------------------------------- PE files
# res OUT.o CSV STR COMPANY DESC PRODUCT ORIGINAL FILETYPE [RC]
res() {
	local out=$1 csv=$2 str=$3 company=$4 desc=$5 product=$6 orig=$7 ftype=$8 rc=${9:-$SRC/versioninfo.rc}
	(cd "$B" && "$WINDRES" -I "$SRC" -O coff -o "$out" \
		-DVER_CSV="$csv" -DVER_STR="\\\"$str\\\"" -DVER_COMPANY="\\\"$company\\\"" \
		-DVER_DESC="\\\"$desc\\\"" -DVER_PRODUCT="\\\"$product\\\"" \
		-DVER_ORIGINAL="\\\"$orig\\\"" -DVER_FILETYPE="$ftype" "$rc")
}

build_pes() {
	mkdir -p "$B/1.0" "$B/1.1" "$B/evil" "$PE"
	local acme="Acme Softphone Ltd" prod="Acme Softphone"

	# ffmpeg.dll 4.4.0.0 (same bytes in every release) and its trojanised twin.
	res "$B/ffmpeg.o" 4,4,0,0 4.4.0.0 "FFmpeg Project" "FFmpeg library" "FFmpeg" ffmpeg.dll 2
	"$CC" "${CFLAGS[@]}" -shared -o "$B/1.0/ffmpeg.dll" "$SRC/ffmpeg.c" "$B/ffmpeg.o"
	"$CC" "${CFLAGS[@]}" -DTROJAN -shared -o "$B/evil/ffmpeg.dll" "$SRC/ffmpeg.c" "$B/ffmpeg.o"

	# d3dcompiler_47.dll 10.0.19041.1, the "platform" DLL.
	res "$B/d3d.o" 10,0,19041,1 10.0.19041.1 "Test Platform Publisher" \
		"Direct3D HLSL Compiler (test stand-in)" "Test Platform" d3dcompiler_47.dll 2
	"$CC" "${CFLAGS[@]}" -shared -o "$B/1.0/d3dcompiler_47.dll" "$SRC/d3dcompiler.c" "$B/d3d.o"

	# core.dll and AcmePhone.exe per release.
	local rel build
	for rel in 1.0 1.1; do
		build=${rel/./}
		res "$B/core-$rel.o" "${rel/./,},0,0" "$rel.0.0" "$acme" "Acme Softphone core" "$prod" core.dll 2
		"$CC" "${CFLAGS[@]}" -DCORE_BUILD="$build" -shared -o "$B/$rel/core.dll" "$SRC/core.c" "$B/core-$rel.o"
		res "$B/acme-$rel.o" "${rel/./,},0,0" "$rel.0.0" "$acme" "Acme Softphone" "$prod" AcmePhone.exe 1
		"$CC" "${CFLAGS[@]}" -DACME_VERSION="\"$rel.0\"" -DACME_BUILD="$build" \
			-o "$B/$rel/AcmePhone.exe" "$SRC/acmephone.c" "$B/acme-$rel.o" \
			"$B/1.0/ffmpeg.dll" "$B/1.0/d3dcompiler_47.dll" "$B/$rel/core.dll"
	done

	# version.dll: unsigned, carries a system DLL's name (disguised version resource).
	res "$B/version.o" 10,0,19041,1 10.0.19041.1 "Microsoft Corporation" \
		"Version Checking and File Installation Libraries" "Microsoft Windows Operating System" VERSION.DLL 2
	"$CC" "${CFLAGS[@]}" -shared -o "$B/version.dll" "$SRC/version.c" "$B/version.o"

	# Unsigned copies for unit tests.
	cp "$B/1.0/AcmePhone.exe" "$PE/AcmePhone-1.0.unsigned.exe"
	cp "$B/1.1/AcmePhone.exe" "$PE/AcmePhone-1.1.unsigned.exe"
	cp "$B/1.0/core.dll" "$PE/core-1.0.unsigned.dll"
	cp "$B/1.1/core.dll" "$PE/core-1.1.unsigned.dll"
	cp "$B/1.0/ffmpeg.dll" "$PE/ffmpeg.unsigned.dll"
	cp "$B/evil/ffmpeg.dll" "$PE/ffmpeg-trojan.unsigned.dll"
	cp "$B/1.0/d3dcompiler_47.dll" "$PE/d3dcompiler_47.unsigned.dll"
	cp "$B/version.dll" "$PE/version.dll"

	# Signed copies.
	sign acme "$B/1.0/AcmePhone.exe" "$PE/AcmePhone-1.0.exe"
	sign acme "$B/1.1/AcmePhone.exe" "$PE/AcmePhone-1.1.exe"
	sign mallory "$B/1.1/AcmePhone.exe" "$PE/AcmePhone-1.1.mallory.exe"
	sign acme "$B/1.0/core.dll" "$PE/core-1.0.dll"
	sign acme "$B/1.1/core.dll" "$PE/core-1.1.dll"
	sign acme "$B/1.0/ffmpeg.dll" "$PE/ffmpeg.dll"
	sign acme "$B/evil/ffmpeg.dll" "$PE/ffmpeg-trojan.dll"
	sign platform "$B/1.0/d3dcompiler_47.dll" "$PE/d3dcompiler_47.dll"
	(cd "$HERE" && go run padcert.go "$PE/d3dcompiler_47.dll" "$PE/d3dcompiler_47.padded.dll")
	local f
	for f in AcmePhone-1.0.exe AcmePhone-1.1.exe AcmePhone-1.1.mallory.exe core-1.0.dll core-1.1.dll \
		ffmpeg.dll ffmpeg-trojan.dll d3dcompiler_47.dll d3dcompiler_47.padded.dll; do
		verify "$PE/$f"
	done
	if cmp -s "$PE/d3dcompiler_47.dll" "$PE/d3dcompiler_47.padded.dll"; then
		echo "gen.sh: padding did nothing" >&2
		exit 1
	fi
}

# ---------------------------------------------------------------- MSIs
# stage DIR EXE CORE FFMPEG D3D [VERSIONDLL] — lay out an MSI source folder from $PE names.
stage() {
	local dir=$B/stage/$1
	rm -rf "$dir" && mkdir -p "$dir"
	cp "$PE/$2" "$dir/AcmePhone.exe"
	cp "$PE/$3" "$dir/core.dll"
	cp "$PE/$4" "$dir/ffmpeg.dll"
	cp "$PE/$5" "$dir/d3dcompiler_47.dll"
	[[ -n ${6:-} ]] && cp "$PE/$6" "$dir/version.dll"
	return 0
}

# wixl_msi WXS OUT PRODUCTCODE PACKAGECODE SUBJECT AUTHOR VERSION STAGE [wixl -D args...]
# wixl runs in $B with a relative Src: wixl 0.101 cannot open absolute Source paths. It
# ignores Package/@Id and writes a random PackageCode, so msibuild -s sets it afterwards
# (with the subject, author and template wixl wrote); faketime pins the summary dates.
wixl_msi() {
	local wxs=$1 out=$2 pc=$3 pkg=$4 subject=$5 author=$6 ver=$7 dir=$8
	shift 8
	touch -d "@$SIGN_TIME" "$B/stage/$dir"/* # the cabinet records each file's mtime
	(cd "$B" && quiet "${FAKETIME[@]}" wixl -a x64 -D Version="$ver" -D ProductCode="$pc" \
		-D Src="stage/$dir" "$@" -o "$out" "$wxs")
	quiet "${FAKETIME[@]}" msibuild "$out" -s "$subject" "$author" "x64;1033" "{$pkg}"
}

# acme_msi OUT VERSION STAGE SIGNED PACKAGECODE-SUFFIX [wixl -D args...]
acme_msi() {
	local out=$1 ver=$2 dir=$3 signed=$4 pkg=6D0C1B0A-3C10-4E4B-9A77-3CC0DE00$5 pc
	shift 5
	case $ver in
	1.0.0) pc=6D0C1B0A-3C10-4E4B-9A77-3CC0DE00A100 ;;
	1.1.0) pc=6D0C1B0A-3C10-4E4B-9A77-3CC0DE00A110 ;;
	esac
	wixl_msi "$WXS/acme.wxs" "$B/$out" "$pc" "$pkg" "Acme Softphone $ver installer" \
		"Acme Softphone Ltd" "$ver" "$dir" "$@"
	if [[ $signed == signed ]]; then
		sign acme "$B/$out" "$OUT/$out"
		verify "$OUT/$out"
	else
		cp "$B/$out" "$OUT/$out"
	fi
	log "$out"
}

acme_msis_core() {
	stage 1.0 AcmePhone-1.0.exe core-1.0.dll ffmpeg.dll d3dcompiler_47.dll
	acme_msi acme-1.0.msi 1.0.0 1.0 signed B100
	stage 1.1 AcmePhone-1.1.exe core-1.1.dll ffmpeg.dll d3dcompiler_47.dll
	acme_msi acme-1.1.msi 1.1.0 1.1 signed B110
	stage d3dpad AcmePhone-1.1.exe core-1.1.dll ffmpeg.dll d3dcompiler_47.padded.dll
	acme_msi acme-1.1-d3dpad.msi 1.1.0 d3dpad signed B111
	stage ffmpeg AcmePhone-1.1.exe core-1.1.dll ffmpeg-trojan.dll d3dcompiler_47.dll
	acme_msi acme-1.1-ffmpeg.msi 1.1.0 ffmpeg signed B112
}

acme_msis_rest() {
	stage signer AcmePhone-1.1.mallory.exe core-1.1.dll ffmpeg.dll d3dcompiler_47.dll
	acme_msi acme-1.1-signer.msi 1.1.0 signer signed B113
	stage stripped AcmePhone-1.1.unsigned.exe core-1.1.dll ffmpeg.dll d3dcompiler_47.dll
	acme_msi acme-1.1-stripped.msi 1.1.0 stripped signed B114
	# Same database as acme-1.1.msi (same PackageCode), MSI left unsigned.
	acme_msi acme-1.1-unsigned.msi 1.1.0 1.1 unsigned B110
	stage sideload AcmePhone-1.1.exe core-1.1.dll ffmpeg.dll d3dcompiler_47.dll version.dll
	acme_msi acme-1.1-sideload.msi 1.1.0 sideload signed B115 -D Sideload=1
	acme_msi acme-1.1-customaction.msi 1.1.0 1.1 signed B116 -D CustomAction=1
}

# acme_implants — Acme 1.1 whose core.dll carries an implant (src/core_implant.c), for the
# sandbox's time-travel and persistence cases. Staged from the signed PEs in $PE (so every
# other file is byte-identical to acme-1.1.msi's), each core.dll built and signed here.
acme_implants() {
	local v pkg
	res "$B/core-implant.o" 1,1,0,0 1.1.0.0 "Acme Softphone Ltd" "Acme Softphone core" "Acme Softphone" core.dll 2
	for v in dormant:B117 sleeper:B118 runkey:B119; do
		pkg=${v#*:} v=${v%%:*}
		"$CC" "${CFLAGS[@]}" -DIMPLANT_"${v^^}" -shared -o "$B/core-$v.dll" "$SRC/core_implant.c" \
			"$B/core-implant.o" -lws2_32 -ladvapi32
		sign acme "$B/core-$v.dll" "$B/core-$v.signed.dll"
		verify "$B/core-$v.signed.dll"
		stage "$v" AcmePhone-1.1.exe core-1.1.dll ffmpeg.dll d3dcompiler_47.dll
		cp "$B/core-$v.signed.dll" "$B/stage/$v/core.dll"
		acme_msi "acme-1.1-$v.msi" 1.1.0 "$v" signed "$pkg"
	done
}

# ---------------------------------------------------------------- Beacon
beacon() {
	local company="Beacon Test Ltd"
	mkdir -p "$B/beacon"
	# helper.dll: no CRT, no imports; dropped and loaded by the dropper variant.
	res "$B/helper.o" 1,0,0,0 1.0.0.0 "$company" "Beacon helper" Beacon helper.dll 2
	"$CC" "${CFLAGS[@]}" -shared -nostdlib -nostartfiles -Wl,-e,HelperEntry \
		-o "$B/helper.dll" "$SRC/helper.c" "$B/helper.o"
	cp "$B/helper.dll" "$PE/helper.dll"

	# build_beacon NAME VERSION RC [CFLAGS...]
	build_beacon() {
		local name=$1 ver=$2 rc=$3
		shift 3
		res "$B/$name.o" "${ver//./,},0" "$ver.0" "$company" "Beacon update agent" Beacon beacon.exe 1 "$rc"
		"$CC" "${CFLAGS[@]}" -DBEACON_VERSION="\"$ver\"" "$@" \
			-o "$PE/$name.exe" "$SRC/beacon.c" "$B/$name.o" -lws2_32
	}
	build_beacon beacon-1.0 1.0.0 "$SRC/versioninfo.rc"
	build_beacon beacon-1.1 1.1.0 "$SRC/versioninfo.rc"
	build_beacon beacon-1.1-c2 1.1.0 "$SRC/versioninfo.rc" -DBEACON_C2 -DBEACON_DEADLINE_MS=9000
	build_beacon beacon-1.1-dropper 1.1.0 "$SRC/dropper.rc" -DBEACON_DROPPER -DBEACON_DEADLINE_MS=4500

	# beacon_msi NAME VERSION PACKAGECODE-SUFFIX
	beacon_msi() {
		local name=$1 ver=$2 pkg=6D0C1B0A-3C10-4E4B-9A77-3CC0DE00$3 pc
		case $ver in
		1.0.0) pc=6D0C1B0A-3C10-4E4B-9A77-3CC0DE00C100 ;;
		1.1.0) pc=6D0C1B0A-3C10-4E4B-9A77-3CC0DE00C110 ;;
		esac
		rm -rf "$B/stage/$name" && mkdir -p "$B/stage/$name"
		cp "$PE/$name.exe" "$B/stage/$name/beacon.exe"
		wixl_msi "$WXS/beacon.wxs" "$OUT/$name.msi" "$pc" "$pkg" "Beacon $ver installer" \
			"Beacon Test Ltd" "$ver" "$name"
		log "$name.msi"
	}
	beacon_msi beacon-1.0 1.0.0 D100
	beacon_msi beacon-1.1 1.1.0 D110
	beacon_msi beacon-1.1-c2 1.1.0 D111
	beacon_msi beacon-1.1-dropper 1.1.0 D112
}

# ---------------------------------------------------------------- MANIFEST.md
# One row per output: file | what it is | finding(s) expected when rollgate verifies it against
# the baseline named in the header (acme-1.0.msi / beacon-1.0.msi; PE rows: the 1.0 file of the
# same name, or as stated).
describe() {
	cat <<'ROWS'
acme-1.0.msi|Acme Softphone 1.0.0, the baseline: AcmePhone.exe and core.dll 1.0.0.0, ffmpeg.dll 4.4.0.0, d3dcompiler_47.dll 10.0.19041.1; every PE and the MSI signed|baseline (verify against itself: pass)
acme-1.1.msi|benign update 1.1.0: AcmePhone.exe and core.dll rebuilt 1.1.0.0, ffmpeg.dll and d3dcompiler_47.dll byte-identical to 1.0|PASS (file.changed, info only)
acme-1.1-ffmpeg.msi|1.1.0 with ffmpeg.dll trojanised (extra export, https://cdn.mallory.invalid/p.ico), FileVersion still 4.4.0.0, re-signed by the vendor|content.changed-same-version, strings.endpoint-added
acme-1.1-d3dpad.msi|1.1.0 with d3dcompiler_47.dll's certificate table grown by 256 bytes after the PKCS#7 blob (CVE-2013-3900 pattern); osslsigncode still verifies it|sig.padding (+ content.changed-same-version: same version, new hash)
acme-1.1-signer.msi|1.1.0 with AcmePhone.exe signed by CN=Mallory Software (same root CA)|sig.signer-changed
acme-1.1-stripped.msi|1.1.0 with AcmePhone.exe unsigned|sig.removed
acme-1.1-unsigned.msi|acme-1.1.msi's contents, the MSI itself not signed|sig.removed (installer entry)
acme-1.1-sideload.msi|1.1.0 plus an unsigned version.dll beside AcmePhone.exe|sideload.system-name, file.added-unsigned-code
acme-1.1-dormant.msi|1.1.0 whose core.dll stamps its first run in %APPDATA%\Acme\firstrun.dat and, once the stamp is at least 7 days old, resolves beacon.acme-telemetry.test (stored XOR 0x5A) and connects to it on 443|sandbox.network at clock offset +8d (the first run is quiet)
acme-1.1-sleeper.msi|1.1.0 whose core.dll calls Sleep for 10 minutes, then resolves sync.acme-telemetry.test (stored XOR 0x5A) and connects to it on 443|sandbox.network in an accelerated rerun (clock +8d)
acme-1.1-runkey.msi|1.1.0 whose core.dll writes HKCU\Software\Microsoft\Windows\CurrentVersion\Run "AcmeHelper" = "C:\Program Files\Acme Softphone\AcmePhone.exe" --tray at run time|sandbox.persistence
acme-1.1-customaction.msi|1.1.0 plus CustomAction AcmeRegister, type 3154 (18 exe from installed file + deferred + no-impersonate + ignore), runs AcmePhone.exe --update-url after InstallFiles|msi.custom-action-added
acme-1.1-ffmpeg-bumped.msi|issue 10 item 1: acme-1.1 with ffmpeg.dll trojanised (https://cdn.mallory.invalid/p.ico) and its FileVersion bumped to 4.4.0.1, re-signed by the vendor|content.changed-suspicious high (version-bumped + endpoints-added + third-party), strings.endpoint-added
acme-1.1-ffmpeg-nover.msi|issue 10 item 1: acme-1.1 with the trojanised ffmpeg.dll carrying no VERSIONINFO at all, re-signed by the vendor|content.changed-suspicious high (version-removed + endpoints-added + third-party)
acme-1.1-ffmpeg-moved.msi|issue 10 item 2: acme-1.1 with the trojanised ffmpeg.dll (4.4.0.0) moved to INSTALLDIR\lib under new File and Component keys|file.moved (paired by original name), content.changed-same-version
acme-1.1-cryptbase.msi|issue 10 item 3: acme-1.1 plus an unsigned cryptbase.dll beside AcmePhone.exe|sideload.system-name, sig.coverage-regressed
acme-1.1-plugin-unsigned.msi|issue 10 item 5: acme-1.1 plus a new unsigned plugins\acmeplugin.dll|sig.coverage-regressed (high), file.added-unsigned-code
acme-1.1-tmp-dll.msi|issue 10 item 5: acme-1.1 plus the unsigned plugin DLL shipped as update.tmp|sig.coverage-regressed (high), file.added-unsigned-code
acme-1.1-ps1.msi|issue 10 item 5: acme-1.1 plus a new downloader update.ps1 (https://updates.mallory.invalid/stage2.bin)|sig.coverage-regressed (high), file.added-unsigned-code, strings.endpoint-added
acme-1.1-lookalike.msi|issue 10 item 5: acme-1.1 plus plugins\acmeplugin.dll signed by CN=Acme Softphone Ltd under an untrusted look-alike root|sig.coverage-regressed (high), sig.untrusted
acme-1.1-badpe.msi|no silent gaps: acme-1.1 plus codec.dll whose optional header magic is zeroed (MZ/PE signatures intact)|analysis.incomplete (verdict inconclusive)
acme-1.1-overlay-msi.msi|issue 10 item 6: acme-1.1 plus an unsigned AcmeUpdate.exe with acme-1.1.msi appended after its last section|analysis.incomplete (the msi overlay is not unpacked), sig.coverage-regressed
acme-1.1-overlay-blob.msi|overlays: acme-1.1 plus an unsigned AcmeUpdate.exe with 4 KiB of opaque data appended|pe.overlay, sig.coverage-regressed
acme-1.1-benign-ffmpeg5.msi|benign: acme-1.1 with ffmpeg.dll honestly updated to 5.0.0.0 (no new endpoint or import), signed by the vendor|PASS (file.changed)
acme-1.1-benign-moved.msi|benign: acme-1.1 with the unchanged ffmpeg.dll moved to INSTALLDIR\lib under new File and Component keys|PASS (file.moved, info)
acme-1.1-benign-plugin.msi|benign: acme-1.1 plus plugins\acmeplugin.dll signed by the vendor|PASS (file.added)
pe/ffmpeg-5.0.dll|ffmpeg.dll 5.0.0.0 (untrojaned rebuild), signed by Acme Softphone Ltd|file.changed vs ffmpeg.dll
pe/acmeplugin.dll|the Acme plugin DLL signed by Acme Softphone Ltd|file.added
pe/ffmpeg-trojan-4401.dll|trojanised ffmpeg.dll with FileVersion 4.4.0.1, signed by Acme Softphone Ltd|content.changed-suspicious vs ffmpeg.dll (with the product context)
pe/ffmpeg-trojan-nover.dll|trojanised ffmpeg.dll without VERSIONINFO, signed by Acme Softphone Ltd|content.changed-suspicious vs ffmpeg.dll (with the product context)
pe/cryptbase.dll|unsigned no-CRT DLL named like the Windows cryptbase.dll (VERSIONINFO claims Microsoft)|sideload.system-name (in an app folder)
pe/acmeplugin.unsigned.dll|no-CRT Acme plugin DLL 1.1.0.0, unsigned|file.added-unsigned-code
pe/acmeplugin.lookalike.dll|the plugin signed by CN=Acme Softphone Ltd,O=Acme Softphone Ltd under CN=Acme Softphone Ltd Root CA (not the test root)|sig.untrusted
pe/codec-badmagic.dll|core-1.1.unsigned.dll with the optional header magic zeroed|analysis.incomplete
pe/AcmeUpdate-msi-overlay.exe|unsigned AcmeUpdate.exe 1.1.0.0 with acme-1.1.msi appended|overlay format msi
pe/AcmeUpdate-blob-overlay.exe|unsigned AcmeUpdate.exe 1.1.0.0 with 4096 bytes of text appended|pe.overlay
ca/lookalike-root.pem|look-alike root CN=Acme Softphone Ltd Root CA,O=Acme Softphone Ltd (NOT under the test root; never pass it to --trust-roots)|-
ca/lookalike.pem|look-alike code-signing leaf CN=Acme Softphone Ltd,O=Acme Softphone Ltd issued by lookalike-root|-
ca/lookalike-chain.pem|lookalike.pem (the chain osslsigncode embeds)|-
ca/lookalike-root.key|TEST-ONLY private key of lookalike-root.pem|-
ca/lookalike.key|TEST-ONLY private key of lookalike.pem|-
beacon-1.0.msi|Beacon 1.0.0 sandbox baseline (unsigned): beacon.exe resolves updates.beacon.test, connects to it on 443, sends GET /v1/latest, prints, exits|baseline (sandbox: DNS updates.beacon.test, TCP :443)
beacon-1.1.msi|Beacon 1.1.0 benign update, same behaviour|PASS (file.changed, info only)
beacon-1.1-c2.msi|Beacon 1.1.0 that also resolves c2.beacon.invalid, connects to 198.51.100.23:8443 (GET /p.ico, Host c2.beacon.invalid) and sends a UDP datagram to 203.0.113.5:53535|sandbox.network (+ strings.endpoint-added)
beacon-1.1-dropper.msi|Beacon 1.1.0 that also writes %APPDATA%\Beacon\helper.dll (carried as RCDATA 101) and LoadLibrary's it|sandbox.dll-load, sandbox.file-write
pe/AcmePhone-1.0.exe|AcmePhone.exe 1.0.0.0, signed by Acme Softphone Ltd; imports ffmpeg.dll, d3dcompiler_47.dll, core.dll; embeds https://api.acme-softphone.test/v1/update|signed (baseline)
pe/AcmePhone-1.0.unsigned.exe|AcmePhone.exe 1.0.0.0 before signing|unsigned
pe/AcmePhone-1.1.exe|AcmePhone.exe 1.1.0.0, signed by Acme Softphone Ltd|file.changed vs 1.0
pe/AcmePhone-1.1.unsigned.exe|AcmePhone.exe 1.1.0.0 before signing (the file in acme-1.1-stripped.msi)|sig.removed vs AcmePhone-1.0.exe
pe/AcmePhone-1.1.mallory.exe|AcmePhone.exe 1.1.0.0 signed by CN=Mallory Software,O=Mallory|sig.signer-changed vs AcmePhone-1.0.exe
pe/core-1.0.dll|core.dll 1.0.0.0, signed by Acme Softphone Ltd|signed (baseline)
pe/core-1.0.unsigned.dll|core.dll 1.0.0.0 before signing|unsigned
pe/core-1.1.dll|core.dll 1.1.0.0, signed by Acme Softphone Ltd (code and version changed)|file.changed vs 1.0
pe/core-1.1.unsigned.dll|core.dll 1.1.0.0 before signing|unsigned
pe/ffmpeg.dll|ffmpeg.dll 4.4.0.0, signed by Acme Softphone Ltd (same bytes in acme-1.0 and acme-1.1)|signed (baseline)
pe/ffmpeg.unsigned.dll|ffmpeg.dll 4.4.0.0 before signing|unsigned
pe/ffmpeg-trojan.dll|trojanised ffmpeg.dll, FileVersion 4.4.0.0, extra export av_hwdevice_sync, embeds https://cdn.mallory.invalid/p.ico, signed by Acme Softphone Ltd|content.changed-same-version, strings.endpoint-added vs ffmpeg.dll
pe/ffmpeg-trojan.unsigned.dll|trojanised ffmpeg.dll before signing|unsigned
pe/d3dcompiler_47.dll|d3dcompiler_47.dll 10.0.19041.1, signed by CN=Test Platform Publisher,O=Test Platform|signed (baseline)
pe/d3dcompiler_47.unsigned.dll|d3dcompiler_47.dll before signing|unsigned
pe/d3dcompiler_47.padded.dll|pe/d3dcompiler_47.dll with WIN_CERTIFICATE dwLength and the security directory Size grown by 256 bytes of RC4-looking data (FE ED FA CE marker) after the PKCS#7 blob, PE checksum fixed; still verifies|sig.padding
pe/version.dll|unsigned DLL named like the Windows system DLL (VERSIONINFO claims Microsoft), stub exports|sideload.system-name, file.added-unsigned-code (when shipped in an app folder)
pe/helper.dll|no-CRT DLL exporting helper_hello (returns 42), the payload beacon-1.1-dropper.exe drops|unsigned
pe/beacon-1.0.exe|beacon.exe 1.0.0.0 (console, ws2_32), unsigned|baseline behaviour
pe/beacon-1.1.exe|beacon.exe 1.1.0.0, same behaviour|benign
pe/beacon-1.1-c2.exe|beacon.exe 1.1.0.0 with the C2 behaviour (see beacon-1.1-c2.msi)|sandbox.network
pe/beacon-1.1-dropper.exe|beacon.exe 1.1.0.0 with the dropper behaviour (see beacon-1.1-dropper.msi)|sandbox.dll-load, sandbox.file-write
ca/root.pem|test root CA CN=Rollgate Test Root CA,O=Rollgate Test (RSA 2048, 2025-01-01..2126-01-01); pass to --trust-roots|-
ca/intermediate.pem|intermediate CA CN=Rollgate Test Code Signing CA,O=Rollgate Test|-
ca/acme.pem|code-signing leaf CN=Acme Softphone Ltd,O=Acme Softphone Ltd (vendor)|-
ca/platform.pem|code-signing leaf CN=Test Platform Publisher,O=Test Platform (plays Microsoft)|-
ca/mallory.pem|code-signing leaf CN=Mallory Software,O=Mallory (same root)|-
ca/tsa.pem|timestamping leaf CN=Rollgate Test Timestamping,O=Rollgate Test (osslsigncode built-in TSA)|-
ca/acme-chain.pem|acme.pem + intermediate.pem|-
ca/platform-chain.pem|platform.pem + intermediate.pem|-
ca/mallory-chain.pem|mallory.pem + intermediate.pem|-
ca/tsa-chain.pem|tsa.pem + intermediate.pem|-
ca/ca-bundle.pem|intermediate.pem + root.pem (osslsigncode verify -CAfile)|-
ca/root.key|TEST-ONLY private key of root.pem|-
ca/intermediate.key|TEST-ONLY private key of intermediate.pem|-
ca/acme.key|TEST-ONLY private key of acme.pem|-
ca/platform.key|TEST-ONLY private key of platform.pem|-
ca/mallory.key|TEST-ONLY private key of mallory.pem|-
ca/tsa.key|TEST-ONLY private key of tsa.pem|-
ca/README.md|says the keys are test-only|-
ROWS
}

manifest() {
	local m=$OUT/MANIFEST.md f what rule missing=0
	{
		cat <<'HEAD'
# Windows fixtures (generated by testdata/gen/win/gen.sh — do not edit)

Baselines: `acme-1.0.msi` for every `acme-*` MSI, `beacon-1.0.msi` for every `beacon-*` MSI.
Trust: `--trust-roots ca/root.pem`. Every signature is timestamped 2026-01-01T00:00:00Z by the
test TSA. MSI ProductCodes: Acme 1.0 `{6D0C1B0A-3C10-4E4B-9A77-3CC0DE00A100}`, Acme 1.1 (every
1.1 variant) `{…00A110}`, Beacon 1.0 `{…00C100}`, Beacon 1.1 `{…00C110}`; UpgradeCodes
`{6D0C1B0A-3C10-4E4B-9A77-3CC0DE000001}` (Acme), `{…000002}` (Beacon). Install paths:
`ProgramFiles64Folder/Acme Softphone/{AcmePhone.exe,core.dll,ffmpeg.dll,d3dcompiler_47.dll}`,
`ProgramFiles64Folder/Beacon/beacon.exe`; a non-advertised Start-menu shortcut in
ProgramMenuFolder targets `[#AcmePhone.exe]` / `[#beacon.exe]`.
PackageCodes: `{…00B100}` acme-1.0, `{…00B110}` acme-1.1 and acme-1.1-unsigned (same
database), `{…00B111}`..`{…00B116}` the other Acme variants, `{…00D100}`..`{…00D112}` Beacon.
Signed files' hashes change whenever gen.sh runs (the test TSA puts a random serial number and
nonce in each timestamp): tests should read hashes from this file or compute them, not
hard-code them.

HEAD
		echo "| file | sha256 | size | what it is | expected rule |"
		echo "|---|---|---|---|---|"
		while IFS='|' read -r f what rule; do
			if [[ ! -f $OUT/$f ]]; then
				echo "gen.sh: MANIFEST row for missing file $f" >&2
				missing=1
				continue
			fi
			# shellcheck disable=SC2016 # the backticks are Markdown code spans
			printf '| `%s` | `%s` | %s | %s | %s |\n' "$f" "$(sha256sum "$OUT/$f" | cut -d' ' -f1)" \
				"$(stat -c %s "$OUT/$f")" "$what" "$rule"
		done < <(describe)
	} >"$m"
	# Every output must be described.
	while read -r f; do
		f=${f#"$OUT/"}
		[[ $f == MANIFEST.md ]] && continue
		[[ $f == msitables/* ]] && continue # gen-msitables.sh's, with their own MANIFEST.md
		describe | cut -d'|' -f1 | grep -qxF "$f" || { echo "gen.sh: $f not in MANIFEST" >&2; missing=1; }
	done < <(find "$OUT" -type f | sort)
	return "$missing"
}

# ---------------------------------------------------------------- issue 10 evasions
# Acme 1.1 candidates that each evade one rule of the pre-issue-10 static gate. Built from the
# committed signed PEs in pe/ (so ffmpeg.dll, d3dcompiler_47.dll, AcmePhone.exe and core.dll
# are the very bytes of acme-1.1.msi) plus the new files below; --evasions-only rebuilds only
# these, leaving every other fixture (and its TSA-randomised signatures) untouched.

# lookalike_ca — a CA outside the test root, issuing a leaf with the vendor's exact names:
# CN=Acme Softphone Ltd,O=Acme Softphone Ltd under CN=Acme Softphone Ltd Root CA.
lookalike_ca() {
	mkdir -p "$B/ca/new"
	local k
	for k in lookalike-root lookalike; do
		if [[ ! -s $CA/$k.key ]]; then
			quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$CA/$k.key"
		fi
	done
	issue lookalike-root "/O=Acme Softphone Ltd/CN=Acme Softphone Ltd Root CA" root_ext 01
	issue lookalike "/O=Acme Softphone Ltd/CN=Acme Softphone Ltd" codesign_ext 1001 lookalike-root
	cp "$CA/lookalike.pem" "$CA/lookalike-chain.pem"
}

build_evasion_pes() {
	mkdir -p "$B/ev"
	# 1: the trojaned ffmpeg.dll with FileVersion bumped to 4.4.0.1, and with no VERSIONINFO.
	res "$B/ffmpeg-4401.o" 4,4,0,1 4.4.0.1 "FFmpeg Project" "FFmpeg library" "FFmpeg" ffmpeg.dll 2
	"$CC" "${CFLAGS[@]}" -DTROJAN -shared -o "$B/ev/ffmpeg-4401.dll" "$SRC/ffmpeg.c" "$B/ffmpeg-4401.o"
	"$CC" "${CFLAGS[@]}" -DTROJAN -shared -o "$B/ev/ffmpeg-nover.dll" "$SRC/ffmpeg.c"
	sign acme "$B/ev/ffmpeg-4401.dll" "$PE/ffmpeg-trojan-4401.dll"
	sign acme "$B/ev/ffmpeg-nover.dll" "$PE/ffmpeg-trojan-nover.dll"
	verify "$PE/ffmpeg-trojan-4401.dll"
	verify "$PE/ffmpeg-trojan-nover.dll"
	# Benign counterparts (must pass): ffmpeg.dll honestly updated to 5.0.0.0, and the new
	# plugin signed by the vendor.
	res "$B/ffmpeg-5.o" 5,0,0,0 5.0.0.0 "FFmpeg Project" "FFmpeg library" "FFmpeg" ffmpeg.dll 2
	"$CC" "${CFLAGS[@]}" -shared -o "$B/ev/ffmpeg-5.dll" "$SRC/ffmpeg.c" "$B/ffmpeg-5.o"
	sign acme "$B/ev/ffmpeg-5.dll" "$PE/ffmpeg-5.0.dll"
	verify "$PE/ffmpeg-5.0.dll"
	# 3: an unsigned cryptbase.dll (a real Windows DLL side-loaded in the wild).
	res "$B/cryptbase.o" 10,0,19041,1 10.0.19041.1 "Microsoft Corporation" \
		"Base cryptographic API DLL" "Microsoft Windows Operating System" CRYPTBASE.DLL 2
	"$CC" "${CFLAGS[@]}" -shared -nostdlib -nostartfiles -Wl,-e,HelperEntry \
		-o "$PE/cryptbase.dll" "$SRC/helper.c" "$B/cryptbase.o"
	# 5: a new Acme plugin DLL, unsigned and signed by the look-alike publisher.
	res "$B/plugin.o" 1,1,0,0 1.1.0.0 "Acme Softphone Ltd" "Acme Softphone plugin" "Acme Softphone" acmeplugin.dll 2
	"$CC" "${CFLAGS[@]}" -shared -nostdlib -nostartfiles -Wl,-e,HelperEntry \
		-o "$PE/acmeplugin.unsigned.dll" "$SRC/helper.c" "$B/plugin.o"
	sign lookalike "$PE/acmeplugin.unsigned.dll" "$PE/acmeplugin.lookalike.dll"
	sign acme "$PE/acmeplugin.unsigned.dll" "$PE/acmeplugin.dll"
	verify "$PE/acmeplugin.dll"
	osslsigncode verify -CAfile "$CA/lookalike-root.pem" -TSA-CAfile "$CA/ca-bundle.pem" \
		-time "$SIGN_TIME" -ignore-cdp -in "$PE/acmeplugin.lookalike.dll" >"$B/verify.log" 2>&1 ||
		{ cat "$B/verify.log" >&2; echo "gen.sh: look-alike signature does not verify" >&2; return 1; }
	# no silent gaps: core.dll 1.1 with its optional header magic zeroed (no parser accepts it).
	cp "$PE/core-1.1.unsigned.dll" "$PE/codec-badmagic.dll"
	printf '\x00\x00' | dd of="$PE/codec-badmagic.dll" bs=1 seek=$((0x80 + 24)) conv=notrunc status=none
	# 6: AcmeUpdate.exe, unsigned, with acme-1.1.msi appended; and with 4 KiB of opaque data.
	res "$B/update.o" 1,1,0,0 1.1.0.0 "Acme Softphone Ltd" "Acme Softphone updater" "Acme Softphone" AcmeUpdate.exe 1
	"$CC" "${CFLAGS[@]}" -o "$B/ev/AcmeUpdate.exe" "$SRC/update.c" "$B/update.o"
	cat "$B/ev/AcmeUpdate.exe" "$OUT/acme-1.1.msi" >"$PE/AcmeUpdate-msi-overlay.exe"
	{ cat "$B/ev/AcmeUpdate.exe"; for _ in $(seq 128); do printf 'ROLLGATE-OVERLAY-TEST-BLOB-0123\n'; done; } >"$PE/AcmeUpdate-blob-overlay.exe"
}

# evasion_msi OUT PACKAGECODE-SUFFIX FFMPEG [wixl -D args...] — an Acme 1.1 candidate from
# acme-evasions.wxs with the 1.1 files, FFMPEG as ffmpeg.dll, staged extras from $B/ev-stage.
evasion_msi() {
	local out=$1 pkg=$2 ff=$3 name=${1%.msi}
	shift 3
	stage "$name" AcmePhone-1.1.exe core-1.1.dll "$ff" d3dcompiler_47.dll
	cp "$B/ev-stage"/* "$B/stage/$name/" 2>/dev/null || true
	wixl_msi "$WXS/acme-evasions.wxs" "$B/$out" 6D0C1B0A-3C10-4E4B-9A77-3CC0DE00A110 \
		"6D0C1B0A-3C10-4E4B-9A77-3CC0DE00$pkg" "Acme Softphone 1.1.0 installer" "Acme Softphone Ltd" 1.1.0 "$name" "$@"
	sign acme "$B/$out" "$OUT/$out"
	verify "$OUT/$out"
	rm -rf "$B/ev-stage"
	log "$out"
}

# extra FILE-IN-PE NAME — stage one extra file for the next evasion_msi.
extra() { mkdir -p "$B/ev-stage" && cp "$1" "$B/ev-stage/$2"; }

evasion_msis() {
	evasion_msi acme-1.1-ffmpeg-bumped.msi B120 ffmpeg-trojan-4401.dll
	evasion_msi acme-1.1-ffmpeg-nover.msi B121 ffmpeg-trojan-nover.dll
	evasion_msi acme-1.1-ffmpeg-moved.msi B122 ffmpeg-trojan.dll -D MovedFFmpeg=1
	extra "$PE/cryptbase.dll" cryptbase.dll
	evasion_msi acme-1.1-cryptbase.msi B123 ffmpeg.dll -D Extra=cryptbase.dll -D ExtraDir=app
	extra "$PE/acmeplugin.unsigned.dll" acmeplugin.dll
	evasion_msi acme-1.1-plugin-unsigned.msi B124 ffmpeg.dll -D Extra=acmeplugin.dll -D ExtraDir=plugins
	extra "$PE/acmeplugin.unsigned.dll" update.tmp
	evasion_msi acme-1.1-tmp-dll.msi B125 ffmpeg.dll -D Extra=update.tmp -D ExtraDir=app
	extra "$SRC/update.ps1" update.ps1
	evasion_msi acme-1.1-ps1.msi B126 ffmpeg.dll -D Extra=update.ps1 -D ExtraDir=app
	extra "$PE/acmeplugin.lookalike.dll" acmeplugin.dll
	evasion_msi acme-1.1-lookalike.msi B127 ffmpeg.dll -D Extra=acmeplugin.dll -D ExtraDir=plugins
	extra "$PE/codec-badmagic.dll" codec.dll
	evasion_msi acme-1.1-badpe.msi B128 ffmpeg.dll -D Extra=codec.dll -D ExtraDir=app
	extra "$PE/AcmeUpdate-msi-overlay.exe" AcmeUpdate.exe
	evasion_msi acme-1.1-overlay-msi.msi B129 ffmpeg.dll -D Extra=AcmeUpdate.exe -D ExtraDir=app
	extra "$PE/AcmeUpdate-blob-overlay.exe" AcmeUpdate.exe
	evasion_msi acme-1.1-overlay-blob.msi B12A ffmpeg.dll -D Extra=AcmeUpdate.exe -D ExtraDir=app
	# Benign: each must pass against acme-1.0.msi (false-fail measure of the new rules).
	evasion_msi acme-1.1-benign-ffmpeg5.msi B130 ffmpeg-5.0.dll
	evasion_msi acme-1.1-benign-moved.msi B131 ffmpeg.dll -D MovedFFmpeg=1
	extra "$PE/acmeplugin.dll" acmeplugin.dll
	evasion_msi acme-1.1-benign-plugin.msi B132 ffmpeg.dll -D Extra=acmeplugin.dll -D ExtraDir=plugins
}

evasions() {
	lookalike_ca
	build_evasion_pes
	evasion_msis
}

if [[ $EVASIONS_ONLY == 1 ]]; then
	evasions
	manifest
	log "done (evasions only): $OUT"
	exit 0
fi

if [[ $IMPLANTS_ONLY == 1 ]]; then
	acme_implants
	manifest
	log "done (implants only) in $OUT"
	exit 0
fi
make_ca
build_pes
acme_msis_core
beacon
acme_msis_rest
evasions
acme_implants
manifest
"$HERE/gen-msitables.sh"
"$HERE/gen-sfx.sh"
log "done: $(du -sh "$OUT" | cut -f1) in $OUT"
