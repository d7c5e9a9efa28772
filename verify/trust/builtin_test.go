package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"testing"
	"testing/fstest"
)

// TestBuiltinRoots checks that every embedded root parses and that the roots the real-file
// corpus and common vendors chain to are present, by SHA-256 of the certificate.
func TestBuiltinRoots(t *testing.T) {
	certs, err := BuiltinRoots()
	if err != nil {
		t.Fatalf("BuiltinRoots() = %v", err)
	}
	const wantCount = 157 // 151 Microsoft code-signing roots + 6 Apple roots (SOURCES.md)
	if len(certs) != wantCount {
		t.Errorf("BuiltinRoots() has %d certificates, want %d (update SOURCES.md with the data)", len(certs), wantCount)
	}
	have := map[string]bool{}
	for _, c := range certs {
		sum := sha256.Sum256(c.Raw)
		have[hex.EncodeToString(sum[:])] = true
		if !c.IsCA && c.BasicConstraintsValid {
			t.Errorf("built-in root %q is not a CA", c.Subject)
		}
	}
	for _, tc := range []struct{ name, sha256 string }{
		{"Microsoft Root Certificate Authority 2010", "df545bf919a2439c36983b54cdfc903dfa4f37d3996d8d84b4c31eec6f3c163e"},
		{"Microsoft Root Certificate Authority 2011", "847df6a78497943f27fc72eb93f9a637320a02b561d0a91b09e87a7807ed7c61"},
		{"Microsoft Identity Verification Root Certificate Authority 2020", "5367f20c7ade0e2bca790915056d086b720c33c1fa2a2661acf787e3292e1270"},
		{"DigiCert Assured ID Root CA", "3e9099b5015e8f486c00bcea9d111ee721faba355a89bcf1df69561e3dc6325c"},
		{"Apple Root CA", "b0b1730ecbc7ff4505142c49f1295e6eda6bcaed7e2c68c5be91b5a11001f024"},
		{"Apple Root CA - G2", "c2b9b042dd57830e7d117dac55ac8ae19407d38e41d88f3215bc3a890444a050"},
		{"Apple Root CA - G3", "63343abfb89a6a03ebb57e9b3f5fa7be7c4f5c756f3017b3a8c488c3653e9179"},
	} {
		if !have[tc.sha256] {
			t.Errorf("built-in roots lack %s (SHA-256 %s)", tc.name, tc.sha256)
		}
	}
}

func TestParseRootsRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		fsys fstest.MapFS
	}{
		{"no file", fstest.MapFS{}},
		{"no certificate", fstest.MapFS{"roots/a.pem": {Data: []byte("# only a comment\n")}}},
		{"other block", fstest.MapFS{"roots/a.pem": {Data: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")}}},
		{"bad DER", fstest.MapFS{"roots/a.pem": {Data: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")}}},
	} {
		if certs, err := parseRoots(tc.fsys); err == nil {
			t.Errorf("parseRoots(%s) = %d certificates, nil error; want an error", tc.name, len(certs))
		}
	}
}

func TestNewSetTrust(t *testing.T) {
	root, _ := testCert(t, "Root", true, nil, nil, nil)
	builtin, err := BuiltinPool()
	if err != nil {
		t.Fatal(err)
	}
	withExtra := builtin.Clone()
	withExtra.AddCert(root)
	only := x509.NewCertPool()
	only.AddCert(root)

	for _, tc := range []struct {
		name    string
		opts    Options
		want    *x509.CertPool
		wantErr error
	}{
		{"zero value is the built-in roots", Options{}, builtin, nil},
		{"extra roots add to the built-ins", Options{ExtraRoots: []*x509.Certificate{root}}, withExtra, nil},
		{"replace built-ins", Options{ExtraRoots: []*x509.Certificate{root}, ReplaceBuiltinRoots: true}, only, nil},
		{"replace with nothing", Options{ReplaceBuiltinRoots: true}, nil, ErrNoTrust},
		{"explicit empty pool trusts nothing", Options{Roots: x509.NewCertPool()}, x509.NewCertPool(), nil},
		{"given pool", Options{Roots: only}, only, nil},
	} {
		set, err := NewSet(tc.opts)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: NewSet() error = %v, want %v", tc.name, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if !set.Roots.Equal(tc.want) {
			t.Errorf("%s: NewSet() roots differ from the expected pool", tc.name)
		}
		if tc.opts.Roots != nil && set.Roots == tc.opts.Roots {
			t.Errorf("%s: NewSet() returned the caller's pool, want a copy", tc.name)
		}
	}
}
