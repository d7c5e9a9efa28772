package msi

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/cfb"
)

var samples = []string{"msi/relic-dummy.msi", "msi/osslsigncode-unsigned.msi"}

func readSample(t testing.TB, rel string) []byte { return testutil.ReadSample(t, rel) }

func newReader(b []byte, dir fs.FS) (*Package, error) {
	return NewReader(bytes.NewReader(b), int64(len(b)), dir)
}

// golden reads testdata/<name>.golden (written by testdata/gen_golden.sh from msiextract).
func golden(t *testing.T, rel string) []string {
	t.Helper()
	name := strings.TrimSuffix(rel, ".msi") + ".golden"
	if dir, base := filepath.Split(rel); dir == "msi/" {
		name = strings.TrimSuffix(base, ".msi") + ".golden"
	}
	f, err := os.Open(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// walkSums lists "sha256  path" for every installed file (not Binary streams) from Walk.
func walkSums(p *Package) ([]string, error) {
	var out []string
	err := p.Walk(func(path string, size int64, r io.Reader) error {
		h := sha256.New()
		n, err := io.Copy(h, r)
		if err != nil {
			return err
		}
		if n != size {
			return errors.New("size mismatch for " + path)
		}
		if !strings.HasPrefix(path, "Binary/") {
			out = append(out, hex.EncodeToString(h.Sum(nil))+"  "+path)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i][66:] < out[j][66:] })
	return out, err
}

func TestGolden(t *testing.T) {
	for _, rel := range samples {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			prc, err := Open(testutil.Sample(t, rel))
			if err != nil {
				t.Fatalf("Open(%q) = %v", rel, err)
			}
			defer prc.Close()
			p := prc.Reader
			want := golden(t, rel)
			got, err := walkSums(p)
			if err != nil {
				t.Fatalf("Walk(%q) = %v", rel, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Walk(%q) = %q, want %q", rel, got, want)
			}
			// The same through fs.FS.
			var viaFS []string
			for _, line := range want {
				path := line[66:]
				b, err := fs.ReadFile(p, path)
				if err != nil {
					t.Errorf("ReadFile(%q) = %v", path, err)
					continue
				}
				sum := sha256.Sum256(b)
				viaFS = append(viaFS, hex.EncodeToString(sum[:])+"  "+path)
			}
			if !reflect.DeepEqual(viaFS, want) {
				t.Errorf("fs.ReadFile sums = %q, want %q", viaFS, want)
			}
			files, _ := p.Files()
			if len(files) != len(want) {
				t.Errorf("Files() has %d rows, want %d", len(files), len(want))
			}
		})
	}
}

func TestFS(t *testing.T) {
	for _, rel := range samples {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			b := readSample(t, rel)
			p, err := newReader(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, line := range golden(t, rel) {
				want = append(want, line[66:])
			}
			if err := fstest.TestFS(p, want...); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDatabase(t *testing.T) {
	p, err := newReader(readSample(t, "msi/relic-dummy.msi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Property("ProductName"), "dummy"; got != want {
		t.Errorf("Property(ProductName) = %q, want %q", got, want)
	}
	if got, want := p.Property("UpgradeCode"), "{A9C9A3FB-AF3C-4A5C-9818-BC9BE1EDCD51}"; got != want {
		t.Errorf("Property(UpgradeCode) = %q, want %q", got, want)
	}
	if got, want := p.Summary.RevisionNumber, "{71978EBD-79FE-450E-A2E6-1FC75128A33D}"; got != want {
		t.Errorf("Summary.RevisionNumber = %q, want %q", got, want)
	}
	if p.Summary.PageCount != 200 || p.Summary.WordCount != 2 || p.Summary.Author != "dummy" {
		t.Errorf("Summary = %+v", p.Summary)
	}
	if got := p.Summary.Created.Format(time.DateTime); got != "2017-03-27 21:34:14" {
		t.Errorf("Summary.Created = %s", got)
	}
	tables := p.Tables()
	for _, want := range []string{"Component", "Directory", "File", "Media", "Property", "_Validation"} {
		if i := sort.SearchStrings(tables, want); i == len(tables) || tables[i] != want {
			t.Errorf("Tables() = %q, missing %q", tables, want)
		}
	}
	ft, err := p.Table("File")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, c := range ft.Columns {
		types = append(types, c.Name+":"+c.Type.String())
	}
	if got, want := strings.Join(types, " "), "File:s72 Component_:s72 FileName:l255 FileSize:i4 Version:S72 Language:S20 Attributes:I2 Sequence:i4"; got != want {
		t.Errorf("File columns = %s, want %s", got, want)
	}
	files, _ := p.Files()
	want := []File{{Key: "EXE", InstallPath: "ProgramFilesFolder/dummy/ClassLibrary1.dll", Size: 4608,
		Version: "1.0.0.0", Language: "0", Attributes: 512, Component: "MainExecutable", Sequence: 1}}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("Files() = %+v, want %+v", files, want)
	}
	if _, err := p.Table("NoSuchTable"); err == nil {
		t.Errorf("Table(NoSuchTable) = nil error")
	}
	if ca, err := p.CustomActions(); err != nil || len(ca) != 0 {
		t.Errorf("CustomActions() = %v, %v; want none", ca, err)
	}
}

func TestDecodeStreamName(t *testing.T) {
	enc := func(s string) []uint16 { return utf16.Encode([]rune(s)) }
	tests := []struct {
		raw  []uint16
		want string
	}{
		{[]uint16{0x4840, 0x3f3f, 0x4577, 0x446c, 0x3b6a, 0x45e4, 0x4824}, "!_StringData"},
		{[]uint16{0x4840, 0x3f7f, 0x4164, 0x422f, 0x4836}, "!_Tables"},
		{enc("\x05SummaryInformation"), "\x05SummaryInformation"},
		{[]uint16{0x4800}, "0"},
		{[]uint16{0x483e, 0x483f}, "._"},
		{[]uint16{0xD800}, "\uFFFD"}, // lone surrogate
	}
	for _, tt := range tests {
		if got := decodeStreamName(tt.raw); got != tt.want {
			t.Errorf("decodeStreamName(%x) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestResolveDirectories(t *testing.T) {
	tests := []struct {
		name     string
		rows     []dirRow
		short    bool
		want     map[string]string
		wantSrc  map[string]string
		wantFail bool
		wantErr  error // a sentinel other than ErrFormat
	}{
		{
			name: "standard folders and short|long",
			rows: []dirRow{
				{"TARGETDIR", "", "SourceDir"},
				{"ProgramFiles64Folder", "TARGETDIR", "PFiles"},
				{"ACME", "ProgramFiles64Folder", "ACME~1|Acme Corp"},
				{"BIN", "ACME", "bin:srcbin"},
				{"SAME", "BIN", "."},
				{"SUB", "SAME", "x|sub:y|srcsub"},
				{"Desk", "TARGETDIR", "Desktop"},
				{"DesktopFolder", "TARGETDIR", "Desktop"},
			},
			want: map[string]string{
				"TARGETDIR": "", "ProgramFiles64Folder": "ProgramFiles64Folder",
				"ACME": "ProgramFiles64Folder/Acme Corp", "BIN": "ProgramFiles64Folder/Acme Corp/bin",
				"SAME": "ProgramFiles64Folder/Acme Corp/bin", "SUB": "ProgramFiles64Folder/Acme Corp/bin/sub",
				"Desk": "Desktop", "DesktopFolder": "DesktopFolder",
			},
			wantSrc: map[string]string{
				"TARGETDIR": "", "ProgramFiles64Folder": "PFiles", "ACME": "PFiles/Acme Corp",
				"BIN": "PFiles/Acme Corp/srcbin", "SAME": "PFiles/Acme Corp/srcbin",
				"SUB": "PFiles/Acme Corp/srcbin/srcsub", "Desk": "Desktop", "DesktopFolder": "Desktop",
			},
		},
		{
			name:    "short source names",
			rows:    []dirRow{{"TARGETDIR", "", "SourceDir"}, {"A", "TARGETDIR", "ACME~1|Acme Corp"}},
			short:   true,
			want:    map[string]string{"TARGETDIR": "", "A": "Acme Corp"},
			wantSrc: map[string]string{"TARGETDIR": "", "A": "ACME~1"},
		},
		{
			// Only the source half may be odd: it is never an install path, and source
			// files are opened through fs.ValidPath.
			name:    "source names that would climb out",
			rows:    []dirRow{{"TARGETDIR", "", "SourceDir"}, {"A", "TARGETDIR", "a:.."}, {"B", "A", `b:x/..\y`}, {"OTHER", "", "SourceDir"}},
			want:    map[string]string{"TARGETDIR": "", "A": "a", "B": "a/b", "OTHER": "OTHER"},
			wantSrc: map[string]string{"TARGETDIR": "", "A": "_..", "B": "_../x_.._y", "OTHER": ""},
		},
		{
			name:    "trailing dots and spaces dropped as Win32 does",
			rows:    []dirRow{{"TARGETDIR", "", "SourceDir"}, {"A", "TARGETDIR", "Acme. "}, {"B", "A", "bin.."}},
			want:    map[string]string{"TARGETDIR": "", "A": "Acme", "B": "Acme/bin"},
			wantSrc: map[string]string{"TARGETDIR": "", "A": "Acme", "B": "Acme/bin"},
		},
		{name: "target ..", rows: []dirRow{{"TARGETDIR", "", "SourceDir"}, {"A", "TARGETDIR", ".."}}, wantErr: unpack.ErrInsecurePath},
		{name: "target only dots", rows: []dirRow{{"TARGETDIR", "", "SourceDir"}, {"A", "TARGETDIR", "..."}}, wantErr: unpack.ErrInsecurePath},
		{name: "target backslash", rows: []dirRow{{"TARGETDIR", "", "SourceDir"}, {"A", "TARGETDIR", `x\..\y`}}, wantErr: unpack.ErrInsecurePath},
		{name: "target slash", rows: []dirRow{{"TARGETDIR", "", "SourceDir"}, {"A", "TARGETDIR", "x/y"}}, wantErr: unpack.ErrInsecurePath},
		{name: "long target ..", rows: []dirRow{{"TARGETDIR", "", "SourceDir"}, {"A", "TARGETDIR", "X|.."}}, wantErr: unpack.ErrInsecurePath},
		{
			name:     "loop",
			rows:     []dirRow{{"TARGETDIR", "", "SourceDir"}, {"A", "B", "a"}, {"B", "C", "b"}, {"C", "A", "c"}},
			wantFail: true,
		},
		{
			name:     "missing parent",
			rows:     []dirRow{{"A", "NOPE", "a"}},
			wantFail: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dirs, src, err := resolveDirectories(tt.rows, tt.short, &pathBudget{}, false)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("resolveDirectories(%v) = %v, want %v", tt.rows, err, tt.wantErr)
				}
				return
			}
			if tt.wantFail {
				if !errors.Is(err, unpack.ErrFormat) {
					t.Fatalf("resolveDirectories(%v) = %v, want ErrFormat", tt.rows, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(dirs, tt.want) {
				t.Errorf("resolveDirectories(%v) = %q, want %q", tt.rows, dirs, tt.want)
			}
			if !reflect.DeepEqual(src, tt.wantSrc) {
				t.Errorf("resolveDirectories(%v) source = %q, want %q", tt.rows, src, tt.wantSrc)
			}
			for id, d := range dirs {
				if d != "" && !fs.ValidPath(d) {
					t.Errorf("dir %q = %q, not a valid path", id, d)
				}
			}
		})
	}
}

// entryOffset finds the directory entry whose name is name (UTF-16) in the raw file.
func entryOffset(t *testing.T, b []byte, raw []uint16) int {
	t.Helper()
	var nb []byte
	for _, u := range raw {
		nb = binary.LittleEndian.AppendUint16(nb, u)
	}
	nb = append(nb, 0, 0)
	i := bytes.Index(b, nb)
	if i < 0 || i%128 != 0 {
		t.Fatalf("directory entry %x not found", raw)
	}
	return i
}

func TestExternalCabinet(t *testing.T) {
	orig := readSample(t, "msi/relic-dummy.msi")
	p, err := newReader(orig, nil)
	if err != nil {
		t.Fatal(err)
	}
	cabBytes, err := fs.ReadFile(p.CFB, mustEscape(p, "product.cab"))
	if err != nil {
		t.Fatal(err)
	}
	// "#product.cab" → "xproduct.cab": the Media row now names an external cabinet.
	b := bytes.Clone(orig)
	i := bytes.Index(b, []byte("#product.cab"))
	if i < 0 {
		t.Fatal("Media cabinet string not found")
	}
	b[i] = 'x'

	t.Run("missing", func(t *testing.T) {
		p, err := newReader(b, fstest.MapFS{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = walkSums(p)
		var fe *unpack.FormatError
		if !errors.Is(err, unpack.ErrFormat) || !errors.As(err, &fe) || fe.Entry != "xproduct.cab" {
			t.Errorf("Walk = %v, want a FormatError naming xproduct.cab", err)
		}
		if _, err := fs.ReadFile(p, "ProgramFilesFolder/dummy/ClassLibrary1.dll"); !errors.Is(err, unpack.ErrFormat) {
			t.Errorf("ReadFile = %v, want ErrFormat", err)
		}
	})
	t.Run("beside", func(t *testing.T) {
		p, err := newReader(b, fstest.MapFS{"xproduct.cab": {Data: cabBytes}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := walkSums(p)
		// The embedded copy is still in the compound file, but no Media row names it now:
		// it is inventoried as an orphan stream.
		sum := sha256.Sum256(cabBytes)
		want := append([]string{hex.EncodeToString(sum[:]) + "  " + OrphanRoot + "/product.cab"}, golden(t, "relic-dummy.msi")...)
		if d := cmp.Diff(want, got); err != nil || d != "" {
			t.Errorf("Walk: %v (-want +got)\n%s", err, d)
		}
	})
}

func TestUncompressedSource(t *testing.T) {
	orig := readSample(t, "msi/relic-dummy.msi")
	p, err := newReader(orig, nil)
	if err != nil {
		t.Fatal(err)
	}
	content, err := fs.ReadFile(p, "ProgramFilesFolder/dummy/ClassLibrary1.dll")
	if err != nil {
		t.Fatal(err)
	}
	// Rename the cabinet entry "EXE" → "EXF": the File row is in no cabinet any more.
	b := bytes.Clone(orig)
	i := bytes.Index(b, []byte(" \x00EXE\x00"))
	if i < 0 {
		t.Fatal("cabinet file name not found")
	}
	b[i+4] = 'F'

	p, err = newReader(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := walkSums(p); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("Walk without source folder = %v, want ErrFormat", err)
	}
	src := fstest.MapFS{"PFiles/dummy/ClassLibrary1.dll": {Data: content}}
	p, err = newReader(b, src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := walkSums(p)
	// The renamed cabinet entry is installed by no File row: it is inventoried as hidden.
	want := golden(t, "relic-dummy.msi")
	want = append(want, strings.Fields(want[0])[0]+"  Cabinet/#product.cab/EXF")
	sort.Slice(want, func(i, j int) bool { return want[i][66:] < want[j][66:] })
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Walk with source folder = %q, %v; want %q", got, err, want)
	}
}

func TestDeepDirectoryChain(t *testing.T) {
	// 2,000 nested folders of 200-byte names: 400 MB of path strings unbounded.
	rows := []dirRow{{"TARGETDIR", "", "SourceDir"}}
	name := strings.Repeat("n", 200)
	parent := "TARGETDIR"
	for i := range 2000 {
		id := "D" + strconv.Itoa(i)
		rows = append(rows, dirRow{id, parent, name})
		parent = id
	}
	start := time.Now()
	_, _, err := resolveDirectories(rows, false, &pathBudget{}, false)
	if !errors.Is(err, unpack.ErrLimit) {
		t.Errorf("resolveDirectories(deep chain) = %v, want ErrLimit", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("resolveDirectories(deep chain) took %v", d)
	}
}

func mustEscape(p *Package, decoded string) string {
	for _, e := range p.CFB.Root().Children {
		if decodeStreamName(e.RawName) == decoded {
			return cfb.EscapeName(e.Name)
		}
	}
	return decoded
}

func BenchmarkOpenWalk(b *testing.B) {
	data, err := os.ReadFile(fixtures[0])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := newReader(data, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := walkSums(p); err != nil {
			b.Fatal(err)
		}
	}
}
