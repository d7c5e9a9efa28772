package burn

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
)

type entry struct {
	Path, SHA256 string
	Size         int64
}

func walk(t testing.TB, r *Reader) []entry {
	t.Helper()
	var got []entry
	err := r.Walk(func(p string, size int64, rd io.Reader) error {
		h := sha256.New()
		n, err := io.Copy(h, rd)
		if n != size {
			t.Errorf("Walk: %q yields %d bytes, announced %d", p, n, size)
		}
		got = append(got, entry{p, hex.EncodeToString(h.Sum(nil)), size})
		return err
	})
	if err != nil {
		t.Fatalf("Walk = %v", err)
	}
	return got
}

// fixtureSum is the SHA-256 of a committed Windows fixture, the bytes gen.go put in a bundle.
func fixtureSum(t testing.TB, rel string) string {
	t.Helper()
	return fileSum(t, filepath.Join("..", "..", "testdata", "fixtures", "win", rel))
}

func fileSum(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestFixtures: every payload of the generated bundles appears at its manifest FilePath with
// the bytes gen.go took from testdata/fixtures/win, and what is not carried is listed missing.
func TestFixtures(t *testing.T) {
	ba := entry{"(ux)/mbapreq.dll", fixtureSum(t, "pe/core-1.1.dll"), 19192}
	tests := []struct {
		file    string
		want    map[string]string // path → sha256 (the manifest and BA data checked by size only)
		missing []Missing
	}{
		{file: "acme-bundle-1.0.exe", want: map[string]string{"AcmePhone.msi": fixtureSum(t, "acme-1.0.msi")}},
		{file: "acme-bundle-1.1.exe", want: map[string]string{"AcmePhone.msi": fixtureSum(t, "acme-1.1.msi")}},
		// Signed as WiX signs (the engine's signature recorded as the original signature, the
		// bundle signed again) and the signed engine with the container after its signature:
		// either way the attached container is found after the engine's signature.
		{file: "acme-bundle-1.1-signed.exe", want: map[string]string{"AcmePhone.msi": fixtureSum(t, "acme-1.1.msi")}},
		{file: "acme-bundle-1.1-engine-signed.exe", want: map[string]string{"AcmePhone.msi": fixtureSum(t, "acme-1.1.msi")}},
		{file: "acme-bundle-1.1-runkey.exe", want: map[string]string{"AcmePhone.msi": fixtureSum(t, "msitables/acme-1.1-runkey.msi")}},
		{file: "acme-bundle-1.1-exepackage.exe", want: map[string]string{"AcmePhone.msi": fixtureSum(t, "acme-1.1.msi"),
			"redist/AcmeHelper.exe": fixtureSum(t, "pe/AcmePhone-1.1.exe")}},
		{file: "acme-bundle-1.1-nested.exe", want: map[string]string{"AcmePhone.msi": fixtureSum(t, "acme-1.1.msi"),
			"redist/AcmeRuntime.exe": fileSum(t, filepath.Join("testdata", "acme-bundle-1.1-runkey.exe"))}},
		{file: "acme-bundle-1.1-external.exe", want: map[string]string{"AcmePhone.msi": fixtureSum(t, "acme-1.1.msi")},
			missing: []Missing{{Payload: "AcmeHelper", FilePath: `redist\AcmeHelper.exe`, Packaging: "external"}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := testutil.Open(t, filepath.Join("testdata", tt.file), NewReader)
			got := map[string]string{}
			for _, e := range walk(t, r) {
				switch e.Path {
				case ManifestPath, "(ux)/BootstrapperApplicationData.xml":
				case ba.Path:
					if e != ba {
						t.Errorf("UX payload = %+v, want %+v", e, ba)
					}
				default:
					got[e.Path] = e.SHA256
				}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("payloads (-want +got)\n%s", d)
			}
			if d := cmp.Diff(tt.missing, r.Missing); d != "" {
				t.Errorf("Missing (-want +got)\n%s", d)
			}
			if got, want := r.Manifest.UpgradeCode(), "{5B1C2D4E-7A8F-4C3B-9E1D-0A2B3C4D5E6F}"; got != want {
				t.Errorf("UpgradeCode = %q, want %q", got, want)
			}
			if got, want := r.Section.BundleID, "{0F7E3B6C-2A1D-4B8E-9C5F-3D2E1A0B9C8D}"; got != want {
				t.Errorf("BundleID = %q, want %q", got, want)
			}
		})
	}
}

// TestChain: the package chain as the engine reads it.
func TestChain(t *testing.T) {
	r := testutil.Open(t, filepath.Join("testdata", "acme-bundle-1.1-exepackage.exe"), NewReader)
	type pkg struct{ Kind, ID, Args, Payload string }
	var got []pkg
	for _, p := range r.Manifest.Chain.Packages {
		got = append(got, pkg{p.Kind(), p.ID, p.InstallArguments, r.PayloadPath(p.Payloads[0].ID)})
	}
	want := []pkg{{"MsiPackage", "AcmePhone", "", "AcmePhone.msi"}, {"ExePackage", "AcmeHelper", "/quiet /autostart", "redist/AcmeHelper.exe"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("chain (-want +got)\n%s", d)
	}
	reg := r.Manifest.Registration
	if reg.Arp.DisplayName != "Acme Softphone" || reg.Arp.Publisher != "Acme Softphone Ltd" || reg.Version != "1.1.0.0" {
		t.Errorf("Registration = %+v", reg)
	}
}

// TestLayout: containers are found where the engine finds them, and one cut off the file is
// absent with its payloads missing, not an error.
func TestLayout(t *testing.T) {
	st := stub(t)
	ux := testutil.StoredCab([2]string{"0", manifest(`<Payload Id="p" FilePath="p.msi" Packaging="embedded" SourcePath="a0" Container="WixAttachedContainer"/>`)})
	att := testutil.StoredCab([2]string{"a0", "payload"})
	b := assemble(t, st, ux, att)
	r, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	wantC := []Container{{0, int64(len(st)), int64(len(ux)), true}, {1, int64(len(st) + len(ux)), int64(len(att)), true}}
	if d := cmp.Diff(wantC, r.Section.Containers); d != "" {
		t.Errorf("containers (-want +got)\n%s", d)
	}
	cut := b[:len(b)-len(att)]
	r, err = NewReader(bytes.NewReader(cut), int64(len(cut)))
	if err != nil {
		t.Fatalf("NewReader(attached container cut off) = %v", err)
	}
	if d := cmp.Diff([]Missing{{Payload: "p", FilePath: "p.msi", Packaging: "absent container 1"}}, r.Missing); d != "" {
		t.Errorf("Missing (-want +got)\n%s", d)
	}
}

// TestHostile: malformed, over-limit and unsupported bundles are refused with the right
// sentinel.
func TestHostile(t *testing.T) {
	st := stub(t)
	att := testutil.StoredCab([2]string{"a0", "payload"})
	bundle := func(m string) []byte { return assemble(t, st, testutil.StoredCab([2]string{"0", m}), att) }
	good := bundle(manifest(`<Payload Id="p" FilePath="p.msi" Packaging="embedded" SourcePath="a0" Container="WixAttachedContainer"/>`))
	p, _ := readPE(bytes.NewReader(good), int64(len(good)))
	patch := func(off int64, v uint32) []byte {
		b := append([]byte(nil), good...)
		b[off], b[off+1], b[off+2], b[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		return b
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"not a PE", []byte("not a bundle at all, just text padding it out to 64 bytes........."), unpack.ErrFormat},
		{"PE without .wixburn", func() []byte {
			b := append([]byte(nil), good...)
			copy(b[bytes.Index(b, []byte(".wixburn")):], ".text\x00\x00\x00")
			return b
		}(), unpack.ErrFormat},
		{"bad magic", patch(p.sectionOff, 0x12345678), unpack.ErrFormat},
		{"version 3", patch(p.sectionOff+4, 3), unpack.ErrUnsupported},
		{"format 2", patch(p.sectionOff+40, 2), unpack.ErrUnsupported},
		{"no container", patch(p.sectionOff+44, 0), unpack.ErrFormat},
		{"too many containers", patch(p.sectionOff+44, 1<<20), unpack.ErrLimit},
		{"sizes past the section", patch(p.sectionOff+44, 1000), unpack.ErrFormat},
		{"UX past the end", patch(p.sectionOff+48, 1<<30), unpack.ErrFormat},
		{"stub size past the end", patch(p.sectionOff+24, 1<<30), unpack.ErrFormat},
		{"not XML", bundle("<BurnManifest"), unpack.ErrFormat},
		{"other root", bundle("<Manifest/>"), unpack.ErrFormat},
		{"too many elements", bundle("<BurnManifest>" + strings.Repeat("<a/>", MaxManifestElements) + "</BurnManifest>"), unpack.ErrLimit},
		{"dot-dot path", bundle(manifest(`<Payload Id="p" FilePath="..\..\Windows\x.dll" Packaging="embedded" SourcePath="a0" Container="WixAttachedContainer"/>`)), unpack.ErrInsecurePath},
		{"name Win32 trims away", bundle(manifest(`<Payload Id="p" FilePath="redist\. ." Packaging="embedded" SourcePath="a0" Container="WixAttachedContainer"/>`)), unpack.ErrInsecurePath},
		{"absolute path", bundle(manifest(`<Payload Id="p" FilePath="C:\Windows\x.dll" Packaging="embedded" SourcePath="a0" Container="WixAttachedContainer"/>`)), unpack.ErrInsecurePath},
		{"no such source", bundle(manifest(`<Payload Id="p" FilePath="p.msi" Packaging="embedded" SourcePath="a9" Container="WixAttachedContainer"/>`)), unpack.ErrFormat},
		{"undeclared container", bundle(manifest(`<Payload Id="p" FilePath="p.msi" Packaging="embedded" SourcePath="a0" Container="Other"/>`)), unpack.ErrFormat},
		{"two payloads one source", bundle(manifest(`<Payload Id="p" FilePath="p.msi" Packaging="embedded" SourcePath="a0" Container="WixAttachedContainer"/><Payload Id="q" FilePath="q.msi" Packaging="embedded" SourcePath="a0" Container="WixAttachedContainer"/>`)), unpack.ErrFormat},
		{"UX payload not in the UX container", bundle(manifest(`<UX><Payload Id="u" FilePath="ba.dll" SourcePath="u7"/></UX>`)), unpack.ErrFormat},
		{"no manifest", assemble(t, st, testutil.StoredCab([2]string{"u0", "x"}), att), unpack.ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(tt.data), int64(len(tt.data)))
			if !errors.Is(err, tt.want) {
				t.Errorf("NewReader = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestNames: duplicate FilePaths get "~N", names are spelled as Win32 creates them, files no payload names are exposed under
// (unlisted)/<container>/, and a payload named twice in the manifest is refused.
func TestNames(t *testing.T) {
	st := stub(t)
	m := manifest(`<Payload Id="p" FilePath="dir\x.msi" Packaging="embedded" SourcePath="a0" Container="WixAttachedContainer"/>` +
		`<Payload Id="q" FilePath="dir/x.msi" Packaging="embedded" SourcePath="a1" Container="WixAttachedContainer"/>` +
		`<Payload Id="d" FilePath="d.exe" Packaging="download" DownloadUrl="https://example.invalid/d.exe"/>` +
		`<Payload Id="l" FilePath="l.txt" Packaging="external" LayoutOnly="yes"/>` +
		`<Payload Id="v" FilePath="redist.\version.dll. ." Packaging="embedded" SourcePath="a2" Container="WixAttachedContainer"/>` +
		`<Payload Id="lr" FilePath="lr.msi" Packaging="download" LayoutOnly="yes"/>` +
		`<Payload Id="lc" FilePath="lc.txt" Packaging="external" LayoutOnly="Yes"/>` +
		`<Container Id="C2" FilePath="c2.cab" AttachedIndex="1" Attached="Yes"/>` +
		`<Payload Id="y" FilePath="y.txt" Packaging="embedded" SourcePath="a2" Container="C2"/>` +
		`<Chain><MsiPackage Id="P"><PayloadRef Id="lr"/></MsiPackage></Chain>`)
	b := assemble(t, st, testutil.StoredCab([2]string{"0", m}), testutil.StoredCab([2]string{"a0", "one"}, [2]string{"a1", "two"}, [2]string{"a2", "three"}))
	r, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range walk(t, r) {
		got = append(got, e.Path)
	}
	// Win32 trims "redist." and "version.dll. ." to the names it creates
	want := []string{ManifestPath, "dir/x.msi", "dir/x.msi~2", "redist/version.dll"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("paths (-want +got)\n%s", d)
	}
	wantMissing := []Missing{{Payload: "d", FilePath: "d.exe", Packaging: "download", URL: "https://example.invalid/d.exe"},
		{Payload: "l", FilePath: "l.txt", Packaging: "external", LayoutOnly: true},
		// referenced by a chain package: the engine caches and installs it whatever LayoutOnly says
		{Payload: "lr", FilePath: "lr.msi", Packaging: "download"},
		// only the exact "yes" is true to the engine
		{Payload: "lc", FilePath: "lc.txt", Packaging: "external"},
		// Attached="Yes" is not attached to the engine: it looks for c2.cab beside the bundle
		{Payload: "y", FilePath: "y.txt", Packaging: "detached container c2.cab"}}
	if d := cmp.Diff(wantMissing, r.Missing); d != "" {
		t.Errorf("Missing (-want +got)\n%s", d)
	}
}

// FuzzReader opens, walks and reads the whole fs.FS of arbitrary input: no panic, no error
// other than ErrFormat / ErrUnsupported / ErrLimit / ErrInsecurePath, every path valid.
func FuzzReader(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !refused(err) {
				t.Fatalf("NewReader = %v, want nil or a sentinel", err)
			}
			return
		}
		defer r.Close()
		testutil.WalkRead(t, r, 1<<20)
		if err := r.Walk(func(string, int64, io.Reader) error { return nil }); err != nil && !refused(err) {
			t.Fatalf("Walk = %v, want nil or a sentinel", err)
		}
	})
}

func refused(err error) bool {
	return errors.Is(err, unpack.ErrFormat) || errors.Is(err, unpack.ErrUnsupported) ||
		errors.Is(err, unpack.ErrLimit) || errors.Is(err, unpack.ErrInsecurePath)
}

// fuzzSeeds are small hand-made bundles (the generated fixtures are too large to fuzz fast):
// a UX payload and an attached payload, and an external payload with an absent container.
func fuzzSeeds(t testing.TB) [][]byte {
	st := stub(t)
	return [][]byte{
		assemble(t, st, testutil.StoredCab([2]string{"0", manifest(`<UX><Payload Id="u" FilePath="ba.dll" SourcePath="u0"/></UX><Payload Id="p" FilePath="p.msi" Packaging="embedded" SourcePath="a0" Container="WixAttachedContainer"/>`)}, [2]string{"u0", "ba"}),
			testutil.StoredCab([2]string{"a0", "payload"})),
		assemble(t, st, testutil.StoredCab([2]string{"0", manifest(`<Payload Id="e" FilePath="e.exe" Packaging="external"/><Payload Id="p" FilePath="p.msi" Packaging="embedded" SourcePath="a0" Container="WixAttachedContainer"/>`)}),
			testutil.StoredCab([2]string{"a0", "payload"}))[:0x1000],
	}
}

// TestFuzzCorpus keeps the committed seed corpus under testdata/fuzz in step with fuzzSeeds.
// ROLLGATE_WRITE_FUZZ_CORPUS=1 writes missing files.
func TestFuzzCorpus(t *testing.T) {
	var seeds [][]any
	for _, b := range fuzzSeeds(t) {
		seeds = append(seeds, []any{b})
	}
	testutil.CheckFuzzCorpus(t, "FuzzReader", seeds...)
}

// TestPayloadChecks: a payload whose content does not match the manifest's Hash fails when
// read (walked or opened), as the engine refuses it; one whose size differs from FileSize is
// refused at once.
func TestPayloadChecks(t *testing.T) {
	st := stub(t)
	const wrongHash = "6E2FB4F1E4C1B6D8A4E2B0C6E2BDF5B1E0B1E5A4" // a SHA-1, not that of "payload"
	mk := func(attrs string) []byte {
		return assemble(t, st, testutil.StoredCab([2]string{"0", manifest(`<Payload Id="p" FilePath="p.msi" Packaging="embedded" SourcePath="a0" Container="WixAttachedContainer" ` + attrs + `/>`)}),
			testutil.StoredCab([2]string{"a0", "payload"}))
	}
	// The real SHA-1 of "payload" passes.
	b := mk(`FileSize="7" Hash="` + sha1hexOf("payload") + `"`)
	r, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	walk(t, r)

	b = mk(`FileSize="7" Hash="` + wrongHash + `"`)
	r, err = NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Walk(func(_ string, _ int64, rd io.Reader) error { _, err := io.Copy(io.Discard, rd); return err }); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("Walk(hash mismatch) = %v, want ErrFormat", err)
	}
	if _, err := fs.ReadFile(r, "p.msi"); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("ReadFile(hash mismatch) = %v, want ErrFormat", err)
	}

	b = mk(`FileSize="8"`)
	if _, err := NewReader(bytes.NewReader(b), int64(len(b))); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("NewReader(FileSize mismatch) = %v, want ErrFormat", err)
	}
}

