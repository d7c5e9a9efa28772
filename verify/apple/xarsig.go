package apple

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/xar"
	"github.com/rollgate/rollgate/verify/trust"
	"github.com/sassoftware/relic/v7/lib/pkcs7"
)

// VerifyXar checks the signature of the xar archive (flat .pkg) in r against the system roots.
func VerifyXar(r io.ReaderAt, size int64) (*inventory.Signature, error) {
	return defaultVerifier().VerifyXar(r, size)
}

// VerifyXar opens the xar archive in r and checks its signature; see XarSignature.
func (v *Verifier) VerifyXar(r io.ReaderAt, size int64) (sig *inventory.Signature, err error) {
	defer func() {
		if p := recover(); p != nil {
			sig, err = nil, fmt.Errorf("apple: internal error verifying xar: %v\n%s", p, debug.Stack())
		}
	}()
	x, err := xar.NewReader(r, size)
	if err != nil {
		return nil, err
	}
	return v.XarSignature(x), nil
}

// XarSignature checks an opened archive's signature. A xar signature covers the TOC checksum
// (which NewReader already checked against the compressed TOC, and the TOC holds every
// file's checksum): the "signature" element is an RSA (PKCS#1 v1.5) or ECDSA signature of
// that digest by the first certificate of its KeyInfo, the "x-signature" element (when
// present) a CMS signature of the same digest. Unsigned archives give State unsigned.
func (v *Verifier) XarSignature(x *xar.Reader) *inventory.Signature {
	sigs := x.Signatures()
	out := &inventory.Signature{State: inventory.SigUnsigned}
	if len(sigs) == 0 {
		return out
	}
	out.State = inventory.SigInvalid
	var leaf *x509.Certificate
	var inter []*x509.Certificate
	for i, s := range sigs {
		if len(s.Digest) == 0 || s.Hash == 0 {
			out.IntegrityError = "signed archive without a TOC checksum"
			return out
		}
		switch s.Element {
		case "signature":
			if len(s.Certs) == 0 {
				out.IntegrityError = "signature without certificates"
				return out
			}
			certs := make([]*x509.Certificate, 0, len(s.Certs))
			for _, der := range s.Certs {
				c, err := x509.ParseCertificate(der)
				if err != nil {
					out.IntegrityError = fmt.Sprintf("signature certificate: %v", err)
					return out
				}
				certs = append(certs, c)
			}
			if err := checkRaw(certs[0], s.Hash, s.Digest, s.Data); err != nil {
				out.IntegrityError = fmt.Sprintf("signature %d (%s): %v", i, s.Style, err)
				return out
			}
			if leaf == nil {
				leaf, inter = certs[0], certs[1:]
			}
		case "x-signature":
			if s.Style != "CMS" {
				continue
			}
			psd, err := pkcs7.Unmarshal(s.Data)
			if err != nil {
				out.IntegrityError = fmt.Sprintf("x-signature: %v", err)
				return out
			}
			ps, err := psd.Content.Verify(s.Digest, false)
			if err != nil {
				out.IntegrityError = fmt.Sprintf("x-signature: %v", err)
				return out
			}
			if leaf == nil {
				leaf, inter = ps.Certificate, ps.Intermediates
			}
		}
	}
	if leaf == nil {
		out.IntegrityError = "no signature element could be checked"
		return out
	}
	out.State = inventory.SigSigned
	trust.DescribeLeaf(out, leaf)
	out.TeamID = teamFromCert(leaf)
	out.DigestAlgorithm = hashName(sigs[0].Hash)
	at := v.now()
	// Developer ID Installer certificates carry Apple's own EKU, which Go does not know.
	if err := verifyChain(v.roots, leaf, inter, at, x509.ExtKeyUsageAny); err != nil {
		out.TrustError = trust.Describe(err, false, at)
	} else {
		out.Trusted = true
	}
	return out
}

// checkRaw verifies a raw signature of a digest.
func checkRaw(c *x509.Certificate, h crypto.Hash, digest, sig []byte) error {
	switch pub := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, h, digest, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, digest, sig) {
			return errors.New("ECDSA signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("public key type %T", c.PublicKey)
}
