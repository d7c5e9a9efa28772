package apple

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/rules"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/pkg"
)

// fixtureDir is testdata/fixtures/mac at the repository root.
func fixtureDir(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "fixtures", "mac")
}

// testVerifier trusts only the fixtures' private test CA.
func testVerifier(t testing.TB) *Verifier {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "testdata", "gen", "mac", "keys", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	ca, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	v, err := NewVerifier(Options{Roots: pool, Now: func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func machOFile(t testing.TB, p string) (*inventory.Entry, error) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	e := &inventory.Entry{Path: filepath.Base(p), Kind: inventory.KindMachO}
	return e, MachOFacts(e, f, st.Size())
}

func TestMachOSamples(t *testing.T) {
	tests := []struct {
		sample       string
		state        inventory.SigState
		slices       []string
		entitlements []string
		rpaths       []string
		weak         bool
		identifier   string
	}{
		{"macho/relic-fatfile-dummy", inventory.SigAdhoc, []string{"x86_64", "arm64"},
			[]string{"com.apple.security.app-sandbox", "com.apple.security.files.user-selected.read-only"}, []string{"@executable_path/../Frameworks"}, true, "com.sas.dummy"},
		{"macho/relic-slimfile-dummyapp", inventory.SigUnsigned, []string{"arm64"}, nil, []string{"@executable_path/Frameworks"}, true, ""},
	}
	for _, tt := range tests {
		e, err := machOFile(t, testutil.Sample(t, tt.sample))
		if err != nil {
			t.Fatalf("MachOFacts(%q) = %v, want nil", tt.sample, err)
		}
		if e.Signature == nil || e.Signature.State != tt.state {
			t.Errorf("MachOFacts(%q).Signature = %+v, want state %s", tt.sample, e.Signature, tt.state)
		}
		if !slices.Equal(e.MachO.Slices, tt.slices) {
			t.Errorf("MachOFacts(%q).Slices = %v, want %v", tt.sample, e.MachO.Slices, tt.slices)
		}
		if !slices.Equal(e.MachO.Entitlements, tt.entitlements) {
			t.Errorf("MachOFacts(%q).Entitlements = %v, want %v", tt.sample, e.MachO.Entitlements, tt.entitlements)
		}
		if !slices.Equal(e.MachO.RPaths, tt.rpaths) {
			t.Errorf("MachOFacts(%q).RPaths = %v, want %v", tt.sample, e.MachO.RPaths, tt.rpaths)
		}
		if e.MachO.Identifier != tt.identifier {
			t.Errorf("MachOFacts(%q).Identifier = %q, want %q", tt.sample, e.MachO.Identifier, tt.identifier)
		}
		if (len(e.MachO.WeakDylibs) > 0) != tt.weak {
			t.Errorf("MachOFacts(%q).WeakDylibs = %v, want some: %v", tt.sample, e.MachO.WeakDylibs, tt.weak)
		}
		if !slices.Contains(e.Imports, "/usr/lib/libSystem.B.dylib") {
			t.Errorf("MachOFacts(%q).Imports = %v, want libSystem", tt.sample, e.Imports)
		}
	}
}

// build inventories a fixture package the way analyze does: every file hashed, Mach-O facts
// for Mach-O files, Info.plist and CodeResources captured, then Bundles.
func build(t testing.TB, v *Verifier, name string) *inventory.Inventory {
	t.Helper()
	p := filepath.Join(fixtureDir(t), name)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pr, err := pkg.NewReader(f, st.Size())
	if err != nil {
		t.Fatalf("pkg.NewReader(%q) = %v", name, err)
	}
	inv := &inventory.Inventory{Schema: inventory.Schema, Format: "pkg", Product: inventory.Product{Identity: pr.Identity()}}
	self := inventory.Entry{Path: inventory.InstallerPath, Kind: inventory.KindArchive, Size: st.Size()}
	sig, err := v.VerifyXar(f, st.Size())
	if err != nil {
		t.Fatalf("VerifyXar(%q) = %v", name, err)
	}
	self.Signature = sig
	inv.Entries = append(inv.Entries, self)
	plists := map[string][]byte{}
	err = pr.Walk(func(path string, size int64, r io.Reader) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		e := inventory.Entry{Path: path, Size: size, SHA256: hex.EncodeToString(sum[:]), Kind: inventory.KindData}
		if len(data) >= 4 && binary.LittleEndian.Uint32(data) == 0xfeedfacf {
			e.Kind = inventory.KindMachO
			if err := v.MachOFacts(&e, bytes.NewReader(data), int64(len(data))); err != nil {
				t.Errorf("MachOFacts(%q) = %v", path, err)
			}
		}
		if base := filepath.Base(path); base == "Info.plist" || base == "CodeResources" {
			plists[path] = data
		}
		inv.Entries = append(inv.Entries, e)
		return nil
	})
	if err != nil {
		t.Fatalf("Walk(%q) = %v", name, err)
	}
	inv.Sort()
	if err := Bundles(inv, plists); err != nil {
		t.Fatalf("Bundles(%q) = %v", name, err)
	}
	return inv
}

const (
	mainPath  = "Applications/Acme.app/Contents/MacOS/Acme"
	dylibPath = "Applications/Acme.app/Contents/Frameworks/libffmpeg.dylib"
)

func TestFixtureFacts(t *testing.T) {
	v := testVerifier(t)
	tests := []struct {
		name         string
		version      string
		dylibVersion string
		mainState    inventory.SigState
		entitlements []string
		sealBroken   []string
	}{
		{"acme-mac-1.0.pkg", "1.0", "58.134.100", inventory.SigSigned, []string{"com.apple.security.network.client"}, nil},
		{"acme-mac-1.1.pkg", "1.1", "58.135.100", inventory.SigSigned, []string{"com.apple.security.network.client"}, nil},
		{"acme-mac-1.1-dylib.pkg", "1.1", "58.134.100", inventory.SigSigned, []string{"com.apple.security.network.client"}, nil},
		{"acme-mac-1.1-adhoc.pkg", "1.1", "58.135.100", inventory.SigAdhoc, []string{"com.apple.security.network.client"}, nil},
		{"acme-mac-1.1-entitlement.pkg", "1.1", "58.135.100", inventory.SigSigned,
			[]string{"com.apple.security.cs.disable-library-validation", "com.apple.security.network.client"}, nil},
		{"acme-mac-1.1-seal.pkg", "1.1", "58.135.100", inventory.SigSigned, []string{"com.apple.security.network.client"},
			[]string{"Applications/Acme.app/Contents/Resources/app.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := build(t, v, tt.name)
			if inv.Product.Identity != "pkg:com.acme.softphone" {
				t.Errorf("Identity = %q, want pkg:com.acme.softphone", inv.Product.Identity)
			}
			self, _ := inv.Lookup(inventory.InstallerPath)
			if s := self.Signature; s.State != inventory.SigSigned || !s.Trusted || s.TeamID != "ACME123456" {
				t.Errorf("installer signature = %+v, want signed, trusted, team ACME123456", s)
			}
			m, ok := inv.Lookup(mainPath)
			if !ok {
				t.Fatalf("%s missing; entries %v", mainPath, paths(inv))
			}
			if m.Version != tt.version {
				t.Errorf("main Version = %q, want %q", m.Version, tt.version)
			}
			if m.Signature.State != tt.mainState {
				t.Errorf("main Signature = %+v, want %s", m.Signature, tt.mainState)
			}
			if tt.mainState == inventory.SigSigned {
				s := m.Signature
				if !s.Trusted || s.TeamID != "ACME123456" || !strings.Contains(s.Signer, "Developer ID Application") || s.PublicKey == "" || s.Fingerprint == "" {
					t.Errorf("main Signature = %+v, want trusted Developer ID Application, team ACME123456", s)
				}
			}
			if !slices.Equal(m.MachO.Entitlements, tt.entitlements) {
				t.Errorf("main Entitlements = %v, want %v", m.MachO.Entitlements, tt.entitlements)
			}
			if !slices.Equal(m.MachO.SealBroken, tt.sealBroken) {
				t.Errorf("main SealBroken = %v, want %v", m.MachO.SealBroken, tt.sealBroken)
			}
			if !m.MachO.Notarized {
				t.Errorf("main Notarized = false, want true (stapled ticket present)")
			}
			if !slices.Equal(m.Imports, []string{"/usr/lib/libSystem.B.dylib", "@rpath/libffmpeg.dylib"}) || !slices.Equal(m.MachO.RPaths, []string{"@executable_path/../Frameworks"}) {
				t.Errorf("main Imports = %v RPaths = %v", m.Imports, m.MachO.RPaths)
			}
			if !slices.Contains(m.MachO.CodeFlags, "runtime") {
				t.Errorf("main CodeFlags = %v, want runtime", m.MachO.CodeFlags)
			}
			d, _ := inv.Lookup(dylibPath)
			if d.Version != tt.dylibVersion || d.MachO.InstallName != "@rpath/libffmpeg.dylib" || d.Signature.State != inventory.SigSigned {
				t.Errorf("dylib Version = %q InstallName = %q Signature = %+v, want %s, @rpath/libffmpeg.dylib, signed", d.Version, d.MachO.InstallName, d.Signature, tt.dylibVersion)
			}
		})
	}
}

func paths(inv *inventory.Inventory) []string {
	var out []string
	for _, e := range inv.Entries {
		out = append(out, e.Path)
	}
	return out
}

// TestFixtureRules runs the static rules on each candidate against the 1.0 baseline: the
// facts MachOFacts and Bundles produce must make exactly the intended rule fire.
func TestFixtureRules(t *testing.T) {
	v := testVerifier(t)
	base := build(t, v, "acme-mac-1.0.pkg")
	tests := []struct {
		name string
		want []string // rules that must fire at high or above, in report order; none for a pass
		path string
	}{
		{"acme-mac-1.1.pkg", nil, ""},
		{"acme-mac-1.1-dylib.pkg", []string{rules.ContentChangedSameVer}, dylibPath},
		// An ad-hoc re-signature of a Developer ID program: the signature is gone, the
		// product's signing coverage regresses, and the changed binary scores as suspicious
		// (its signer changed, its version did too).
		{"acme-mac-1.1-adhoc.pkg", []string{rules.ContentChangedSuspicious, rules.SigCoverageRegressed, rules.SigRemoved}, mainPath},
		{"acme-mac-1.1-entitlement.pkg", []string{rules.MachoEntitlementAdded}, mainPath},
		{"acme-mac-1.1-seal.pkg", []string{rules.BundleSealBroken}, mainPath},
	}
	for _, tt := range tests {
		cand := build(t, v, tt.name)
		var high []string
		for _, f := range rules.Static(base, cand) {
			if f.Severity >= rules.High {
				high = append(high, f.Rule+" "+f.Path)
			}
		}
		var want []string
		for _, r := range tt.want {
			want = append(want, r+" "+tt.path)
		}
		if !slices.Equal(high, want) {
			t.Errorf("Static(1.0, %s) high findings = %q, want %q", tt.name, high, want)
		}
	}
}

// signedMain returns the signed main executable of the 1.0 fixture.
func signedMain(t testing.TB) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtureDir(t), "acme-mac-1.0.pkg"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pr, err := pkg.NewReader(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	g, err := pr.Open(mainPath)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	b, err := io.ReadAll(g)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMachOTamper(t *testing.T) {
	v := testVerifier(t)
	orig := signedMain(t)
	sigOff, _ := codeSignature(t, orig)
	tests := []struct {
		name   string
		mutate func(b []byte) []byte
		state  inventory.SigState
		err    bool
	}{
		{"intact", func(b []byte) []byte { return b }, inventory.SigSigned, false},
		{"code page changed", func(b []byte) []byte { b[0x4100] ^= 1; return b }, inventory.SigInvalid, false},
		{"signature cut", func(b []byte) []byte { return b[:sigOff+64] }, inventory.SigInvalid, false},
		{"truncated image", func(b []byte) []byte { return b[:100] }, "", true},
		{"empty", func(b []byte) []byte { return nil }, "", true},
	}
	for _, tt := range tests {
		b := tt.mutate(bytes.Clone(orig))
		e := &inventory.Entry{Path: tt.name}
		err := v.MachOFacts(e, bytes.NewReader(b), int64(len(b)))
		if (err != nil) != tt.err {
			t.Errorf("MachOFacts(%s) = %v, want error %v", tt.name, err, tt.err)
			continue
		}
		if err != nil {
			if !errors.Is(err, unpack.ErrFormat) {
				t.Errorf("MachOFacts(%s) = %v, want ErrFormat", tt.name, err)
			}
			continue
		}
		if e.Signature.State != tt.state {
			t.Errorf("MachOFacts(%s).Signature = %+v, want %s", tt.name, e.Signature, tt.state)
		}
		if tt.state == inventory.SigInvalid && e.Signature.IntegrityError == "" {
			t.Errorf("MachOFacts(%s) invalid without IntegrityError", tt.name)
		}
	}
}

// TestCMSTamper flips a byte inside the CMS signature value.
func TestCMSTamper(t *testing.T) {
	v := testVerifier(t)
	b := signedMain(t)
	sigOff, _ := codeSignature(t, b)
	// The RSA signature value is the last 256 bytes of the CMS blob, which ends where the
	// SuperBlob's zero padding starts.
	end := int(sigOff) + int(binary.BigEndian.Uint32(b[sigOff+4:]))
	b[end-10] ^= 0xff
	e := &inventory.Entry{Path: "cms"}
	if err := v.MachOFacts(e, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	if e.Signature.State != inventory.SigInvalid || !strings.Contains(e.Signature.IntegrityError, "CMS") {
		t.Errorf("MachOFacts(CMS flipped).Signature = %+v, want invalid CMS", e.Signature)
	}
}

func TestUntrustedRoot(t *testing.T) {
	v, err := NewVerifier(Options{Roots: x509.NewCertPool()})
	if err != nil {
		t.Fatal(err)
	}
	b := signedMain(t)
	e := &inventory.Entry{Path: "main"}
	if err := v.MachOFacts(e, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	if s := e.Signature; s.State != inventory.SigSigned || s.Trusted || s.TrustError == "" {
		t.Errorf("MachOFacts(no roots).Signature = %+v, want signed, untrusted with TrustError", s)
	}
}

func codeSignature(t testing.TB, b []byte) (int, int) {
	t.Helper()
	ncmds := binary.LittleEndian.Uint32(b[16:])
	off := 32
	for i := uint32(0); i < ncmds; i++ {
		if binary.LittleEndian.Uint32(b[off:]) == lcCodeSignature {
			return int(binary.LittleEndian.Uint32(b[off+8:])), int(binary.LittleEndian.Uint32(b[off+12:]))
		}
		off += int(binary.LittleEndian.Uint32(b[off+4:]))
	}
	t.Fatal("no LC_CODE_SIGNATURE")
	return 0, 0
}

func TestHostileFat(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
	}{
		{"fat with 2^31 slices", []byte{0xca, 0xfe, 0xba, 0xbe, 0x7f, 0xff, 0xff, 0xff}},
		{"fat slice beyond the file", append([]byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 3, 0, 0, 0x10, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, make([]byte, 64)...)},
		{"fat64 with huge offset", append([]byte{0xca, 0xfe, 0xba, 0xbf, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0}, make([]byte, 64)...)},
		{"thin garbage", []byte{0xcf, 0xfa, 0xed, 0xfe, 1, 2, 3}},
	}
	for _, tt := range tests {
		e := &inventory.Entry{Path: tt.name}
		err := MachOFacts(e, bytes.NewReader(tt.b), int64(len(tt.b)))
		if !errors.Is(err, unpack.ErrFormat) {
			t.Errorf("MachOFacts(%s) = %v, want ErrFormat", tt.name, err)
		}
	}
}

func TestVerifyXarUnsigned(t *testing.T) {
	f, err := os.Open(testutil.Sample(t, "pkg/relic-dummy.pkg"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	sig, err := VerifyXar(f, st.Size())
	if err != nil || sig.State != inventory.SigUnsigned {
		t.Errorf("VerifyXar(relic-dummy.pkg) = %+v, %v, want unsigned", sig, err)
	}
}

func TestVerifyXarTampered(t *testing.T) {
	v := testVerifier(t)
	b, err := os.ReadFile(filepath.Join(fixtureDir(t), "acme-mac-1.0.pkg"))
	if err != nil {
		t.Fatal(err)
	}
	// The RSA signature sits at heap offset 20, right after the TOC checksum.
	heap := 28 + int(binary.BigEndian.Uint64(b[8:]))
	b[heap+20+5] ^= 1
	sig, err := v.VerifyXar(bytes.NewReader(b), int64(len(b)))
	if err != nil || sig.State != inventory.SigInvalid || sig.IntegrityError == "" {
		t.Errorf("VerifyXar(signature flipped) = %+v, %v, want invalid", sig, err)
	}
}

func TestBundlesProductIdentity(t *testing.T) {
	inv := &inventory.Inventory{Entries: []inventory.Entry{{Path: "Acme.app/Contents/MacOS/Acme", Kind: inventory.KindMachO}}}
	plists := map[string][]byte{"Acme.app/Contents/Info.plist": []byte(`<?xml version="1.0"?><plist version="1.0"><dict>
<key>CFBundleExecutable</key><string>Acme</string><key>CFBundleIdentifier</key><string>com.acme.softphone</string>
<key>CFBundleVersion</key><string>7</string></dict></plist>`)}
	if err := Bundles(inv, plists); err != nil {
		t.Fatal(err)
	}
	if inv.Product.Identity != "bundle:com.acme.softphone" || inv.Entries[0].Version != "7" {
		t.Errorf("Bundles: identity %q version %q, want bundle:com.acme.softphone, 7", inv.Product.Identity, inv.Entries[0].Version)
	}
}
