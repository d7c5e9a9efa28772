package attest

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// MaxKeyFileBytes bounds a PEM key file.
const MaxKeyFileBytes = 64 << 10

// ParseSigner reads a private key from PEM: "PRIVATE KEY" (PKCS #8: ECDSA P-256, Ed25519 or
// RSA), "EC PRIVATE KEY" (SEC 1) or "RSA PRIVATE KEY" (PKCS #1). The first key block is
// used (EC PARAMETERS blocks before it are skipped); an encrypted PEM is refused.
func ParseSigner(data []byte) (crypto.Signer, error) {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("%w: no private key PEM block", ErrKey)
		}
		if _, ok := b.Headers["Proc-Type"]; ok || b.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, fmt.Errorf("%w: encrypted private key (decrypt it first)", ErrKey)
		}
		var key any
		var err error
		switch b.Type {
		case "EC PARAMETERS":
			continue
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		default:
			return nil, fmt.Errorf("%w: PEM block %q is not a private key", ErrKey, b.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrKey, b.Type, err)
		}
		s, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%w: %T", ErrKey, key)
		}
		if err := checkPublic(s.Public()); err != nil {
			return nil, err
		}
		return s, nil
	}
}

// ParsePublicKey reads a public key from PEM: "PUBLIC KEY" (PKIX), "RSA PUBLIC KEY"
// (PKCS #1) or a "CERTIFICATE" (its subject key).
func ParsePublicKey(data []byte) (crypto.PublicKey, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%w: no public key PEM block", ErrKey)
	}
	var pub any
	var err error
	switch b.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(b.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(b.Bytes)
	case "CERTIFICATE":
		var c *x509.Certificate
		if c, err = x509.ParseCertificate(b.Bytes); err == nil {
			pub = c.PublicKey
		}
	default:
		return nil, fmt.Errorf("%w: PEM block %q is not a public key", ErrKey, b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKey, b.Type, err)
	}
	if err := checkPublic(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// LoadSigner reads the private key PEM file at path (--signing-key).
func LoadSigner(path string) (crypto.Signer, error) {
	data, err := readBounded(path, MaxKeyFileBytes)
	if err != nil {
		return nil, err
	}
	s, err := ParseSigner(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// LoadPublicKey reads the public key PEM file at path (attestation verify --key).
func LoadPublicKey(path string) (crypto.PublicKey, error) {
	data, err := readBounded(path, MaxKeyFileBytes)
	if err != nil {
		return nil, err
	}
	p, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}
