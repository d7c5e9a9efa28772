package rules

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
)

func TestParseDN(t *testing.T) {
	got := parseDN(`CN=Acme\, Inc.,O=Acme Corp,OU=Build+OU=Release,C=US`)
	want := map[string]string{"CN": "Acme, Inc.", "O": "Acme Corp", "OU": "Build", "C": "US"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("parseDN (-want +got)\n%s", d)
	}
}

func TestPublisherChange(t *testing.T) {
	const (
		msSubject = "CN=Microsoft Corporation,O=Microsoft Corporation,L=Redmond,ST=Washington,C=US"
		pca2011   = "CN=Microsoft Code Signing PCA 2011,O=Microsoft Corporation,L=Redmond,ST=Washington,C=US"
		pca2010   = "CN=Microsoft Code Signing PCA 2010,O=Microsoft Corporation,L=Redmond,ST=Washington,C=US"
		other     = "CN=Cheap Code Signing CA,O=Cheap CA Ltd,C=GB"
	)
	base := inventory.Signature{Signer: msSubject, Issuer: pca2011, Fingerprint: "f1", PublicKey: "k1", Serial: "33aa", NotAfter: "2024-01-01T00:00:00Z"}
	with := func(f func(s *inventory.Signature)) *inventory.Signature { s := base; f(&s); return &s }
	tests := []struct {
		name  string
		cand  *inventory.Signature
		rule  string
		diffs []string
	}{
		{"same certificate", with(func(*inventory.Signature) {}), "", nil},
		{"renewed leaf", with(func(s *inventory.Signature) {
			s.Fingerprint, s.PublicKey, s.Serial, s.NotAfter = "f2", "k2", "33bb", "2025-01-01T00:00:00Z"
		}), SigCertificateRenewed, []string{`serial "33aa" → "33bb"`, "new key", `valid until "2024-01-01T00:00:00Z" → "2025-01-01T00:00:00Z"`}},
		{"locality moved, same names", with(func(s *inventory.Signature) {
			s.Signer, s.Fingerprint = "CN=Microsoft Corporation,O=Microsoft Corporation,C=US", "f3"
		}), SigCertificateRenewed, []string{"new certificate"}},
		{"issuing CA of the same organisation", with(func(s *inventory.Signature) { s.Issuer, s.Fingerprint = pca2010, "f4" }),
			SigCertificateRenewed, []string{`issuing CA (same organisation) "` + pca2011 + `" → "` + pca2010 + `"`}},
		{"issuing CA of another organisation", with(func(s *inventory.Signature) { s.Issuer, s.Fingerprint = other, "f5" }),
			SigSignerChanged, []string{`issuing CA "` + pca2011 + `" → "` + other + `"`}},
		{"another subject", with(func(s *inventory.Signature) {
			s.Signer, s.Fingerprint = "CN=Mallory,O=Mallory Ltd,C=US", "f6"
		}), SigSignerChanged, []string{`subject organisation "Microsoft Corporation" → "Mallory Ltd"`, `subject common name "Microsoft Corporation" → "Mallory"`}},
		{"another team", with(func(s *inventory.Signature) { s.TeamID = "ABCDE12345" }), SigSignerChanged, []string{`team ID "" → "ABCDE12345"`}},
	}
	for _, tt := range tests {
		rule, diffs := publisherChange(&base, tt.cand)
		if rule != tt.rule {
			t.Errorf("%s: publisherChange = %q, want %q", tt.name, rule, tt.rule)
		}
		if d := cmp.Diff(tt.diffs, diffs); d != "" {
			t.Errorf("%s: differences (-want +got)\n%s", tt.name, d)
		}
	}
}
