package authenticode

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/rollgate/rollgate/inventory"
)

// Unauthenticated attributes accepted in a SignerInfo. Anything else in the unauthenticated
// area is data the signer's signature does not cover.
//
//	1.2.840.113549.1.9.6      PKCS #9 countersignature (legacy Authenticode timestamp;
//	                          older Microsoft signatures, osslsigncode -t)
//	1.3.6.1.4.1.311.3.3.1     Microsoft RFC 3161 timestamp token (signtool /tr; seen in
//	                          Microsoft's vsce-sign.exe on npm)
//	1.2.840.113549.1.9.16.2.14 RFC 3161/RFC 3126 timeStampToken (relic, CMS signers)
//	1.3.6.1.4.1.311.2.4.1     nested Authenticode signature (signtool /as; dual-signed
//	                          Microsoft files)
//
// Debian's sbsign output (grub, shim helpers, fwupd, kernels in bookworm) carries no
// unauthenticated attribute at all; shim's two Microsoft signatures are two WIN_CERTIFICATE
// entries, not a nested attribute.
var (
	oidCounterSignature = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 6}
	oidSpcTimeStamp     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 3, 3, 1}
	oidTimeStampToken   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	oidNestedSignature  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 4, 1}

	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
)

// Limits.
const (
	// MaxNestingDepth bounds signatures nested in signatures (and timestamp tokens in them).
	// signtool nests one level; the limit leaves room for a timestamp inside a nested one.
	MaxNestingDepth = 4
	// MaxNestedSignatures bounds the signatures one file may carry in total.
	MaxNestedSignatures = 32
	// MaxBundledCertificates bounds the certificates of one blob (its own and its timestamp
	// tokens' and nested signatures'), whose issuers are checked pairwise. Real blobs carry
	// 2-12.
	MaxBundledCertificates = 128
)

// inspector collects anomalies of one PKCS#7 blob at file offset base.
type inspector struct {
	base      int64
	size      int // of the blob; anomalies are clamped into it
	anomalies []inventory.Anomaly
	certs     []*x509.Certificate // every parsed bundled certificate, for the issuer check
	certAt    map[*x509.Certificate]int
}

func (in *inspector) add(off, length int, format string, args ...any) {
	if in.size == 0 {
		return
	}
	off = min(max(off, 0), in.size-1)
	length = min(max(length, 1), in.size-off)
	in.anomalies = append(in.anomalies, inventory.Anomaly{
		Kind:   inventory.AnomalyUnauthenticatedData,
		Offset: in.base + int64(off), Length: int64(length),
		Detail: fmt.Sprintf(format, args...),
	})
}

// inspectBlob checks the parts of one Authenticode PKCS#7 blob that no signature covers:
// the ContentInfo framing, the SignedData's digest algorithm set, certificate and CRL sets,
// and every unauthenticated attribute, recursively into timestamp tokens, countersignatures
// and nested signatures. Each problem is an AnomalyUnauthenticatedData at base plus its
// offset in der. Signed parts (the content, authenticated attributes) are left to the
// signature check, which fails when they are wrong.
func inspectBlob(der []byte, base int64) []inventory.Anomaly {
	in := &inspector{base: base, size: len(der), certAt: map[*x509.Certificate]int{}}
	in.contentInfo(newDERReader(der, 0), len(der), 0, "the signature")
	in.checkIssuers()
	return in.anomalies
}

