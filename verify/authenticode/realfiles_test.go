package authenticode

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rollgate/rollgate/inventory"
)

// Real signed files other projects publish (Debian's signed EFI binaries and kernels,
// Microsoft binaries from npm), cached outside the repository. ROLLGATE_REALFILES names the
// cache (default $HOME/.cache/rollgate/realfiles); every PE below it is checked, and every
// *.pem below it is a trusted root (the Debian Secure Boot CA, say). The reference verdicts
// come from osslsigncode (digest) and sbverify (digest and chain), run here when installed.

const maxRealFileBytes = 256 << 20

func realFilesDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ROLLGATE_REALFILES")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "rollgate", "realfiles")
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real-file cache %s missing under CI: %v", dir, err)
		}
		t.Skipf("real-file cache %s missing (set ROLLGATE_REALFILES)", dir)
	}
	return dir
}

type realFile struct {
	path string
	data []byte
}

var peName = regexp.MustCompile(`(?i)(\.efi(\.signed)?|\.exe|\.dll|\.sys|\.node|^vmlinuz.*)$`)

// realFiles returns the PE files and the PEM roots under dir.
func realFiles(t *testing.T, dir string) (files []realFile, roots []*x509.Certificate, pems []string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if strings.HasSuffix(p, ".pem") {
			if c, err := LoadPEM(p); err == nil {
				roots = append(roots, c...)
				pems = append(pems, p)
			}
			return nil
		}
		if !peName.MatchString(d.Name()) {
			return nil
		}
		if info, err := d.Info(); err != nil || info.Size() > maxRealFileBytes {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil || len(b) < 2 || b[0] != 'M' || b[1] != 'Z' {
			return nil
		}
		files = append(files, realFile{p, b})
		return nil
	})
	if len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no PE file under %s", dir)
		}
		t.Skipf("no PE file under %s", dir)
	}
	return files, roots, pems
}

// osslDigest runs osslsigncode and reports whether it computed the file digest and found it
// equal to the signed one; ok is false when it printed no digest comparison.
func osslDigest(t *testing.T, path string) (match, ok bool) {
	out, _ := exec.Command("osslsigncode", "verify", "-in", path).CombinedOutput()
	cur := regexp.MustCompile(`Current message digest\s*:\s*([0-9A-F]+)`).FindSubmatch(out)
	calc := regexp.MustCompile(`Calculated message digest\s*:\s*([0-9A-F]+)`).FindSubmatch(out)
	if cur == nil || calc == nil {
		return false, false
	}
	return bytes.Equal(cur[1], calc[1]), true
}

// osslTrusted runs osslsigncode against each PEM as the only CA and TSA roots, without
// fetching CRLs (offline, it fails every chain that names a CRL distribution point);
// trusted reports whether any run succeeded.
func osslTrusted(path string, pems []string) bool {
	for _, p := range pems {
		out, _ := exec.Command("osslsigncode", "verify", "-ignore-crl", "-CAfile", p, "-TSA-CAfile", p, "-in", path).CombinedOutput()
		if bytes.Contains(out, []byte("\nSucceeded")) {
			return true
		}
	}
	return false
}

// sbverifyOK runs sbverify --cert for each PEM; ok reports whether any accepts the file.
func sbverifyOK(path string, pems []string) bool {
	for _, p := range pems {
		if exec.Command("sbverify", "--cert", p, path).Run() == nil {
			return true
		}
	}
	return false
}

