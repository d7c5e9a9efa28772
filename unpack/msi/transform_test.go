package msi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/cfb"
)

// Transform fixtures and Wine's application of them: testdata/transform/gen.sh.
const (
	transformDir = "testdata/transform"
	transformMSI = "../../testdata/fixtures/win/acme-1.1.msi"
)

var transformFixtures = []string{"acme-evil", "acme-evil-longrefs"}

// transformed opens acme-1.1.msi with the named transform fixture applied.
func transformed(t *testing.T, name string) *Package {
	t.Helper()
	p, err := newReader(readFile(t, transformMSI), nil)
	if err != nil {
		t.Fatalf("NewReader = %v", err)
	}
	b := readFile(t, filepath.Join(transformDir, name+".mst"))
	tr, err := OpenTransform(bytes.NewReader(b), int64(len(b)), name+".mst")
	if err != nil {
		t.Fatalf("OpenTransform = %v", err)
	}
	if err := p.ApplyTransform(tr); err != nil {
		t.Fatalf("ApplyTransform = %v", err)
	}
	return p
}

// idt is a table as MsiDatabaseExport writes it: column names, types, rows (sorted).
type idt struct {
	Names, Types []string
	Rows         [][]string
}

func readIDT(t *testing.T, path string) idt {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(readFile(t, path)), "\r\n"), "\r\n")
	if len(lines) < 3 {
		t.Fatalf("%s: %d lines", path, len(lines))
	}
	out := idt{Names: strings.Split(lines[0], "\t"), Types: strings.Split(lines[1], "\t")}
	for _, l := range lines[3:] {
		out.Rows = append(out.Rows, strings.Split(l, "\t"))
	}
	sortRows(out.Rows)
	return out
}

func sortRows(rows [][]string) {
	sort.Slice(rows, func(i, j int) bool { return strings.Join(rows[i], "\t") < strings.Join(rows[j], "\t") })
}

// exportIDT renders a decoded table as MsiDatabaseExport does; a stream cell is the file
// Wine writes it to, the row's key.
func exportIDT(tab *Table) idt {
	out := idt{}
	for _, c := range tab.Columns {
		out.Names = append(out.Names, c.Name)
		out.Types = append(out.Types, c.Type.String())
	}
	for _, r := range tab.Rows {
		var row []string
		for i, v := range r {
			switch v := v.(type) {
			case nil:
				row = append(row, "")
			case int32:
				row = append(row, strconv.Itoa(int(v)))
			case string:
				if tab.Columns[i].Type.IsBinary() {
					v = strings.TrimPrefix(v, tab.Name+".")
				}
				row = append(row, v)
			}
		}
		out.Rows = append(out.Rows, row)
	}
	sortRows(out.Rows)
	return out
}

// TestTransformOracle holds ApplyTransform to Wine's msi.dll: every table of acme-1.1.msi
// with the transform applied equals the table MsiDatabaseApplyTransform + MsiDatabaseExport
// gave, and the Binary stream the transform brought holds the bytes Wine exported.
func TestTransformOracle(t *testing.T) {
	for _, name := range transformFixtures {
		t.Run(name, func(t *testing.T) {
			p := transformed(t, name)
			dir := filepath.Join(transformDir, "oracle", name)
			checkOracle(t, p, dir)
			bins, err := p.Binaries()
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, b := range bins {
				if b.Name != "AcmeDropDll" {
					continue
				}
				found = true
				got, err := fsReadFile(p, b.Path)
				if err != nil {
					t.Fatalf("reading %s: %v", b.Path, err)
				}
				if !bytes.Equal(got, readFile(t, filepath.Join(dir, "Binary", "AcmeDropDll"))) {
					t.Errorf("Binary AcmeDropDll differs from Wine's export")
				}
			}
			if !found {
				t.Errorf("Binaries = %+v, want AcmeDropDll", bins)
			}
		})
	}
}

