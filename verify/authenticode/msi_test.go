package authenticode

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/cfb"
)

func openCFB(t testing.TB, b []byte) *cfb.Reader {
	t.Helper()
	c, err := cfb.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("cfb.NewReader = %v", err)
	}
	return c
}

// dirEntry returns the file offset of the directory entry named name (fixtures only: the
// UTF-16LE name is found by search).
func dirEntry(t testing.TB, b []byte, name string) int {
	t.Helper()
	i := bytes.Index(b, nameBytes(utf16.Encode([]rune(name))))
	if i < 0 || i%128 != 0 {
		t.Fatalf("directory entry %q not found", name)
	}
	return i
}

func TestVerifyMSI(t *testing.T) {
	cases := []struct {
		file      string
		roots     []string
		state     inventory.SigState
		trusted   bool
		integrity string
	}{
		{"signed.msi", []string{"root.pem"}, inventory.SigSigned, true, ""},
		{"signed.msi", nil, inventory.SigSigned, false, ""},
		{"signed-dse.msi", []string{"root.pem"}, inventory.SigSigned, true, ""},
		{"tampered.msi", []string{"root.pem"}, inventory.SigInvalid, true, "digest mismatch"},
		{"unsigned.msi", []string{"root.pem"}, inventory.SigUnsigned, false, ""},
	}
	for _, c := range cases {
		got, err := verifier(t, c.roots...).VerifyMSI(openCFB(t, readFile(t, filepath.Join("testdata", c.file))))
		if err != nil || got.State != c.state || got.Trusted != c.trusted || !strings.Contains(got.IntegrityError, c.integrity) ||
			(c.integrity == "") != (got.IntegrityError == "") || len(got.Anomalies) != 0 {
			t.Errorf("VerifyMSI(%s, roots %v) = %+v, %v, want %q trusted %v integrity %q", c.file, c.roots, got, err, c.state, c.trusted, c.integrity)
		}
		if got != nil && got.State != inventory.SigUnsigned && (got.Signer != testSigner || got.DigestAlgorithm != "sha256" || len(got.Fingerprint) != 64) {
			t.Errorf("VerifyMSI(%s) signer facts = %+v", c.file, got)
		}
	}
	for _, s := range []string{"msi/relic-dummy.msi", "msi/osslsigncode-unsigned.msi"} {
		got, err := verifier(t).VerifyMSI(openCFB(t, readFile(t, testutil.Sample(t, s))))
		if err != nil || got.State != inventory.SigUnsigned {
			t.Errorf("VerifyMSI(%s) = %+v, %v, want unsigned", s, got, err)
		}
	}
}

// The prehash over metadata, with the metadata the fixture really has (osslsigncode and
// wixl leave state bits and times zero), matches what osslsigncode stored; a metadata change
// does not.
func TestVerifyMSIPrehash(t *testing.T) {
	b := readFile(t, "testdata/signed-dse.msi")
	v := verifier(t, "root.pem")
	zero := func(*cfb.Entry) (entryMeta, bool) { return entryMeta{}, true }
	if got, err := v.verifyMSI(openCFB(t, b), zero); err != nil || got.State != inventory.SigSigned {
		t.Errorf("verifyMSI(signed-dse.msi, real metadata) = %+v, %v, want signed", got, err)
	}
	touched := func(e *cfb.Entry) (entryMeta, bool) {
		if e.Name == "\x05SummaryInformation" {
			return entryMeta{Modified: [8]byte{1}}, true
		}
		return entryMeta{}, true
	}
	if got, err := v.verifyMSI(openCFB(t, b), touched); err != nil || got.State != inventory.SigInvalid ||
		!strings.Contains(got.IntegrityError, "MsiDigitalSignatureEx") {
		t.Errorf("verifyMSI(signed-dse.msi, a modified time changed) = %+v, %v, want invalid", got, err)
	}
	// A prehash of the wrong length.
	bad := slices.Clone(b)
	binary.LittleEndian.PutUint32(bad[dirEntry(t, bad, "\x05MsiDigitalSignatureEx")+0x78:], 31)
	if got, err := v.VerifyMSI(openCFB(t, bad)); err != nil || got.State != inventory.SigInvalid {
		t.Errorf("VerifyMSI(31-byte MsiDigitalSignatureEx) = %+v, %v, want invalid", got, err)
	}
}

