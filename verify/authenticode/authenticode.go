// Package authenticode verifies Microsoft Authenticode signatures of PE images and MSI
// packages from hostile input, keeping integrity (does the signed digest match the file) and
// trust (does the signer's chain reach a trusted root at the signing time) apart, and reports
// structural anomalies of the signature container.
//
// It follows the "Windows Authenticode Portable Executable Signature Format" (PE digest,
// WIN_CERTIFICATE table, page hashes), RFC 2315 (PKCS #7 SignedData), RFC 3161 and the legacy
// PKCS #9 countersignature (timestamps), and for MSI the digest osslsigncode and relic compute
// (the Windows MSI SIP is undocumented). The PKCS #7 and PE digest code is relic's
// (github.com/sassoftware/relic/v7); the certificate table walk, the PE header checks that
// keep relic's digest bounded and the MSI digest over unpack/cfb are ours.
//
// Errata handled: the CVE-2013-3900 pattern (bytes hidden after the PKCS#7 blob inside the
// certificate table, accepted by Windows without EnableCertPaddingCheck, by osslsigncode 2.9
// and, for zero bytes, by relic) and data appended after the table are reported as anomalies
// rather than accepted silently; a certificate table whose size is not the sum of its 8-byte
// aligned entries, or that is not 8-byte aligned, is a malformed signature.
package authenticode

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/verify/trust"
	relic "github.com/sassoftware/relic/v7/lib/authenticode"
	"github.com/sassoftware/relic/v7/lib/pkcs7"
	"github.com/sassoftware/relic/v7/lib/pkcs9"
	"github.com/sassoftware/relic/v7/lib/x509tools"
)

// Limits.
const (
	// MaxSignatureBytes bounds one PKCS#7 blob (a certificate table entry or an MSI
	// DigitalSignature stream). Real signatures with full chains and timestamps are tens of KiB.
	MaxSignatureBytes = 16 << 20
	// MaxCertEntries bounds the WIN_CERTIFICATE entries walked in one certificate table.
	MaxCertEntries = 64
	// MaxHeaderBytes bounds the PE headers (DOS stub, NT headers, section table) that the
	// digest buffers in memory.
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
// certificate, or with one that does not parse, is an error.
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
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("reading %q: no PEM CERTIFICATE block", path)
	}
	return certs, nil
}

// signature is one parsed and cryptographically checked Authenticode PKCS#7 blob.
type signature struct {
	ts       pkcs9.TimestampedSignature
	tsErr    error       // the countersignature is present but does not verify
	hash     crypto.Hash // of the signed file digest
	digest   []byte      // the signed file digest
	pageHash crypto.Hash // 0 when the signature carries no page hashes
	pages    []byte
}

// indirectKind selects which SpcIndirectDataContent a format expects.
type indirectKind int

const (
	indirectPE indirectKind = iota
	indirectMSI
)

// parseSignature checks one DER PKCS#7 blob step by step; each step's failure is worded
// distinctly because it ends up in Signature.IntegrityError.
func parseSignature(der []byte, kind indirectKind) (sig *signature, err error) {
	defer func() {
		// relic parses attacker-controlled ASN.1 in code we do not own; a panic there must
		// become an invalid signature, not a crashed scan.
		if p := recover(); p != nil {
			sig, err = nil, fmt.Errorf("parsing PKCS#7: internal error: %v\n%s", p, debug.Stack())
		}
	}()
	psd, err := pkcs7.Unmarshal(der)
	if err != nil {
		return nil, fmt.Errorf("parsing PKCS#7: %w", err)
	}
	if !psd.ContentType.Equal(pkcs7.OidSignedData) {
		return nil, fmt.Errorf("parsing PKCS#7: content type %v is not signedData", psd.ContentType)
	}
	sd := &psd.Content
	if !sd.ContentInfo.ContentType.Equal(relic.OidSpcIndirectDataContent) {
		return nil, fmt.Errorf("parsing PKCS#7: content type %v is not SpcIndirectDataContent", sd.ContentInfo.ContentType)
	}
	if n := len(sd.SignerInfos); n != 1 {
		return nil, fmt.Errorf("parsing PKCS#7: %d signer infos, Authenticode requires exactly one", n)
	}
	p7, err := sd.Verify(nil, false)
	if err != nil {
		return nil, fmt.Errorf("verifying the signer's signature: %w", err)
	}
	if p7.Certificate == nil {
		return nil, errors.New("verifying the signer's signature: no signer certificate")
	}
	sig = &signature{}
	ts, tsErr := pkcs9.VerifyOptionalTimestamp(p7)
	sig.ts, sig.tsErr = ts, tsErr
	if tsErr != nil {
		sig.ts = pkcs9.TimestampedSignature{Signature: p7}
	}
	var dinfo relic.DigestInfo
	switch kind {
	case indirectPE:
		var ind relic.SpcIndirectDataContentPe
		if err := sd.ContentInfo.Unmarshal(&ind); err != nil {
			return nil, fmt.Errorf("parsing SpcIndirectDataContent: %w", err)
		}
		if !ind.Data.Type.Equal(relic.OidSpcPeImageData) {
			return nil, fmt.Errorf("parsing SpcIndirectDataContent: type %v is not SpcPeImageData", ind.Data.Type)
		}
		dinfo = ind.MessageDigest
		if err := sig.readPageHashes(&ind); err != nil {
			return nil, err
		}
	case indirectMSI:
		var ind relic.SpcIndirectDataContentMsi
		if err := sd.ContentInfo.Unmarshal(&ind); err != nil {
			return nil, fmt.Errorf("parsing SpcIndirectDataContent: %w", err)
		}
		if !ind.Data.Type.Equal(relic.OidSpcSipInfo) || !bytes.Equal(ind.Data.Value.UUID, relic.SpcUUIDSipInfoMsi) {
			return nil, fmt.Errorf("parsing SpcIndirectDataContent: type %v is not the MSI SpcSipInfo", ind.Data.Type)
		}
		dinfo = ind.MessageDigest
	}
	h, ok := x509tools.PkixDigestToHash(dinfo.DigestAlgorithm)
	if !ok || !h.Available() {
		return nil, fmt.Errorf("digest algorithm %v is not supported", dinfo.DigestAlgorithm.Algorithm)
	}
	if h == crypto.MD5 {
		return nil, errors.New("digest algorithm md5 is not accepted")
	}
	if len(dinfo.Digest) != h.Size() {
		return nil, fmt.Errorf("signed digest is %d bytes, %s needs %d", len(dinfo.Digest), hashName(h), h.Size())
	}
	sig.hash, sig.digest = h, dinfo.Digest
	return sig, nil
}