func realVerifier(t *testing.T, roots []*x509.Certificate) *Verifier {
	v, err := NewVerifier(Options{Roots: x509.NewCertPool(), ExtraRoots: roots})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRealFiles: every cached PE verifies with the reference tools' verdict: the digest as
// osslsigncode computes it, and trust as sbverify decides it against the cached roots.
func TestRealFiles(t *testing.T) {
	files, roots, pems := realFiles(t, realFilesDir(t))
	v := realVerifier(t, roots)
	_, errOssl := exec.LookPath("osslsigncode")
	_, errSb := exec.LookPath("sbverify")
	for _, f := range files {
		name := strings.TrimPrefix(f.path, filepath.Dir(filepath.Dir(f.path))+"/")
		got, err := v.VerifyPE(bytes.NewReader(f.data), int64(len(f.data)))
		if err != nil {
			t.Errorf("VerifyPE(%s) = %v", name, err)
			continue
		}
		if got.State == inventory.SigUnsigned {
			continue
		}
		if len(got.Anomalies) != 0 {
			t.Errorf("VerifyPE(%s) anomalies %+v on a genuine file", name, got.Anomalies)
		}
		if errOssl == nil {
			if match, ok := osslDigest(t, f.path); ok && match != (got.State == inventory.SigSigned) {
				t.Errorf("VerifyPE(%s) = %s (%s), osslsigncode digest match %v", name, got.State, got.IntegrityError, match)
			}
		}
		if errOssl == nil && !multiSigned(got) && got.Trusted != osslTrusted(f.path, pems) {
			t.Errorf("VerifyPE(%s) trusted %v (%s), osslsigncode says %v", name, got.Trusted, got.TrustError, !got.Trusted)
		}
		if errSb == nil && issuedByRoot(got, roots) && got.Trusted != sbverifyOK(f.path, pems) && !multiSigned(got) {
			t.Errorf("VerifyPE(%s) trusted %v (%s), sbverify says %v", name, got.Trusted, got.TrustError, !got.Trusted)
		}
		if got.State != inventory.SigSigned {
			t.Errorf("VerifyPE(%s) = %s: %s", name, got.State, got.IntegrityError)
		}
		for _, n := range got.Nested {
			if n.State != inventory.SigSigned {
				t.Errorf("VerifyPE(%s) %s = %s: %s", name, n.Source, n.State, n.IntegrityError)
			}
		}
	}
}

// sbverify checks only the first of several signatures and osslsigncode 2.x rejects a
// table of several entries ("Corrupted attribute certificate table"); neither trust verdict
// is an oracle for such files (shim).
func multiSigned(s *inventory.Signature) bool { return len(s.Nested) > 0 }

// issuedByRoot reports whether the signer was issued by one of roots. sbverify's chain
// verdict is an oracle only then: its verify callback accepts a chain whose top bundled
// certificate's issuer is missing (it says OK for Microsoft's vsce-sign.exe with any --cert).
func issuedByRoot(s *inventory.Signature, roots []*x509.Certificate) bool {
	return slices.ContainsFunc(roots, func(c *x509.Certificate) bool { return c.Subject.String() == s.Issuer })
}

// tamper describes one change to a real file and what must follow.
type tamper struct {
	name  string
	apply func(b []byte, h *peHeader, s *inventory.Signature) []byte // nil result: not applicable
	want  func(s *inventory.Signature) bool
}

func invalidDigest(s *inventory.Signature) bool {
	return s.State == inventory.SigInvalid && strings.Contains(s.IntegrityError, errMismatch.Error())
}

func hasAnomaly(kind string) func(*inventory.Signature) bool {
	return func(s *inventory.Signature) bool {
		return slices.ContainsFunc(s.Anomalies, func(a inventory.Anomaly) bool { return a.Kind == kind })
	}
}

// failsGate: the change makes sig.invalid or sig.padding fire.
func failsGate(s *inventory.Signature) bool {
	return s.State == inventory.SigInvalid || len(s.Anomalies) > 0
}

var tampers = []tamper{
	{"one image byte flipped", func(b []byte, h *peHeader, _ *inventory.Signature) []byte {
		b[h.certStart/2] ^= 0x01
		return b
	}, invalidDigest},
	{"last byte before the table flipped", func(b []byte, h *peHeader, _ *inventory.Signature) []byte {
		b[h.certStart-1] ^= 0x80
		return b
	}, invalidDigest},
	{"bytes after the table", func(b []byte, _ *peHeader, _ *inventory.Signature) []byte {
		return append(b, "C2=198.51.100.7;"...)
	}, hasAnomaly(inventory.AnomalyDataAfterTable)},
	{"payload inside the last table entry", growLastEntry, hasAnomaly(inventory.AnomalyPaddingAfterPKCS7)},
	{"signer's signature overwritten", func(b []byte, h *peHeader, _ *inventory.Signature) []byte {
		entries, _, err := walkCertTable(bytes.NewReader(b), int64(len(b)), h)
		if err != nil || len(entries) == 0 {
			return nil
		}
		e := entries[0]
		end := e.derOff + e.derLen
		if i := bytes.LastIndex(b[e.derOff:end], []byte{0x04, 0x82, 0x01, 0x00}); i > 0 { // RSA-2048 encryptedDigest
			copy(b[e.derOff+int64(i)+4+100:], bytes.Repeat([]byte{0x41}, 8))
			return b
		}
		return nil
	}, func(s *inventory.Signature) bool { return s.State == inventory.SigInvalid }},
	{"64 bytes overwritten inside the timestamp token's certificate", overwriteTSACert(0), failsGate},
	// The certificate's own signature value: the token still verifies with the unchanged
	// key, so the altered certificate is what must be caught.
	{"64 bytes overwritten in the timestamp certificate's signature", overwriteTSACert(-80), hasAnomaly(inventory.AnomalyUnauthenticatedData)},
}

// growLastEntry appends a payload inside the last WIN_CERTIFICATE entry (the CVE-2013-3900
// pattern), keeping dwLength, the table size and the alignment consistent.
func growLastEntry(b []byte, h *peHeader, _ *inventory.Signature) []byte {
	entries, _, err := walkCertTable(bytes.NewReader(b), int64(len(b)), h)
	if err != nil || len(entries) == 0 || h.certStart+h.certSize != int64(len(b)) {
		return nil
	}
	e := entries[len(entries)-1]
	payload := []byte("MZ hidden payload, 3CX style....") // 32 bytes
	le := binary.LittleEndian
	length := int64(le.Uint32(b[e.off:]))
	aligned := (length + 7) &^ 7
	out := slices.Concat(b[:e.off+aligned], payload)
	le.PutUint32(out[e.off:], uint32(aligned+int64(len(payload))))
	le.PutUint32(out[h.certDirOff+4:], uint32(int64(len(out))-h.certStart))
	return out
}

// overwriteTSACert overwrites 64 bytes of the timestamp signer's certificate: in its middle
// (from == 0) or from len+from.
func overwriteTSACert(from int) func(b []byte, h *peHeader, _ *inventory.Signature) []byte {
	return func(b []byte, h *peHeader, _ *inventory.Signature) []byte { return overwriteTSA(b, h, from) }
}

func overwriteTSA(b []byte, h *peHeader, from int) []byte {
	entries, _, err := walkCertTable(bytes.NewReader(b), int64(len(b)), h)
	if err != nil || len(entries) == 0 {
		return nil
	}
	e := entries[0]
	s := parseSignature(b[e.derOff:e.derOff+e.derLen], indirectPE)
	if s.err != nil || s.ts == nil {
		return nil
	}
	raw := s.ts.Certificate.Raw
	i := bytes.Index(b[e.derOff:e.derOff+e.derLen], raw)
	if i < 0 {
		return nil
	}
	at := e.derOff + int64(i) + int64(len(raw))/2 - 32
	if from < 0 {
		at = e.derOff + int64(i) + int64(len(raw)+from)
	}
	copy(b[at:], bytes.Repeat([]byte{0xAA}, 64))
	return b
}

// TestRealFileTamperings: each change to each cached signed file fails the gate.
func TestRealFileTamperings(t *testing.T) {
	files, roots, _ := realFiles(t, realFilesDir(t))
	v := realVerifier(t, roots)
	applied := map[string]int{}
	for _, f := range files {
		h, err := readPEHeader(bytes.NewReader(f.data), int64(len(f.data)))
		if err != nil || !h.hasCertDir || h.certSize == 0 {
			continue
		}
		for _, tc := range tampers {
			b := tc.apply(slices.Clone(f.data), h, nil)
			if b == nil {
				continue
			}
			applied[tc.name]++
			got, err := v.VerifyPE(bytes.NewReader(b), int64(len(b)))
			if err != nil && !errors.Is(err, errDisk) {
				t.Errorf("%s, %s: VerifyPE = %v", filepath.Base(f.path), tc.name, err)
				continue
			}
			if testing.Verbose() {
				t.Logf("%s, %s: state %s integrity %.120q anomalies %d", filepath.Base(f.path), tc.name, got.State, got.IntegrityError, len(got.Anomalies))
			}
			if !tc.want(got) {
				t.Errorf("%s, %s: passed: state %s integrity %q anomalies %+v", filepath.Base(f.path), tc.name, got.State, got.IntegrityError, got.Anomalies)
			}
		}
	}
	for _, tc := range tampers {
		if applied[tc.name] == 0 {
			t.Errorf("tampering %q applied to no cached file", tc.name)
		}
	}
}
