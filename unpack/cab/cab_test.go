package cab

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
)

var _ unpack.Walker = (*Reader)(nil)
var _ fs.ReadDirFS = (*Reader)(nil)
var _ fs.StatFS = (*Reader)(nil)

// record is one extracted file as 7-Zip names it on disk: the stored name bytes with
// separators turned to '/', empty, "." and ".." components dropped.
type record struct {
	path string
	size int64
	sum  string
}

func (r record) String() string { return fmt.Sprintf("%q %d %s", r.path, r.size, r.sum) }

func sevenZipPath(raw string) string {
	parts := strings.FieldsFunc(raw, func(r rune) bool { return r == '\\' || r == '/' })
	parts = slices.DeleteFunc(parts, func(s string) bool { return s == "." || s == ".." })
	return strings.Join(parts, "/")
}

type golden struct {
	err     bool
	records []record
}

func readGolden(t *testing.T) map[string]*golden {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "golden.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]*golden{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		g := out[cols[0]]
		if g == nil {
			g = &golden{}
			out[cols[0]] = g
		}
		if len(cols) == 2 && cols[1] == "error" {
			g.err = true
			continue
		}
		if len(cols) < 4 {
			t.Fatalf("golden line %q: want 5 columns", sc.Text())
		}
		size, err := strconv.ParseInt(cols[1], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		p, err := hex.DecodeString(cols[3])
		if err != nil {
			t.Fatal(err)
		}
		g.records = append(g.records, record{path: string(p), size: size, sum: cols[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// openSample opens a golden sample name; "split-1.cab+" is the whole split set.
func openSample(t *testing.T, name string) (*Reader, error) {
	t.Helper()
	if base, ok := strings.CutSuffix(name, "split-1.cab+"); ok {
		var paths []string
		for i := 1; i <= 5; i++ {
			paths = append(paths, testutil.Sample(t, fmt.Sprintf("cab/%ssplit-%d.cab", base, i)))
		}
		return OpenSet(paths...)
	}
	return OpenSet(testutil.Sample(t, "cab/"+name))
}

// sevenZipQuirks are cabinets where 7-Zip on Linux writes fewer files than the cabinet
// holds: it converts names that are not UTF-8 through the locale and back, which merges or
// drops some of them, and identical names overwrite each other.
var sevenZipQuirks = map[string]string{
	"libmspack/good/encoding-sjis.cab":   "Shift-JIS names with '/' and '\\' trail bytes; 4 of 6 files on disk",
	"libmspack/good/utf8-stresstest.cab": "overlong and invalid UTF-8 names, a duplicate name; 67 of 79 files on disk",
}

func supported(r *Reader, f *File) bool {
	fo := r.folders[f.Folder]
	return f.Size == 0 || fo.method <= compLZX
}

func sha(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// TestGolden compares names and SHA-256 of every file with what `7zz x` extracted.
func TestGolden(t *testing.T) {
	testutil.Samples(t)
	for name, g := range readGolden(t) {
		t.Run(name, func(t *testing.T) {
			r, err := openSample(t, name)
			if g.err {
				if !errors.Is(err, unpack.ErrFormat) {
					t.Fatalf("Open(%q) = %v, want ErrFormat like 7-Zip", name, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q) = %v", name, err)
			}
			defer r.Close()
			byName := map[string]*File{}
			for _, f := range r.Files() {
				byName[f.Name] = f
			}
			var got []record
			err = r.Walk(func(p string, size int64, rd io.Reader) error {
				h := sha256.New()
				n, err := io.Copy(h, rd)
				if err != nil {
					return err
				}
				if n != size {
					return fmt.Errorf("%q: read %d bytes, want %d", p, n, size)
				}
				got = append(got, record{sevenZipPath(byName[p].raw), size, hex.EncodeToString(h.Sum(nil))})
				return nil
			})
			if err != nil && !errors.Is(err, unpack.ErrUnsupported) {
				t.Fatalf("Walk(%q) = %v", name, err)
			}
			skipped := map[string]bool{}
			for _, f := range r.Files() {
				if !supported(r, f) {
					skipped[sevenZipPath(f.raw)] = true
				}
			}
			if len(skipped) > 0 && !errors.Is(err, unpack.ErrUnsupported) {
				t.Errorf("Walk(%q) = %v, want ErrUnsupported for %d files", name, err, len(skipped))
			}
			want := slices.DeleteFunc(slices.Clone(g.records), func(r record) bool { return skipped[r.path] })
			cmp := func(a, b record) int { return strings.Compare(a.String(), b.String()) }
			slices.SortFunc(got, cmp)
			slices.SortFunc(want, cmp)
			if _, ok := sevenZipQuirks[name]; ok {
				// Every file 7-Zip wrote must be there, byte for byte; 7-Zip loses some others.
				for _, w := range want {
					if _, found := slices.BinarySearchFunc(got, w, cmp); !found {
						t.Errorf("Walk(%q) lacks %v, which 7zz extracted", name, w)
					}
				}
			} else if !slices.Equal(got, want) {
				t.Errorf("Walk(%q) =\n%v\nwant (7zz)\n%v", name, got, want)
			}
			if len(want) == 0 && len(skipped) == 0 {
				t.Errorf("golden for %q is empty", name)
			}
		})
	}
}

// TestNames checks the exposed (decoded, sanitised) names.
func TestNames(t *testing.T) {
	tests := []struct {
		sample string
		want   []string // Files() names in storage order
	}{
		{"libmspack/good/dir.cab", []string{"plain.c", "1/2/3/4.c"}},
		{"libmspack/good/encoding-latin1.cab", []string{
			"\u00a0¡¢£¤¥¦§¨©ª«¬\u00ad®¯°±²³´µ¶·¸¹º»¼½¾¿",
			"ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞß",
			"àáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ",
		}},
		{"libmspack/good/case-utf8.cab", []string{
			"latin1/upper/ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞ",
			"latin1/lower/àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþ",
			"greek/upper/ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ",
			"greek/lower/αβγδεζηθικλμνξοπρςστυφχψ",
			"cyrillic/upper/АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ",
			"cyrillic/lower/абвгдежзийклмнопрстуфхцчшщъыьэюя",
		}},
		// Leading '/', drive letters and ".." are dropped; "absolute/path" is a directory too, so
		// the file of that name gets "~2"; U+FFFD replaces invalid (overlong '/' and '\') UTF-8.
		{"libmspack/bad/dirwalk-vulns.cab", []string{
			"absolute/path~2", "absolute/and/relative/path~2",
			"absolute/path/reverse/slashes", "absolute/and/relative/path/reverse/slashes",
			"unnamed", "unnamed~2", "unnamed~3", "unnamed~4",
			"relative/path", "relative/path~2", "relative/path~3", "relative/path~4", "relative/path~5", "relative/path~6",
			"\ufffdabsolute\ufffdpath2b", "\ufffdabsolute\ufffdpath3b", "\ufffdabsolute\ufffdpath4b",
			"\ufffdabsolute\ufffdpath5b", "\ufffdabsolute\ufffdpath6b",
			"relative\ufffd..\ufffd..\ufffdpath2b", "relative\ufffd..\ufffd..\ufffdpath3b", "relative\ufffd..\ufffd..\ufffdpath4b",
			"relative\ufffd..\ufffd..\ufffdpath5b", "relative\ufffd..\ufffd..\ufffdpath6b",
			"innocuous\ufffd/relative/path2b", "innocuous\ufffd/relative/path3b", "innocuous\ufffd/relative/path4b",
			"innocuous\ufffd/relative/path5b", "innocuous\ufffd/relative/path6b",
		}},
	}
	for _, tt := range tests {
		r, err := OpenSet(testutil.Sample(t, "cab/"+tt.sample))
		if err != nil {
			t.Errorf("OpenSet(%q) = %v", tt.sample, err)
			continue
		}
		var got []string
		for _, f := range r.Files() {
			got = append(got, f.Name)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("OpenSet(%q).Files() = %q, want %q", tt.sample, got, tt.want)
		}
		r.Close()
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{`a\b\c.txt`, "a/b/c.txt"},
		{`\abs\path`, "abs/path"},
		{`C:\Windows\evil.dll`, "Windows/evil.dll"},
		{`C:evil.dll`, "evil.dll"},
		{`..\..\x`, "x"},
		{`a\..\..\b`, "a/b"},
		{`.\.\x`, "x"},
		{`//`, "unnamed"},
		{``, "unnamed"},
		{`..`, "unnamed"},
		{`a/./b//c`, "a/b/c"},
		{`1:x`, "1:x"},
	}
	for _, tt := range tests {
		got := sanitize(tt.in)
		if got != tt.want || !fs.ValidPath(got) {
			t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSet(t *testing.T) {
	p := func(i int) string { return testutil.Sample(t, fmt.Sprintf("cab/libmspack/good/split-%d.cab", i)) }
	// Any order: parts are sorted by iCabinet.
	r, err := OpenSet(p(3), p(1), p(5), p(2), p(4))
	if err != nil {
		t.Fatalf("OpenSet(shuffled split-1..5) = %v", err)
	}
	if got := len(r.Files()); got != 6 {
		t.Errorf("OpenSet(split-1..5): %d files, want 6", got)
	}
	var spans []int
	for _, f := range r.Folders() {
		spans = append(spans, f.Cabinets)
	}
	if !slices.Equal(spans, []int{1, 2, 3, 2}) {
		t.Errorf("OpenSet(split-1..5) folder cabinets = %v, want [1 2 3 2]", spans)
	}
	r.Close()

	tests := []struct {
		paths   []string
		missing string
	}{
		{[]string{p(1)}, "Split-2.CAB"},
		{[]string{p(1), p(2), p(3)}, "Split-4.CAB"},
		{[]string{p(1), p(2), p(4), p(5)}, "Split-3.CAB"},
		{[]string{p(2), p(3), p(4), p(5)}, "Split-1.CAB"},
		{[]string{p(3)}, "Split-2.CAB"},
	}
	for _, tt := range tests {
		_, err := OpenSet(tt.paths...)
		var fe *unpack.FormatError
		if !errors.Is(err, unpack.ErrFormat) || !errors.As(err, &fe) || !strings.Contains(fe.Msg, strconv.Quote(tt.missing)) {
			t.Errorf("OpenSet(%q) = %v, want ErrFormat naming %q", tt.paths, err, tt.missing)
		}
	}

	// NewSetReader with ReaderAts and File.Open across cabinets.
	var parts []Part
	for i := 1; i <= 5; i++ {
		data, err := os.ReadFile(p(i))
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, Part{R: bytes.NewReader(data), Size: int64(len(data)), Name: filepath.Base(p(i))})
	}
	r, err = NewSetReader(parts)
	if err != nil {
		t.Fatalf("NewSetReader(split-1..5) = %v", err)
	}
	for _, f := range r.Files() {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("Open(%q) = %v", f.Name, err)
		}
		n, err := io.Copy(io.Discard, rc)
		if err != nil || n != f.Size {
			t.Errorf("reading %q = %d, %v, want %d bytes", f.Name, n, err, f.Size)
		}
	}
	if err := fstest.TestFS(r, "small1.bin", "medium2.bin", "small3.bin"); err != nil {
		t.Errorf("fstest.TestFS(split set): %v", err)
	}
}

func TestFS(t *testing.T) {
	for _, name := range []string{
		"relic-dummy.cab", "test_read_format_cab_1.cab", "test_read_format_cab_2.cab",
		"libmspack/good/dir.cab", "libmspack/good/simple.cab", "libmspack/good/case-utf8.cab",
		"libmspack/good/encoding-sjis.cab", "libmspack/good/utf8-stresstest.cab",
		"libmspack/bad/dirwalk-vulns.cab", "libmspack/good/mixed.cab", "test_read_format_cab_3.cab",
	} {
		r, err := OpenSet(testutil.Sample(t, "cab/"+name))
		if err != nil {
			t.Errorf("OpenSet(%q) = %v", name, err)
			continue
		}
		var want []string
		for _, f := range r.Files() {
			want = append(want, f.Name)
		}
		if err := fstest.TestFS(r, want...); err != nil {
			t.Errorf("fstest.TestFS(%q): %v", name, err)
		}
		r.Close()
	}
}

// refused reports whether err is one of the errors a hostile cabinet may produce.
func refused(err error) bool {
	return errors.Is(err, unpack.ErrFormat) || errors.Is(err, unpack.ErrUnsupported) || errors.Is(err, unpack.ErrLimit)
}

// readAll opens data as a cabinet, walks it and reads the fs.FS; it returns the first error.
func readAll(t testing.TB, data []byte) error {
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	walkErr := r.Walk(func(p string, size int64, rd io.Reader) error {
		if !fs.ValidPath(p) {
			t.Errorf("Walk path %q is not valid", p)
		}
		n, err := io.Copy(io.Discard, rd)
		if err == nil && n != size {
			t.Errorf("Walk(%q) read %d bytes, want %d", p, n, size)
		}
		return err
	})
	fsErr := fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !fs.ValidPath(p) {
			t.Errorf("fs path %q is not valid", p)
		}
		if d.IsDir() {
			return nil
		}
		f, err := r.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(io.Discard, f)
		return err
	})
	return errors.Join(walkErr, fsErr)
}

func TestBad(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(testutil.Samples(t), "cab", "libmspack", "bad", "*.cab"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no bad cabinets: %v", err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		err = readAll(t, data)
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		if err != nil && !refused(err) {
			t.Errorf("read(%s) = %v, want nil or ErrFormat/ErrUnsupported/ErrLimit", filepath.Base(p), err)
		}
		if elapsed > 5*time.Second {
			t.Errorf("read(%s) took %v, want < 5s", filepath.Base(p), elapsed)
		}
		if alloc > 16<<20 {
			t.Errorf("read(%s) allocated %d bytes, want < 16 MiB", filepath.Base(p), alloc)
		}
		t.Logf("%s: %v (%v, %d KiB)", filepath.Base(p), err, elapsed.Round(time.Millisecond), alloc>>10)
	}
}

func TestSynthetic(t *testing.T) {
	data := bytes.Repeat([]byte("rollgate "), 20000) // 180000 bytes, six blocks
	good := func(method uint16) cabSpec {
		return cabSpec{folders: []testFolder{{method: method, files: []testFile{
			{name: `dir\a.txt`, data: data[:1000]},
			{name: `dir\b.bin`, data: data},
			{name: `c`, data: nil},
		}}}}
	}
	for _, tt := range []struct {
		name string
		spec cabSpec
	}{
		{"stored", good(compNone)},
		{"mszip", good(compMSZIP)},
		{"mszip-small-blocks", func() cabSpec { s := good(compMSZIP); s.blockSize = 1000; s.mszipLevel = flate.BestSpeed; return s }()},
		{"reserve", func() cabSpec { s := good(compMSZIP); s.reserve = [3]int{20, 3, 5}; return s }()},
		{"no-checksum", func() cabSpec { s := good(compNone); s.noChecksum = true; return s }()},
	} {
		cab := buildCab(tt.spec)
		r, err := NewReader(bytes.NewReader(cab), int64(len(cab)))
		if err != nil {
			t.Errorf("%s: NewReader = %v", tt.name, err)
			continue
		}
		want := map[string]string{"dir/a.txt": sha(data[:1000]), "dir/b.bin": sha(data), "c": sha(nil)}
		got := map[string]string{}
		err = r.Walk(func(p string, size int64, rd io.Reader) error {
			b, err := io.ReadAll(rd)
			got[p] = sha(b)
			return err
		})
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: Walk = %v, %v, want %v", tt.name, got, err, want)
		}
		if err := fstest.TestFS(r, "dir/a.txt", "dir/b.bin", "c"); err != nil {
			t.Errorf("%s: fstest.TestFS: %v", tt.name, err)
		}
	}
}

func TestChecksumMismatch(t *testing.T) {
	spec := cabSpec{folders: []testFolder{{method: compMSZIP, files: []testFile{
		{name: "x", data: bytes.Repeat([]byte("x"), 100000)},
	}}}}
	cab := buildCab(spec)
	r, _ := NewReader(bytes.NewReader(cab), int64(len(cab)))
	// Flip a payload byte of block 2 after the checksum was written.
	off := r.folders[0].blocks[2].data
	cab[off+3] ^= 0x40
	r, err := NewReader(bytes.NewReader(cab), int64(len(cab)))
	if err != nil {
		t.Fatalf("NewReader = %v", err)
	}
	err = r.Walk(func(p string, size int64, rd io.Reader) error {
		_, err := io.Copy(io.Discard, rd)
		return err
	})
	var fe *unpack.FormatError
	if !errors.As(err, &fe) || !errors.Is(err, unpack.ErrFormat) || fe.Offset != r.folders[0].blocks[2].off ||
		!strings.Contains(fe.Msg, "folder 0 block 2") {
		t.Errorf("Walk(corrupted block 2) = %v, want a FormatError naming folder 0 block 2 at 0x%x", err, r.folders[0].blocks[2].off)
	}
}

// TestHostile patches valid cabinets into hostile ones.
func TestHostile(t *testing.T) {
	le := func(b []byte, off int, v uint32, n int) {
		for i := 0; i < n; i++ {
			b[off+i] = byte(v >> (8 * i))
		}
	}
	base := buildCab(cabSpec{folders: []testFolder{{method: compNone, files: []testFile{
		{name: "a", data: []byte("hello")}, {name: "b", data: []byte("world")},
	}}}})
	// Layout: header 36, CFFOLDER 8 at 36, CFFILE "a" at 44 (16+2), CFFILE "b" at 62, CFDATA at 80.
	tests := []struct {
		name  string
		patch func(b []byte) []byte
		want  error // nil: must read fine
	}{
		{"ok", func(b []byte) []byte { return b }, nil},
		{"file claims 4 GiB", func(b []byte) []byte { le(b, 44, 0xFFFFFFFF, 4); return b }, unpack.ErrFormat},
		{"file offset past folder", func(b []byte) []byte { le(b, 48, 6, 4); return b }, unpack.ErrFormat},
		{"folder index", func(b []byte) []byte { le(b, 52, 1, 2); return b }, unpack.ErrFormat},
		{"continued from prev alone", func(b []byte) []byte { le(b, 52, 0xFFFD, 2); return b }, unpack.ErrFormat},
		{"continued to next alone", func(b []byte) []byte { le(b, 52, 0xFFFE, 2); return b }, unpack.ErrFormat},
		{"65535 files", func(b []byte) []byte { le(b, 28, 0xFFFF, 2); return b }, unpack.ErrFormat},
		{"65535 folders", func(b []byte) []byte { le(b, 26, 0xFFFF, 2); return b }, unpack.ErrFormat},
		{"65535 blocks, 1 present", func(b []byte) []byte { le(b, 40, 0xFFFF, 2); return b }, nil}, // Folder.Truncated
		{"65535 blocks, file past the first", func(b []byte) []byte { le(b, 40, 0xFFFF, 2); le(b, 66, 6, 4); return b }, unpack.ErrFormat},
		{"coffCabStart past end", func(b []byte) []byte { le(b, 36, 0xFFFFFF00, 4); return b }, unpack.ErrFormat},
		{"coffFiles past end", func(b []byte) []byte { le(b, 16, 0xFFFFFF00, 4); return b }, unpack.ErrFormat},
		{"cbData past end", func(b []byte) []byte { le(b, 84, 0xFFFF, 2); return b }, unpack.ErrFormat},
		{"cbUncomp too big", func(b []byte) []byte { le(b, 86, 40000, 2); return b }, unpack.ErrFormat},
		{"cbUncomp zero", func(b []byte) []byte { le(b, 86, 0, 2); return b }, unpack.ErrFormat},
		{"stored size mismatch", func(b []byte) []byte { le(b, 86, 9, 2); le(b, 80, 0, 4); return b }, unpack.ErrFormat},
		{"bad checksum", func(b []byte) []byte { b[80] ^= 1; return b }, unpack.ErrFormat},
		{"method 7", func(b []byte) []byte { le(b, 42, 7, 2); return b }, unpack.ErrUnsupported},
		{"lzx", func(b []byte) []byte { le(b, 42, 0x1503, 2); return b }, nil},
		{"version 2", func(b []byte) []byte { b[25] = 2; return b }, unpack.ErrUnsupported},
		{"reserve past end", func(b []byte) []byte { le(b, 30, flagReservePresent, 2); le(b, 36, 0xFFFF, 2); return b }, unpack.ErrFormat},
		{"unterminated name", func(b []byte) []byte { return b[:61] }, unpack.ErrFormat},
		{"truncated", func(b []byte) []byte { return b[:85] }, unpack.ErrFormat},
		{"no CFDATA, empty files", func(b []byte) []byte { le(b, 44, 0, 4); le(b, 62, 0, 4); return b[:80] }, nil},
		{"header only", func(b []byte) []byte { return b[:36] }, unpack.ErrFormat},
		{"empty", func(b []byte) []byte { return nil }, unpack.ErrFormat},
		{"next cabinet flag, no continued file", func(b []byte) []byte {
			// szCabinetNext/szDiskNext would shift everything; a flag without names runs into
			// the folder table and must fail cleanly or read.
			le(b, 30, flagNextCabinet, 2)
			return b
		}, unpack.ErrFormat},
	}
	for _, tt := range tests {
		b := tt.patch(slices.Clone(base))
		err := readAll(t, b)
		if tt.name == "lzx" {
			// "hello" is not LZX data; any refusal will do.
			if err != nil && !refused(err) {
				t.Errorf("%s: read = %v, want a refusal", tt.name, err)
			}
			continue
		}
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: read = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestDuplicates(t *testing.T) {
	cab := buildCab(cabSpec{folders: []testFolder{{method: compNone, files: []testFile{
		{name: `a`, data: []byte("1")},
		{name: `A\b`, data: []byte("2")},
		{name: `a`, data: []byte("3")},
		{name: `.\a`, data: []byte("4")},
		{name: `a~2`, data: []byte("5")},
		{name: `A`, data: []byte("6")},
	}}}})
	r, err := NewReader(bytes.NewReader(cab), int64(len(cab)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range r.Files() {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		got = append(got, f.Name+"="+string(b))
	}
	// "A" is a directory (of "A/b"), so the file "A" is renamed; names are case-sensitive.
	want := []string{"a=1", "A/b=2", "a~2=3", "a~3=4", "a~2~2=5", "A~2=6"}
	if !slices.Equal(got, want) {
		t.Errorf("Files() = %q, want %q", got, want)
	}
	if err := fstest.TestFS(r, "a", "A/b", "a~2", "a~3", "a~2~2", "A~2"); err != nil {
		t.Errorf("fstest.TestFS: %v", err)
	}
}

// TestOverlap: files sharing folder bytes are each delivered whole by Walk.
func TestOverlap(t *testing.T) {
	cab := buildCab(cabSpec{folders: []testFolder{{method: compMSZIP, files: []testFile{
		{name: "a", data: bytes.Repeat([]byte("ab"), 40000)},
		{name: "b", data: bytes.Repeat([]byte("cd"), 40000)},
	}}}})
	r, err := NewReader(bytes.NewReader(cab), int64(len(cab)))
	if err != nil {
		t.Fatal(err)
	}
	// A third entry that overlaps both, as hand-made cabinets do to deduplicate content.
	r.files = append(r.files, &File{Name: "c", RawName: "c", Size: 80000, Offset: 40000, r: r})
	var sums []string
	err = r.Walk(func(p string, size int64, rd io.Reader) error {
		b, err := io.ReadAll(rd)
		sums = append(sums, p+":"+sha(b))
		return err
	})
	want := []string{
		"a:" + sha(bytes.Repeat([]byte("ab"), 40000)),
		"c:" + sha(append(bytes.Repeat([]byte("ab"), 20000), bytes.Repeat([]byte("cd"), 20000)...)),
		"b:" + sha(bytes.Repeat([]byte("cd"), 40000)),
	}
	if err != nil || !slices.Equal(sums, want) {
		t.Errorf("Walk = %v, %v, want %v", sums, err, want)
	}
}

func TestChecksum(t *testing.T) {
	// Reference values from the [MS-CAB] algorithm written out byte by byte.
	ref := func(p []byte, seed uint32) uint32 {
		cs := seed
		i := 0
		for ; i+4 <= len(p); i += 4 {
			cs ^= uint32(p[i]) | uint32(p[i+1])<<8 | uint32(p[i+2])<<16 | uint32(p[i+3])<<24
		}
		var ul uint32
		switch len(p) - i {
		case 3:
			ul = uint32(p[i])<<16 | uint32(p[i+1])<<8 | uint32(p[i+2])
		case 2:
			ul = uint32(p[i])<<8 | uint32(p[i+1])
		case 1:
			ul = uint32(p[i])
		}
		return cs ^ ul
	}
	buf := make([]byte, 64)
	for i := range buf {
		buf[i] = byte(i*37 + 11)
	}
	for n := 0; n <= len(buf); n++ {
		if got, want := checksum(buf[:n], 0x1234), ref(buf[:n], 0x1234); got != want {
			t.Errorf("checksum(%d bytes) = %#x, want %#x", n, got, want)
		}
	}
}

// TestWalkBudget: overlapping files cannot make Walk decode without bound.
func TestWalkBudget(t *testing.T) {
	saved := walkSlack
	walkSlack = 1 << 20
	defer func() { walkSlack = saved }()
	zeros := make([]byte, 1<<20)
	cab := buildCab(cabSpec{folders: []testFolder{{method: compMSZIP, files: []testFile{{name: "z", data: zeros}}}}})
	r, err := NewReader(bytes.NewReader(cab), int64(len(cab)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // 4 × 1 MiB > 2 × 1 MiB + 1 MiB
		r.files = append(r.files, &File{Name: fmt.Sprint(i), RawName: fmt.Sprint(i), Size: int64(len(zeros)), r: r})
	}
	walk := func() error {
		return r.Walk(func(p string, size int64, rd io.Reader) error {
			_, err := io.Copy(io.Discard, rd)
			return err
		})
	}
	if err := walk(); !errors.Is(err, unpack.ErrLimit) {
		t.Errorf("Walk(4 overlapping 1 MiB files) = %v, want ErrLimit", err)
	}
	r.files = r.files[:3]
	if err := walk(); err != nil {
		t.Errorf("Walk(3 overlapping 1 MiB files) = %v, want nil", err)
	}
}

// TestOpenOrder reads files through File.Open in storage order, reverse order, after a
// partial read and from several goroutines: the idle-cursor reuse must never mix them up.
func TestOpenOrder(t *testing.T) {
	var files []testFile
	want := map[string]string{}
	for i := range 12 {
		data := bytes.Repeat([]byte(fmt.Sprintf("file %d;", i)), 3000+i*1000)
		name := fmt.Sprintf("f%02d", i)
		files = append(files, testFile{name: name, data: data})
		want[name] = sha(data)
	}
	cab := buildCab(cabSpec{folders: []testFolder{{method: compMSZIP, files: files[:6]}, {method: compMSZIP, files: files[6:]}}})
	r, err := NewReader(bytes.NewReader(cab), int64(len(cab)))
	if err != nil {
		t.Fatal(err)
	}
	read := func(f *File, limit int64) (string, error) {
		rc, err := f.Open()
		if err != nil {
			return "", err
		}
		defer rc.Close()
		var rd io.Reader = rc
		if limit >= 0 {
			rd = io.LimitReader(rc, limit)
		}
		b, err := io.ReadAll(rd)
		return sha(b), err
	}
	all := r.Files()
	orders := map[string][]*File{"storage": all, "reverse": reversed(all)}
	for name, order := range orders {
		for i, f := range order {
			if i%3 == 1 {
				if _, err := read(f, 100); err != nil { // partial read, then close
					t.Fatalf("%s: partial read of %q: %v", name, f.Name, err)
				}
			}
			got, err := read(f, -1)
			if err != nil || got != want[f.Name] {
				t.Errorf("%s order: reading %q = %s, %v, want %s", name, f.Name, got, err, want[f.Name])
			}
		}
	}
	errs := make(chan error, len(all))
	for _, f := range all {
		go func() {
			got, err := read(f, -1)
			if err == nil && got != want[f.Name] {
				err = fmt.Errorf("reading %q = %s, want %s", f.Name, got, want[f.Name])
			}
			errs <- err
		}()
	}
	for range all {
		if err := <-errs; err != nil {
			t.Errorf("concurrent: %v", err)
		}
	}
}

func reversed(s []*File) []*File {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// TestCheckpoints: File.Open restarts MSZIP decoding from recorded restart points and
// still yields the right bytes in any order.
func TestCheckpoints(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var files []testFile
	want := map[string]string{}
	for i := range 40 {
		data := make([]byte, 100_000+rng.IntN(1000))
		for j := range data {
			data[j] = "abcdefgh"[rng.IntN(8)] // compressible, but each block refers back
		}
		name := fmt.Sprintf("f%02d", i)
		files = append(files, testFile{name: name, data: data})
		want[name] = sha(data)
	}
	cab := buildCab(cabSpec{folders: []testFolder{{method: compMSZIP, files: files}}, mszipLevel: flate.BestSpeed})
	r, err := NewReader(bytes.NewReader(cab), int64(len(cab)))
	if err != nil {
		t.Fatal(err)
	}
	check := func(order []*File) {
		t.Helper()
		for _, f := range order {
			rc, err := f.Open()
			if err != nil {
				t.Fatalf("Open(%q) = %v", f.Name, err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || sha(b) != want[f.Name] {
				t.Errorf("reading %q = %s, %v, want %s", f.Name, sha(b), err, want[f.Name])
			}
		}
	}
	// fn reads nothing: Walk skips through the folder, recording restart points.
	if err := r.Walk(func(string, int64, io.Reader) error { return nil }); err != nil {
		t.Fatal(err)
	}
	check(r.Files())
	fo := r.folders[0]
	if got, want := len(fo.ckpts), len(fo.blocks)/checkpointEvery; got != want {
		t.Errorf("%d restart points over %d blocks, want %d", got, len(fo.blocks), want)
	}
	check(reversed(r.Files()))
	shuffled := slices.Clone(r.Files())
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	check(shuffled)
}
