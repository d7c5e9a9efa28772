package msix

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Attribute types of a manifest Publisher, as Windows writes distinguished names
// (CertNameToStr with CERT_X500_NAME_STR: "CN=Acme, O=Acme, C=US").
var publisherTypes = map[string]asn1.ObjectIdentifier{
	"CN":           {2, 5, 4, 3},
	"SERIALNUMBER": {2, 5, 4, 5},
	"C":            {2, 5, 4, 6},
	"L":            {2, 5, 4, 7},
	"S":            {2, 5, 4, 8},
	"ST":           {2, 5, 4, 8},
	"STREET":       {2, 5, 4, 9},
	"O":            {2, 5, 4, 10},
	"OU":           {2, 5, 4, 11},
	"T":            {2, 5, 4, 12},
	"TITLE":        {2, 5, 4, 12},
	"POSTALCODE":   {2, 5, 4, 17},
	"G":            {2, 5, 4, 42},
	"SN":           {2, 5, 4, 4},
	"E":            {1, 2, 840, 113549, 1, 9, 1},
	"DC":           {0, 9, 2342, 19200300, 100, 1, 25},
}

// maxPublisherAttrs bounds the attributes of one Publisher string.
const maxPublisherAttrs = 64

// ParsePublisher parses a manifest Publisher ("CN=Acme, O=\"Acme, Inc.\", C=US") into its
// attributes: comma-separated TYPE=VALUE pairs, a value quoted with "..." where "" is a
// quote, types by their Windows short names or as OID.1.2.3.
func ParsePublisher(s string) ([]pkix.AttributeTypeAndValue, error) {
	var out []pkix.AttributeTypeAndValue
	for rest := strings.TrimSpace(s); rest != ""; {
		if len(out) >= maxPublisherAttrs {
			return nil, fmt.Errorf("publisher %q: more than %d attributes", s, maxPublisherAttrs)
		}
		typ, after, ok := strings.Cut(rest, "=")
		if !ok {
			return nil, fmt.Errorf("publisher %q: %q has no '='", s, rest)
		}
		typ = strings.ToUpper(strings.TrimSpace(typ))
		oid, ok := publisherTypes[typ]
		if !ok {
			var err error
			if oid, err = parseOID(strings.TrimPrefix(typ, "OID.")); err != nil {
				return nil, fmt.Errorf("publisher %q: attribute type %q", s, typ)
			}
		}
		after = strings.TrimLeft(after, " ")
		var val string
		if strings.HasPrefix(after, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(after); i++ {
				if after[i] == '"' {
					if i+1 < len(after) && after[i+1] == '"' {
						b.WriteByte('"')
						i++
						continue
					}
					break
				}
				b.WriteByte(after[i])
			}
			if i >= len(after) {
				return nil, fmt.Errorf("publisher %q: unterminated quote", s)
			}
			val, after = b.String(), strings.TrimSpace(after[i+1:])
			if after != "" && !strings.HasPrefix(after, ",") {
				return nil, fmt.Errorf("publisher %q: text after a quoted value", s)
			}
		} else {
			v, a, _ := strings.Cut(after, ",")
			val, after = strings.TrimSpace(v), ","+a
			if a == "" {
				after = ""
			}
		}
		out = append(out, pkix.AttributeTypeAndValue{Type: oid, Value: val})
		rest = strings.TrimSpace(strings.TrimPrefix(after, ","))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("publisher %q: empty", s)
	}
	return out, nil
}

func parseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 32 {
		return nil, fmt.Errorf("OID %q", s)
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("OID %q", s)
		}
		oid[i] = n
	}
	return oid, nil
}

// PublisherMatches reports whether the manifest Publisher names the subject: the same
// attributes with the same values, in any order. Windows refuses to install a package whose
// Publisher is not its signer's subject.
func PublisherMatches(publisher string, subject pkix.Name) (bool, error) {
	attrs, err := ParsePublisher(publisher)
	if err != nil {
		return false, err
	}
	key := func(a pkix.AttributeTypeAndValue) string { return a.Type.String() + "=" + fmt.Sprint(a.Value) }
	var want, got []string
	for _, a := range attrs {
		want = append(want, key(a))
	}
	for _, a := range subject.Names {
		got = append(got, key(a))
	}
	slices.Sort(want)
	slices.Sort(got)
	return slices.Equal(want, got), nil
}
