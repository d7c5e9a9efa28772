#!/bin/sh
# Generates the TEST-ONLY signing keys under keys/ with OpenSSL, in every PEM form the
# attest package reads. These keys sign nothing real; regenerate freely (the tests make
# their envelopes at run time).
set -eu
cd "$(dirname "$0")/keys"
rm -f ./*.pem
# ECDSA P-256: PKCS #8 and SEC 1
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out test-ec-pkcs8.pem
openssl ec -in test-ec-pkcs8.pem -out test-ec-sec1.pem 2>/dev/null
openssl pkey -in test-ec-pkcs8.pem -pubout -out test-ec.pub.pem
# Ed25519: PKCS #8
openssl genpkey -algorithm ED25519 -out test-ed25519-pkcs8.pem
openssl pkey -in test-ed25519-pkcs8.pem -pubout -out test-ed25519.pub.pem
# RSA 2048: PKCS #8 and PKCS #1
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out test-rsa-pkcs8.pem
openssl rsa -in test-rsa-pkcs8.pem -traditional -out test-rsa-pkcs1.pem 2>/dev/null
openssl pkey -in test-rsa-pkcs8.pem -pubout -out test-rsa.pub.pem
openssl rsa -in test-rsa-pkcs8.pem -RSAPublicKey_out -out test-rsa-pkcs1.pub.pem 2>/dev/null
# Refused: a P-384 key and an encrypted key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out test-ec-p384.pem
openssl pkey -in test-ec-pkcs8.pem -aes256 -passout pass:test -out test-ec-encrypted.pem
