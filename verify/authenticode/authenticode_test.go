package authenticode

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadPEM(t testing.TB, name string) []*x509.Certificate {
	t.Helper()
	c, err := LoadPEM(filepath.Join("testdata", "pki", name))
	if err != nil {
		t.Fatalf("LoadPEM(%q) = %v", name, err)
	}
	return c
}

// verifier trusts only the named roots from testdata/pki (never the system pool).
func verifier(t testing.TB, roots ...string) *Verifier {
	t.Helper()
	var extra []*x509.Certificate
	for _, r := range roots {
		extra = append(extra, loadPEM(t, r)...)
	}
	v, err := NewVerifier(Options{Roots: x509.NewCertPool(), ExtraRoots: extra})
	if err != nil {
		t.Fatalf("NewVerifier = %v", err)
	}
	return v
}

func kinds(as []inventory.Anomaly) []string {
	var k []string
	for _, a := range as {
		k = append(k, a.Kind)
	}
	return k
}

func TestLoadPEM(t *testing.T) {
	if c := loadPEM(t, "leaf-chain.pem"); len(c) != 2 {
		t.Errorf("LoadPEM(leaf-chain.pem) = %d certificates, want 2", len(c))
	}
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	os.WriteFile(empty, []byte("no pem here\n"), 0o644)
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644)
	for _, p := range []string{empty, bad, filepath.Join(dir, "missing.pem")} {
		if c, err := LoadPEM(p); err == nil {
			t.Errorf("LoadPEM(%q) = %d certificates, want an error", p, len(c))
		}
	}
}

func TestNewVerifier(t *testing.T) {
	if _, err := NewVerifier(Options{}); err != nil {
		t.Errorf("NewVerifier(zero Options) = %v (system pool)", err)
	}
	if _, err := NewVerifier(Options{ExtraRoots: []*x509.Certificate{nil}}); err == nil {
		t.Errorf("NewVerifier(nil extra root) = nil error, want an error")
	}
}

type peCase struct {
	file      string
	roots     []string
	state     inventory.SigState
	trusted   bool
	anomalies []string
	signer    string
	timestamp string
	digest    string
	integrity string // substring of IntegrityError
	trustErr  string // substring of TrustError
}

const (
	testSigner = "CN=Rollgate Test Signer,O=Rollgate Test"
	pad        = inventory.AnomalyPaddingAfterPKCS7
	after      = inventory.AnomalyDataAfterTable
)

var peCases = []peCase{
	{file: "signed.exe", roots: []string{"root.pem"}, state: inventory.SigSigned, trusted: true, signer: testSigner, digest: "sha256"},
	{file: "signed.exe", state: inventory.SigSigned, signer: testSigner, digest: "sha256", trustErr: "unknown authority"},
	{file: "signed.exe", roots: []string{"other-root.pem"}, state: inventory.SigSigned, signer: testSigner, trustErr: "unknown authority"},
	{file: "signed-other.exe", roots: []string{"root.pem"}, state: inventory.SigSigned, signer: "CN=Unrelated Signer,O=Elsewhere Test", trustErr: "unknown authority"},
	{file: "signed-other.exe", roots: []string{"other-root.pem"}, state: inventory.SigSigned, trusted: true, signer: "CN=Unrelated Signer,O=Elsewhere Test"},
	{file: "signed-sha1.exe", roots: []string{"root.pem"}, state: inventory.SigSigned, trusted: true, digest: "sha1"},
	{file: "signed-ph.exe", roots: []string{"root.pem"}, state: inventory.SigSigned, trusted: true, digest: "sha256"},
	{file: "signed-server-eku.exe", roots: []string{"root.pem"}, state: inventory.SigSigned, trustErr: "key usage"},
	{file: "signed-ts.exe", roots: []string{"root.pem"}, state: inventory.SigSigned, trusted: true, timestamp: "2026-06-01T00:00:00Z"},
	// The timestamp predates the leaf: the chain is checked at the timestamp and fails.
	{file: "ts-early.exe", roots: []string{"root.pem"}, state: inventory.SigSigned, timestamp: "2020-07-01T00:00:00Z", trustErr: "expired or is not yet valid"},
	// The leaf expired in 2021; the 2020 timestamp keeps it trusted, without one it is not.
	{file: "expired-ts.exe", roots: []string{"root.pem"}, state: inventory.SigSigned, trusted: true, timestamp: "2020-07-01T00:00:00Z"},
	{file: "expired.exe", roots: []string{"root.pem"}, state: inventory.SigSigned, trustErr: "expired"},
	{file: "tampered.exe", roots: []string{"root.pem"}, state: inventory.SigInvalid, trusted: true, signer: testSigner, integrity: "digest mismatch"},
	// CVE-2013-3900: the digest still matches, the hidden bytes are the finding.
	{file: "padded-nonzero.exe", roots: []string{"root.pem"}, state: inventory.SigSigned, trusted: true, anomalies: []string{pad}},
	{file: "padded-zero.exe", roots: []string{"root.pem"}, state: inventory.SigSigned, trusted: true, anomalies: []string{pad}},
	{file: "aligned.exe", roots: []string{"root.pem"}, state: inventory.SigSigned, trusted: true},
	{file: "aligned-short.exe", roots: []string{"root.pem"}, state: inventory.SigSigned, trusted: true},
	{file: "appended.exe", roots: []string{"root.pem"}, state: inventory.SigSigned, trusted: true, anomalies: []string{after}},
	{file: "corrupt-table.exe", roots: []string{"root.pem"}, state: inventory.SigInvalid, integrity: "dwLength"},
	{file: "table-beyond-eof.exe", roots: []string{"root.pem"}, state: inventory.SigInvalid, integrity: "beyond the end"},
	{file: "unsigned.exe", roots: []string{"root.pem"}, state: inventory.SigUnsigned},
}

