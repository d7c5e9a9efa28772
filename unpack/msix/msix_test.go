package msix

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
)

var acme = Identity{Name: "Acme.Softphone", Publisher: "CN=Acme Softphone Ltd, O=Acme Softphone Ltd", Version: "5.2.0.0", ProcessorArchitecture: "x64"}

// TestFixtures opens every fixture of testdata/gen.sh and checks identity, footprint,
// payload and the block map verdict.
func TestFixtures(t *testing.T) {
	payload := []string{"bin/app.dll", "bin/app.exe", "data/blob.txt"}
	signedFootprint := []string{"AppxBlockMap.xml", "AppxManifest.xml", "AppxSignature.p7x", "[Content_Types].xml"}
	unsignedFootprint := []string{"AppxBlockMap.xml", "AppxManifest.xml", "[Content_Types].xml"}
	tests := []struct {
		file      string
		id        Identity
		bundle    bool
		footprint []string
		payload   []string
		packages  []string
		blockMap  []BlockMapError // Msg not compared
	}{
		{file: "acme-unsigned.msix", id: acme, footprint: unsignedFootprint, payload: payload},
		{file: "acme-signed.msix", id: acme, footprint: signedFootprint, payload: payload},
		{file: "acme-stripped.msix", id: acme, footprint: unsignedFootprint, payload: payload},
		{file: "acme-payload-flipped.msix", id: acme, footprint: signedFootprint, payload: payload,
			blockMap: []BlockMapError{{File: "bin/app.dll", Block: 0, Offset: 0}}},
		{file: "acme-blockmap-edited.msix", id: acme, footprint: signedFootprint, payload: payload,
			blockMap: []BlockMapError{{File: "bin/app.dll", Block: 0, Offset: 0}}},
		{file: "acme-signed-bad-blockmap.msix", id: acme, footprint: signedFootprint, payload: payload,
			blockMap: []BlockMapError{{File: "data/blob.txt", Block: 0, Offset: 0}}},
		{file: "acme-signed-dd.msix", id: acme, footprint: signedFootprint, payload: payload},
		{file: "acme-signed-ci.msix", id: acme, payload: payload,
			footprint: []string{"AppxBlockMap.xml", "AppxManifest.xml", "AppxMetadata/CodeIntegrity.cat", "AppxSignature.p7x", "[Content_Types].xml"}},
		{file: "acme-bundle.msixbundle", bundle: true,
			id:        Identity{Name: acme.Name, Publisher: acme.Publisher, Version: acme.Version},
			footprint: []string{"AppxBlockMap.xml", "AppxMetadata/AppxBundleManifest.xml", "[Content_Types].xml"},
			payload:   []string{"Acme.Softphone_x64.msix"}, packages: []string{"Acme.Softphone_x64.msix"}},
		{file: "acme-bundle-signed.msixbundle", bundle: true,
			id:        Identity{Name: acme.Name, Publisher: acme.Publisher, Version: acme.Version},
			footprint: []string{"AppxBlockMap.xml", "AppxMetadata/AppxBundleManifest.xml", "AppxSignature.p7x", "[Content_Types].xml"},
			payload:   []string{"Acme.Softphone_x64.msix"}, packages: []string{"Acme.Softphone_x64.msix"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m := testutil.Open(t, filepath.Join("testdata", tt.file), NewReader)
			if d := cmp.Diff(tt.id, m.Identity()); d != "" {
				t.Errorf("Identity (-want +got)\n%s", d)
			}
			if m.IsBundle() != tt.bundle {
				t.Errorf("IsBundle() = %v, want %v", m.IsBundle(), tt.bundle)
			}
			var fp []string
			for _, f := range m.Footprint() {
				fp = append(fp, f.Name)
			}
			if d := cmp.Diff(tt.footprint, fp); d != "" {
				t.Errorf("Footprint (-want +got)\n%s", d)
			}
			var walked []string
			if err := m.Walk(func(p string, size int64, r io.Reader) error {
				n, err := io.Copy(io.Discard, r)
				if err == nil && n != size {
					t.Errorf("Walk %q: %d bytes, size %d", p, n, size)
				}
				walked = append(walked, p)
				return err
			}); err != nil {
				t.Fatalf("Walk = %v", err)
			}
			if d := cmp.Diff(tt.payload, walked); d != "" {
				t.Errorf("Walk paths (-want +got)\n%s", d)
			}
			if d := cmp.Diff(tt.packages, m.Packages()); d != "" {
				t.Errorf("Packages (-want +got)\n%s", d)
			}
			got, err := m.BlockMapErrors()
			if err != nil {
				t.Fatalf("BlockMapErrors() error = %v", err)
			}
			for i := range got {
				got[i].Msg = ""
			}
			if d := cmp.Diff(tt.blockMap, got); d != "" {
				t.Errorf("BlockMapErrors (-want +got)\n%s", d)
			}
			if err := fstest.TestFS(m, tt.payload...); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestBundleInner opens the package inside the bundle.
func TestBundleInner(t *testing.T) {
	m := testutil.Open(t, "testdata/acme-bundle.msixbundle", NewReader)
	inner, err := fs.ReadFile(m, "Acme.Softphone_x64.msix")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewReader(bytes.NewReader(inner), int64(len(inner)))
	if err != nil {
		t.Fatalf("NewReader(inner) = %v", err)
	}
	if d := cmp.Diff(acme, p.Identity()); d != "" {
		t.Errorf("inner Identity (-want +got)\n%s", d)
	}
}

// build writes a ZIP of the given entries (stored) in order.
func build(t testing.TB, entries ...[2]string) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, e := range entries {
		f, err := w.CreateHeader(&zip.FileHeader{Name: e[0], Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(e[1]))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const manifest = `<Package xmlns="x"><Identity Name="A" Publisher="CN=A" Version="1.0.0.0"/></Package>`

func TestHostile(t *testing.T) {
	deep := strings.Repeat("<a>", MaxXMLDepth+1) + strings.Repeat("</a>", MaxXMLDepth+1)
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"not a zip", []byte("MZ this is no package at all, not even close"), unpack.ErrFormat},
		{"no manifest", build(t, [2]string{"a.txt", "x"}), unpack.ErrFormat},
		{"climbing name", build(t, [2]string{NameManifest, manifest}, [2]string{"../evil.dll", "x"}), unpack.ErrInsecurePath},
		{"encoded climbing name", build(t, [2]string{NameManifest, manifest}, [2]string{"%2e%2e/evil.dll", "x"}), unpack.ErrInsecurePath},
		{"duplicate", build(t, [2]string{NameManifest, manifest}, [2]string{"a", "x"}, [2]string{"a", "y"}), unpack.ErrFormat},
		{"case", build(t, [2]string{NameManifest, manifest}, [2]string{"App.dll", "x"}, [2]string{"app.DLL", "y"}), unpack.ErrFormat},
		{"doctype", build(t, [2]string{NameManifest, `<!DOCTYPE Package [<!ENTITY x "y">]>` + manifest}), unpack.ErrFormat},
		{"deep", build(t, [2]string{NameManifest, `<Package>` + deep + `</Package>`}), unpack.ErrFormat},
		{"no identity", build(t, [2]string{NameManifest, `<Package/>`}), unpack.ErrFormat},
		{"wrong root", build(t, [2]string{NameManifest, `<Bundle><Identity Name="A" Publisher="B" Version="1"/></Bundle>`}), unpack.ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(tt.data), int64(len(tt.data)))
			var fe *unpack.FormatError
			if !errors.Is(err, tt.want) || !errors.As(err, &fe) {
				t.Errorf("NewReader = %v, want a FormatError wrapping %v", err, tt.want)
			}
		})
	}
}

// TestBlockMapStructure checks the set comparison and block counts on built packages.
func TestBlockMapStructure(t *testing.T) {
	bm := func(files string) string {
		return `<BlockMap HashMethod="http://www.w3.org/2001/04/xmlenc#sha256">` + files + `</BlockMap>`
	}
	// SHA-256("x") and of the manifest are not needed: size and membership fail first.
	tests := []struct {
		name string
		data []byte
		want []BlockMapError
	}{
		{"no block map", build(t, [2]string{NameManifest, manifest}),
			[]BlockMapError{{Block: -1, Offset: -1}}},
		{"unlisted and missing", build(t, [2]string{NameManifest, manifest}, [2]string{"a.dll", "x"},
			[2]string{NameBlockMap, bm(`<File Name="AppxManifest.xml" Size="1"/><File Name="gone.dll" Size="0"/>`)}),
			[]BlockMapError{
				{File: "AppxManifest.xml", Block: -1, Offset: -1},
				{File: "a.dll", Block: -1, Offset: -1},
				{File: "gone.dll", Block: -1, Offset: -1},
			}},
		{"block count", build(t, [2]string{NameManifest, manifest},
			[2]string{NameBlockMap, bm(`<File Name="AppxManifest.xml" Size="83"/>`)}),
			[]BlockMapError{{File: "AppxManifest.xml", Block: -1, Offset: -1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewReader(bytes.NewReader(tt.data), int64(len(tt.data)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.BlockMapErrors()
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i].Msg = ""
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("BlockMapErrors (-want +got)\n%s", d)
			}
		})
	}
	bad := build(t, [2]string{NameManifest, manifest}, [2]string{NameBlockMap, `<BlockMap HashMethod="md5"/>`})
	m, err := NewReader(bytes.NewReader(bad), int64(len(bad)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.BlockMapErrors(); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("BlockMapErrors() with an unknown hash method = %v, want ErrFormat", err)
	}
}

// TestReadDirectory: malformed end records and central directories are positioned errors.
func TestReadDirectory(t *testing.T) {
	good := build(t, [2]string{NameManifest, manifest}, [2]string{"a.dll", "x"})
	end := bytes.LastIndex(good, []byte("PK\x05\x06"))
	edit := func(off int, b ...byte) []byte {
		c := append([]byte(nil), good...)
		copy(c[off:], b)
		return c
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"short", good[:10], unpack.ErrFormat},
		{"trailing bytes", append(append([]byte(nil), good...), 0), unpack.ErrFormat},
		{"multi-disk", edit(end+4, 1, 0), unpack.ErrUnsupported},
		{"count too high", edit(end+10, 3, 0), unpack.ErrFormat},
		{"count too low", edit(end+10, 1, 0), unpack.ErrFormat},
		{"directory size", edit(end+12, 1, 0, 0, 0), unpack.ErrFormat},
		{"zip64 without locator", edit(end+16, 0xff, 0xff, 0xff, 0xff), unpack.ErrFormat},
		{"count far too high", edit(end+8, 0xfe, 0xff, 0xfe, 0xff), unpack.ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadDirectory(bytes.NewReader(tt.data), int64(len(tt.data)))
			var fe *unpack.FormatError
			if !errors.Is(err, tt.want) || !errors.As(err, &fe) {
				t.Errorf("ReadDirectory = %v, want a FormatError wrapping %v", err, tt.want)
			}
		})
	}
	d, err := ReadDirectory(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range d.Records {
		names = append(names, r.Name)
	}
	if d := cmp.Diff([]string{NameManifest, "a.dll"}, names); d != "" {
		t.Errorf("ReadDirectory records (-want +got)\n%s", d)
	}
}

func FuzzReader(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.msix*")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(build(f, [2]string{NameManifest, manifest}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		m.BlockMapErrors()
		testutil.WalkRead(t, m, 1<<20)
		m.Walk(func(string, int64, io.Reader) error { return nil })
	})
}