// checkOracle compares every table of p with Wine's export in dir.
func checkOracle(t *testing.T, p *Package, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.idt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no oracle tables in %s: %v", dir, err)
	}
	var want []string
	for _, f := range files {
		want = append(want, strings.TrimSuffix(filepath.Base(f), ".idt"))
	}
	if d := cmp.Diff(want, p.Tables()); d != "" {
		t.Errorf("tables (-wine +got)\n%s", d)
	}
	for _, n := range want {
		tab, err := p.Table(n)
		if err != nil {
			t.Errorf("Table(%q) = %v", n, err)
			continue
		}
		if d := cmp.Diff(readIDT(t, filepath.Join(dir, n+".idt")), exportIDT(tab)); d != "" {
			t.Errorf("table %s (-wine +got)\n%s", n, d)
		}
	}
}

func fsReadFile(p *Package, path string) ([]byte, error) {
	f, err := p.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// TestTransformEffects: the table readers, the layout and the walk give the transformed
// package: the Run value and custom actions it adds, the folder it renames.
func TestTransformEffects(t *testing.T) {
	p := transformed(t, "acme-evil")
	if d := cmp.Diff([]string{"acme-evil.mst"}, p.Applied()); d != "" {
		t.Errorf("Applied (-want +got)\n%s", d)
	}
	cas, err := p.CustomActions()
	if err != nil {
		t.Fatal(err)
	}
	wantCA := []inventory.CustomAction{
		{Action: "AcmeDrop", Type: 34, Source: "INSTALLDIR", Target: `"[INSTALLDIR]AcmePhone.exe" /drop`},
		{Action: "AcmeDll", Type: 1, Source: "AcmeDropDll", Target: "DropEntry"},
	}
	if d := cmp.Diff(wantCA, cas); d != "" {
		t.Errorf("CustomActions (-want +got)\n%s", d)
	}
	reg, err := p.Registry()
	if err != nil {
		t.Fatal(err)
	}
	wantReg := []inventory.RegistryRow{{ID: "AcmeRun", Root: 2, Key: `Software\Microsoft\Windows\CurrentVersion\Run`, Name: "AcmeUpdater",
		Value: `"ProgramFiles64Folder/Acme Phone/AcmePhone.exe" /background`, Component: "AcmePhone"}}
	if d := cmp.Diff(wantReg, reg); d != "" {
		t.Errorf("Registry (-want +got)\n%s", d)
	}
	if got := p.Property("ProductName"); got != "Acme Softphone (customised)" {
		t.Errorf("ProductName = %q", got)
	}
	var walked []string
	err = p.Walk(func(path string, size int64, r io.Reader) error {
		n, err := io.Copy(io.Discard, r)
		if err == nil && n != size {
			t.Errorf("%s: %d bytes, want %d", path, n, size)
		}
		walked = append(walked, path)
		return err
	})
	if err != nil {
		t.Fatalf("Walk = %v", err)
	}
	sort.Strings(walked)
	want := []string{"Binary/AcmeDropDll", "ProgramFiles64Folder/Acme Phone/AcmePhone.exe", "ProgramFiles64Folder/Acme Phone/core.dll",
		"ProgramFiles64Folder/Acme Phone/d3dcompiler_47.dll", "ProgramFiles64Folder/Acme Phone/ffmpeg.dll"}
	if d := cmp.Diff(want, walked); d != "" {
		t.Errorf("Walk (-want +got)\n%s", d)
	}
}

// memTransform is a transform held in memory: its pool's strings and table streams.
func memTransform(refBytes int, strs []string, tables map[string][]byte) *Transform {
	db := &Package{streams: map[string]*cfb.Entry{}, tables: map[string]*Table{}, errEntry: "t.mst:",
		pool: &stringPool{refBytes: refBytes, strings: append([]string{""}, strs...)}}
	return &Transform{Name: "t.mst", db: db, tables: tables}
}

func words(ws ...uint16) []byte {
	var b []byte
	for _, w := range ws {
		b = binary.LittleEndian.AppendUint16(b, w)
	}
	return b
}

// TestTransformHostile: malformed row records are errors naming the stream and offset,
// limits are ErrLimit; nothing panics.
func TestTransformHostile(t *testing.T) {
	manyRows := bytes.Repeat(words(0, 1), MaxTransformRows+1) // deletes of Property "a"
	var manyCols []byte
	for i := 0; i < 1000000; i++ {
		manyCols = append(manyCols, words(0x0401, 1, 0, 2, 0x8000|0x0d48)...) // Wide, null Number, "c", s72
	}
	tests := []struct {
		name   string
		tables map[string][]byte
		want   error
		entry  string
		offset int64
	}{
		{"mask names a column past the table", map[string][]byte{"Property": words(0x0004, 1, 2)}, unpack.ErrFormat, "t.mst:!Property", 0},
		{"mask counts more columns than the table", map[string][]byte{"Property": words(0x0301, 1, 2, 3)}, unpack.ErrFormat, "t.mst:!Property", 0},
		{"string id out of range", map[string][]byte{"Property": words(0x0201, 1, 99)}, unpack.ErrFormat, "t.mst:!Property", 4},
		{"truncated record", map[string][]byte{"Property": append(words(0x0201, 1, 2), 0x01)}, unpack.ErrFormat, "t.mst:!Property", 6},
		{"truncated mask", map[string][]byte{"Property": []byte{1}}, unpack.ErrFormat, "t.mst:!Property", 0},
		{"unknown table", map[string][]byte{"Nope": words(0x0101, 1)}, unpack.ErrFormat, "t.mst:!Nope", -1},
		{"row records beyond the limit", map[string][]byte{"Property": manyRows}, unpack.ErrLimit, "t.mst:!Property", -1},
		{"a million columns", map[string][]byte{"_Tables": words(0x0101, 1), "_Columns": manyCols}, unpack.ErrLimit, "t.mst:!_Columns", -1},
		{"changes an existing column", map[string][]byte{"_Columns": words(0x0401, 3, 0x8001, 2, 0x8000|0x0d48)}, unpack.ErrUnsupported, "t.mst:!_Columns", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := newReader(readFile(t, transformMSI), nil)
			if err != nil {
				t.Fatal(err)
			}
			tr := memTransform(2, []string{"Wide", "c", "Property", "x"}, tt.tables)
			if tt.name == "changes an existing column" {
				tr = memTransform(2, []string{"a", "Other", "Property"}, tt.tables)
			}
			err = p.ApplyTransform(tr)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ApplyTransform = %v, want %v", err, tt.want)
			}
			var fe *unpack.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FormatError", err)
			}
			if fe.Entry != tt.entry || fe.Offset != tt.offset {
				t.Errorf("error at %q 0x%x, want %q 0x%x (%v)", fe.Entry, fe.Offset, tt.entry, tt.offset, err)
			}
		})
	}
}

// TestTransformNotMSI: a compound file without a string pool is not a transform.
func TestTransformNotMSI(t *testing.T) {
	b := readFile(t, filepath.Join(transformDir, "acme-evil.mst"))
	if _, err := OpenTransform(bytes.NewReader(b[:600]), 600, "cut.mst"); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("truncated transform: %v, want ErrFormat", err)
	}
}

func FuzzTransform(f *testing.F) {
	for _, n := range transformFixtures {
		b, err := os.ReadFile(filepath.Join(transformDir, n+".mst"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	base, err := os.ReadFile(transformMSI)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := OpenTransform(bytes.NewReader(b), int64(len(b)), "f.mst")
		if err != nil {
			return
		}
		p, err := newReader(base, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.ApplyTransform(tr); err != nil {
			return
		}
		_, _ = p.MSITables()
		_, _ = p.CustomActions()
		_ = p.Walk(func(string, int64, io.Reader) error { return nil })
	})
}
