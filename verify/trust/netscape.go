package trust

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
)

// Netscape Cert Type (2.16.840.1.113730.1.1, a BIT STRING) is the pre-X.509v3 way of saying
// what a certificate is for. Go's parser does not know it, so when a CA marks it critical
// (Debian's Secure Boot CA does) Go's chain builder stops with "unhandled critical
// extension". OpenSSL lists it among the extensions it supports (v3_purp.c,
// X509_supported_extension), so criticality is no obstacle there, and reads its first
// octet into ex_nscert: 0x80 SSL client, 0x40 SSL server, 0x20 S/MIME, 0x10 object signing,
// 0x04 SSL CA, 0x02 S/MIME CA, 0x01 object signing CA. Its purpose checks then require the
// matching bit when the extension is present (for S/MIME: NS_SMIME on the leaf, NS_SMIME_CA
// on a CA without basicConstraints), and check_ca accepts the CA bits only when
// basicConstraints is absent. OpenSSL has no Netscape check for code signing; the choice
// here is the object-signing analogue of its S/MIME rule: a certificate whose Netscape Cert
// Type is present must carry the object signing CA bit (0x01) when it acts as a CA in a code
// signing chain and the object signing bit (0x10) when it is the code signing leaf. Chains
// for other usages (time stamping) ignore the extension, as OpenSSL's timestamp purpose
// does. When the bit is there the extension counts as handled; otherwise the chain fails
// with a message naming it. basicConstraints stays authoritative for CA-ness (Go checks it).

var oidNetscapeCertType = asn1.ObjectIdentifier{2, 16, 840, 1, 113730, 1, 1}

const (
	nsObjectSigning   = 0x10
	nsObjectSigningCA = 0x01
)

// netscapeBits returns the first octet of c's Netscape Cert Type and whether it is present
// and critical. A malformed value reads as no bits.
func netscapeBits(c *x509.Certificate) (bits byte, present, critical bool) {
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidNetscapeCertType) {
			continue
		}
		var bs asn1.BitString
		if rest, err := asn1.Unmarshal(e.Value, &bs); err == nil && len(rest) == 0 && len(bs.Bytes) > 0 {
			bits = bs.Bytes[0]
		}
		return bits, true, e.Critical
	}
	return 0, false, false
}

// HandleNetscapeCertType returns c, or when c marks Netscape Cert Type critical and that
// extension allows acting as a code signing CA (asCA) or leaf, a shallow copy of c with the
// extension removed from UnhandledCriticalExtensions. It never modifies c.
func HandleNetscapeCertType(c *x509.Certificate, asCA bool) *x509.Certificate {
	bits, present, critical := netscapeBits(c)
	if !present || !critical {
		return c
	}
	need := byte(nsObjectSigning)
	if asCA {
		need = nsObjectSigningCA
	}
	if bits&need == 0 {
		return c
	}
	cp := *c
	cp.UnhandledCriticalExtensions = slices.DeleteFunc(slices.Clone(c.UnhandledCriticalExtensions),
		func(o asn1.ObjectIdentifier) bool { return o.Equal(oidNetscapeCertType) })
	return &cp
}

// checkNetscape applies the Netscape Cert Type rule to a code signing chain.
func checkNetscape(chain []*x509.Certificate) error {
	for i, c := range chain {
		bits, present, _ := netscapeBits(c)
		if !present {
			continue
		}
		if i == 0 && bits&nsObjectSigning == 0 {
			return fmt.Errorf("certificate %q: its Netscape Cert Type (0x%02x) does not allow object signing", c.Subject.CommonName, bits)
		}
		if i > 0 && bits&nsObjectSigningCA == 0 {
			return fmt.Errorf("certificate %q: its Netscape Cert Type (0x%02x) does not allow acting as an object signing CA", c.Subject.CommonName, bits)
		}
	}
	return nil
}
