// Package trust holds what the signature verifiers share about chain checks: how a chain
// failure is described. Reports must be byte-for-byte reproducible, so the description names
// the signing time only when it came from a timestamp, never the wall clock.
package trust

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Describe explains a chain failure. fromTimestamp says the chain was checked at a verified
// timestamp's time (at); otherwise it was checked at the current time, which is not printed.
func Describe(err error, fromTimestamp bool, at time.Time) string {
	when := "at the current time (no verified timestamp)"
	if fromTimestamp {
		when = "at the timestamp " + at.UTC().Format(time.RFC3339)
	}
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) && inv.Reason == x509.Expired && inv.Cert != nil {
		// x509's own text embeds the checking time.
		return fmt.Sprintf("chain %s: certificate %q has expired or is not yet valid (valid %s to %s)", when,
			inv.Cert.Subject.CommonName, inv.Cert.NotBefore.UTC().Format(time.RFC3339), inv.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("chain %s: %v", when, err)
}
