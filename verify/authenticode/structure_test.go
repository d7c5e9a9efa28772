package authenticode

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rollgate/rollgate/inventory"
	"github.com/sassoftware/relic/v7/lib/pkcs7"
)

// tableOf returns a fixture's image (without its table), the offset of its certificate data
// directory entry and its PKCS#7 blob.
func tableOf(t testing.TB, file string) (image []byte, ddOff int64, der []byte) {
	t.Helper()
	b := readFile(t, filepath.Join("testdata", file))
	h, err := readPEHeader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	n, err := derLength(bytes.NewReader(b), int64(len(b)), h.certStart+8, h.certSize-8)
	if err != nil {
		t.Fatal(err)
	}
	return b[:h.certStart], h.certDirOff, slices.Clone(b[h.certStart+8 : h.certStart+8+n])
}

// withUnauth re-encodes der with its signer's unauthenticated attributes changed by edit
// (they are outside the signed bytes, so the signature still verifies).
func withUnauth(t testing.TB, der []byte, edit func(pkcs7.AttributeList) pkcs7.AttributeList) []byte {
	t.Helper()
	psd, err := pkcs7.Unmarshal(der)
	if err != nil {
		t.Fatal(err)
	}
	si := &psd.Content.SignerInfos[0]
	si.RawContent = nil
	si.UnauthenticatedAttributes = edit(si.UnauthenticatedAttributes)
	out, err := psd.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func attr(t testing.TB, oid asn1.ObjectIdentifier, values ...[]byte) pkcs7.Attribute {
	t.Helper()
	set, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(values, nil)})
	if err != nil {
		t.Fatal(err)
	}
	var rv asn1.RawValue
	if _, err := asn1.Unmarshal(set, &rv); err != nil {
		t.Fatal(err)
	}
	return pkcs7.Attribute{Type: oid, Values: rv}
}

func appendAttr(a pkcs7.Attribute) func(pkcs7.AttributeList) pkcs7.AttributeList {
	return func(l pkcs7.AttributeList) pkcs7.AttributeList { return append(slices.Clone(l), a) }
}

type sigSummary struct {
	State     inventory.SigState
	Digest    string
	Anomalies []string
	Nested    []string // source, state, digest algorithm
}

func summarize(s *inventory.Signature) sigSummary {
	out := sigSummary{State: s.State, Digest: s.DigestAlgorithm, Anomalies: kinds(s.Anomalies)}
	for _, n := range s.Nested {
		out.Nested = append(out.Nested, n.Source+" "+string(n.State)+" "+n.DigestAlgorithm)
	}
	return out
}

// Nested signatures, several table entries and the unauthenticated area, on fixtures
// rebuilt in memory from the committed ones (the same image signed with SHA-256, SHA-1 and
// a timestamp).
func TestSignatureStructure(t *testing.T) {
	image, ddOff, der := tableOf(t, "signed.exe")
	_, _, der1 := tableOf(t, "signed-sha1.exe")
	_, _, derTS := tableOf(t, "signed-ts.exe")
	broken1 := slices.Clone(der1)
	broken1[len(broken1)-10] ^= 0xff // inside the signer's encryptedDigest
	octet := func(s string) []byte { b, _ := asn1.Marshal([]byte(s)); return b }
	sig := func(body []byte) winCert { return winCert{rev: 0x200, typ: 2, body: body} }
	tsAttr := func(edit func(a pkcs7.Attribute) pkcs7.Attribute) func(pkcs7.AttributeList) pkcs7.AttributeList {
		return func(l pkcs7.AttributeList) pkcs7.AttributeList {
			l = slices.Clone(l)
			for i := range l {
				l[i] = edit(l[i])
			}
			return l
		}
	}
	u := inventory.AnomalyUnauthenticatedData
	cases := []struct {
		name string
		file []byte
		want sigSummary
		msg  string // substring of IntegrityError
	}{
		{"plain", withTable(image, ddOff, nil, sig(der)), sigSummary{State: "signed", Digest: "sha256"}, ""},
		{"two table entries", withTable(image, ddOff, nil, sig(der), sig(der1)),
			sigSummary{State: "signed", Digest: "sha256", Nested: []string{"certificate entry 1 signed sha1"}}, ""},
		{"nested signature", withTable(image, ddOff, nil, sig(withUnauth(t, der, appendAttr(attr(t, oidNestedSignature, der1))))),
			sigSummary{State: "signed", Digest: "sha256", Nested: []string{"certificate entry 0, nested 0 signed sha1"}}, ""},
		{"two nested signatures in one attribute", withTable(image, ddOff, nil, sig(withUnauth(t, der, appendAttr(attr(t, oidNestedSignature, der1, der1))))),
			sigSummary{State: "signed", Digest: "sha256", Nested: []string{"certificate entry 0, nested 0 signed sha1", "certificate entry 0, nested 1 signed sha1"}}, ""},
		{"nested signature that does not verify", withTable(image, ddOff, nil, sig(withUnauth(t, der, appendAttr(attr(t, oidNestedSignature, broken1))))),
			sigSummary{State: "invalid", Digest: "sha256", Nested: []string{"certificate entry 0, nested 0 invalid "}}, "nested 0: verifying the signer's signature"},
		{"unknown unauthenticated attribute", withTable(image, ddOff, nil, sig(withUnauth(t, der, appendAttr(attr(t, asn1.ObjectIdentifier{1, 2, 3, 4}, octet("payload")))))),
			sigSummary{State: "signed", Digest: "sha256", Anomalies: []string{u}}, ""},
		{"nested attribute holding garbage", withTable(image, ddOff, nil, sig(withUnauth(t, der, appendAttr(attr(t, oidNestedSignature, octet("payload")))))),
			sigSummary{State: "invalid", Digest: "sha256", Anomalies: []string{u}, Nested: []string{"certificate entry 0, nested 0 invalid "}}, "parsing PKCS#7"},
		{"timestamp with a second value", withTable(image, ddOff, nil, sig(withUnauth(t, derTS, tsAttr(func(a pkcs7.Attribute) pkcs7.Attribute {
			return attr(t, a.Type, a.Values.Bytes, octet("payload"))
		})))), sigSummary{State: "invalid", Digest: "sha256", Anomalies: []string{u, u}}, "timestamp"},
		{"timestamp token with a byte flipped in its TSTInfo", withTable(image, ddOff, nil, sig(withUnauth(t, derTS, tsAttr(func(a pkcs7.Attribute) pkcs7.Attribute {
			v := slices.Clone(a.Values.Bytes)
			i := bytes.Index(v, []byte{0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04}) // id-ct-TSTInfo
			v[i+40] ^= 1
			return attr(t, a.Type, v)
		})))), sigSummary{State: "invalid", Digest: "sha256"}, "timestamp"},
	}
	v := verifier(t, "root.pem")
	for _, c := range cases {
		got, err := v.VerifyPE(bytes.NewReader(c.file), int64(len(c.file)))
		if err != nil {
			t.Errorf("%s: VerifyPE = %v", c.name, err)
			continue
		}
		if d := cmp.Diff(c.want, summarize(got)); d != "" {
			t.Errorf("%s: (-want +got)\n%s\nintegrity %q anomalies %+v", c.name, d, got.IntegrityError, got.Anomalies)
		}
		if !strings.Contains(got.IntegrityError, c.msg) || (c.msg == "") != (got.IntegrityError == "") {
			t.Errorf("%s: integrity error %q, want %q", c.name, got.IntegrityError, c.msg)
		}
		pad, err := CheckPadding(bytes.NewReader(c.file), int64(len(c.file)))
		if err != nil || !slices.Equal(pad, got.Anomalies) {
			t.Errorf("%s: CheckPadding = %+v, %v, VerifyPE anomalies %+v", c.name, pad, err, got.Anomalies)
		}
	}
}

