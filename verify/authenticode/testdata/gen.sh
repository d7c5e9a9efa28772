#!/bin/sh
# Regenerates the Authenticode fixtures: a private test PKI (openssl), tiny PE files
# (mingw-w64) and an MSI (wixl), signed with osslsigncode and then mutated by mutate.py.
# Needs: openssl, x86_64-w64-mingw32-gcc, wixl, osslsigncode (2.9), python3.
# Certificates are valid until 2126 so the fixtures do not expire; "expired-leaf" is the
# exception on purpose (valid 2020 only, trusted only through its timestamp).
set -eu
cd "$(dirname "$0")"
rm -rf pki && mkdir pki
P=pki
export TZ=UTC

# issue NAME SUBJECT ISSUER EXTENSIONS STARTDATE ENDDATE: a certificate with explicit validity
# (roots start in 2000 so that a 2020 timestamp falls inside their validity). ISSUER "self"
# makes a self-signed root.
issue() {
	openssl req -new -newkey rsa:2048 -nodes -keyout "$P/$1.key" -out "$P/$1.csr" -subj "$2" 2>/dev/null
	printf '%b\n' "$4" > "$P/$1.ext"
	# One serial counter for the whole PKI: the signer is found by issuer and serial, and
	# a root and its leaf share the issuer name.
	[ -d "$P/db" ] || { mkdir -p "$P/db" && : > "$P/db/index" && printf '%s\n' 1001 > "$P/db/serial"; }
	: > "$P/db/index"
	cat > "$P/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
database = $P/db/index
serial = $P/db/serial
new_certs_dir = $P/db
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
organizationName = optional
CNF
	if [ "$3" = self ]; then
		set -- "$@" -selfsign -keyfile "$P/$1.key"
	else
		set -- "$@" -cert "$P/$3.pem" -keyfile "$P/$3.key"
	fi
	name=$1 start=$5 end=$6
	shift 6
	openssl ca -batch -config "$P/ca.cnf" "$@" -in "$P/$name.csr" -out "$P/$name.pem" \
		-extfile "$P/$name.ext" -notext -startdate "$start" -enddate "$end" 2>/dev/null
	rm -rf "$P/$name.csr" "$P/$name.ext" "$P/ca.cnf"
}

CAEXT='basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash'
ca() { # NAME SUBJECT
	issue "$1" "$2" self "$CAEXT" 20000101000000Z 21260101000000Z
}
leaf() { # NAME SUBJECT ISSUER EKU STARTDATE ENDDATE
	issue "$1" "$2" "$3" "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=$4\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid" "$5" "$6"
	cat "$P/$1.pem" "$P/$3.pem" > "$P/$1-chain.pem"
}

ca root "/CN=Rollgate Test Root/O=Rollgate Test"
ca other-root "/CN=Unrelated Test Root/O=Elsewhere Test"
leaf leaf "/CN=Rollgate Test Signer/O=Rollgate Test" root codeSigning 20260101000000Z 21260101000000Z
leaf other-leaf "/CN=Unrelated Signer/O=Elsewhere Test" other-root codeSigning 20260101000000Z 21260101000000Z
leaf server-leaf "/CN=Not A Code Signer/O=Rollgate Test" root serverAuth 20260101000000Z 21260101000000Z
leaf expired-leaf "/CN=Expired Signer/O=Rollgate Test" root codeSigning 20200101000000Z 20210101000000Z
leaf tsa "/CN=Rollgate Test TSA/O=Rollgate Test" root critical,timeStamping 20000101000000Z 21260101000000Z

rm -rf "$P/db"

# PE files.
cat > hello.c <<'C'
#include <stdio.h>
int main(void) { puts("hello from rollgate"); return 0; }
C
x86_64-w64-mingw32-gcc -Os -s -o unsigned.exe hello.c
# Deterministic output: zero the COFF time stamp.
python3 - <<'PY'
import struct
b = bytearray(open("unsigned.exe", "rb").read())
pe = struct.unpack_from("<I", b, 0x3c)[0]
struct.pack_into("<I", b, pe + 8, 0)
open("unsigned.exe", "wb").write(b)
PY

TSTIME=1593561600 # 2020-07-01T00:00:00Z
sign() { # OUT CERT [osslsigncode options...]
	out=$1 cert=$2; shift 2
	in=${IN:-unsigned.exe}
	rm -f "$out"
	osslsigncode sign -certs "$P/$cert-chain.pem" -key "$P/$cert.key" -h sha256 \
		-time 1767225600 "$@" -in "$in" -out "$out" >/dev/null
}
sign signed.exe leaf
sign signed-sha1.exe leaf -h sha1
sign signed-ph.exe leaf -ph
sign signed-other.exe other-leaf
sign signed-server-eku.exe server-leaf
sign signed-ts.exe leaf -TSA-certs "$P/tsa-chain.pem" -TSA-key "$P/tsa.key" -TSA-time 1780272000 # 2026-06-01
# A timestamp before the leaf's notBefore: the chain is not valid at the signing time.
sign ts-early.exe leaf -TSA-certs "$P/tsa-chain.pem" -TSA-key "$P/tsa.key" -TSA-time "$TSTIME"
sign expired.exe expired-leaf -time "$TSTIME"
sign expired-ts.exe expired-leaf -time "$TSTIME" -TSA-certs "$P/tsa-chain.pem" -TSA-key "$P/tsa.key" -TSA-time "$TSTIME"

python3 mutate.py

# MSI.
wixl -o unsigned.msi product.wxs
IN=unsigned.msi sign signed.msi leaf
IN=unsigned.msi sign signed-dse.msi leaf -add-msi-dse
python3 mutate.py msi
# The keys are not needed by the tests; keep secret scanners quiet.
rm -f hello.c "$P"/*.key
