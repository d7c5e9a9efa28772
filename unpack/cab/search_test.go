package cab

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
)

// walked is one file a Walk delivered.
type walked struct {
	Name string
	Size int64
	MD5  string
}

func walkMulti(t testing.TB, m *Multi) ([]walked, error) {
	var got []walked
	err := m.Walk(func(p string, size int64, rd io.Reader) error {
		h := md5.New()
		if _, err := io.Copy(h, rd); err != nil {
			return err
		}
		got = append(got, walked{p, size, hex.EncodeToString(h.Sum(nil))})
		return nil
	})
	return got, err
}

// TestSearchConformance reads the libmspack good samples that read alone with
// NewSearchReader and compares every file (name, size, MD5 of the bytes) with cabextract's
// listing, recorded in testdata/cabextract-search.tsv by testdata/gen-cabextract-search.sh.
// search.cab's 24 cabinets after 6 bytes of text come out under "(cab@OFFSET)/", in file
// order; the single-cabinet samples keep their plain names.
func TestSearchConformance(t *testing.T) {
	golden := map[string][]walked{}
	var order []string
	f, err := os.Open(filepath.Join("testdata", "cabextract-search.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		col := strings.Split(sc.Text(), "\t")
		if len(col) != 4 {
			t.Fatalf("cabextract-search.tsv: %q has %d columns, want 4", sc.Text(), len(col))
		}
		size, err := strconv.ParseInt(col[1], 10, 64)
		if err != nil {
			t.Fatalf("cabextract-search.tsv: %q: %v", sc.Text(), err)
		}
		if golden[col[0]] == nil {
			order = append(order, col[0])
		}
		golden[col[0]] = append(golden[col[0]], walked{Name: col[3], Size: size, MD5: col[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(order) < 7 {
		t.Fatalf("cabextract-search.tsv lists %d samples, want 7", len(order))
	}
	dir := testutil.Sample(t, "cab/libmspack/good")
	for _, name := range order {
		t.Run(name, func(t *testing.T) {
			fh, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			st, err := fh.Stat()
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewSearchReader(fh, st.Size())
			if err != nil {
				t.Fatalf("NewSearchReader = %v", err)
			}
			got, err := walkMulti(t, m)
			if err != nil {
				t.Fatalf("Walk = %v", err)
			}
			// cabextract lists without the cabinet prefix; the prefixes are checked below.
			var plain []walked
			for _, w := range got {
				if len(m.Found()) > 1 {
					pre, rest, ok := strings.Cut(w.Name, "/")
					if !ok || !strings.HasPrefix(pre, "(cab@") {
						t.Errorf("%q: no (cab@OFFSET)/ prefix with %d cabinets", w.Name, len(m.Found()))
					}
					w.Name = rest
				}
				plain = append(plain, w)
			}
			if d := cmp.Diff(golden[name], plain); d != "" {
				t.Errorf("files differ from cabextract -l/-t (-want +got)\n%s", d)
			}
		})
	}
	t.Run("search.cab offsets", func(t *testing.T) {
		data := testutil.ReadSample(t, "cab/libmspack/good/search.cab")
		found, err := Search(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		// Each cabinet stores the next one as a file (hello.cab holds hello.txt's cabinet):
		// the scan resumes after an accepted cabinet, so the stored ones are not found twice.
		want := []Found{{6, 162}, {174, 162}, {344, 168}, {519, 165}, {684, 84}, {768, 84}, {852, 88}, {940, 86},
			{1033, 162}, {1195, 84}, {1279, 162}, {1441, 84}, {1525, 162}, {1687, 84}, {1771, 162}, {1933, 84},
			{2017, 168}, {2185, 88}, {2273, 168}, {2441, 88}, {2529, 165}, {2694, 86}, {2780, 165}, {2945, 86}}
		if d := cmp.Diff(want, found); d != "" {
			t.Errorf("Search(search.cab) (-want +got)\n%s", d)
		}
	})
}

// TestSearchHostileSamples: the libmspack bad samples give a clean error or a bounded read.
func TestSearchHostileSamples(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(testutil.Sample(t, "cab/libmspack/bad"), "*.cab"))
	if len(paths) < 20 {
		t.Fatalf("found %d bad samples, want the libmspack set", len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := readSearched(t, data); err != nil && !refused(err) {
				t.Errorf("read = %v, want nil or ErrFormat/ErrUnsupported/ErrLimit", err)
			}
		})
	}
}

// readSearched searches data, walks every cabinet found and reads the fs.FS; it returns the
// first error.
func readSearched(t testing.TB, data []byte) error {
	m, err := NewSearchReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	walkErr := m.Walk(func(p string, size int64, rd io.Reader) error {
		if !fs.ValidPath(p) {
			t.Errorf("Walk path %q is not valid", p)
		}
		_, err := io.Copy(io.Discard, rd)
		return err
	})
	fsErr := fs.WalkDir(m, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := m.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(io.Discard, f)
		return err
	})
	return errors.Join(walkErr, fsErr)
}

func oneFileCab(name, data string) []byte {
	return buildCab(cabSpec{folders: []testFolder{{method: compMSZIP, files: []testFile{{name: name, data: []byte(data)}}}}})
}

// patched returns a copy of b with le32 v at off.
func patched(b []byte, off int, v ...byte) []byte {
	c := append([]byte(nil), b...)
	copy(c[off:], v)
	return c
}

func TestSearch(t *testing.T) {
	a := oneFileCab("a.txt", "first cabinet")
	b := oneFileCab(`dir\b.txt`, "second cabinet")
	stub := bytes.Repeat([]byte("MZ stub MSCF\x00"), 40) // signatures without a cabinet
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name  string
		data  []byte
		found []int64 // offsets
		want  []walked
	}{
		{"cabinet at 0", a, []int64{0}, []walked{{"a.txt", 13, md5s("first cabinet")}}},
		{"after a stub: plain names", cat(stub, a), []int64{int64(len(stub))}, []walked{{"a.txt", 13, md5s("first cabinet")}}},
		{"after a stub, data after", cat(stub, a, stub), []int64{int64(len(stub))}, []walked{{"a.txt", 13, md5s("first cabinet")}}},
		{"two cabinets: prefixed", cat(stub, a, []byte("pad"), b), []int64{int64(len(stub)), int64(len(stub) + len(a) + 3)},
			[]walked{{"(cab@520)/a.txt", 13, md5s("first cabinet")}, {"(cab@" + strconv.Itoa(520+len(a)+3) + ")/dir/b.txt", 14, md5s("second cabinet")}}},
		{"cabinet stored in a cabinet: found once", cat(stub, buildCab(cabSpec{folders: []testFolder{{method: compNone,
			files: []testFile{{name: "inner.cab", data: a}}}}})), []int64{int64(len(stub))}, []walked{{"inner.cab", int64(len(a)), md5s(string(a))}}},
		{"reserved1 set: skipped", cat(patched(a, 4, 1), b), []int64{int64(len(a))}, []walked{{"dir/b.txt", 14, md5s("second cabinet")}}},
		{"reserved2 set: skipped", cat(patched(a, 12, 1), b), []int64{int64(len(a))}, []walked{{"dir/b.txt", 14, md5s("second cabinet")}}},
		{"reserved3 set: skipped", cat(patched(a, 20, 1), b), []int64{int64(len(a))}, []walked{{"dir/b.txt", 14, md5s("second cabinet")}}},
		{"version 1.2: skipped", cat(patched(a, 24, 2), b), []int64{int64(len(a))}, []walked{{"dir/b.txt", 14, md5s("second cabinet")}}},
		{"cbCabinet past the end: skipped", cat(b, patched(a, 8, 0xff, 0xff)), []int64{0}, []walked{{"dir/b.txt", 14, md5s("second cabinet")}}},
		{"coffFiles past cbCabinet: skipped", cat(patched(a, 16, 0xff, 0xff), b), []int64{int64(len(a))}, []walked{{"dir/b.txt", 14, md5s("second cabinet")}}},
		{"no folders: skipped", cat(patched(a, 26, 0, 0), b), []int64{int64(len(a))}, []walked{{"dir/b.txt", 14, md5s("second cabinet")}}},
		{"files beyond the cabinet: skipped", cat(patched(a, 28, 0xff, 0xff), b), []int64{int64(len(a))}, []walked{{"dir/b.txt", 14, md5s("second cabinet")}}},
		{"header across a chunk boundary", cat(make([]byte, searchChunk-10), a), []int64{searchChunk - 10}, []walked{{"a.txt", 13, md5s("first cabinet")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found, err := Search(bytes.NewReader(tt.data), int64(len(tt.data)))
			if err != nil {
				t.Fatalf("Search = %v", err)
			}
			var offs []int64
			for _, f := range found {
				offs = append(offs, f.Offset)
			}
			if d := cmp.Diff(tt.found, offs); d != "" {
				t.Errorf("Search offsets (-want +got)\n%s", d)
			}
			m, err := OpenFound(bytes.NewReader(tt.data), found)
			if err != nil {
				t.Fatalf("OpenFound = %v", err)
			}
			got, err := walkMulti(t, m)
			if err != nil {
				t.Fatalf("Walk = %v", err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Walk (-want +got)\n%s", d)
			}
		})
	}
}

func md5s(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestSearchNone: input without a cabinet is a format error; a signature alone is no cabinet.
func TestSearchNone(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("MSCF"), bytes.Repeat([]byte("MSCF\x00\x00\x00\x00"), 100)} {
		_, err := NewSearchReader(bytes.NewReader(data), int64(len(data)))
		if !errors.Is(err, unpack.ErrFormat) {
			t.Errorf("NewSearchReader(%d bytes) = %v, want ErrFormat", len(data), err)
		}
	}
}

// zeros is size bytes of zeros without holding them.
type zeros int64

func (z zeros) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(z) {
		return 0, io.EOF
	}
	n := min(int64(len(p)), int64(z)-off)
	clear(p[:n])
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

// TestSearchLimits: more cabinets than MaxSearchCabinets, or more bytes to scan than
// MaxSearchBytes, is ErrLimit, never a silent partial listing.
func TestSearchLimits(t *testing.T) {
	a := oneFileCab("a", "x")
	many := bytes.Repeat(a, MaxSearchCabinets+1)
	if _, err := Search(bytes.NewReader(many), int64(len(many))); !errors.Is(err, unpack.ErrLimit) {
		t.Errorf("Search(%d cabinets) = %v, want ErrLimit", MaxSearchCabinets+1, err)
	}
	exact := many[:len(a)*MaxSearchCabinets]
	if found, err := Search(bytes.NewReader(exact), int64(len(exact))); err != nil || len(found) != MaxSearchCabinets {
		t.Errorf("Search(%d cabinets) = %d found, %v, want all of them", MaxSearchCabinets, len(found), err)
	}
	big := zeros(MaxSearchBytes + 1<<20)
	if _, err := Search(big, int64(big)); !errors.Is(err, unpack.ErrLimit) {
		t.Errorf("Search(%d zero bytes) = %v, want ErrLimit", int64(big), err)
	}
	small := zeros(MaxSearchBytes - 1<<20)
	if found, err := Search(small, int64(small)); err != nil || len(found) != 0 {
		t.Errorf("Search(%d zero bytes) = %v, %v, want nothing found, no error", int64(small), found, err)
	}
}

// TestMultiFS checks the fs.FS of several cabinets: one directory per cabinet.
func TestMultiFS(t *testing.T) {
	a := oneFileCab("a.txt", "first cabinet")
	b := oneFileCab(`dir\b.txt`, "second cabinet")
	data := append(append([]byte("junk"), a...), b...)
	m, err := NewSearchReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	second := "(cab@" + strconv.Itoa(4+len(a)) + ")"
	if err := fstest.TestFS(m, "(cab@4)/a.txt", second+"/dir/b.txt"); err != nil {
		t.Error(err)
	}
	got, err := fs.ReadFile(m, second+"/dir/b.txt")
	if err != nil || string(got) != "second cabinet" {
		t.Errorf("ReadFile = %q, %v", got, err)
	}
}

// FuzzSearch searches, walks and reads arbitrary input: no panic, no error other than
// ErrFormat / ErrUnsupported / ErrLimit, every path valid.
func FuzzSearch(f *testing.F) {
	for _, seed := range searchSeeds() {
		f.Add(seed[0].([]byte))
	}
	if data, err := os.ReadFile(filepath.Join(samplesDir(), "cab", "libmspack", "good", "search.cab")); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := readSearched(t, data); err != nil && !refused(err) {
			t.Fatalf("read = %v, want nil or ErrFormat/ErrUnsupported/ErrLimit", err)
		}
	})
}

// searchSeeds are FuzzSearch's built seeds, also committed under testdata/fuzz/FuzzSearch.
func searchSeeds() [][]any {
	a := oneFileCab("a.txt", "first cabinet")
	b := oneFileCab(`dir\b.txt`, "second cabinet")
	return [][]any{
		{append([]byte("MZ\x90\x00stub"), a...)},
		{bytes.Join([][]byte{[]byte("hello\n"), a, []byte("MSCF\x00\x00\x00\x00"), b}, nil)},
		{bytes.Join([][]byte{patched(a, 8, 0xff), b}, nil)},
	}
}

// TestFuzzCorpus checks that the built seeds are committed in testdata/fuzz, so a plain
// `go test` runs them.
func TestFuzzCorpus(t *testing.T) {
	testutil.CheckFuzzCorpus(t, "FuzzSearch", searchSeeds()...)
}
