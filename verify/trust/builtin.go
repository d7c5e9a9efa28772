package trust

import (
	"crypto/x509"
	"embed"
	"encoding/pem"
	"fmt"
	"io/fs"
	"sort"
	"sync"
)

// roots holds the built-in code-signing roots: Microsoft's Trusted Root Program roots whose
// trust list entry covers code signing, and Apple's roots for Developer ID and platform code
// signing. roots/SOURCES.md says where they come from; scripts/refresh-roots regenerates
// them.
//
//go:embed roots/*.pem
var roots embed.FS

// MaxBuiltinRoots bounds the number of certificates read from the embedded files.
const MaxBuiltinRoots = 4096

var builtin struct {
	once  sync.Once
	certs []*x509.Certificate
	err   error
}

// BuiltinRoots returns the built-in code-signing roots, parsed once, in file order. The
// slice is shared: callers must not modify it or its certificates.
func BuiltinRoots() ([]*x509.Certificate, error) {
	builtin.once.Do(func() { builtin.certs, builtin.err = parseRoots(roots) })
	return builtin.certs, builtin.err
}

// BuiltinPool returns a new pool holding the built-in code-signing roots.
func BuiltinPool() (*x509.CertPool, error) {
	certs, err := BuiltinRoots()
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// parseRoots reads every CERTIFICATE block of every roots/*.pem file in fsys; the comment
// lines between blocks are skipped.
func parseRoots(fsys fs.FS) ([]*x509.Certificate, error) {
	names, err := fs.Glob(fsys, "roots/*.pem")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var certs []*x509.Certificate
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		for {
			var b *pem.Block
			b, data = pem.Decode(data)
			if b == nil {
				break
			}
			if b.Type != "CERTIFICATE" {
				return nil, fmt.Errorf("built-in roots %s: unexpected PEM block %q", name, b.Type)
			}
			if len(certs) == MaxBuiltinRoots {
				return nil, fmt.Errorf("built-in roots: more than %d certificates", MaxBuiltinRoots)
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("built-in roots %s, certificate %d: %w", name, len(certs)+1, err)
			}
			// As for --trust-roots: a critical Netscape Cert Type is understood, not refused.
			certs = append(certs, HandleNetscapeCertType(c, true))
		}
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("built-in roots: no certificate in %d files", len(names))
	}
	return certs, nil
}