// contentInfo checks that r holds exactly one ContentInfo of SignedData.
func (in *inspector) contentInfo(r *derReader, end, depth int, what string) {
	ci, err := r.expect(tagSequence, what)
	if err != nil {
		in.derFail(err, end, "%s: ", what)
		return
	}
	if !r.empty() {
		in.add(ci.end(), end-ci.end(), "%d bytes after %s", end-ci.end(), what)
	}
	cr := ci.children()
	oid, err := cr.expect(tagOID, what+" content type")
	if err != nil {
		in.derFail(err, ci.end(), "%s: ", what)
		return
	}
	if !asn1Equal(oid, oidSignedData) {
		in.add(ci.off, len(ci.full), "%s is not SignedData", what)
		return
	}
	wrap, err := cr.expect(ctx0, what+" content")
	if err != nil {
		in.derFail(err, ci.end(), "%s: ", what)
		return
	}
	if !cr.empty() {
		in.add(wrap.end(), ci.end()-wrap.end(), "%d bytes after the SignedData in %s", ci.end()-wrap.end(), what)
	}
	wr := wrap.children()
	sd, err := wr.expect(tagSequence, "SignedData")
	if err != nil {
		in.derFail(err, wrap.end(), "%s: ", what)
		return
	}
	if !wr.empty() {
		in.add(sd.end(), wrap.end()-sd.end(), "%d bytes after the SignedData in %s", wrap.end()-sd.end(), what)
	}
	in.signedData(sd, depth, what)
}

func (in *inspector) derFail(err error, end int, format string, args ...any) {
	var de *derError
	if errors.As(err, &de) {
		in.add(de.off, end-de.off, format+"%s", append(args, de.msg)...)
		return
	}
	in.add(0, end, format+"%v", append(args, err)...)
}

// signedData walks SignedData ::= SEQUENCE { version, digestAlgorithms SET, contentInfo,
// certificates [0] IMPLICIT OPTIONAL, crls [1] IMPLICIT OPTIONAL, signerInfos SET }.
func (in *inspector) signedData(sd derValue, depth int, what string) {
	r := sd.children()
	fail := func(err error) { in.derFail(err, sd.end(), "%s: ", what) }
	if _, err := r.expect(tagInteger, "SignedData version"); err != nil {
		fail(err)
		return
	}
	algs, err := r.expect(tagSet, "digestAlgorithms")
	if err != nil {
		fail(err)
		return
	}
	for ar := algs.children(); !ar.empty(); {
		a, err := ar.next()
		if err != nil {
			fail(err)
			return
		}
		if !knownDigestAlgorithm(a.full) {
			in.add(a.off, len(a.full), "%s: digestAlgorithms holds an entry that is not a known hash algorithm", what)
		}
	}
	content, err := r.expect(tagSequence, "encapsulated content")
	if err != nil {
		fail(err)
		return
	}
	if err := checkDER(content.full, content.off); err != nil {
		in.derFail(err, content.end(), "%s: content: ", what)
	}
	if certs, ok, err := r.optional(ctx0); err != nil {
		fail(err)
		return
	} else if ok {
		for cr := certs.children(); !cr.empty(); {
			c, err := cr.next()
			if err != nil {
				fail(err)
				return
			}
			if c.tag == classContext|constructed|1 || c.tag == classContext|constructed|2 {
				// CertificateChoices v1AttrCert / v2AttrCert (RFC 5652 §10.2.2): Microsoft's
				// timestamp tokens carry a v1 attribute certificate (vsce-sign.exe, shim).
				// Checked for well-formed DER only.
				if err := checkDER(c.body, c.off+c.hdr); err != nil {
					in.derFail(err, c.end(), "%s: attribute certificate: ", what)
				}
				continue
			}
			if len(in.certs) >= MaxBundledCertificates {
				in.add(c.off, certs.end()-c.off, "%s: more than %d bundled certificates", what, MaxBundledCertificates)
				break
			}
			cert, err := x509.ParseCertificate(c.full)
			if err != nil {
				in.add(c.off, len(c.full), "%s: a bundled certificate does not parse: %v", what, err)
				continue
			}
			in.certs = append(in.certs, cert)
			in.certAt[cert] = c.off
		}
	}
	if crls, ok, err := r.optional(classContext | constructed | 1); err != nil {
		fail(err)
		return
	} else if ok {
		for cr := crls.children(); !cr.empty(); {
			c, err := cr.next()
			if err != nil {
				fail(err)
				return
			}
			if _, err := x509.ParseRevocationList(c.full); err != nil {
				in.add(c.off, len(c.full), "%s: a bundled CRL does not parse: %v", what, err)
			}
		}
	}
	infos, err := r.expect(tagSet, "signerInfos")
	if err != nil {
		fail(err)
		return
	}
	if !r.empty() {
		in.add(infos.end(), sd.end()-infos.end(), "%s: %d bytes after the signerInfos", what, sd.end()-infos.end())
	}
	for ir := infos.children(); !ir.empty(); {
		si, err := ir.expect(tagSequence, "SignerInfo")
		if err != nil {
			fail(err)
			return
		}
		in.signerInfo(si, depth, what)
	}
}

