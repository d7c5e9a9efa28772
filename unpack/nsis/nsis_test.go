package nsis

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
)

func open(t testing.TB, name string) *Reader {
	return testutil.Open(t, filepath.Join("testdata", name), NewReader)
}

// fixtures lists every generated installer and what it was built with (testdata/gen.sh).
var fixtures = []struct {
	name    string
	method  Method
	solid   bool
	unicode bool
	is64    bool
}{
	{"acme-5.1.0-setup.exe", LZMA, true, true, false},
	{"acme-5.2.0-setup.exe", LZMA, true, true, false},
	{"acme-zlib-ansi.exe", Deflate, false, false, false},
	{"acme-zlib-solid.exe", Deflate, true, true, false},
	{"acme-bzip2.exe", BZip2, false, true, false},
	{"acme-bzip2-solid-ansi.exe", BZip2, true, false, false},
	{"acme-lzma-amd64.exe", LZMA, false, true, true},
}

type content struct {
	Size   int64
	SHA256 string
}

// golden reads testdata/golden/NAME.tsv (`7zz x` of the fixture) and maps 7-Zip's names to
// this package's paths: "$NAME/..." → "NAME/...", anything else → "INSTDIR/...". A run-time
// variable ($0…$9, $R0…$R9, $_N_) leading a name is a name inside $INSTDIR, which 7-Zip
// lists bare, and keeps its "$" (see the package comment).
func golden(t *testing.T, name string) map[string]content {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "golden", strings.TrimSuffix(name, ".exe")+".tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]content{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 3 {
			t.Fatalf("golden line %q", sc.Text())
		}
		size, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		p := fields[0]
		if strings.HasPrefix(p, "$") && !runtimeVar.MatchString(p) {
			p = p[1:]
		} else {
			p = "INSTDIR/" + p
		}
		out[p] = content{size, fields[2]}
	}
	return out
}

// runtimeVar matches a name led by a register or user variable.
var runtimeVar = regexp.MustCompile(`^\$(R?[0-9]|_[0-9]+_)(/|$)`)

func hashOf(t testing.TB, r io.Reader) (int64, string) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	return n, hex.EncodeToString(h.Sum(nil))
}

// TestConformance compares Walk and fs.ReadFile with `7zz x` file by file. Paths with a "~N"
// suffix (earlier extractions to one path, which 7zz overwrites) are checked in
// TestDuplicatePath.
func TestConformance(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			r := open(t, fx.name)
			if r.Method != fx.method || r.Solid != fx.solid || r.Unicode != fx.unicode || r.Is64 != fx.is64 || !r.NSIS3 {
				t.Errorf("method %v solid %v unicode %v is64 %v nsis3 %v, want %v %v %v %v true",
					r.Method, r.Solid, r.Unicode, r.Is64, r.NSIS3, fx.method, fx.solid, fx.unicode, fx.is64)
			}
			want := golden(t, fx.name)
			walked := map[string]content{}
			err := r.Walk(func(p string, size int64, rd io.Reader) error {
				n, sum := hashOf(t, rd)
				if n != size {
					t.Errorf("Walk %q: %d bytes, size %d", p, n, size)
				}
				if !strings.Contains(p, "~") {
					walked[p] = content{n, sum}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("Walk = %v", err)
			}
			if d := cmp.Diff(want, walked); d != "" {
				t.Errorf("Walk vs 7zz x (-want +got)\n%s", d)
			}
			opened := map[string]content{}
			for p := range want {
				b, err := fs.ReadFile(r, p)
				if err != nil {
					t.Errorf("ReadFile(%q) = %v", p, err)
					continue
				}
				sum := sha256.Sum256(b)
				opened[p] = content{int64(len(b)), hex.EncodeToString(sum[:])}
			}
			if d := cmp.Diff(want, opened); d != "" {
				t.Errorf("ReadFile vs 7zz x (-want +got)\n%s", d)
			}
		})
	}
}

