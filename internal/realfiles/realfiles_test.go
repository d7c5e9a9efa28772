package realfiles

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/pe"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/analyze"
	"github.com/rollgate/rollgate/gate"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/rules"
	"github.com/rollgate/rollgate/verify/authenticode"
)

// manifest mirrors testdata/realfiles/manifest.json.
type manifest struct {
	ExtraRoots map[string]string `json:"extra_roots"`
	Files      []struct {
		Path      string         `json:"path"`
		SHA256    string         `json:"sha256"`
		Source    string         `json:"source"`
		Vendor    string         `json:"vendor"`
		Class     string         `json:"class"`
		ExtraRoot string         `json:"extra_root"`
		Reference map[string]any `json:"reference"`
		Want      verdict        `json:"want"`
	} `json:"files"`
	Pairs []struct {
		Product string `json:"product"`
		Old     string `json:"old"`
		New     string `json:"new"`
	} `json:"pairs"`
}

// verdict is what the reference tools decide and rollgate must match.
type verdict struct {
	State   inventory.SigState `json:"state"`
	Signer  string             `json:"signer"`
	Trusted bool               `json:"trusted"`
	Version string             `json:"version"`
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// cacheDir returns the corpus folder (files/ of the fetch-realfiles cache), skipping the test
// when it is absent, failing under CI=true.
func cacheDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ROLLGATE_REALFILES")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "rollgate", "realfiles")
	}
	dir = filepath.Join(dir, "files")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real-file corpus missing at %s (CI=true); run scripts/fetch-realfiles: %v", dir, err)
		}
		t.Skipf("real-file corpus not found at %s; run scripts/fetch-realfiles", dir)
	}
	return dir
}

func loadManifest(t *testing.T) *manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "testdata", "realfiles", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Files) < 20 {
		t.Fatalf("manifest lists %d files, want at least 20", len(m.Files))
	}
	return &m
}

// analyzers builds one analyzer per trust configuration, the way cmd/rollgate's verifiers.go
// does: the built-in roots, plus the manifest's extra root as --trust-roots would add it.
type analyzers struct {
	t     *testing.T
	dir   string
	m     *manifest
	cache map[string]*analyze.Analyzer
}

func (a *analyzers) get(extra string) *analyze.Analyzer {
	a.t.Helper()
	if an, ok := a.cache[extra]; ok {
		return an
	}
	var t gate.Trust
	if extra != "" {
		rel, ok := a.m.ExtraRoots[extra]
		if !ok {
			a.t.Fatalf("manifest: unknown extra root %q", extra)
		}
		certs, err := authenticode.LoadPEM(filepath.Join(a.dir, filepath.FromSlash(rel)))
		if err != nil {
			a.t.Fatal(err)
		}
		t.ExtraRoots = certs
	}
	// The analyzer every command uses.
	an, err := gate.NewAnalyzer(t)
	if err != nil {
		a.t.Fatal(err)
	}
	a.cache[extra] = an
	return an
}

// inspect analyzes one file and returns its inventory and its own entry.
func inspect(t *testing.T, an *analyze.Analyzer, p string) (*inventory.Inventory, *inventory.Entry) {
	t.Helper()
	inv, err := an.Installer(context.Background(), p)
	if err != nil {
		t.Fatalf("Installer(%s) = %v", p, err)
	}
	for i := range inv.Entries {
		if inv.Entries[i].Path == inventory.InstallerPath {
			return inv, &inv.Entries[i]
		}
	}
	t.Fatalf("Installer(%s): no %s entry", p, inventory.InstallerPath)
	return nil, nil
}

