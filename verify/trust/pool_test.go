package trust

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"
)

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// testCert makes a certificate valid for 2025, signed by parent (self-signed when nil).
func testCert(t *testing.T, cn string, ca bool, usage []x509.ExtKeyUsage, parent *x509.Certificate, parentKey ed25519.PrivateKey) (*x509.Certificate, ed25519.PrivateKey) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(int64(len(cn))), Subject: pkix.Name{CommonName: cn},
		NotBefore: epoch, NotAfter: epoch.AddDate(1, 0, 0),
		IsCA: ca, BasicConstraintsValid: true, ExtKeyUsage: usage,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func TestNewPool(t *testing.T) {
	root, _ := testCert(t, "Root", true, nil, nil, nil)
	other, _ := testCert(t, "Other", true, nil, nil, nil)
	base := x509.NewCertPool()
	base.AddCert(root)

	pool, err := NewPool(base, []*x509.Certificate{other})
	if err != nil {
		t.Fatalf("NewPool(roots, extra) = %v", err)
	}
	if !pool.Equal(func() *x509.CertPool { p := base.Clone(); p.AddCert(other); return p }()) {
		t.Errorf("NewPool(roots, extra) is not roots plus extra")
	}
	if base.Equal(pool) {
		t.Errorf("NewPool(roots, extra) added extra to the caller's pool")
	}
	if _, err := NewPool(base, []*x509.Certificate{nil}); err == nil {
		t.Errorf("NewPool(roots, [nil]) = nil error, want an error")
	}
}

func TestVerifyChain(t *testing.T) {
	root, rootKey := testCert(t, "Root", true, nil, nil, nil)
	inter, interKey := testCert(t, "Inter", true, nil, root, rootKey)
	leaf, _ := testCert(t, "Leaf", false, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, inter, interKey)
	roots := x509.NewCertPool()
	roots.AddCert(root)
	in := epoch.AddDate(0, 6, 0)

	var prepared []string
	prepare := func(c *x509.Certificate) { prepared = append(prepared, c.Subject.CommonName) }
	if err := VerifyChain(roots, leaf, []*x509.Certificate{leaf, inter}, in, x509.ExtKeyUsageCodeSigning, prepare); err != nil {
		t.Errorf("VerifyChain(leaf, [leaf inter]) = %v, want nil", err)
	}
	if len(prepared) != 2 || prepared[0] != "Leaf" || prepared[1] != "Inter" {
		t.Errorf("prepare saw %q, want [Leaf Inter]", prepared)
	}

	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	tests := []struct {
		name    string
		leaf    *x509.Certificate
		bundled []*x509.Certificate
		at      time.Time
		usage   x509.ExtKeyUsage
		check   func(error) bool
	}{
		{"no intermediate", leaf, nil, in, x509.ExtKeyUsageCodeSigning, func(err error) bool { return errors.As(err, &unknown) }},
		{"expired", leaf, []*x509.Certificate{inter}, epoch.AddDate(2, 0, 0), x509.ExtKeyUsageCodeSigning, func(err error) bool { return errors.As(err, &invalid) && invalid.Reason == x509.Expired }},
		{"wrong usage", leaf, []*x509.Certificate{inter}, in, x509.ExtKeyUsageTimeStamping, func(err error) bool { return errors.As(err, &invalid) && invalid.Reason == x509.IncompatibleUsage }},
		{"no leaf", nil, []*x509.Certificate{inter}, in, x509.ExtKeyUsageCodeSigning, func(err error) bool { return err != nil }},
	}
	for _, tc := range tests {
		if err := VerifyChain(roots, tc.leaf, tc.bundled, tc.at, tc.usage, nil); !tc.check(err) {
			t.Errorf("VerifyChain(%s) = %v", tc.name, err)
		}
	}
	if err := VerifyChain(roots, leaf, nil, in, x509.ExtKeyUsageCodeSigning, func(*x509.Certificate) { panic("boom") }); err == nil {
		t.Errorf("VerifyChain(panicking prepare) = nil, want an error")
	}
}
