package iscab_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/iscab"
	"github.com/rollgate/rollgate/unpack/iscab/iscabtest"
	"github.com/rollgate/rollgate/unpack/ishield"
)

type entry struct {
	Path   string
	Size   int64
	SHA256 string
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// readAll opens every listed file through the fs.FS, in listing order.
func readAll(t *testing.T, r *iscab.Reader) ([]entry, error) {
	t.Helper()
	var got []entry
	for _, f := range r.Files {
		fh, err := r.Open(f.Path)
		if err != nil {
			return got, err
		}
		h := sha256.New()
		n, err := io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return got, err
		}
		got = append(got, entry{f.Path, n, hex.EncodeToString(h.Sum(nil))})
	}
	return got, nil
}

// walkAll reads every file through Walk, in path order.
func walkAll(r *iscab.Reader) (map[string]entry, error) {
	got := map[string]entry{}
	err := r.Walk(func(p string, size int64, rd io.Reader) error {
		h := sha256.New()
		if _, err := io.Copy(h, rd); err != nil {
			return err
		}
		got[p] = entry{p, size, hex.EncodeToString(h.Sum(nil))}
		return nil
	})
	return got, err
}

func bytesOf(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
		if i%3 == 0 {
			b[i] = 'A' + byte(i%7) // compressible
		}
	}
	return b
}

// synthetic is a set with every feature the writer makes: groups, a file no group lists,
// stored and compressed, obfuscated, a file in volume 2, a file split across volumes 1 and
// 2, a duplicated-file link and an invalid descriptor.
func synthetic() (iscabtest.Set, []entry) {
	s := iscabtest.Set{Files: []iscabtest.File{
		{Group: "<Support>Files", Name: "stored.txt", Data: []byte("stored bytes\r\n")},
		{Group: "<Support>Files", Dir: `bin\x86`, Name: "big.dll", Data: bytesOf(100<<10, 1), Compress: true},
		{Group: "Program", Dir: "bin", Name: "obf.exe", Data: bytesOf(3000, 2), Compress: true, Obfuscate: true},
		{Group: "Program", Dir: "bin", Name: "plain-obf.dat", Data: bytesOf(500, 3), Obfuscate: true},
		{Group: "Program", Dir: "bin", Name: "split.bin", Data: bytesOf(70<<10, 4), Compress: true, Split: 1000},
		{Group: "Program", Dir: "bin", Name: "two.txt", Data: []byte("in volume two"), Vol: 2},
		{Group: "Program", Dir: "copy", Name: "big-again.dll", Data: bytesOf(100<<10, 1), LinkTo: 2},
		{Group: "Program", Dir: "bin", Name: "gone.txt", Data: []byte("x"), Invalid: true},
		{Dir: "loose", Name: "empty.txt", Data: nil, Vol: 2},
	}}
	want := []entry{
		{"<Support>Files/stored.txt", 14, sum([]byte("stored bytes\r\n"))},
		{"<Support>Files/bin/x86/big.dll", 100 << 10, sum(bytesOf(100<<10, 1))},
		{"Program/bin/obf.exe", 3000, sum(bytesOf(3000, 2))},
		{"Program/bin/plain-obf.dat", 500, sum(bytesOf(500, 3))},
		{"Program/bin/split.bin", 70 << 10, sum(bytesOf(70<<10, 4))},
		{"Program/bin/two.txt", 13, sum([]byte("in volume two"))},
		{"Program/copy/big-again.dll", 100 << 10, sum(bytesOf(100<<10, 1))},
		{"loose/empty.txt", 0, sum(nil)},
	}
	return s, want
}

func TestSynthetic(t *testing.T) {
	s, want := synthetic()
	fsys := s.FS()
	if _, ok := fsys["Disk1/data2.cab"]; !ok {
		t.Fatal("writer made no second volume")
	}
	r, err := iscab.Open(fsys, "Disk1/data1.hdr")
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	defer r.Close()
	if r.Major != 9 {
		t.Errorf("Major = %d, want 9", r.Major)
	}
	got, err := readAll(t, r)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	walked, err := walkAll(r)
	if err != nil {
		t.Fatalf("Walk = %v", err)
	}
	wantMap := map[string]entry{}
	var paths []string
	for _, e := range want {
		wantMap[e.Path] = e
		paths = append(paths, e.Path)
	}
	if d := cmp.Diff(wantMap, walked); d != "" {
		t.Errorf("Walk (-want +got)\n%s", d)
	}
	if err := fstest.TestFS(r, paths...); err != nil {
		t.Error(err)
	}
}