// signerInfo walks SignerInfo ::= SEQUENCE { version, issuerAndSerialNumber,
// digestAlgorithm, authenticatedAttributes [0] IMPLICIT OPTIONAL,
// digestEncryptionAlgorithm, encryptedDigest, unauthenticatedAttributes [1] IMPLICIT OPTIONAL }.
func (in *inspector) signerInfo(si derValue, depth int, what string) {
	r := si.children()
	fail := func(err error) { in.derFail(err, si.end(), "%s: SignerInfo: ", what) }
	if _, err := r.expect(tagInteger, "version"); err != nil {
		fail(err)
		return
	}
	for _, f := range []string{"issuerAndSerialNumber", "digestAlgorithm"} {
		v, err := r.expect(tagSequence, f)
		if err != nil {
			fail(err)
			return
		}
		if err := checkDER(v.body, v.off+v.hdr); err != nil {
			fail(err)
		}
	}
	if auth, ok, err := r.optional(ctx0); err != nil {
		fail(err)
		return
	} else if ok {
		if err := checkDER(auth.body, auth.off+auth.hdr); err != nil {
			fail(err)
		}
	}
	alg, err := r.expect(tagSequence, "digestEncryptionAlgorithm")
	if err != nil {
		fail(err)
		return
	}
	if err := checkDER(alg.body, alg.off+alg.hdr); err != nil {
		fail(err)
	}
	if _, err := r.expect(tagOctetString, "encryptedDigest"); err != nil {
		fail(err)
		return
	}
	unauth, ok, err := r.optional(classContext | constructed | 1)
	if err != nil {
		fail(err)
		return
	}
	if !r.empty() {
		in.add(r.base+r.pos, si.end()-(r.base+r.pos), "%s: %d bytes after the SignerInfo's last field", what, si.end()-(r.base+r.pos))
	}
	if !ok {
		return
	}
	for ar := unauth.children(); !ar.empty(); {
		attr, err := ar.expect(tagSequence, "unauthenticated attribute")
		if err != nil {
			fail(err)
			return
		}
		in.attribute(attr, depth, what)
	}
}

// attribute checks one unauthenticated Attribute ::= SEQUENCE { type, values SET }.
func (in *inspector) attribute(attr derValue, depth int, what string) {
	r := attr.children()
	oidv, err := r.expect(tagOID, "attribute type")
	if err != nil {
		in.derFail(err, attr.end(), "%s: unauthenticated attribute: ", what)
		return
	}
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(oidv.full, &oid); err != nil {
		in.add(oidv.off, len(oidv.full), "%s: unauthenticated attribute type does not parse", what)
		return
	}
	values, err := r.expect(tagSet, "attribute values")
	if err != nil {
		in.derFail(err, attr.end(), "%s: unauthenticated attribute %v: ", what, oid)
		return
	}
	if !r.empty() {
		in.add(values.end(), attr.end()-values.end(), "%s: %d bytes after unauthenticated attribute %v", what, attr.end()-values.end(), oid)
	}
	vr := values.children()
	if vr.empty() {
		in.add(attr.off, len(attr.full), "%s: unauthenticated attribute %v has no value", what, oid)
		return
	}
	if depth >= MaxNestingDepth {
		in.add(attr.off, len(attr.full), "%s: unauthenticated attribute %v nested deeper than %d levels", what, oid, MaxNestingDepth)
		return
	}
	n := 0
	for ; !vr.empty(); n++ {
		v, err := vr.next()
		if err != nil {
			in.derFail(err, values.end(), "%s: unauthenticated attribute %v: ", what, oid)
			return
		}
		switch {
		case oid.Equal(oidCounterSignature):
			if v.tag != tagSequence {
				in.add(v.off, len(v.full), "%s: countersignature is not a SignerInfo", what)
				continue
			}
			in.signerInfo(v, depth+1, what+", countersignature")
		case oid.Equal(oidSpcTimeStamp), oid.Equal(oidTimeStampToken):
			in.contentInfo(newDERReader(v.full, v.off), v.end(), depth+1, what+", timestamp token")
		case oid.Equal(oidNestedSignature):
			in.contentInfo(newDERReader(v.full, v.off), v.end(), depth+1, what+", nested signature")
		default:
			in.add(attr.off, len(attr.full), "%s: unauthenticated attribute of unknown type %v (%d bytes the signature does not cover)", what, oid, len(attr.full))
			return
		}
	}
	if n > 1 && !oid.Equal(oidNestedSignature) {
		in.add(attr.off, len(attr.full), "%s: unauthenticated attribute %v holds %d values, want 1", what, oid, n)
	}
}

