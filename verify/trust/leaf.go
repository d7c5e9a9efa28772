package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"time"

	"github.com/rollgate/rollgate/inventory"
)

// DescribeLeaf fills the signer facts every verifier reports from the leaf certificate:
// subject and issuer (RFC 2253), the SHA-256 of the certificate and of its public key, the
// serial number and the validity. Publisher rules compare subject and issuer; the rest says
// what changed when a leaf was renewed.
func DescribeLeaf(out *inventory.Signature, leaf *x509.Certificate) {
	out.Signer = leaf.Subject.String()
	out.Issuer = leaf.Issuer.String()
	fp := sha256.Sum256(leaf.Raw)
	out.Fingerprint = hex.EncodeToString(fp[:])
	pk := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	out.PublicKey = hex.EncodeToString(pk[:])
	if leaf.SerialNumber != nil {
		out.Serial = leaf.SerialNumber.Text(16)
	}
	out.NotBefore = leaf.NotBefore.UTC().Format(time.RFC3339)
	out.NotAfter = leaf.NotAfter.UTC().Format(time.RFC3339)
}
