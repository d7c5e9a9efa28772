// Package authenticode verifies Microsoft Authenticode signatures of PE images, MSI
// packages and MSIX/AppX packages (AppxSignature.p7x, appx.go) from hostile input, keeping
// integrity (does the signed digest match the file) and trust (does the signer's chain
// reach a trusted root at the signing time) apart, and reports
// structural anomalies of the signature container.
//
// It follows the "Windows Authenticode Portable Executable Signature Format" (PE digest,
// WIN_CERTIFICATE table, page hashes, nested signatures), RFC 2315 (PKCS #7 SignedData),
// RFC 5652 (CertificateChoices), RFC 3161 and the legacy PKCS #9 countersignature
// (timestamps), X.690 DER, and for MSI the digest osslsigncode and relic compute (the
// Windows MSI SIP is undocumented). The PE header parse and digest (digest.go), the
// certificate table walk, SpcIndirectDataContent (indirect.go), the strict inspection of the
// unsigned parts of a signature (inspect.go, der.go) and the MSI digest over unpack/cfb are
// ours; relic (github.com/sassoftware/relic/v7, packages pkcs7 and pkcs9 only, which pull no
// key-store code) checks the signer's and the timestamp's signatures.
//
// Errata handled: the CVE-2013-3900 pattern (bytes hidden after the PKCS#7 blob inside the
// certificate table, accepted by Windows without EnableCertPaddingCheck, by osslsigncode 2.9
// and, for zero bytes, by relic) and data appended after the table are reported as anomalies
// rather than accepted silently, and so is anything in the unauthenticated area of a
// signature that is not well-formed DER of a known type; a certificate table whose size is
// not the sum of its 8-byte aligned entries, or that is not 8-byte aligned, is a malformed
// signature. Older sbsign output names SpcIndividualPurpose (1.3.6.1.4.1.311.2.1.21) as the
// indirect data type (Debian grub 2.06-13+deb12u1, fwupd 1.4); like sbverify and
// osslsigncode this accepts any type, as the digest alone binds the file. Optional headers
// with fewer than 16 data directories (Debian kernels have 6) are read as declared.
package authenticode

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/verify/trust"
)

// Limits.
const (
	// MaxSignatureBytes bounds the PKCS#7 blobs of one file together (the certificate table's
	// entries, or an MSI DigitalSignature stream). Real signatures with full chains and
	// timestamps are tens of KiB.
	MaxSignatureBytes = 16 << 20
	// MaxCertEntries bounds the WIN_CERTIFICATE entries walked in one certificate table.
	MaxCertEntries = 64
	// MaxHeaderBytes bounds the PE headers (DOS stub, NT headers, section table) hashed as
	// the first region of the digest.
	MaxHeaderBytes = 4 << 20
	// MaxMSIHashBytes bounds the stream bytes hashed for one MSI digest (streams may share
	// sectors in a hostile file, so this is not implied by the file size).
	MaxMSIHashBytes = unpack.MaxExpandedBytes
	// maxPEMBytes bounds a --trust-roots file.
	maxPEMBytes = 16 << 20
)

// Options configure a Verifier; see trust.Options. The zero value is strict.
type Options = trust.Options

// Verifier checks Authenticode signatures against one trust set. It is safe for concurrent use.
type Verifier struct {
	roots *x509.CertPool
	now   func() time.Time
}

// NewVerifier builds a Verifier. It fails when no trust set can be formed: Roots is nil, the
// system pool cannot be loaded and no ExtraRoots are given.
func NewVerifier(opts Options) (*Verifier, error) {
	set, err := trust.NewSet(opts)
	if err != nil {
		return nil, fmt.Errorf("authenticode: %w", err)
	}
	return &Verifier{roots: set.Roots, now: set.Now}, nil
}

// LoadPEM reads every CERTIFICATE block of a PEM file (the --trust-roots file). A file with no
// certificate, or with one that does not parse, is an error. A critical Netscape Cert Type
// that allows object signing CAs is marked handled (trust.HandleNetscapeCertType).
func LoadPEM(path string) ([]*x509.Certificate, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPEMBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	if len(data) > maxPEMBytes {
		return nil, fmt.Errorf("reading %q: larger than %d bytes: %w", path, maxPEMBytes, unpack.ErrLimit)
	}
	var certs []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate %d of %q: %w", len(certs)+1, path, err)
		}
		// A root that marks Netscape Cert Type critical (Debian's Secure Boot CA) is
		// usable for code signing when that extension allows it; see trust.
		certs = append(certs, trust.HandleNetscapeCertType(c, true))
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("reading %q: no PEM CERTIFICATE block", path)
	}
	return certs, nil
}

func hashName(h crypto.Hash) string {
	switch h {
	case crypto.MD5:
		return "md5"
	case crypto.SHA1:
		return "sha1"
	case crypto.SHA224:
		return "sha224"
	case crypto.SHA256:
		return "sha256"
	case crypto.SHA384:
		return "sha384"
	case crypto.SHA512:
		return "sha512"
	}
	return h.String()
}

// isFormat reports whether err is about the input rather than about reading it.
func isFormat(err error) bool {
	return errors.Is(err, unpack.ErrFormat) || errors.Is(err, unpack.ErrLimit) || errors.Is(err, unpack.ErrUnsupported)
}