// TestVariants reads the synthetic set in the version 5 layout (no links, no MD5 check, the
// volume found from the volume headers) and with UTF-16 names (major version 17 and later).
func TestVariants(t *testing.T) {
	base, want := synthetic()
	var files []iscabtest.File
	for _, f := range base.Files {
		if f.LinkTo == 0 {
			files = append(files, f) // version 5 has no duplicated-file links
		}
	}
	var wantV5 []entry
	for _, e := range want {
		if e.Path != "Program/copy/big-again.dll" {
			wantV5 = append(wantV5, e)
		}
	}
	for _, tc := range []struct {
		name  string
		set   iscabtest.Set
		major int
		want  []entry
	}{
		{"version 5", iscabtest.Set{V5: true, Files: files}, 5, wantV5},
		{"version 12", iscabtest.Set{Version: 0x020004b0, Files: base.Files}, 12, want},
		{"data1.cab its own header", iscabtest.Set{SelfHeader: true, Files: base.Files}, 9, want},
		{"unicode names", iscabtest.Set{Version: 0x04000834, Unicode: true, Files: append(append([]iscabtest.File(nil), base.Files[:8]...),
			iscabtest.File{Dir: "loose", Name: "\u00e9t\u00e9 \u65e5\u672c.txt", Data: nil, Vol: 2})}, 21,
			append(want[:len(want)-1:len(want)-1], entry{"loose/\u00e9t\u00e9 \u65e5\u672c.txt", 0, sum(nil)})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := tc.set.FS()
			hdr := "Disk1/data1.hdr"
			if tc.set.SelfHeader {
				hdr = "Disk1/data1.cab"
				if _, ok := fsys["Disk1/data1.hdr"]; ok {
					t.Fatal("writer made a data1.hdr")
				}
			}
			r, err := iscab.Open(fsys, hdr)
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			defer r.Close()
			if r.Major != tc.major {
				t.Errorf("Major = %d, want %d", r.Major, tc.major)
			}
			got, err := readAll(t, r)
			if err != nil {
				t.Fatalf("reading: %v", err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
			var paths []string
			for _, e := range tc.want {
				paths = append(paths, e.Path)
			}
			if err := fstest.TestFS(r, paths...); err != nil {
				t.Error(err)
			}
		})
	}
}

// streamFS hides io.ReaderAt from its files, as a reader that only streams would.
type streamFS struct{ fs.FS }

type streamFile struct{ fs.File }

func (s streamFS) Open(name string) (fs.File, error) {
	f, err := s.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return streamFile{f}, nil
}

func (s streamFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(s.FS, name) }

func TestStreamingVolumes(t *testing.T) {
	s, want := synthetic()
	r, err := iscab.Open(streamFS{s.FS()}, "Disk1/data1.hdr")
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	defer r.Close()
	got, err := readAll(t, r)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

func TestVolumeNames(t *testing.T) {
	s, want := synthetic()
	fsys := fstest.MapFS{}
	for p, f := range s.FS() {
		fsys[strings.ToUpper(p[:6])+p[6:]] = f // DISK1/..., data1.hdr
	}
	fsys["DISK1/DATA2.CAB"] = fsys["DISK1/data2.cab"]
	delete(fsys, "DISK1/data2.cab")
	r, err := iscab.Open(fsys, "DISK1/data1.hdr")
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	got, err := readAll(t, r)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	for _, tc := range []struct{ name, want string }{
		{"data1.hdr", "data"}, {"Disk1/data1.cab", "data"}, {"setupdata12.hdr", "setupdata"}, {"a.b.hdr", "a"},
	} {
		if got := iscab.VolumePrefix(tc.name); got != tc.want {
			t.Errorf("VolumePrefix(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestMajorVersion(t *testing.T) {
	for _, tc := range []struct {
		v    uint32
		want int
	}{
		{0x01009500, 9}, {0x0100600c, 6}, {0x01005000, 5}, {0x020004b0, 12}, {0x04000834, 21}, {0x00000000, 0}, {0x03000600, 0},
	} {
		if got := iscab.MajorVersion(tc.v); got != tc.want {
			t.Errorf("MajorVersion(%#x) = %d, want %d", tc.v, got, tc.want)
		}
	}
}

// mutate returns the synthetic set with fn applied to a copy of one file's bytes.
func mutate(name string, fn func(b []byte) []byte) fstest.MapFS {
	s, _ := synthetic()
	fsys := s.FS()
	b := append([]byte(nil), fsys[name].Data...)
	fsys[name] = &fstest.MapFile{Data: fn(b)}
	return fsys
}

func putU32(off int, v uint32) func([]byte) []byte {
	return func(b []byte) []byte { binary.LittleEndian.PutUint32(b[off:], v); return b }
}

// descOff is the offset in the synthetic header of descriptor i.
func descOff(t *testing.T, i int) int {
	s, _ := synthetic()
	b := s.FS()["Disk1/data1.hdr"].Data
	return iscabtest.CDO + iscabtest.FTO + int(binary.LittleEndian.Uint32(b[iscabtest.CDO+0x2c:])) + i*0x57
}

func TestHostile(t *testing.T) {
	s, _ := synthetic()
	clean := s.FS()
	hdr := clean["Disk1/data1.hdr"].Data
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		openErr error // from Open
		readErr error // from reading every file, when Open succeeds
	}{
		{"bad magic", mutate("Disk1/data1.hdr", func(b []byte) []byte { b[0] = 'X'; return b }), unpack.ErrFormat, nil},
		{"cut common header", mutate("Disk1/data1.hdr", func(b []byte) []byte { return b[:10] }), unpack.ErrFormat, nil},
		{"version 3", mutate("Disk1/data1.hdr", putU32(4, 0x01003000)), unpack.ErrUnsupported, nil},
		{"unknown version word", mutate("Disk1/data1.hdr", putU32(4, 0x00000000)), unpack.ErrUnsupported, nil},
		{"descriptor past end", mutate("Disk1/data1.hdr", putU32(12, 0xfffff000)), unpack.ErrFormat, nil},
		{"too many files", mutate("Disk1/data1.hdr", putU32(iscabtest.CDO+0x28, iscab.MaxFiles+1)), unpack.ErrLimit, nil},
		{"too many directories", mutate("Disk1/data1.hdr", putU32(iscabtest.CDO+0x1c, iscab.MaxDirectories+1)), unpack.ErrLimit, nil},
		{"file table past end", mutate("Disk1/data1.hdr", putU32(iscabtest.CDO+0x0c, 0x7fff0000)), unpack.ErrFormat, nil},
		{"descriptors past end", mutate("Disk1/data1.hdr", putU32(iscabtest.CDO+0x2c, uint32(len(hdr)))), unpack.ErrFormat, nil},
		{"name past end", mutate("Disk1/data1.hdr", putU32(descOff(t, 0)+0x3a, 0x7ffffff0)), unpack.ErrFormat, nil},
		{"name without NUL", mutate("Disk1/data1.hdr", func(b []byte) []byte {
			return append(b, bytes.Repeat([]byte{'a'}, iscab.MaxNameBytes+2)...)
		}), nil, nil},
		{"directory index out of range", mutate("Disk1/data1.hdr", func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[descOff(t, 2)+0x3e:], 99)
			return b
		}), unpack.ErrFormat, nil},
		{"dot-dot name", mutate("Disk1/data1.hdr", func(b []byte) []byte {
			i := bytes.Index(b, []byte("stored.txt\x00"))
			copy(b[i:], "..\\..\\x.tx\x00")
			return b
		}), unpack.ErrInsecurePath, nil},
		{"drive-letter name", mutate("Disk1/data1.hdr", func(b []byte) []byte {
			i := bytes.Index(b, []byte("stored.txt\x00"))
			copy(b[i:], "C:x.txt\x00\x00\x00")
			return b
		}), unpack.ErrInsecurePath, nil},
		{"two files at one path", mutate("Disk1/data1.hdr", func(b []byte) []byte {
			i := bytes.Index(b, []byte("plain-obf.dat\x00"))
			copy(b[i:], "obf.exe\x00")
			return b
		}), unpack.ErrFormat, nil},
		{"group list loops", mutate("Disk1/data1.hdr", func(b []byte) []byte {
			e := int(binary.LittleEndian.Uint32(b[iscabtest.CDO+0x3e:]))
			binary.LittleEndian.PutUint32(b[iscabtest.CDO+e+8:], uint32(e))
			return b
		}), unpack.ErrFormat, nil},
		{"group range past files", mutate("Disk1/data1.hdr", func(b []byte) []byte {
			e := int(binary.LittleEndian.Uint32(b[iscabtest.CDO+0x3e:]))
			d := int(binary.LittleEndian.Uint32(b[iscabtest.CDO+e+4:]))
			binary.LittleEndian.PutUint32(b[iscabtest.CDO+d+0x1a:], 500)
			return b
		}), unpack.ErrFormat, nil},
		{"link to itself", mutate("Disk1/data1.hdr", putU32(descOff(t, 6)+0x4c, 6)), unpack.ErrFormat, nil},
		{"link loop", mutate("Disk1/data1.hdr", func(b []byte) []byte {
			d := descOff(t, 5)
			b[d+0x54] = 1
			binary.LittleEndian.PutUint32(b[d+0x4c:], 6)
			binary.LittleEndian.PutUint32(b[descOff(t, 6)+0x4c:], 5)
			return b
		}), unpack.ErrLimit, nil},
		{"link past files", mutate("Disk1/data1.hdr", putU32(descOff(t, 6)+0x4c, 1000)), unpack.ErrFormat, nil},
		{"missing volume", func() fstest.MapFS { f := s.FS(); delete(f, "Disk1/data2.cab"); return f }(), unpack.ErrUnsupported, nil},
		{"volume number past limit", mutate("Disk1/data1.hdr", func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[descOff(t, 0)+0x55:], iscab.MaxVolumes+1)
			return b
		}), unpack.ErrLimit, nil},
		{"data past volume", mutate("Disk1/data1.hdr", func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[descOff(t, 0)+0x12:], 1<<40)
			return b
		}), nil, unpack.ErrFormat},
		{"md5 mismatch", mutate("Disk1/data1.hdr", func(b []byte) []byte { b[descOff(t, 0)+0x1a] ^= 1; return b }), nil, unpack.ErrFormat},
		{"stored byte flipped", mutate("Disk1/data1.cab", func(b []byte) []byte { b[iscabtest.VolHeader6] ^= 1; return b }), nil, unpack.ErrFormat},
		{"chunk length past file", mutate("Disk1/data1.cab", func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[iscabtest.VolHeader6+14:], 0xffff)
			return b
		}), nil, unpack.ErrFormat},
		{"zero chunk length", mutate("Disk1/data1.cab", func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[iscabtest.VolHeader6+14:], 0)
			return b
		}), nil, unpack.ErrFormat},
		{"chunk not deflate", mutate("Disk1/data1.cab", func(b []byte) []byte {
			b[iscabtest.VolHeader6+16] = 0xff
			return b
		}), nil, unpack.ErrFormat},
		{"expanded size larger than data", mutate("Disk1/data1.hdr", func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[descOff(t, 1)+2:], 200<<10)
			return b
		}), unpack.ErrFormat, nil}, // the linked copy says otherwise
		{"split file not in volume header", mutate("Disk1/data2.cab", putU32(20+8, 0)), nil, unpack.ErrFormat},
		{"volume without magic", mutate("Disk1/data2.cab", func(b []byte) []byte { b[1] = 0; return b }), unpack.ErrFormat, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := iscab.Open(tc.fsys, "Disk1/data1.hdr")
			if tc.openErr != nil || err != nil {
				if tc.openErr == nil || !errors.Is(err, tc.openErr) {
					t.Fatalf("Open = %v, want %v", err, tc.openErr)
				}
				var fe *unpack.FormatError
				if !errors.As(err, &fe) {
					t.Errorf("Open = %v, not an unpack.FormatError", err)
				}
				return
			}
			defer r.Close()
			_, err = readAll(t, r)
			if tc.readErr == nil {
				if err != nil {
					t.Errorf("reading = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.readErr) {
				t.Errorf("reading = %v, want %v", err, tc.readErr)
			}
			if _, err := walkAll(r); !errors.Is(err, tc.readErr) {
				t.Errorf("Walk = %v, want %v", err, tc.readErr)
			}
		})
	}
}