// TestRealConformance holds the reader against `7zz x` on real NSIS installers other projects
// publish (Debian's win32-loader, ClamAV's test installer; testdata/gen-real.sh made the
// listings from the pinned corpus of scripts/fetch-realfiles).
func TestRealConformance(t *testing.T) {
	for _, tc := range []struct{ name, path string }{
		{"win32-loader", "installers/debian/win32-loader@0.10.6/win32-loader.exe"},
		{"clam-nsis", "installers/debian/clamav-testfiles@1.4.3/clam-nsis.exe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testutil.Open(t, testutil.RealFile(t, tc.path), NewReader)
			want := golden(t, filepath.Join("real", tc.name))
			got := map[string]content{}
			err := r.Walk(func(p string, size int64, rd io.Reader) error {
				n, sum := hashOf(t, rd)
				if n != size {
					t.Errorf("Walk %q: %d bytes, size %d", p, n, size)
				}
				if !strings.Contains(p, "~") {
					got[p] = content{n, sum}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("Walk = %v", err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("Walk vs 7zz x (-want +got)\n%s", d)
			}
		})
	}
}

func TestFSTest(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			r := open(t, fx.name)
			var paths []string
			for p := range golden(t, fx.name) {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			if err := fstest.TestFS(r, paths...); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestDuplicatePath(t *testing.T) {
	r := open(t, "acme-zlib-ansi.exe")
	readme, err := os.ReadFile("testdata/src/readme.txt")
	if err != nil {
		t.Fatal(err)
	}
	config, err := os.ReadFile("testdata/src/config.dat")
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string][]byte{"INSTDIR/notes.txt~1": readme, "INSTDIR/notes.txt": config} {
		got, err := fs.ReadFile(r, p)
		if err != nil {
			t.Errorf("ReadFile(%q) = %v", p, err)
		} else if !bytes.Equal(got, want) {
			t.Errorf("ReadFile(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestScript(t *testing.T) {
	const uninst = `Software\Microsoft\Windows\CurrentVersion\Uninstall\AcmeSoftphone`
	want := func(version string, dl Download, exec int) *Script {
		return &Script{
			Registry: []RegWrite{
				{Root: "HKLM", Key: `Software\Microsoft\Windows\CurrentVersion\Run`, Name: "AcmeSoftphone", Type: "REG_SZ", Value: `"$INSTDIR\bin\acme.exe" /background`, Entry: 10},
				{Root: "HKLM", Key: uninst, Name: "DisplayName", Type: "REG_SZ", Value: "Acme Softphone", Entry: 11},
				{Root: "HKLM", Key: uninst, Name: "Publisher", Type: "REG_SZ", Value: "Acme Softphone Ltd", Entry: 12},
				{Root: "HKLM", Key: uninst, Name: "DisplayVersion", Type: "REG_SZ", Value: version, Entry: 13},
				{Root: "HKLM", Key: uninst, Name: "UninstallString", Type: "REG_SZ", Value: `"$INSTDIR\uninstall.exe"`, Entry: 14},
				{Root: "HKLM", Key: uninst, Name: "NoModify", Type: "REG_DWORD", Value: "1", Entry: 15},
			},
			Execs: []Exec{
				{Kind: "ExecWait", Command: `"$INSTDIR\bin\acme.exe" /register`, Entry: 17},
				{Kind: "ExecShell", Verb: "open", Command: "https://www.acme-softphone.test/welcome", Entry: 18},
				{Kind: "Exec", Command: `"$TEMP\acme-update.bin" /quiet`, Entry: exec},
			},
			Downloads: []Download{dl},
			Uninstall: &UninstallKey{Root: "HKLM", Key: uninst, Name: "AcmeSoftphone", DisplayName: "Acme Softphone",
				Publisher: "Acme Softphone Ltd", DisplayVersion: version},
		}
	}
	nsisdl := Download{Plugin: "NSISdl::download", URL: "http://198.51.100.7/acme/update.bin", Dest: `$TEMP\acme-update.bin`, Entry: 24}
	tests := []struct {
		name string
		want *Script
	}{
		{"acme-5.1.0-setup.exe", want("5.1.0", nsisdl, 25)},
		{"acme-5.2.0-setup.exe", want("5.2.0", nsisdl, 25)},
		{"acme-zlib-ansi.exe", want("5.1.0", nsisdl, 25)},
		{"acme-lzma-amd64.exe", want("5.1.0", Download{Plugin: "inetc::get", URL: "http://198.51.100.7/acme/update.bin", Dest: `$TEMP\acme-update.bin`, Entry: 26}, 27)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, open(t, tt.name).Script()); d != "" {
				t.Errorf("Script() (-want +got)\n%s", d)
			}
		})
	}
}

func TestFiles(t *testing.T) {
	r := open(t, "acme-5.1.0-setup.exe")
	var got []string
	for _, f := range r.Files() {
		got = append(got, f.RawName+" -> "+f.Path)
	}
	want := []string{
		`$INSTDIR\readme.txt -> INSTDIR/readme.txt`,
		`$INSTDIR\bin\media.dll -> INSTDIR/bin/media.dll`,
		`$INSTDIR\bin\gfxcomp_47.dll -> INSTDIR/bin/gfxcomp_47.dll`,
		`$INSTDIR\data\sub\config.dat -> INSTDIR/data/sub/config.dat`,
		`$LOCALAPPDATA\Acme\profile.dat -> LOCALAPPDATA/Acme/profile.dat`,
		`$INSTDIR\uninstall.exe -> INSTDIR/uninstall.exe`,
		`$PLUGINSDIR\NSISdl.dll -> PLUGINSDIR/NSISdl.dll`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Files() (-want +got)\n%s", d)
	}
}

func TestFSPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{`$INSTDIR\bin\a.dll`, "INSTDIR/bin/a.dll"},
		{`$PLUGINSDIR\x.dll`, "PLUGINSDIR/x.dll"},
		{`a.txt`, "INSTDIR/a.txt"},
		{`C:\Windows\x.dll`, "C:/Windows/x.dll"},
		{`\\server\share\x`, "UNC/server/share/x"},
		{`$INSTDIR\..\..\evil.dll`, "INSTDIR/evil.dll"},
		{`$INSTDIR\`, "INSTDIR/file"},
		{``, "INSTDIR/file"},
		{`..\x`, "INSTDIR/x"},
		{`$0\x`, "0/x"},
		{`$SYSDIR\version.dll. .`, "SYSDIR/version.dll"},
		{`$INSTDIR\bin.\a.dll`, "INSTDIR/bin/a.dll"},
		{`$INSTDIR\ . `, "INSTDIR/file"},
	}
	for _, tt := range tests {
		if got := fsPath(tt.in); got != tt.want || !fs.ValidPath(got) {
			t.Errorf("fsPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNotNSIS(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty": nil,
		"short": []byte("MZ"),
		"zeros": make([]byte, 4096),
		"text":  bytes.Repeat([]byte("NullsoftInst"), 500),
	} {
		_, err := NewReader(bytes.NewReader(data), int64(len(data)))
		if !errors.Is(err, unpack.ErrFormat) {
			t.Errorf("NewReader(%s) = %v, want ErrFormat", name, err)
		}
	}
}

func readFixture(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// refused reports whether err carries one of the sentinels a hostile input may produce.
func refused(err error) bool {
	return errors.Is(err, unpack.ErrFormat) || errors.Is(err, unpack.ErrLimit) || errors.Is(err, unpack.ErrUnsupported)
}

// readAll opens data and walks and reads everything; it returns the first error.
func readAll(t testing.TB, data []byte) error {
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	werr := r.Walk(func(p string, size int64, rd io.Reader) error {
		if !fs.ValidPath(p) {
			t.Fatalf("invalid path %q", p)
		}
		_, err := io.Copy(io.Discard, rd)
		return err
	})
	testutil.WalkRead(t, r, 1<<24)
	return werr
}

func TestHostile(t *testing.T) {
	base := readFixture(t, "acme-5.1.0-setup.exe")
	nonSolid := readFixture(t, "acme-zlib-ansi.exe")
	r := open(t, "acme-5.1.0-setup.exe")
	fh := int(r.Offset)
	rz := open(t, "acme-zlib-ansi.exe")
	fhz := int(rz.Offset)
	le := func(b []byte, off int, v uint32) []byte {
		c := bytes.Clone(b)
		c[off], c[off+1], c[off+2], c[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		return c
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"truncated in the stub", base[:fh-100], unpack.ErrFormat},
		{"truncated after the firstheader", base[:fh+40], unpack.ErrFormat},
		{"truncated in the data", base[:fh+4000], unpack.ErrFormat},
		{"header length over the limit", le(base, fh+20, MaxHeaderBytes+1), unpack.ErrLimit},
		{"header length zero", le(base, fh+20, 0), unpack.ErrLimit},
		{"archive length past the end", le(base, fh+24, 1<<30), unpack.ErrFormat},
		{"unknown flags", le(base, fh, 0x100), unpack.ErrUnsupported},
		{"LZMA dictionary over the limit", le(base, fh+28+1, MaxDictBytes*2), unpack.ErrLimit},
		{"header length mismatch", le(base, fh+20, r.HeaderLen-1), unpack.ErrFormat},
		{"non-solid header block past the end", le(nonSolid, fhz+28, compressedBit|1<<29), unpack.ErrFormat},
		{"non-solid truncated", nonSolid[:fhz+3000], unpack.ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := readAll(t, tt.data); !errors.Is(err, tt.want) {
				t.Errorf("read = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestCorrupted flips bytes across the compressed data: every outcome is a clean error or
// success, never a panic, and every error carries a sentinel.
func TestCorrupted(t *testing.T) {
	for _, name := range []string{"acme-5.1.0-setup.exe", "acme-zlib-ansi.exe", "acme-lzma-amd64.exe"} {
		base := readFixture(t, name)
		off := int(open(t, name).Offset)
		for i := off + 28; i < len(base); i += 997 {
			c := bytes.Clone(base)
			c[i] ^= 0x5a
			if err := readAll(t, c); err != nil && !refused(err) {
				t.Errorf("%s byte 0x%x: %v, want a sentinel", name, i, err)
			}
		}
	}
}

func TestWalkStopsOnError(t *testing.T) {
	r := open(t, "acme-5.1.0-setup.exe")
	stop := errors.New("stop")
	n := 0
	err := r.Walk(func(string, int64, io.Reader) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("Walk = %v after %d calls, want stop after 1", err, n)
	}
}

// FuzzReader opens, walks and reads the whole fs.FS of arbitrary input: no panic, no error
// without a sentinel, every path valid.
func FuzzReader(f *testing.F) {
	for _, fx := range fixtures {
		if b, err := os.ReadFile(filepath.Join("testdata", fx.name)); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []*synth{sample(false, true), sample(false, false), sample(true, false)} {
		f.Add(s.build())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := readAll(t, data); err != nil && !refused(err) {
			t.Fatalf("read = %v, want nil or ErrFormat/ErrUnsupported/ErrLimit", err)
		}
	})
}

// TestReleaseFixtures holds the facts the rules rely on: media.dll changed between 5.1.0 and
// 5.2.0 with the same FileVersion, and 5.2.0's gfxcomp_47.dll carries bytes after its
// PKCS#7 blob (the 3CX marker).
func TestReleaseFixtures(t *testing.T) {
	read := func(name, p string) []byte {
		b, err := fs.ReadFile(open(t, name), p)
		if err != nil {
			t.Fatalf("%s: ReadFile(%q) = %v", name, p, err)
		}
		return b
	}
	version := []byte{}
	for _, c := range "5.1.0.0" {
		version = append(version, byte(c), 0)
	}
	old, cur := read("acme-5.1.0-setup.exe", "INSTDIR/bin/media.dll"), read("acme-5.2.0-setup.exe", "INSTDIR/bin/media.dll")
	if bytes.Equal(old, cur) || !bytes.Contains(old, version) || !bytes.Contains(cur, version) {
		t.Errorf("media.dll: equal %v, FileVersion 5.1.0.0 in 5.1.0 %v, in 5.2.0 %v; want different builds, same version",
			bytes.Equal(old, cur), bytes.Contains(old, version), bytes.Contains(cur, version))
	}
	plain, padded := read("acme-5.1.0-setup.exe", "INSTDIR/bin/gfxcomp_47.dll"), read("acme-5.2.0-setup.exe", "INSTDIR/bin/gfxcomp_47.dll")
	if len(padded) <= len(plain) || bytes.Contains(plain, []byte("\xfe\xed\xfa\xce")) || !bytes.Contains(padded, []byte("\xfe\xed\xfa\xce")) {
		t.Errorf("gfxcomp_47.dll: %d bytes plain, %d padded; want the padded one larger with the marker", len(plain), len(padded))
	}
}

func TestSamplePENotNSIS(t *testing.T) {
	b := testutil.ReadSample(t, "pe/osslsigncode-unsigned.exe")
	if _, err := NewReader(bytes.NewReader(b), int64(len(b))); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("NewReader(osslsigncode-unsigned.exe) = %v, want ErrFormat", err)
	}
}