// Bytes after the PKCS#7 blob inside the signature stream: the stream's last mini sector has
// slack, so growing the stream size exposes it without touching the allocation.
func TestVerifyMSIPadding(t *testing.T) {
	b := slices.Clone(readFile(t, "testdata/signed.msi"))
	off := dirEntry(t, b, "\x05DigitalSignature") + 0x78
	size := binary.LittleEndian.Uint32(b[off:])
	slack := (64 - size%64) % 64
	if size >= 4096 || slack == 0 {
		t.Fatalf("signature stream of %d bytes has no mini sector slack", size)
	}
	binary.LittleEndian.PutUint32(b[off:], size+slack)
	got, err := verifier(t, "root.pem").VerifyMSI(openCFB(t, b))
	want := []inventory.Anomaly{{Kind: pad, Offset: int64(size), Length: int64(slack)}}
	if err != nil || got.State != inventory.SigSigned || len(got.Anomalies) != 1 {
		t.Fatalf("VerifyMSI(padded signature stream) = %+v, %v, want signed with %+v", got, err, want)
	}
	got.Anomalies[0].Detail = ""
	if !slices.Equal(got.Anomalies, want) {
		t.Errorf("VerifyMSI(padded signature stream) anomalies = %+v, want %+v", got.Anomalies, want)
	}
}

func TestHashOrder(t *testing.T) {
	mk := func(names ...string) []*cfb.Entry {
		var es []*cfb.Entry
		for _, n := range names {
			es = append(es, &cfb.Entry{Name: n, RawName: utf16.Encode([]rune(n))})
		}
		return es
	}
	for _, c := range []struct{ in, want []string }{
		// A prefix sorts first: the terminating NUL compares below every code unit byte.
		{[]string{"ab", "a", "abc"}, []string{"a", "ab", "abc"}},
		// Little-endian bytes: U+0100 is 00 01, before "A" (41 00); U+4100 is 00 41.
		{[]string{"A", "\u0100", "\u4100", "\u0041\u0001"}, []string{"\u0100", "\u4100", "A", "\u0041\u0001"}},
		// Case and the \x05 prefix of the signature streams.
		{[]string{"b", "B", "\x05Summary", "_Tables"}, []string{"\x05Summary", "B", "_Tables", "b"}},
	} {
		es := mk(c.in...)
		slices.SortFunc(es, hashOrder)
		var got []string
		for _, e := range es {
			got = append(got, e.Name)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("sort(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// Equal over the shorter length (only possible with embedded NULs): the longer first.
	a, b := &cfb.Entry{RawName: []uint16{'a'}}, &cfb.Entry{RawName: []uint16{'a', 0}}
	if hashOrder(b, a) >= 0 || hashOrder(a, b) <= 0 {
		t.Errorf("hashOrder(%q, %q) = %d, want the longer first", "a\\0", "a", hashOrder(b, a))
	}
}

// A second stream named \x05DigitalSignature would be left out of the digest like the first.
func TestVerifyMSIDuplicateSignature(t *testing.T) {
	b := slices.Clone(readFile(t, "testdata/signed-dse.msi"))
	off := dirEntry(t, b, "\x05MsiDigitalSignatureEx")
	name := nameBytes(nameDigitalSignature)
	clear(b[off : off+64])
	copy(b[off:], name)
	binary.LittleEndian.PutUint16(b[off+0x40:], uint16(len(name)))
	got, err := verifier(t, "root.pem").VerifyMSI(openCFB(t, b))
	if err != nil || got.State != inventory.SigInvalid || !strings.Contains(got.IntegrityError, "more than one") {
		t.Errorf("VerifyMSI(two DigitalSignature streams) = %+v, %v, want invalid", got, err)
	}
}

// The MSI signature's unauthenticated area is inspected as a PE's: an unknown algorithm in
// the SignedData's digestAlgorithms set (which the signer's signature does not cover) is
// reported, the signature itself still verifies.
func TestVerifyMSIUnauthenticated(t *testing.T) {
	b := slices.Clone(readFile(t, "testdata/signed.msi"))
	start := bytes.Index(b, []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02}) // signedData
	sha256OID := []byte{0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01}
	i := bytes.Index(b[start:], sha256OID)
	if start < 0 || i < 0 || i > 64 {
		t.Fatalf("signedData at %d, digestAlgorithms at +%d: fixture layout changed", start, i)
	}
	b[start+i+len(sha256OID)-1] = 0x7f // 2.16.840.1.101.3.4.2.127
	got, err := verifier(t, "root.pem").VerifyMSI(openCFB(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if got.State != inventory.SigSigned || !got.Trusted || !slices.Equal(kinds(got.Anomalies), []string{inventory.AnomalyUnauthenticatedData}) {
		t.Errorf("VerifyMSI(unknown digest algorithm in the set) = %+v, want signed, trusted, one %s anomaly", got, inventory.AnomalyUnauthenticatedData)
	}
}