var launchers = []string{"clam_IScab_int", "clam_IScab_ext"}

// launcherFS is the payload of a clamav-testfiles launcher, as package ishield reads it.
func launcherFS(t testing.TB, p string) *ishield.Reader {
	t.Helper()
	src := testutil.PEOverlay(t, p)
	r, err := ishield.NewReader(src, src.Size())
	if err != nil {
		t.Fatalf("ishield.NewReader(%s) = %v", p, err)
	}
	return r
}

// TestUnshieldConformance reads the cabinets of Debian's clamav-testfiles InstallScript
// launchers (pinned by scripts/fetch-realfiles) out of their payloads and compares every
// file with unshield 1.4's listing and extraction (testdata/record-unshield.sh): the same
// paths in the same order, sizes and bytes.
func TestUnshieldConformance(t *testing.T) {
	for _, name := range launchers {
		t.Run(name, func(t *testing.T) {
			p := testutil.RealFile(t, "installers/debian/clamav-testfiles@1.4.3/"+name+".exe")
			var want []entry
			for _, f := range testutil.ReadTSV(t, filepath.Join("testdata", "unshield", name+".tsv"), 3) {
				size, err := strconv.ParseInt(f[1], 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, entry{f[0], size, f[2]})
			}
			r, err := iscab.Open(launcherFS(t, p), "Disk1/data1.hdr")
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			defer r.Close()
			got, err := readAll(t, r)
			if err != nil {
				t.Fatalf("reading: %v", err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
			var paths []string
			for _, e := range want {
				paths = append(paths, e.Path)
			}
			if err := fstest.TestFS(r, paths...); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestClamAVHeader compares the file descriptors read from the same cabinets' headers with
// what ClamAV's own header parser (libclamav/ishield.c is_parse_hdr) reads from them
// (testdata/record-unshield.sh): names, expanded and compressed sizes, MD5s.
func TestClamAVHeader(t *testing.T) {
	for _, name := range launchers {
		t.Run(name, func(t *testing.T) {
			p := testutil.RealFile(t, "installers/debian/clamav-testfiles@1.4.3/"+name+".exe")
			b, err := os.ReadFile(filepath.Join("testdata", "clamav", name+".tsv"))
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				if !strings.HasPrefix(line, "#") {
					want = append(want, line)
				}
			}
			if len(want) == 0 {
				t.Fatal("empty golden")
			}
			r, err := iscab.Open(launcherFS(t, p), "Disk1/data1.hdr")
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			defer r.Close()
			seen := map[int]bool{}
			var got []string
			for _, f := range r.Files {
				if !seen[f.Index] {
					seen[f.Index] = true
					got = append(got, fmt.Sprintf("%s\t%d\t%d\t%x", f.Name, f.Size, f.Compressed, f.MD5))
				}
			}
			sort.Strings(got)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

// realSeeds returns the clamav-testfiles cabinet sets (header, volume 1, volume 2) when the
// real-file corpus is present; none when it is absent, except under CI=true.
func realSeeds(t testing.TB) [][3][]byte {
	dir := os.Getenv("ROLLGATE_REALFILES")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "rollgate", "realfiles")
	}
	var out [][3][]byte
	for _, name := range launchers {
		p := filepath.Join(dir, "files", "installers", "debian", "clamav-testfiles@1.4.3", name+".exe")
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("real file %s missing (CI=true): %v", p, err)
			}
			continue
		}
		r := launcherFS(t, p)
		var set [3][]byte
		for i, n := range []string{"Disk1/data1.hdr", "Disk1/data1.cab", "Disk1/data2.cab"} {
			b, err := fs.ReadFile(r, n)
			if err != nil {
				t.Fatal(err)
			}
			set[i] = b
		}
		out = append(out, set)
	}
	return out
}

func FuzzReader(f *testing.F) {
	// The synthetic set with small Files: every feature, in inputs the fuzzer mutates fast.
	s, _ := synthetic()
	for i := range s.Files {
		if len(s.Files[i].Data) > 600 {
			s.Files[i].Data = s.Files[i].Data[:600]
		}
	}
	s.Files[4].Split = 100
	m := s.FS()
	f.Add(m["Disk1/data1.hdr"].Data, m["Disk1/data1.cab"].Data, m["Disk1/data2.cab"].Data)
	for _, set := range realSeeds(f) {
		f.Add(set[0], set[1], set[2])
	}
	f.Fuzz(func(t *testing.T, hdr, cab1, cab2 []byte) {
		fsys := fstest.MapFS{"d/data1.hdr": {Data: hdr}, "d/data1.cab": {Data: cab1}, "d/data2.cab": {Data: cab2}}
		r, err := iscab.Open(fsys, "d/data1.hdr")
		if err != nil {
			return
		}
		defer r.Close()
		// Files may share their bytes and declare sizes up to the limits: read at most
		// 4 MiB in all, so that an execution stays short.
		budget := int64(4 << 20)
		for _, file := range r.Files {
			if budget <= 0 {
				break
			}
			if fh, err := r.Open(file.Path); err == nil {
				n, _ := io.CopyN(io.Discard, fh, min(budget, 1<<20))
				budget -= n + 1
				fh.Close()
			}
		}
		budget = 4 << 20
		r.Walk(func(_ string, _ int64, rd io.Reader) error {
			if budget <= 0 {
				return io.EOF
			}
			n, err := io.CopyN(io.Discard, rd, min(budget, 1<<20))
			budget -= n + 1
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return err
		})
	})
}