func checkSig(t *testing.T, name string, got *inventory.Signature, c peCase) {
	t.Helper()
	if got.State != c.state || got.Trusted != c.trusted {
		t.Errorf("%s = state %q trusted %v (integrity %q, trust %q), want %q %v",
			name, got.State, got.Trusted, got.IntegrityError, got.TrustError, c.state, c.trusted)
	}
	if k := kinds(got.Anomalies); !slices.Equal(k, c.anomalies) {
		t.Errorf("%s anomalies = %v, want %v", name, got.Anomalies, c.anomalies)
	}
	if c.signer != "" && got.Signer != c.signer {
		t.Errorf("%s signer = %q, want %q", name, got.Signer, c.signer)
	}
	if got.Timestamp != c.timestamp {
		t.Errorf("%s timestamp = %q, want %q", name, got.Timestamp, c.timestamp)
	}
	if c.digest != "" && got.DigestAlgorithm != c.digest {
		t.Errorf("%s digest algorithm = %q, want %q", name, got.DigestAlgorithm, c.digest)
	}
	if (c.integrity == "") != (got.IntegrityError == "") || !strings.Contains(got.IntegrityError, c.integrity) {
		t.Errorf("%s integrity error = %q, want %q", name, got.IntegrityError, c.integrity)
	}
	if c.trustErr != "" && !strings.Contains(got.TrustError, c.trustErr) {
		t.Errorf("%s trust error = %q, want %q", name, got.TrustError, c.trustErr)
	}
	if got.Trusted && got.TrustError != "" {
		t.Errorf("%s trusted with trust error %q", name, got.TrustError)
	}
	if got.State == inventory.SigSigned && (len(got.Fingerprint) != 64 || len(got.PublicKey) != 64 || got.Issuer == "" || got.Signer == "") {
		t.Errorf("%s signer facts incomplete: %+v", name, got)
	}
}

func TestVerifyPE(t *testing.T) {
	for _, c := range peCases {
		b := readFile(t, filepath.Join("testdata", c.file))
		got, err := verifier(t, c.roots...).VerifyPE(bytes.NewReader(b), int64(len(b)))
		name := "VerifyPE(" + c.file + ", roots " + strings.Join(c.roots, "+") + ")"
		if err != nil {
			t.Errorf("%s = %v, want no error", name, err)
			continue
		}
		checkSig(t, name, got, c)
	}
}