// readPageHashes extracts the optional page hash table (SpcSerializedObject with the page
// hashes class id holding SET { SpcAttributePageHashes }).
func (s *signature) readPageHashes(ind *relic.SpcIndirectDataContentPe) error {
	obj := ind.Data.Value.File.Moniker
	if !bytes.Equal(obj.ClassID, relic.SpcUUIDPageHashes) {
		return nil
	}
	var set struct {
		Attr relic.SpcAttributePageHashes
	}
	if rest, err := asn1.UnmarshalWithParams(obj.SerializedData, &set, "set"); err != nil || len(rest) != 0 {
		return fmt.Errorf("parsing page hashes: %v", errOr(err, "trailing bytes"))
	}
	switch {
	case set.Attr.Type.Equal(relic.OidSpcPageHashV1):
		s.pageHash = crypto.SHA1
	case set.Attr.Type.Equal(relic.OidSpcPageHashV2):
		s.pageHash = crypto.SHA256
	default:
		return fmt.Errorf("parsing page hashes: unknown type %v", set.Attr.Type)
	}
	if len(set.Attr.Hashes) != 1 {
		return fmt.Errorf("parsing page hashes: %d hash tables, want 1", len(set.Attr.Hashes))
	}
	s.pages = set.Attr.Hashes[0]
	if len(s.pages) == 0 || len(s.pages)%(4+s.pageHash.Size()) != 0 {
		return fmt.Errorf("parsing page hashes: table of %d bytes is not a whole number of entries", len(s.pages))
	}
	return nil
}

func errOr(err error, msg string) any {
	if err != nil {
		return err
	}
	return msg
}

// describe fills the signer facts of out from the primary signature and computes trust.
func (v *Verifier) describe(out *inventory.Signature, s *signature) {
	leaf := s.ts.Certificate
	out.Signer = leaf.Subject.String()
	out.Issuer = leaf.Issuer.String()
	fp := sha256.Sum256(leaf.Raw)
	out.Fingerprint = hex.EncodeToString(fp[:])
	pk := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	out.PublicKey = hex.EncodeToString(pk[:])
	out.DigestAlgorithm = hashName(s.hash)
	if cs := s.ts.CounterSignature; cs != nil {
		out.Timestamp = cs.SigningTime.UTC().Format(time.RFC3339)
	}
	out.Trusted, out.TrustError = v.trust(s)
}

// trust checks the signer's chain at the signing time: the timestamp's time when the
// timestamp itself verifies and chains to a trusted root for time stamping, else now. Like
// Windows it requires the code signing usage, which Go's chain builder also grants to
// certificates with anyExtendedKeyUsage or no EKU extension, checked along the whole chain.
func (v *Verifier) trust(s *signature) (bool, string) {
	now := v.now()
	at := now
	var note string
	switch cs := s.ts.CounterSignature; {
	case s.tsErr != nil:
		note = fmt.Sprintf("timestamp ignored: %v; ", s.tsErr)
	case cs != nil:
		if err := trust.VerifyChain(v.roots, cs.Certificate, cs.Intermediates, cs.SigningTime, x509.ExtKeyUsageTimeStamping, nil); err != nil {
			note = fmt.Sprintf("timestamp ignored: chain: %v; ", err)
		} else {
			at = cs.SigningTime
		}
	}
	if err := trust.VerifyChain(v.roots, s.ts.Certificate, s.ts.Intermediates, at, x509.ExtKeyUsageCodeSigning, nil); err != nil {
		return false, note + trust.Describe(err, !at.Equal(now), at)
	}
	return true, ""
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
