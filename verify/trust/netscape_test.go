package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"
)

// nsCert makes a certificate signed by parent (self-signed when parent is nil) carrying a
// Netscape Cert Type extension with bits (none when bits < 0).
func nsCert(t *testing.T, cn string, ca bool, bits int, critical bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
		BasicConstraintsValid: true,
		IsCA:                  ca,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	if ca {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	}
	if bits >= 0 {
		v, _ := asn1.Marshal(asn1.BitString{Bytes: []byte{byte(bits)}, BitLength: 8})
		tmpl.ExtraExtensions = []pkix.Extension{{Id: oidNetscapeCertType, Critical: critical, Value: v}}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

// Debian's Secure Boot CA marks Netscape Cert Type critical with every bit set; Go alone
// refuses it. Handled as described at HandleNetscapeCertType.
func TestNetscapeCertType(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name               string
		rootBits, leafBits int
		critical           bool
		usage              x509.ExtKeyUsage
		ok                 bool
	}{
		{"root with every bit, critical", 0xff, -1, true, x509.ExtKeyUsageCodeSigning, true},
		{"root without the object signing CA bit", 0x06, -1, true, x509.ExtKeyUsageCodeSigning, false},
		{"root without the object signing CA bit, not critical", 0x06, -1, false, x509.ExtKeyUsageCodeSigning, false},
		{"leaf with the object signing bit", 0xff, 0x10, true, x509.ExtKeyUsageCodeSigning, true},
		{"leaf for SSL only", 0xff, 0x80, true, x509.ExtKeyUsageCodeSigning, false},
		{"no extension", -1, -1, false, x509.ExtKeyUsageCodeSigning, true},
	}
	for _, c := range cases {
		root, rootKey := nsCert(t, "NS Root", true, c.rootBits, c.critical, nil, nil)
		leaf, _ := nsCert(t, "NS Leaf", false, c.leafBits, c.critical, root, rootKey)
		pool := x509.NewCertPool()
		pool.AddCert(HandleNetscapeCertType(root, true))
		err := VerifyChain(pool, leaf, []*x509.Certificate{leaf}, at, c.usage, nil)
		if (err == nil) != c.ok {
			t.Errorf("%s: VerifyChain = %v, want ok %v", c.name, err, c.ok)
		}
	}
	// Without the handling Go refuses the critical extension.
	root, rootKey := nsCert(t, "NS Root", true, 0xff, true, nil, nil)
	leaf, _ := nsCert(t, "NS Leaf", false, -1, false, root, rootKey)
	pool := x509.NewCertPool()
	pool.AddCert(root)
	if err := VerifyChain(pool, leaf, nil, at, x509.ExtKeyUsageCodeSigning, nil); err == nil {
		t.Errorf("VerifyChain(root not handled) = nil, want unhandled critical extension")
	}
	if len(root.UnhandledCriticalExtensions) != 1 || len(HandleNetscapeCertType(root, true).UnhandledCriticalExtensions) != 0 {
		t.Errorf("HandleNetscapeCertType modified its argument or kept the extension")
	}
}