// A PE whose optional header holds fewer than five data directories has no certificate
// table: unsigned, whatever follows the directories.
func TestShortOptionalHeader(t *testing.T) {
	b := readFile(t, "testdata/signed.exe")
	h, err := readPEHeader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	nrva := h.certDirOff - 4*8 - 4 // NumberOfRvaAndSizes precedes the directories
	v := verifier(t, "root.pem")
	for _, n := range []byte{0, 4, 5, 6} {
		c := slices.Clone(b)
		c[nrva], c[nrva+1] = n, 0
		got, err := v.VerifyPE(bytes.NewReader(c), int64(len(c)))
		want := inventory.SigUnsigned
		if n > 4 {
			want = inventory.SigInvalid // the count is in the hashed header
		}
		if err != nil || got.State != want {
			t.Errorf("VerifyPE(NumberOfRvaAndSizes %d) = %+v, %v, want %s", n, got, err, want)
		}
	}
}

// A gap between sections: the section-order digest leaves its bytes out, the linear one
// (osslsigncode's) covers them. A signature over the former reports the gap.
func TestDigestGap(t *testing.T) {
	b := readFile(t, "testdata/signed.exe")
	h, err := readPEHeader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := planDigest(bytes.NewReader(b), h)
	if err != nil || len(l.gaps) != 0 || len(l.sections) < 2 {
		t.Fatalf("planDigest(signed.exe) = %+v, %v, want contiguous sections", l, err)
	}
	// Shrink the first section by one FileAlignment unit: a gap opens before the second.
	first := h.secTblStart
	raw := binary.LittleEndian.Uint32(b[first+16:])
	gapped := slices.Clone(b)
	binary.LittleEndian.PutUint32(gapped[first+16:], raw-h.fileAlign)
	g, err := planDigest(bytes.NewReader(gapped), h)
	if err != nil {
		t.Fatal(err)
	}
	s0 := g.sections[0]
	want := []region{{s0.off + s0.n, int64(h.fileAlign)}}
	if d := cmp.Diff(want, g.gaps, cmp.AllowUnexported(region{})); d != "" {
		t.Fatalf("gaps (-want +got)\n%s", d)
	}
	algs := []crypto.Hash{crypto.SHA256}
	spec, _ := hashRegions(bytes.NewReader(gapped), g.sectionOrder(), algs)
	lin, _ := hashRegions(bytes.NewReader(gapped), g.linear(), algs)
	if bytes.Equal(spec[crypto.SHA256], lin[crypto.SHA256]) {
		t.Fatal("section-order and linear digests agree across a gap")
	}
	for _, c := range []struct {
		name   string
		digest []byte
		gaps   int
		err    error
	}{
		{"signed linearly", lin[crypto.SHA256], 0, nil},
		{"signed in section order", spec[crypto.SHA256], 1, nil},
		{"signed otherwise", make([]byte, 32), 0, errMismatch},
	} {
		s := &signature{ind: &indirectData{hash: crypto.SHA256, digest: c.digest}}
		anomalies, err := checkPEDigests(bytes.NewReader(gapped), h, []*signature{s})
		if err != nil || len(anomalies) != c.gaps || !errors.Is(s.err, c.err) || (c.err == nil) != (s.err == nil) {
			t.Errorf("%s: checkPEDigests = %+v, %v, signature error %v", c.name, anomalies, err, s.err)
		}
	}
}