func failing(fs []rules.Finding) []rules.Finding {
	var out []rules.Finding
	for _, f := range fs {
		if f.Severity >= rules.High {
			out = append(out, f)
		}
	}
	return out
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestVerdicts holds rollgate's signature state, signer, trust and version on every real file
// against the reference tools' verdicts.
func TestVerdicts(t *testing.T) {
	dir := cacheDir(t)
	m := loadManifest(t)
	an := &analyzers{t: t, dir: dir, m: m, cache: map[string]*analyze.Analyzer{}}
	for _, f := range m.Files {
		t.Run(f.Path, func(t *testing.T) {
			p := filepath.Join(dir, filepath.FromSlash(f.Path))
			if got := sha256File(t, p); got != f.SHA256 {
				t.Fatalf("%s has SHA-256 %s, manifest pins %s; rerun scripts/fetch-realfiles", f.Path, got, f.SHA256)
			}
			inv, e := inspect(t, an.get(f.ExtraRoot), p)
			// A genuine file the reference tools accept must not fail the gate on its own
			// (the rules that need no baseline, as `rollgate inspect` runs them).
			if f.Want.State != inventory.SigInvalid {
				for _, bad := range failing(rules.Static(nil, inv)) {
					t.Errorf("%s: genuine file fails the gate: %s %s: %s", f.Path, bad.Severity, bad.Rule, bad.Message)
				}
			}
			got := verdict{State: inventory.SigUnsigned, Version: e.Version}
			if s := e.Signature; s != nil {
				got.State, got.Signer, got.Trusted = s.State, s.Signer, s.Trusted
			}
			if d := cmp.Diff(f.Want, got); d != "" {
				var why string
				if s := e.Signature; s != nil {
					why = "integrity: " + s.IntegrityError + "; trust: " + s.TrustError
				}
				t.Errorf("%s (%s): verdict differs from the reference tools (-want +got)\n%s%s; entry error: %s", f.Path, f.Vendor, d, why, e.Error)
			}
		})
	}
}

// TestPairs runs the static rules on every genuine consecutive-release pair: none may fail the
// gate (no finding at or above high).
func TestPairs(t *testing.T) {
	dir := cacheDir(t)
	m := loadManifest(t)
	an := &analyzers{t: t, dir: dir, m: m, cache: map[string]*analyze.Analyzer{}}
	extra := map[string]string{}
	for _, f := range m.Files {
		extra[f.Path] = f.ExtraRoot
	}
	for _, pr := range m.Pairs {
		t.Run(pr.Product, func(t *testing.T) {
			base, _ := inspect(t, an.get(extra[pr.Old]), filepath.Join(dir, filepath.FromSlash(pr.Old)))
			cand, _ := inspect(t, an.get(extra[pr.New]), filepath.Join(dir, filepath.FromSlash(pr.New)))
			if bad := failing(rules.Static(base, cand)); len(bad) != 0 {
				t.Errorf("%s: %s -> %s fails the gate:", pr.Product, pr.Old, pr.New)
				for _, f := range bad {
					t.Errorf("  %s %s %s: %s", f.Severity, f.Rule, f.Path, f.Message)
				}
			}
		})
	}
}

// tamper is one way of changing a signed file that must fail the gate.
type tamper struct {
	name string
	// apply changes b (the whole file) and returns the result, or nil when the file offers
	// nothing to tamper this way (no timestamp token, say).
	apply func(b []byte, tableOff, tableLen int64) []byte
}

// Object identifiers of timestamp tokens in Authenticode's unauthenticated attributes.
var (
	oidRFC3161Timestamp = []byte{0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x03, 0x03, 0x01} // 1.3.6.1.4.1.311.3.3.1
	oidCounterSignature = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x06}       // 1.2.840.113549.1.9.6
)