func sha1hexOf(s string) string {
	h := sha1.Sum([]byte(s))
	return strings.ToUpper(hex.EncodeToString(h[:]))
}

// TestWiX5Manifest: a WiX 4/5 manifest (its namespace, RelatedBundle/@Code, SHA-512 payload
// hashes, an ExePackage CommandLine) reads like a WiX 3 one.
func TestWiX5Manifest(t *testing.T) {
	sum := sha512.Sum512([]byte("payload"))
	m := `<?xml version="1.0" encoding="utf-8"?><BurnManifest xmlns="http://wixtoolset.org/schemas/v4/2008/Burn">` +
		`<RelatedBundle Code="{11111111-2222-3333-4444-555555555555}" Action="Upgrade"/>` +
		`<UX PrimaryPayloadId="ba"><Payload Id="ba" FilePath="ba\wixstdba.exe" SourcePath="u0"/></UX>` +
		`<Container Id="WixAttachedContainer" FileSize="1" Hash="00" FilePath="b.exe" AttachedIndex="1" Attached="yes" Primary="yes"/>` +
		`<Payload Id="tool" FilePath="tool.exe" FileSize="7" Hash="` + hex.EncodeToString(sum[:]) + `" Packaging="embedded" SourcePath="a0" Container="WixAttachedContainer"/>` +
		`<Registration Code="{99999999-2222-3333-4444-555555555555}" Version="5.0.1"><Arp DisplayName="Tool" Publisher="Tool Co"/></Registration>` +
		`<Chain><ExePackage Id="tool" InstallArguments="/s" DetectionType="condition"><CommandLine InstallArgument="/x" Condition="X"/><PayloadRef Id="tool"/></ExePackage></Chain></BurnManifest>`
	b := assemble(t, stub(t), testutil.StoredCab([2]string{"0", m}, [2]string{"u0", "ba"}), testutil.StoredCab([2]string{"a0", "payload"}))
	r, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range walk(t, r) {
		paths = append(paths, e.Path)
	}
	if d := cmp.Diff([]string{ManifestPath, "(ux)/ba/wixstdba.exe", "tool.exe"}, paths); d != "" {
		t.Errorf("paths (-want +got)\n%s", d)
	}
	if got := r.Manifest.UpgradeCode(); got != "{11111111-2222-3333-4444-555555555555}" {
		t.Errorf("UpgradeCode = %q", got)
	}
	p := r.Manifest.Chain.Packages[0]
	if p.Kind() != "ExePackage" || p.InstallArguments != "/s" || len(p.CommandLines) != 1 || p.CommandLines[0].InstallArgument != "/x" {
		t.Errorf("package = %+v", p)
	}
	if f := r.Files()[2]; f.Hash != hex.EncodeToString(sum[:]) {
		t.Errorf("tool.exe Hash = %q, want the SHA-512", f.Hash)
	}
}

