package pkg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
	"github.com/ulikunitz/xz"
)

func openPkg(t testing.TB, p string) *Reader { return testutil.Open(t, p, NewReader) }

func fixture(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "fixtures", "mac", name)
}

func walk(t *testing.T, r *Reader) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	err := r.Walk(func(p string, size int64, rd io.Reader) error {
		n, err := io.Copy(io.Discard, rd)
		if err != nil {
			return err
		}
		if n != size {
			t.Errorf("Walk %q yields %d bytes, size %d", p, n, size)
		}
		got[p] = size
		return nil
	})
	if err != nil {
		t.Fatalf("Walk = %v", err)
	}
	return got
}

func TestRelicDummy(t *testing.T) {
	r := openPkg(t, testutil.Sample(t, "pkg/relic-dummy.pkg"))
	if r.Identity() != "pkg:com.sas.dummy" {
		t.Errorf("Identity() = %q, want pkg:com.sas.dummy", r.Identity())
	}
	got := walk(t, r)
	want := map[string]int64{
		"(pkg)/Distribution":                                           1067,
		"(pkg)/com.sas.dummy.pkg/Bom":                                  36574,
		"(pkg)/com.sas.dummy.pkg/PackageInfo":                          830,
		"Applications/dummy.app/Contents/MacOS/dummy":                  172608,
		"Applications/dummy.app/Contents/Info.plist":                   1266,
		"Applications/dummy.app/Contents/PkgInfo":                      8,
		"Applications/dummy.app/Contents/_CodeSignature/CodeResources": 2200,
	}
	for p, n := range want {
		if got[p] != n {
			t.Errorf("Walk: %q size %d, want %d (all: %v)", p, got[p], n, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("Walk: %d files, want %d: %v", len(got), len(want), got)
	}
	if err := fstest.TestFS(r, "Applications/dummy.app/Contents/MacOS/dummy", "(pkg)/Distribution"); err != nil {
		t.Error(err)
	}
}

func TestFixtures(t *testing.T) {
	for _, name := range []string{"acme-mac-1.0.pkg", "acme-mac-1.1-dylib.pkg"} { // pbzx and gzip payloads
		r := openPkg(t, fixture(name))
		if r.Identity() != "pkg:com.acme.softphone" {
			t.Errorf("%s: Identity() = %q", name, r.Identity())
		}
		got := walk(t, r)
		var paths []string
		for p := range got {
			paths = append(paths, p)
		}
		slices.Sort(paths)
		want := []string{
			"(pkg)/Distribution",
			"(pkg)/acme.pkg/PackageInfo",
			"(pkg)/acme.pkg/Scripts/postinstall",
			"Applications/Acme.app/Contents/CodeResources",
			"Applications/Acme.app/Contents/Frameworks/libffmpeg.dylib",
			"Applications/Acme.app/Contents/Info.plist",
			"Applications/Acme.app/Contents/MacOS/Acme",
			"Applications/Acme.app/Contents/PkgInfo",
			"Applications/Acme.app/Contents/Resources/app.txt",
			"Applications/Acme.app/Contents/_CodeSignature/CodeResources",
		}
		if !slices.Equal(paths, want) {
			t.Errorf("%s: Walk paths = %q, want %q", name, paths, want)
		}
		if err := fstest.TestFS(r, want...); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		cs := r.Components()
		if len(cs) != 1 || cs[0].Dir != "acme.pkg" || cs[0].ID != "com.acme.softphone.app" || cs[0].InstallLocation != "/Applications" {
			t.Errorf("%s: Components() = %+v", name, cs)
		}
	}
}

func pbzxStream(chunks ...[]byte) []byte {
	var b bytes.Buffer
	b.WriteString("pbzx")
	binary.Write(&b, binary.BigEndian, uint64(1<<24|1<<20))
	for i, c := range chunks {
		flags := uint64(len(c))
		if i < len(chunks)-1 {
			flags |= 1 << 24
		}
		binary.Write(&b, binary.BigEndian, flags)
		binary.Write(&b, binary.BigEndian, uint64(len(c)))
		b.Write(c)
	}
	return b.Bytes()
}

func xzBytes(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w, err := xz.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func TestPbzx(t *testing.T) {
	// a 208-byte xz stream declaring a 1.5 GiB dictionary (made by unpack/xz/testdata/gen.sh)
	bigDict, err := os.ReadFile(filepath.Join("..", "xz", "testdata", "bigdict.xz"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		b    []byte
		want string
		err  error
	}{
		{"xz chunks", pbzxStream(xzBytes(t, "hello "), xzBytes(t, "world")), "hello world", nil},
		{"stored chunk", pbzxStream([]byte("plain"), xzBytes(t, "+xz")), "plain+xz", nil},
		{"truncated chunk", pbzxStream(xzBytes(t, "hello"))[:30], "", unpack.ErrFormat},
		{"announced chunk missing", pbzxStream(xzBytes(t, "a"), xzBytes(t, "b"))[:12+16+len(xzBytes(t, "a"))], "", unpack.ErrFormat},
		{"not pbzx", []byte("pbzy0000000000000000"), "", unpack.ErrFormat},
		{"xz dictionary above MaxXZDict", pbzxStream(bigDict), "", unpack.ErrLimit},
		{"corrupt xz", pbzxStream(append(xzBytes(t, "hello")[:20], make([]byte, 20)...)), "", unpack.ErrFormat},
		{"huge chunk length", append(pbzxStream(), []byte{0, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}...), "", unpack.ErrFormat},
	}
	for _, tt := range tests {
		r, err := NewPbzxReader(bytes.NewReader(tt.b))
		var got []byte
		if err == nil {
			got, err = io.ReadAll(r)
		}
		if !errors.Is(err, tt.err) || (tt.err == nil && string(got) != tt.want) {
			t.Errorf("pbzx(%s) = %q, %v, want %q, %v", tt.name, got, err, tt.want, tt.err)
		}
	}
}

func FuzzPbzx(f *testing.F) {
	f.Add(pbzxStream(xzBytes(f, "hello "), xzBytes(f, "world")))
	f.Add(pbzxStream([]byte("plain")))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewPbzxReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		io.Copy(io.Discard, io.LimitReader(r, 64<<20))
	})
}

func FuzzPkg(f *testing.F) {
	for _, p := range []string{fixture("acme-mac-1.0.pkg"), fixture("acme-mac-1.1-adhoc.pkg")} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		r, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		r.Walk(func(_ string, _ int64, rd io.Reader) error { _, err := io.Copy(io.Discard, rd); return err })
		fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if !fs.ValidPath(p) {
				t.Fatalf("invalid path %q", p)
			}
			if d.Type().IsRegular() {
				fs.ReadFile(r, p)
			}
			return nil
		})
	})
}

// maxFuzzInput caps FuzzPkg's inputs (the seeds are 8 KiB): larger ones only make each
// execution slower.
const maxFuzzInput = 64 << 10
