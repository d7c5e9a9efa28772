// Package trust holds what the signature verifiers (authenticode, apple) share about chain
// checks: how the root pool is formed from the options, how a chain is checked at a signing
// time, and how a chain failure is described. Reports must be byte-for-byte reproducible, so
// the description names the signing time only when it came from a timestamp, never the wall
// clock.
package trust

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// NewPool forms the trusted root pool: a copy of roots, or the built-in code-signing roots
// (BuiltinRoots) when roots is nil, plus extra (the CLI's --trust-roots). It fails when the
// built-in roots cannot be loaded and on a nil certificate in extra.
func NewPool(roots *x509.CertPool, extra []*x509.Certificate) (*x509.CertPool, error) {
	var pool *x509.CertPool
	if roots != nil {
		pool = roots.Clone()
	} else {
		b, err := BuiltinPool()
		if err != nil {
			return nil, err
		}
		pool = b
	}
	for _, c := range extra {
		if c == nil {
			return nil, errors.New("nil certificate in ExtraRoots")
		}
		pool.AddCert(c)
	}
	return pool, nil
}

// VerifyChain checks that leaf chains to roots at time at for usage, with the bundled
// certificates (the leaf among them is skipped) as intermediates. prepare, when not nil, is
// applied to every certificate before the check (Apple's verifier marks its critical
// extensions handled). For code signing, a critical Netscape Cert Type is handled as
// described at HandleNetscapeCertType (on copies; the callers' certificates are not
// modified) and some chain must satisfy it. A panic below is returned as an error.
func VerifyChain(roots *x509.CertPool, leaf *x509.Certificate, bundled []*x509.Certificate, at time.Time, usage x509.ExtKeyUsage, prepare func(*x509.Certificate)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %v", p)
		}
	}()
	if leaf == nil {
		return errors.New("no certificate")
	}
	if prepare != nil {
		prepare(leaf)
	}
	codeSigning := usage == x509.ExtKeyUsageCodeSigning
	inter := x509.NewCertPool()
	for _, c := range bundled {
		if c != leaf {
			if prepare != nil {
				prepare(c)
			}
			if codeSigning {
				c = HandleNetscapeCertType(c, true)
			}
			inter.AddCert(c)
		}
	}
	if codeSigning {
		leaf = HandleNetscapeCertType(leaf, false)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
	if err != nil || !codeSigning {
		return err
	}
	for _, ch := range chains {
		if err = checkNetscape(ch); err == nil {
			return nil
		}
	}
	return err
}

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

// Options configure a verifier's trust set. The zero value is strict: the built-in
// code-signing roots (Microsoft's Trusted Root Program roots for code signing and Apple's
// roots, see BuiltinRoots), no extra trust, the current time. The system's TLS roots are
// never used: they hold no code-signing root.
type Options struct {
	// Roots are the trusted roots; nil means the built-in code-signing roots.
	Roots *x509.CertPool
	// ExtraRoots are added to Roots (the CLI's --trust-roots).
	ExtraRoots []*x509.Certificate
	// ReplaceBuiltinRoots makes ExtraRoots the whole trust set when Roots is nil: the
	// built-in roots are left out (the CLI's --trust-roots-only). ExtraRoots must then be
	// non-empty.
	ReplaceBuiltinRoots bool
	// Now returns the time chains are checked at when there is no valid timestamp; nil means
	// time.Now.
	Now func() time.Time
}

// ErrNoTrust is returned by NewSet when the options leave no trusted root.
var ErrNoTrust = errors.New("no trusted roots")

// Set is a resolved trust set.
type Set struct {
	Roots *x509.CertPool
	Now   func() time.Time
}

// NewSet resolves opts. It refuses to form a trust set from nothing (ErrNoTrust):
// ReplaceBuiltinRoots with neither Roots nor ExtraRoots. An explicit empty Roots pool is a
// deliberate "trust nothing" and is kept.
func NewSet(opts Options) (*Set, error) {
	roots := opts.Roots
	if roots == nil && opts.ReplaceBuiltinRoots {
		if len(opts.ExtraRoots) == 0 {
			return nil, fmt.Errorf("trust set: %w (the built-in roots were replaced and no other root was given)", ErrNoTrust)
		}
		roots = x509.NewCertPool()
	}
	pool, err := NewPool(roots, opts.ExtraRoots)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Set{Roots: pool, Now: now}, nil
}
