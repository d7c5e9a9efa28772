package authenticode

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
)

// msixFixtures are built and signed by unpack/msix/testdata/gen.sh with the test CA of
// testdata/fixtures/win/ca.
const msixFixtures = "../../unpack/msix/testdata"

func acmeVerifier(t testing.TB) *Verifier {
	t.Helper()
	roots, err := LoadPEM("../../testdata/fixtures/win/ca/root.pem")
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(Options{Roots: x509.NewCertPool(), ExtraRoots: roots})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// osslsigncodeVerdicts reads the verdicts gen.sh recorded ("FILE ok|fail").
func osslsigncodeVerdicts(t testing.TB) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(msixFixtures, "osslsigncode.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	for s := bufio.NewScanner(f); s.Scan(); {
		if name, verdict, ok := strings.Cut(s.Text(), " "); ok {
			out[name] = verdict
		}
	}
	return out
}

// TestVerifyAppx checks each fixture against the expected state and the digest that fails,
// and against osslsigncode's recorded verdict: "ok" exactly when the state is signed with no
// integrity error (osslsigncode does not check the block map against the content, so
// acme-signed-bad-blockmap.msix is ok for both; unpack/msix finds it).
func TestVerifyAppx(t *testing.T) {
	verdicts := osslsigncodeVerdicts(t)
	tests := []struct {
		file      string
		state     inventory.SigState
		integrity string // the tag that fails, "" when none
	}{
		{"acme-signed.msix", inventory.SigSigned, ""},
		{"acme-payload-flipped.msix", inventory.SigInvalid, "AXPC"},
		{"acme-blockmap-edited.msix", inventory.SigInvalid, "AXBM"},
		{"acme-stripped.msix", inventory.SigUnsigned, ""},
		{"acme-unsigned.msix", inventory.SigUnsigned, ""},
		{"acme-signed-bad-blockmap.msix", inventory.SigSigned, ""},
		{"acme-bundle-signed.msixbundle", inventory.SigSigned, ""},
		{"acme-bundle.msixbundle", inventory.SigUnsigned, ""},
		{"acme-signed-ci.msix", inventory.SigSigned, ""},
		{"acme-signed-dd.msix", inventory.SigSigned, ""},
		{"acme-ci-edited.msix", inventory.SigInvalid, "AXCI"},
		// osslsigncode does not compare the manifest Publisher with the signer; Windows does.
		{"acme-signed-by-mallory.msix", inventory.SigInvalid, "Publisher"},
	}
	// Where rollgate is stricter than osslsigncode, on purpose.
	stricter := map[string]bool{"acme-signed-by-mallory.msix": true}
	v := acmeVerifier(t)
	for name := range verdicts {
		if !slices.ContainsFunc(tests, func(c struct {
			file      string
			state     inventory.SigState
			integrity string
		}) bool {
			return c.file == name
		}) {
			t.Errorf("osslsigncode.txt records %s, which no case checks", name)
		}
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := readFile(t, filepath.Join(msixFixtures, tt.file))
			got, err := v.VerifyAppx(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatalf("VerifyAppx = %v", err)
			}
			if got.State != tt.state {
				t.Errorf("State = %q (%s), want %q", got.State, got.IntegrityError, tt.state)
			}
			if tt.integrity != "" {
				if !strings.Contains(got.IntegrityError, tt.integrity) {
					t.Errorf("IntegrityError = %q, want one naming %s", got.IntegrityError, tt.integrity)
				}
				if strings.HasPrefix(tt.integrity, "AX") && !strings.Contains(got.IntegrityError, errMismatch.Error()) {
					t.Errorf("IntegrityError = %q, want a digest mismatch", got.IntegrityError)
				}
			} else if got.IntegrityError != "" {
				t.Errorf("IntegrityError = %q, want none", got.IntegrityError)
			}
			if got.State != inventory.SigUnsigned {
				signer := "CN=Acme Softphone Ltd,O=Acme Softphone Ltd"
				if stricter[tt.file] {
					signer = "CN=Mallory Software,O=Mallory"
				}
				if !got.Trusted || got.Signer != signer || got.DigestAlgorithm != "sha256" {
					t.Errorf("signer facts = %+v, want trusted %s, sha256", got, signer)
				}
			}
			if d := cmp.Diff([]string(nil), kinds(got.Anomalies)); d != "" {
				t.Errorf("Anomalies (-want +got)\n%s", d)
			}
			if want, ok := verdicts[tt.file]; ok {
				ours := "fail"
				if got.State == inventory.SigSigned && got.IntegrityError == "" && got.Trusted {
					ours = "ok"
				}
				if (ours != want) != stricter[tt.file] {
					t.Errorf("verdict %s, osslsigncode %s", ours, want)
				}
			}
		})
	}
}