// checkIssuers flags a bundled certificate whose issuer is bundled too but whose signature
// verifies under none of the certificates of that name: its bytes were altered (the
// certificate set is not covered by the file's signature).
func (in *inspector) checkIssuers() {
	for _, c := range in.certs {
		var candidates, ok int
		for _, p := range in.certs {
			if string(p.RawSubject) != string(c.RawIssuer) {
				continue
			}
			candidates++
			switch err := checkCertSignature(c, p); {
			case err == nil:
				ok++
			case errors.As(err, new(x509.InsecureAlgorithmError)), errors.Is(err, x509.ErrUnsupportedAlgorithm):
				ok++ // cannot tell; the chain check decides
			}
		}
		if candidates > 0 && ok == 0 {
			in.add(in.certAt[c], len(c.Raw), "bundled certificate %q does not verify under its bundled issuer %q: altered bytes",
				c.Subject.CommonName, c.Issuer.CommonName)
		}
	}
}

// checkCertSignature checks child's signature by parent. Go refuses SHA-1 signatures; old
// Microsoft and timestamping chains still carry sha1WithRSA certificates, which are
// checked here directly (integrity, not trust: the chain check applies its own policy).
func checkCertSignature(child, parent *x509.Certificate) error {
	if child.SignatureAlgorithm == x509.SHA1WithRSA {
		pub, ok := parent.PublicKey.(*rsa.PublicKey)
		if !ok {
			return x509.ErrUnsupportedAlgorithm
		}
		sum := sha1.Sum(child.RawTBSCertificate)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA1, sum[:], child.Signature)
	}
	// Only the signature: CA constraints are the chain check's business.
	return parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)
}

// knownDigestAlgorithm reports whether der is an AlgorithmIdentifier of a hash function
// with absent or NULL parameters.
func knownDigestAlgorithm(der []byte) bool {
	var alg struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue `asn1:"optional"`
	}
	if rest, err := asn1.Unmarshal(der, &alg); err != nil || len(rest) != 0 {
		return false
	}
	if p := alg.Parameters.FullBytes; len(p) != 0 && !(len(p) == 2 && p[0] == tagNull && p[1] == 0) {
		return false
	}
	for _, o := range digestOIDs {
		if alg.Algorithm.Equal(o) {
			return true
		}
	}
	return false
}

var digestOIDs = []asn1.ObjectIdentifier{
	{1, 2, 840, 113549, 2, 5},        // md5
	{1, 3, 14, 3, 2, 26},             // sha1
	{2, 16, 840, 1, 101, 3, 4, 2, 1}, // sha256
	{2, 16, 840, 1, 101, 3, 4, 2, 2}, // sha384
	{2, 16, 840, 1, 101, 3, 4, 2, 3}, // sha512
	{2, 16, 840, 1, 101, 3, 4, 2, 4}, // sha224
}

// asn1Equal compares an OBJECT IDENTIFIER value with oid.
func asn1Equal(v derValue, oid asn1.ObjectIdentifier) bool {
	var got asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(v.full, &got); err != nil || len(rest) != 0 {
		return false
	}
	return got.Equal(oid)
}