var tampers = []tamper{
	{"bytes inside the certificate table", func(b []byte, off, n int64) []byte {
		// Grow the last WIN_CERTIFICATE and the table by 512 bytes of junk after the PKCS#7
		// blob (the 3CX / CVE-2013-3900 pattern); only when the table ends the file.
		if off+n != int64(len(b)) {
			return nil
		}
		out := append(bytes.Clone(b), bytes.Repeat([]byte{0xCC}, 512)...)
		dir, _ := dirOffset(b)
		binary.LittleEndian.PutUint32(out[dir+4:], uint32(n+512))
		// The only (or last) entry: walk the entries to find it.
		pos := off
		for pos < off+n {
			l := int64(binary.LittleEndian.Uint32(out[pos:]))
			next := pos + (l+7)&^7
			if next >= off+n {
				binary.LittleEndian.PutUint32(out[pos:], uint32(l+512))
				break
			}
			pos = next
		}
		return out
	}},
	{"bytes after the certificate table", func(b []byte, off, n int64) []byte {
		return append(bytes.Clone(b), bytes.Repeat([]byte("rollgate"), 64)...)
	}},
	{"one flipped byte in the image", func(b []byte, off, n int64) []byte {
		f, err := pe.NewFile(bytes.NewReader(b))
		if err != nil || len(f.Sections) == 0 {
			return nil
		}
		s := f.Sections[0]
		at := int64(s.Offset) + int64(s.Size)/2
		if s.Size == 0 || at >= off {
			return nil
		}
		out := bytes.Clone(b)
		out[at] ^= 0x01
		return out
	}},
	{"64 bytes overwritten in the timestamp token", func(b []byte, off, n int64) []byte {
		table := b[off : off+n]
		i := bytes.Index(table, oidRFC3161Timestamp)
		if i < 0 {
			i = bytes.Index(table, oidCounterSignature)
		}
		if i < 0 {
			return nil
		}
		// The first certificate after the attribute type: a SEQUENCE holding a SEQUENCE
		// (Certificate, TBSCertificate), both with two-byte lengths.
		j := bytes.Index(table[i:], []byte{0x30, 0x82})
		for j >= 0 && i+j+8 < len(table) && !(table[i+j+4] == 0x30 && table[i+j+5] == 0x82) {
			k := bytes.Index(table[i+j+1:], []byte{0x30, 0x82})
			if k < 0 {
				j = -1
				break
			}
			j += 1 + k
		}
		if j < 0 || i+j+100+64 > len(table) {
			return nil
		}
		out := bytes.Clone(b)
		at := off + int64(i+j) + 100
		copy(out[at:at+64], bytes.Repeat([]byte{0x41}, 64))
		return out
	}},
}

// dirOffset returns the file offset of the certificate table's data directory entry.
func dirOffset(b []byte) (int64, bool) {
	if len(b) < 0x40 || b[0] != 'M' || b[1] != 'Z' {
		return 0, false
	}
	pe := int64(binary.LittleEndian.Uint32(b[0x3c:]))
	if pe+26 > int64(len(b)) || string(b[pe:pe+4]) != "PE\x00\x00" {
		return 0, false
	}
	opt := pe + 24
	switch binary.LittleEndian.Uint16(b[opt:]) {
	case 0x10b:
		return opt + 128, opt+136 <= int64(len(b))
	case 0x20b:
		return opt + 144, opt+152 <= int64(len(b))
	}
	return 0, false
}

// TestTampered changes every signed file in each tamper's way and requires a failing finding
// from the rules that need no baseline.
func TestTampered(t *testing.T) {
	dir := cacheDir(t)
	m := loadManifest(t)
	an := &analyzers{t: t, dir: dir, m: m, cache: map[string]*analyze.Analyzer{}}
	tmp := t.TempDir()
	for _, f := range m.Files {
		if f.Want.State != inventory.SigSigned {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		d, ok := dirOffset(b)
		if !ok {
			t.Errorf("%s: no PE certificate table directory", f.Path)
			continue
		}
		off := int64(binary.LittleEndian.Uint32(b[d:]))
		n := int64(binary.LittleEndian.Uint32(b[d+4:]))
		if off <= 0 || n <= 0 || off+n > int64(len(b)) {
			t.Errorf("%s: certificate table [%d, +%d) outside the file", f.Path, off, n)
			continue
		}
		for _, tm := range tampers {
			t.Run(f.Path+"/"+tm.name, func(t *testing.T) {
				out := tm.apply(b, off, n)
				if out == nil {
					t.Skipf("%s: nothing to tamper %s", f.Path, tm.name)
				}
				p := filepath.Join(tmp, "tampered.bin")
				if err := os.WriteFile(p, out, 0o600); err != nil {
					t.Fatal(err)
				}
				inv, e := inspect(t, an.get(f.ExtraRoot), p)
				if bad := failing(rules.Static(nil, inv)); len(bad) == 0 {
					var sig inventory.Signature
					if e.Signature != nil {
						sig = *e.Signature
					}
					t.Errorf("%s with %s: no finding at or above high; signature state %q, integrity %q, trust %q, anomalies %v",
						f.Path, tm.name, sig.State, sig.IntegrityError, sig.TrustError, sig.Anomalies)
				}
			})
		}
	}
}
