#!/usr/bin/env bash
# check.sh — sanity check of testdata/fixtures/win/ (no Go tests involved).
# For every signed PE and MSI: osslsigncode verify against the private test CA must succeed
# (the padded d3dcompiler_47.dll too: that is the CVE-2013-3900 point). For every file that
# must be unsigned: osslsigncode verify must fail. For every MSI: msiextract -l must list the
# expected files. Prints one OK/FAIL line per check; exits 1 if any check failed.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FIX=${1:-$(cd "$HERE/../../fixtures/win" && pwd)}
CA=$FIX/ca/ca-bundle.pem
fails=0

ok() { printf 'OK    %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; fails=$((fails + 1)); }

# signed FILE SUBJECT_CN — verifies and names the expected signer.
signed() {
	local f=$1 cn=$2 out
	if ! out=$(osslsigncode verify -CAfile "$CA" -TSA-CAfile "$CA" -in "$FIX/$f" 2>&1); then
		fail "$f: osslsigncode verify failed"
		return
	fi
	if ! grep -q "Subject: .*/CN=$cn\$" <<<"$out"; then
		fail "$f: verifies but signer is not CN=$cn"
		return
	fi
	ok "$f: signature verifies, signer CN=$cn"
}

unsigned() {
	local f=$1
	if osslsigncode verify -CAfile "$CA" -in "$FIX/$f" >/dev/null 2>&1; then
		fail "$f: expected no signature, but it verifies"
	else
		ok "$f: unsigned as expected"
	fi
}

# listing MSI FILE... — msiextract -l lists exactly these install paths.
listing() {
	local m=$1 out want got
	shift
	if ! out=$(msiextract -l "$FIX/$m" 2>&1); then
		fail "$m: msiextract -l failed"
		return
	fi
	want=$(printf '%s\n' "$@" | sort)
	got=$(sort <<<"$out")
	if [[ $want == "$got" ]]; then
		ok "$m: msiextract -l lists $# files"
	else
		fail "$m: msiextract -l lists: $(tr '\n' ' ' <<<"$got")"
	fi
}

# --- PE files
for f in AcmePhone-1.0.exe AcmePhone-1.1.exe core-1.0.dll core-1.1.dll ffmpeg.dll ffmpeg-trojan.dll; do
	signed "pe/$f" "Acme Softphone Ltd"
done
signed pe/AcmePhone-1.1.mallory.exe "Mallory Software"
signed pe/d3dcompiler_47.dll "Test Platform Publisher"
signed pe/d3dcompiler_47.padded.dll "Test Platform Publisher"
for f in AcmePhone-1.0.unsigned.exe AcmePhone-1.1.unsigned.exe core-1.0.unsigned.dll core-1.1.unsigned.dll \
	ffmpeg.unsigned.dll ffmpeg-trojan.unsigned.dll d3dcompiler_47.unsigned.dll version.dll helper.dll \
	beacon-1.0.exe beacon-1.1.exe beacon-1.1-c2.exe beacon-1.1-dropper.exe; do
	unsigned "pe/$f"
done

# The padded DLL differs from the signed one only inside the certificate table (plus the
# header fields that describe it): the image up to the table is identical past the headers.
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
orig=$FIX/pe/d3dcompiler_47.dll padded=$FIX/pe/d3dcompiler_47.padded.dll
pe=$(u32 "$orig" 60)
cert=$(u32 "$orig" $((pe + 24 + 144)))  # PE32+: security directory VirtualAddress (file offset)
a=$(stat -c %s "$orig") b=$(stat -c %s "$padded")
if ((b >= a + 256)) && [[ $(u32 "$padded" $((pe + 24 + 144))) == "$cert" ]] &&
	cmp -s <(head -c "$cert" "$orig" | tail -c +1025) <(head -c "$cert" "$padded" | tail -c +1025); then
	ok "pe/d3dcompiler_47.padded.dll: certificate table at $cert grown by $((b - a)) bytes, image unchanged"
else
	fail "pe/d3dcompiler_47.padded.dll: not the expected padding of pe/d3dcompiler_47.dll"
fi

# --- MSIs
acme=("Acme Softphone/AcmePhone.exe" "Acme Softphone/core.dll" "Acme Softphone/ffmpeg.dll"
	"Acme Softphone/d3dcompiler_47.dll")
for m in acme-1.0.msi acme-1.1.msi acme-1.1-ffmpeg.msi acme-1.1-d3dpad.msi acme-1.1-signer.msi \
	acme-1.1-stripped.msi acme-1.1-customaction.msi; do
	signed "$m" "Acme Softphone Ltd"
	listing "$m" "${acme[@]}"
done
signed acme-1.1-sideload.msi "Acme Softphone Ltd"
listing acme-1.1-sideload.msi "${acme[@]}" "Acme Softphone/version.dll"
unsigned acme-1.1-unsigned.msi
listing acme-1.1-unsigned.msi "${acme[@]}"
for m in beacon-1.0.msi beacon-1.1.msi beacon-1.1-c2.msi beacon-1.1-dropper.msi; do
	unsigned "$m"
	listing "$m" "Beacon/beacon.exe"
done

# --- issue 10 evasion candidates (gen.sh --evasions-only)
for f in ffmpeg-trojan-4401.dll ffmpeg-trojan-nover.dll ffmpeg-5.0.dll acmeplugin.dll; do
	signed "pe/$f" "Acme Softphone Ltd"
done
for f in cryptbase.dll acmeplugin.unsigned.dll codec-badmagic.dll AcmeUpdate-msi-overlay.exe AcmeUpdate-blob-overlay.exe; do
	unsigned "pe/$f"
done
# The look-alike names the vendor but chains to its own root, not the test root.
if osslsigncode verify -CAfile "$CA" -TSA-CAfile "$CA" -in "$FIX/pe/acmeplugin.lookalike.dll" >/dev/null 2>&1; then
	fail "pe/acmeplugin.lookalike.dll: verifies against the test CA"
elif osslsigncode verify -CAfile "$FIX/ca/lookalike-root.pem" -TSA-CAfile "$CA" -in "$FIX/pe/acmeplugin.lookalike.dll" >/dev/null 2>&1; then
	ok "pe/acmeplugin.lookalike.dll: verifies only against the look-alike root"
else
	fail "pe/acmeplugin.lookalike.dll: does not verify against the look-alike root"
fi
acme11=("Acme Softphone/AcmePhone.exe" "Acme Softphone/core.dll" "Acme Softphone/d3dcompiler_47.dll")
evasion() { # evasion MSI EXTRA-PATH...
	local m=$1
	shift
	signed "$m" "Acme Softphone Ltd"
	listing "$m" "${acme11[@]}" "$@"
}
evasion acme-1.1-ffmpeg-bumped.msi "Acme Softphone/ffmpeg.dll"
evasion acme-1.1-ffmpeg-nover.msi "Acme Softphone/ffmpeg.dll"
evasion acme-1.1-ffmpeg-moved.msi "Acme Softphone/lib/ffmpeg.dll"
evasion acme-1.1-cryptbase.msi "Acme Softphone/ffmpeg.dll" "Acme Softphone/cryptbase.dll"
evasion acme-1.1-plugin-unsigned.msi "Acme Softphone/ffmpeg.dll" "Acme Softphone/plugins/acmeplugin.dll"
evasion acme-1.1-tmp-dll.msi "Acme Softphone/ffmpeg.dll" "Acme Softphone/update.tmp"
evasion acme-1.1-ps1.msi "Acme Softphone/ffmpeg.dll" "Acme Softphone/update.ps1"
evasion acme-1.1-lookalike.msi "Acme Softphone/ffmpeg.dll" "Acme Softphone/plugins/acmeplugin.dll"
evasion acme-1.1-badpe.msi "Acme Softphone/ffmpeg.dll" "Acme Softphone/codec.dll"
evasion acme-1.1-overlay-msi.msi "Acme Softphone/ffmpeg.dll" "Acme Softphone/AcmeUpdate.exe"
evasion acme-1.1-overlay-blob.msi "Acme Softphone/ffmpeg.dll" "Acme Softphone/AcmeUpdate.exe"
evasion acme-1.1-benign-ffmpeg5.msi "Acme Softphone/ffmpeg.dll"
evasion acme-1.1-benign-moved.msi "Acme Softphone/lib/ffmpeg.dll"
evasion acme-1.1-benign-plugin.msi "Acme Softphone/ffmpeg.dll" "Acme Softphone/plugins/acmeplugin.dll"
# --- MSI-table fixtures (gen-msitables.sh): msitools is the oracle for the rows and streams.
# row MSI TABLE REGEX — msiinfo export prints a row matching REGEX.
row() {
	if msiinfo export "$FIX/$1" "$2" 2>/dev/null | grep -qE "$3"; then
		ok "$1: $2 row matches $3"
	else
		fail "$1: no $2 row matches $3"
	fi
}
for m in runkey service duplicate orphan; do
	signed "msitables/acme-1.1-$m.msi" "Acme Softphone Ltd"
done
listing msitables/acme-1.1-runkey.msi "${acme[@]}"
row msitables/acme-1.1-runkey.msi Registry $'^AcmeRun\t2\tSoftware\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run\tAcmeUpdater\t'
listing msitables/acme-1.1-service.msi "${acme[@]}"
row msitables/acme-1.1-service.msi ServiceInstall $'^AcmeUpdateSvc\tAcmeUpdateSvc\tAcme Update Service\t16\t2\t.*LocalSystem'
listing msitables/acme-1.1-duplicate.msi "${acme[@]}" "Acme Softphone/plugins/evil.dll"
row msitables/acme-1.1-duplicate.msi DuplicateFile $'^EvilCopy\tEvilPlugin\tevil.dll\tversion.dll\tINSTALLDIR\r?$'
listing msitables/acme-1.1-orphan.msi "${acme[@]}"
if msiinfo streams "$FIX/msitables/acme-1.1-orphan.msi" | grep -qx AcmeUpdate.dat &&
	cmp -s <(msiinfo extract "$FIX/msitables/acme-1.1-orphan.msi" AcmeUpdate.dat) "$FIX/pe/helper.dll"; then
	ok "msitables/acme-1.1-orphan.msi: stream AcmeUpdate.dat holds pe/helper.dll"
else
	fail "msitables/acme-1.1-orphan.msi: stream AcmeUpdate.dat missing or not pe/helper.dll"
fi

if ((fails > 0)); then
	echo "check.sh: $fails check(s) failed" >&2
	exit 1
fi
echo "check.sh: all checks passed" >&2