// TestEngineQuirks: the reader places containers where the engine (section.cpp,
// container.cpp) does: a duplicate <Container Id> is the first one (ContainerFindById), the
// engine size is a 32-bit sum that wraps, and the certificate table is read at data directory
// 4's fixed offset whatever SizeOfOptionalHeader says.
func TestEngineQuirks(t *testing.T) {
	st := stub(t)
	le := binary.LittleEndian
	m := manifest(`<Container Id="WixAttachedContainer" FilePath="other.cab" Attached="no"/>` +
		`<Payload Id="p" FilePath="x.txt" Packaging="embedded" SourcePath="a0" Container="WixAttachedContainer"/>`)
	ux := testutil.StoredCab([2]string{"0", m})
	good := assemble(t, st, ux, testutil.StoredCab([2]string{"a0", "payload"}))
	p, err := readPE(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	engineEnd := uint32(len(st) + len(ux))

	// The original signature fields sum to more than 32 bits: the engine's sum wraps to the
	// end of the UX container, where the attached container is.
	wrapped := append([]byte(nil), good...)
	le.PutUint32(wrapped[p.sectionOff+32:], 0x80000000)
	le.PutUint32(wrapped[p.sectionOff+36:], engineEnd+0x80000000)

	// SizeOfOptionalHeader of 136 puts the section table where data directory 4 is (144 into
	// a PE32+ optional header): the engine reads the first section header's VirtualSize and
	// VirtualAddress there as the certificate table.
	short := append([]byte(nil), good...)
	nt := int64(le.Uint32(short[0x3c:]))
	opt := nt + 24
	optLen := int64(le.Uint16(short[nt+20:]))
	nsec := int64(le.Uint16(short[nt+6:]))
	if le.Uint16(short[opt:]) != 0x20b || optLen < 152 {
		t.Fatalf("stub optional header magic 0x%x, %d bytes; want PE32+ with data directory 4", le.Uint16(short[opt:]), optLen)
	}
	copy(short[opt+136:], short[opt+optLen:opt+optLen+nsec*40])
	le.PutUint16(short[nt+20:], 136)
	sec0 := short[opt+136 : opt+176]
	shortEngine := int64(le.Uint32(sec0[8:]) + le.Uint32(sec0[12:]))
	if shortEngine == int64(engineEnd) {
		t.Fatal("the test needs a certificate table the engine reads elsewhere than the UX container's end")
	}

	tests := []struct {
		name       string
		data       []byte
		wantEngine int64
		wantFiles  []string
	}{
		{"duplicate container id", good, int64(engineEnd), []string{ManifestPath, "x.txt"}},
		{"engine size wraps", wrapped, int64(engineEnd), []string{ManifestPath, "x.txt"}},
		{"short optional header", short, shortEngine, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ReadSection(bytes.NewReader(tt.data), int64(len(tt.data)))
			if err != nil {
				t.Fatalf("ReadSection = %v", err)
			}
			if s.EngineSize != tt.wantEngine {
				t.Errorf("EngineSize = %d, want %d", s.EngineSize, tt.wantEngine)
			}
			if tt.wantFiles == nil {
				return
			}
			r, err := NewReader(bytes.NewReader(tt.data), int64(len(tt.data)))
			if err != nil {
				t.Fatalf("NewReader = %v", err)
			}
			var got []string
			for _, e := range walk(t, r) {
				got = append(got, e.Path)
			}
			if d := cmp.Diff(tt.wantFiles, got); d != "" {
				t.Errorf("paths (-want +got)\n%s", d)
			}
			if len(r.Missing) != 0 {
				t.Errorf("Missing = %+v, want none", r.Missing)
			}
		})
	}
}