func TestVerifyPESamples(t *testing.T) {
	v := verifier(t, "root.pem")
	for _, c := range []struct {
		file   string
		state  inventory.SigState
		signer string
	}{
		{"pe/relic-WindowsFormsApplication1.exe", inventory.SigSigned, "CN={4E7ADCCD-7571-4FED-81D0-6F93A58F6866}"},
		{"pe/osslsigncode-unsigned.exe", inventory.SigUnsigned, ""},
		{"pe/relic-ClassLibrary1.dll", inventory.SigUnsigned, ""},
	} {
		b := readFile(t, testutil.Sample(t, c.file))
		got, err := v.VerifyPE(bytes.NewReader(b), int64(len(b)))
		if err != nil || got.State != c.state || got.Signer != c.signer || got.Trusted || len(got.Anomalies) != 0 {
			t.Errorf("VerifyPE(%q) = %+v, %v, want state %q signer %q untrusted", c.file, got, err, c.state, c.signer)
		}
	}
}

// The self-signed relic sample is trusted once its certificate is a root and the clock is
// inside its 2017-2018 validity.
func TestVerifyPEClock(t *testing.T) {
	b := readFile(t, testutil.Sample(t, "pe/relic-WindowsFormsApplication1.exe"))
	v0 := verifier(t)
	got, _ := v0.VerifyPE(bytes.NewReader(b), int64(len(b)))
	if got == nil || got.Fingerprint == "" {
		t.Fatalf("VerifyPE(relic sample) = %+v", got)
	}
	raw := readFile(t, "testdata/expired.exe")
	v, err := NewVerifier(Options{Roots: x509.NewCertPool(), ExtraRoots: loadPEM(t, "root.pem"),
		Now: func() time.Time { return time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := v.VerifyPE(bytes.NewReader(raw), int64(len(raw))); err != nil || !got.Trusted {
		t.Errorf("VerifyPE(expired.exe at 2020-06-01) = %+v, %v, want trusted", got, err)
	}
}

func TestVerifyPENotPE(t *testing.T) {
	v := verifier(t)
	for _, in := range [][]byte{nil, []byte("MZ"), bytes.Repeat([]byte{0}, 512), readFile(t, "testdata/unsigned.msi")} {
		if got, err := v.VerifyPE(bytes.NewReader(in), int64(len(in))); !errors.Is(err, unpack.ErrFormat) {
			t.Errorf("VerifyPE(%d bytes of non-PE) = %+v, %v, want ErrFormat", len(in), got, err)
		}
	}
}

type failingReader struct {
	b    []byte
	from int64
}

var errDisk = errors.New("disk on fire")

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.from {
		return 0, errDisk
	}
	return copy(p, f.b[off:]), nil
}

// I/O errors come back as errors, never as an invalid signature.
func TestVerifyPEIOError(t *testing.T) {
	b := readFile(t, "testdata/signed.exe")
	v := verifier(t, "root.pem")
	for _, from := range []int64{0, 100, 2000, int64(len(b)) - 100} {
		got, err := v.VerifyPE(failingReader{b, from}, int64(len(b)))
		if !errors.Is(err, errDisk) {
			t.Errorf("VerifyPE(failing from %d) = %+v, %v, want %v", from, got, err, errDisk)
		}
	}
}

// peTable returns signed.exe's bytes, the offset of its certificate data directory entry
// and its PKCS#7 DER blob.
func peTable(t testing.TB) (b []byte, ddOff int64, der []byte) {
	t.Helper()
	b = readFile(t, "testdata/signed.exe")
	h, err := readPEHeader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	n, err := derLength(bytes.NewReader(b), int64(len(b)), h.certStart+8, h.certSize-8)
	if err != nil {
		t.Fatal(err)
	}
	der = b[h.certStart+8 : h.certStart+8+n]
	return b[:h.certStart], h.certDirOff, der
}

type winCert struct {
	length   int // dwLength; 0 means 8 + len(body)
	rev, typ uint16
	body     []byte
	pad      []byte // after dwLength, before the next 8-byte boundary (nil: zeros)
}

// withTable appends a certificate table built from entries to image and points the data
// directory at it; extra bytes follow the table.
func withTable(image []byte, ddOff int64, extra []byte, entries ...winCert) []byte {
	out := slices.Clone(image)
	start := len(out)
	for _, e := range entries {
		l := e.length
		if l == 0 {
			l = 8 + len(e.body)
		}
		out = binary.LittleEndian.AppendUint32(out, uint32(l))
		out = binary.LittleEndian.AppendUint16(out, e.rev)
		out = binary.LittleEndian.AppendUint16(out, e.typ)
		out = append(out, e.body...)
		p := (8 - len(out)%8) % 8
		if e.pad != nil {
			out = append(out, e.pad[:p]...)
		} else {
			out = append(out, make([]byte, p)...)
		}
	}
	binary.LittleEndian.PutUint32(out[ddOff:], uint32(start))
	binary.LittleEndian.PutUint32(out[ddOff+4:], uint32(len(out)-start))
	return append(out, extra...)
}

func TestCheckPadding(t *testing.T) {
	image, ddOff, der := peTable(t)
	// A DER blob whose length is 1 mod 8 leaves 7 bytes of alignment.
	der7 := der
	for len(der7)%8 != 1 {
		der7 = der7[:len(der7)-1] // not a valid signature any more, still a DER length
	}
	der7 = slices.Clone(der7)
	der7[1], der7[2], der7[3] = 0x82, byte((len(der7)-4)>>8), byte(len(der7)-4)
	start := int64(len(image))
	sig := func(body []byte) winCert { return winCert{rev: 0x200, typ: 2, body: body} }
	cases := []struct {
		name    string
		file    []byte
		want    []inventory.Anomaly
		wantErr error
	}{
		{"signed", withTable(image, ddOff, nil, sig(der)), nil, nil},
		{"7 zero alignment bytes", withTable(image, ddOff, nil, sig(der7)), nil, nil},
		{"7 alignment bytes, one non-zero", withTable(image, ddOff, nil, winCert{rev: 0x200, typ: 2, body: der7, pad: []byte{0, 0, 0, 1, 0, 0, 0}}),
			[]inventory.Anomaly{{Kind: pad, Offset: start + 8 + int64(len(der7)), Length: 7}}, nil},
		{"7 zero bytes inside dwLength", withTable(image, ddOff, nil, sig(append(slices.Clone(der7), 0, 0, 0, 0, 0, 0, 0))), nil, nil},
		{"8 zero bytes", withTable(image, ddOff, nil, sig(append(slices.Clone(der), make([]byte, 8)...))),
			[]inventory.Anomaly{{Kind: pad, Offset: start + 8 + int64(len(der)), Length: 8 + int64((8-(len(der)%8))%8)}}, nil},
		{"payload", withTable(image, ddOff, nil, sig(append(slices.Clone(der), "RC4 payload"...))),
			[]inventory.Anomaly{{Kind: pad, Offset: start + 8 + int64(len(der)), Length: int64((8-(8+len(der)+11)%8)%8 + 11)}}, nil},
		{"appended", withTable(image, ddOff, []byte("C2=198.51.100.7"), sig(der)),
			[]inventory.Anomaly{{Kind: after, Offset: start + int64((8+len(der)+7)&^7), Length: 15}}, nil},
		{"non-PKCS#7 entry", withTable(image, ddOff, nil, sig(der), winCert{rev: 0x200, typ: 1, body: []byte("x509 or anything")}),
			[]inventory.Anomaly{{Kind: pad, Offset: start + int64((8+len(der)+7)&^7) + 8, Length: 16}}, nil},
		{"dwLength below header", withTable(image, ddOff, nil, winCert{length: 4, rev: 0x200, typ: 2, body: der}), nil, unpack.ErrFormat},
		{"BER indefinite length", withTable(image, ddOff, nil, sig(append([]byte{0x30, 0x80}, der[4:]...))), nil, unpack.ErrFormat},
		{"not a SEQUENCE", withTable(image, ddOff, nil, sig(append([]byte{0x04}, der[1:]...))), nil, unpack.ErrFormat},
		{"DER longer than entry", withTable(image, ddOff, nil, sig(der[:len(der)-1])), nil, unpack.ErrFormat},
		{"too many entries", withTable(image, ddOff, nil, slices.Repeat([]winCert{{rev: 0x200, typ: 1}}, MaxCertEntries+1)...), nil, unpack.ErrLimit},
		{"unsigned", readFile(t, "testdata/unsigned.exe"), nil, nil},
	}
	// An unaligned table start.
	unaligned := withTable(append(slices.Clone(image), 0, 0, 0, 0), ddOff, nil, sig(der))
	binary.LittleEndian.PutUint32(unaligned[ddOff:], uint32(start+4))
	cases = append(cases, struct {
		name    string
		file    []byte
		want    []inventory.Anomaly
		wantErr error
	}{"unaligned table", unaligned, nil, unpack.ErrFormat})

	for _, c := range cases {
		got, err := CheckPadding(bytes.NewReader(c.file), int64(len(c.file)))
		if !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) {
			t.Errorf("CheckPadding(%s) error = %v, want %v", c.name, err, c.wantErr)
			continue
		}
		for i := range got {
			if got[i].Detail == "" {
				t.Errorf("CheckPadding(%s) anomaly %d has no detail", c.name, i)
			}
			got[i].Detail = ""
		}
		// The shortened blob of the 7-byte cases is no longer well-formed inside, which
		// TestUnauthenticatedData covers; this test is about the table walk.
		if strings.HasPrefix(c.name, "7 ") {
			got = slices.DeleteFunc(got, func(a inventory.Anomaly) bool { return a.Kind == inventory.AnomalyUnauthenticatedData })
		}
		if err == nil && !slices.Equal(got, c.want) {
			t.Errorf("CheckPadding(%s) = %+v, want %+v", c.name, got, c.want)
		}
	}
}

// Every fixture: CheckPadding agrees with VerifyPE's anomalies.
func TestCheckPaddingFixtures(t *testing.T) {
	v := verifier(t, "root.pem")
	files, _ := filepath.Glob("testdata/*.exe")
	for _, f := range files {
		b := readFile(t, f)
		a, err := CheckPadding(bytes.NewReader(b), int64(len(b)))
		s, verr := v.VerifyPE(bytes.NewReader(b), int64(len(b)))
		if verr != nil {
			t.Errorf("VerifyPE(%s) = %v", f, verr)
			continue
		}
		if err != nil {
			if !errors.Is(err, unpack.ErrFormat) || s.State != inventory.SigInvalid {
				t.Errorf("CheckPadding(%s) = %v with VerifyPE state %q, want ErrFormat and invalid", f, err, s.State)
			}
			continue
		}
		if !slices.Equal(a, s.Anomalies) {
			t.Errorf("CheckPadding(%s) = %+v, VerifyPE anomalies %+v", f, a, s.Anomalies)
		}
	}
}

func TestPageHashesParsed(t *testing.T) {
	b := readFile(t, "testdata/signed-ph.exe")
	h, _ := readPEHeader(bytes.NewReader(b), int64(len(b)))
	entries, _, err := walkCertTable(bytes.NewReader(b), int64(len(b)), h)
	if err != nil || len(entries) != 1 {
		t.Fatalf("walkCertTable(signed-ph.exe) = %v, %v", entries, err)
	}
	e := entries[0]
	s := parseSignature(b[e.derOff:e.derOff+e.derLen], indirectPE)
	if s.err != nil || s.ind.pages == nil {
		t.Fatalf("parseSignature(signed-ph.exe) = %+v, %v, want page hashes", s, s.err)
	}
	if _, err := checkPEDigests(bytes.NewReader(b), h, []*signature{s}); err != nil || s.err != nil {
		t.Fatalf("checkPEDigests(signed-ph.exe) = %v, signature error %v", err, s.err)
	}
	// Corrupt one page hash inside a copy of the parsed signature: the digest check must fail.
	s.ind.pages = slices.Clone(s.ind.pages)
	s.ind.pages[len(s.ind.pages)-40] ^= 1
	if _, err := checkPEDigests(bytes.NewReader(b), h, []*signature{s}); err != nil || !errors.Is(s.err, errMismatch) || !strings.Contains(s.err.Error(), "page hashes") {
		t.Errorf("checkPEDigests(page hash flipped) = %v, signature error %v, want a page hash mismatch", err, s.err)
	}
}
