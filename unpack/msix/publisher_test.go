package msix

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

func TestPublisherMatches(t *testing.T) {
	name := func(kv ...string) pkix.Name {
		var n pkix.Name
		for i := 0; i < len(kv); i += 2 {
			n.Names = append(n.Names, pkix.AttributeTypeAndValue{Type: publisherTypes[kv[i]], Value: kv[i+1]})
		}
		return n
	}
	acme := name("O", "Acme Softphone Ltd", "CN", "Acme Softphone Ltd")
	tests := []struct {
		publisher string
		subject   pkix.Name
		want      bool
		err       bool
	}{
		{"CN=Acme Softphone Ltd, O=Acme Softphone Ltd", acme, true, false},
		{"O=Acme Softphone Ltd,CN=Acme Softphone Ltd", acme, true, false},
		{"CN=Acme Softphone Ltd", acme, false, false},
		{"CN=Mallory Software, O=Mallory", acme, false, false},
		{`CN="Acme, Inc.", C=US`, name("CN", "Acme, Inc.", "C", "US"), true, false},
		{`CN="say ""hi""", C=US`, name("CN", `say "hi"`, "C", "US"), true, false},
		{"OID.2.5.4.3=Acme", pkix.Name{Names: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "Acme"}}}, true, false},
		{`CN="unterminated`, acme, false, true},
		{"no equals sign", acme, false, true},
		{"", acme, false, true},
		{"XX=1", acme, false, true},
	}
	for _, tt := range tests {
		got, err := PublisherMatches(tt.publisher, tt.subject)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("PublisherMatches(%q) = %v, %v, want %v (error %v)", tt.publisher, got, err, tt.want, tt.err)
		}
	}
}