// TestVerifyAppxHostile: a ZIP whose directory cannot be read is an error; a signature file
// that is not PKCX or whose blob is cut is invalid.
func TestVerifyAppxHostile(t *testing.T) {
	v := acmeVerifier(t)
	junk := []byte("not a zip at all, only text that is long enough")
	if _, err := v.VerifyAppx(bytes.NewReader(junk), int64(len(junk))); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("VerifyAppx(junk) = %v, want ErrFormat", err)
	}
	signed := readFile(t, filepath.Join(msixFixtures, "acme-signed.msix"))
	// Truncating the file cuts the end records: the directory cannot be found.
	if _, err := v.VerifyAppx(bytes.NewReader(signed[:len(signed)-10]), int64(len(signed)-10)); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("VerifyAppx(truncated) = %v, want ErrFormat", err)
	}
	tests := []struct {
		name  string
		blob  []byte
		error string
	}{
		{"no magic", []byte("XXXX0\x03\x02\x01\x00"), "PKCX"},
		{"cut", []byte("PKCX0\x82\x10\x00\x01"), "PKCS#7"},
		{"garbage", []byte("PKCX0\x03\x02\x01\x00"), "PKCS#7"},
	}
	b := buildAppx(t, []byte("PKCX0\x03\x02\x01\x00"), bytes.Repeat([]byte{0xcc}, 100)...)
	got, err := v.VerifyAppx(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var gaps []inventory.Anomaly
	for _, a := range got.Anomalies {
		if a.Kind == inventory.AnomalyUnhashedGap {
			gaps = append(gaps, a)
		}
	}
	want := []inventory.Anomaly{{Kind: inventory.AnomalyUnhashedGap, Offset: 0, Length: 100}}
	if d := cmp.Diff(want, gaps, cmpopts.IgnoreFields(inventory.Anomaly{}, "Detail")); d != "" {
		t.Errorf("Anomalies of a package with 100 bytes before its first record (-want +got)\n%s", d)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := buildAppx(t, tt.blob)
			got, err := v.VerifyAppx(bytes.NewReader(b), int64(len(b)))
			if err != nil || got.State != inventory.SigInvalid || !strings.Contains(got.IntegrityError, tt.error) {
				t.Errorf("VerifyAppx = %+v, %v, want invalid mentioning %q", got, err, tt.error)
			}
		})
	}
}

// buildAppx writes a minimal package whose AppxSignature.p7x is sig, after prefix.
func buildAppx(t testing.TB, sig []byte, prefix ...byte) []byte {
	t.Helper()
	var b bytes.Buffer
	b.Write(prefix)
	w := zip.NewWriter(&b)
	w.SetOffset(int64(len(prefix)))
	for _, e := range []struct {
		name string
		data []byte
	}{
		{"AppxManifest.xml", []byte(`<Package><Identity Name="A" Publisher="CN=A" Version="1.0.0.0"/></Package>`)},
		{"AppxBlockMap.xml", []byte(`<BlockMap HashMethod="http://www.w3.org/2001/04/xmlenc#sha256"/>`)},
		{"[Content_Types].xml", []byte(`<Types/>`)},
		{"AppxSignature.p7x", sig},
	} {
		f, err := w.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(e.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func FuzzVerifyAppx(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(msixFixtures, "*.msix*"))
	for _, p := range files {
		f.Add(readFile(f, p))
	}
	v := acmeVerifier(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := v.VerifyAppx(bytes.NewReader(b), int64(len(b)))
		if err == nil && s == nil {
			t.Fatal("VerifyAppx returned neither a signature nor an error")
		}
	})
}
