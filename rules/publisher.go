package rules

import (
	"fmt"
	"strings"

	"github.com/rollgate/rollgate/inventory"
)

// Publisher identity, not leaf pinning: vendors renew their code-signing certificates every
// year or two (new key, new serial, same subject, same issuing CA), and a gate that reads that
// as a new signer fails every routine update. A baseline pins the publisher: the subject's
// organisation and common name, the issuing CA, and the Apple team ID. The same publisher
// under a new leaf is sig.certificate-renewed (info, saying what changed); a new subject, or
// an issuing CA of another organisation, is sig.signer-changed. An issuing CA of the same
// organisation (Microsoft Code Signing PCA 2010 → 2011) is a renewal that names the new CA.

// publisherChange compares the signatures of a baseline file and its candidate, both signed.
// It returns the rule that applies ("" when the leaf is the same certificate) and the
// differences, old and new side by side.
func publisherChange(b, c *inventory.Signature) (rule string, diffs []string) {
	side := func(what, old, new string) {
		if old != new {
			diffs = append(diffs, fmt.Sprintf("%s %q → %q", what, old, new))
		}
	}
	if b.TeamID != "" || c.TeamID != "" {
		if b.TeamID != c.TeamID {
			side("team ID", b.TeamID, c.TeamID)
			return SigSignerChanged, diffs
		}
	}
	bs, cs := parseDN(b.Signer), parseDN(c.Signer)
	bi, ci := parseDN(b.Issuer), parseDN(c.Issuer)
	side("subject organisation", bs["O"], cs["O"])
	side("subject common name", bs["CN"], cs["CN"])
	if len(diffs) > 0 {
		return SigSignerChanged, diffs
	}
	if bs["O"] == "" && bs["CN"] == "" && b.Signer != c.Signer {
		side("subject", b.Signer, c.Signer) // no names to compare: the whole subject
		return SigSignerChanged, diffs
	}
	if b.Issuer != c.Issuer {
		if bi["O"] == "" || bi["O"] != ci["O"] {
			side("issuing CA", b.Issuer, c.Issuer)
			return SigSignerChanged, diffs
		}
		side("issuing CA (same organisation)", b.Issuer, c.Issuer)
	}
	if b.Fingerprint == c.Fingerprint && b.Issuer == c.Issuer {
		return "", nil
	}
	side("serial", b.Serial, c.Serial)
	if b.PublicKey != c.PublicKey {
		diffs = append(diffs, "new key")
	}
	if b.NotAfter != c.NotAfter {
		side("valid until", b.NotAfter, c.NotAfter)
	}
	if len(diffs) == 0 {
		diffs = append(diffs, "new certificate")
	}
	return SigCertificateRenewed, diffs
}

// parseDN splits an RFC 2253 distinguished name as crypto/x509's pkix.Name.String writes it
// ("CN=Acme\, Inc.,O=Acme,C=US") into the first value of each attribute type. Escapes are
// undone; a malformed name yields what could be read.
func parseDN(dn string) map[string]string {
	out := map[string]string{}
	var (
		key, val strings.Builder
		inVal    bool
	)
	flush := func() {
		k := strings.ToUpper(strings.TrimSpace(key.String()))
		if _, seen := out[k]; k != "" && !seen {
			out[k] = val.String()
		}
		key.Reset()
		val.Reset()
		inVal = false
	}
	for i := 0; i < len(dn); i++ {
		ch := dn[i]
		switch {
		case ch == '\\' && i+1 < len(dn):
			i++
			if inVal {
				val.WriteByte(dn[i])
			} else {
				key.WriteByte(dn[i])
			}
		case (ch == ',' || ch == '+') && inVal:
			flush()
		case ch == '=' && !inVal:
			inVal = true
		case inVal:
			val.WriteByte(ch)
		default:
			key.WriteByte(ch)
		}
	}
	flush()
	return out
}

// samePublisher reports whether two signatures are by one publisher: the same certificate, a
// renewal, or a new issuing CA of the same organisation.
func samePublisher(a, b *inventory.Signature) bool {
	rule, _ := publisherChange(a, b)
	return rule != SigSignerChanged
}
