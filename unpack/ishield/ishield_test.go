package ishield

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/ishield/ishieldtest"
)

type file = ishieldtest.File

func encodedPayload(files ...file) []byte { return ishieldtest.Encoded(`C:\build\setup.pdb`, files...) }

func plainPayload(files ...file) []byte { return ishieldtest.Plain(files...) }

func pseudoRandom(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

var (
	msiBytes = append([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), pseudoRandom(5000)...)
	iniBytes = []byte("[Startup]\r\nProduct=Acme Softphone\r\nPackageName=acme.msi\r\n")
	dllBytes = append([]byte("MZ"), pseudoRandom(3000)...)
)

func encodedFiles() []file {
	return []file{
		{Name: "acme.msi", Data: msiBytes, Flags: 6, Deflate: true},
		{Name: "Setup.ini", Data: iniBytes, Flags: 2},
		{Name: "ISSetup.dll", Data: dllBytes, Flags: 4},
		{Name: "0x0409.ini", Data: []byte("plain"), Flags: 0},
		{Name: "empty.dat", Data: nil, Flags: 6, Deflate: true},
	}
}

func TestRoundTrip(t *testing.T) {
	type got struct {
		Path string
		Data string
	}
	cases := []struct {
		name    string
		payload []byte
		layout  Layout
		want    []got
	}{
		{"encoded", encodedPayload(encodedFiles()...), LayoutEncoded, []got{
			{"acme.msi", string(msiBytes)}, {"Setup.ini", string(iniBytes)}, {"ISSetup.dll", string(dllBytes)},
			{"0x0409.ini", "plain"}, {"empty.dat", ""}}},
		{"plain", plainPayload(file{Name: "setup.exe", Path: `Disk1\setup.exe`, Data: dllBytes},
			file{Name: "setup.ini", Path: `Disk1\setup.ini`, Data: iniBytes}), LayoutPlain, []got{
			{"Disk1/setup.exe", string(dllBytes)}, {"Disk1/setup.ini", string(iniBytes)}}},
		{"plain with zero padding", append(plainPayload(file{Name: "a.txt", Path: `Disk1\a.txt`, Data: []byte("a")}), make([]byte, 100)...),
			LayoutPlain, []got{{"Disk1/a.txt", "a"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(c.payload), int64(len(c.payload)))
			if err != nil {
				t.Fatalf("NewReader = %v", err)
			}
			if r.Layout != c.layout {
				t.Errorf("Layout = %v, want %v", r.Layout, c.layout)
			}
			var walked []got
			if err := r.Walk(func(p string, size int64, rd io.Reader) error {
				b, err := io.ReadAll(rd)
				if int64(len(b)) != size {
					t.Errorf("%s: %d bytes, size %d", p, len(b), size)
				}
				walked = append(walked, got{p, string(b)})
				return err
			}); err != nil {
				t.Fatalf("Walk = %v", err)
			}
			if d := cmp.Diff(c.want, walked); d != "" {
				t.Errorf("Walk (-want +got)\n%s", d)
			}
			var paths []string
			for _, g := range c.want {
				paths = append(paths, g.Path)
			}
			if err := fstest.TestFS(r, paths...); err != nil {
				t.Error(err)
			}
			if !Detect(c.payload[:min(len(c.payload), 1024)]) {
				t.Error("Detect = false")
			}
		})
	}
}

func TestHostile(t *testing.T) {
	good := encodedPayload(encodedFiles()...)
	start := bytes.Index(good, []byte(MagicEncoded))
	set := func(b []byte, off int, v ...byte) []byte {
		c := bytes.Clone(b)
		copy(c[off:], v)
		return c
	}
	rec0 := start + headerLen
	cases := []struct {
		name    string
		payload []byte
		want    error
	}{
		{"cut in a record", good[:rec0+100], unpack.ErrFormat},
		{"stored bytes past the end", good[:len(good)-1], unpack.ErrFormat},
		{"too many files", set(good, start+14, 0xff, 0xff), unpack.ErrLimit},
		{"name without NUL", set(good, rec0, bytes.Repeat([]byte{'a'}, 260)...), unpack.ErrFormat},
		{"empty name", set(good, rec0, 0), unpack.ErrFormat},
		{"bytes after the last file", append(bytes.Clone(good), "hidden.dll"...), unpack.ErrFormat},
		{"corrupt zlib", set(good, rec0+recordLen, 0x00, 0x00, 0x00), unpack.ErrFormat},
		{"parent path", encodedPayload(file{Name: `..\evil.dll`, Data: []byte("x")}), unpack.ErrInsecurePath},
		{"drive path", plainPayload(file{Name: "x", Path: `C:\Windows\evil.dll`, Data: []byte("x")}), unpack.ErrInsecurePath},
		{"parent in the middle", plainPayload(file{Name: "a", Path: `Disk1\a`, Data: []byte("1")}, file{Name: "a", Path: `disk1\..\Disk1\a`, Data: []byte("2")}), unpack.ErrInsecurePath},
		{"same path twice", plainPayload(file{Name: "a", Path: `Disk1\a`, Data: []byte("1")}, file{Name: "a", Path: `Disk1\a.`, Data: []byte("2")}), unpack.ErrFormat},
		{"plain length past the end", []byte("a\x00Disk1\\a\x001.0\x0099\x00abc"), unpack.ErrFormat},
		{"plain version not a version", []byte("a\x00Disk1\\a\x00one\x003\x00abc"), unpack.ErrFormat},
		{"plain then garbage", append(plainPayload(file{Name: "a", Path: `Disk1\a`, Data: []byte("1")}), "\x01garbage"...), unpack.ErrFormat},
		{"cut CodeView record", []byte("NB10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00C:\\no-nul"), unpack.ErrFormat},
		{"ISSetupStream", append([]byte(MagicStream), make([]byte, 64)...), unpack.ErrUnsupported},
		{"UTF-16 plain", append([]byte{3, 0, 0, 0}, []byte("s\x00e\x00t\x00u\x00p\x00\x00\x00")...), unpack.ErrUnsupported},
		{"not InstallShield", []byte("MSCF\x00\x00\x00\x00 some cabinet"), unpack.ErrFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(c.payload), int64(len(c.payload)))
			if err == nil {
				err = r.Walk(func(string, int64, io.Reader) error { return nil })
				if err == nil {
					err = r.Walk(func(_ string, _ int64, rd io.Reader) error { _, err := io.Copy(io.Discard, rd); return err })
				}
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			var fe *unpack.FormatError
			if !errors.As(err, &fe) {
				t.Errorf("err %v is not a *unpack.FormatError naming entry and offset", err)
			}
		})
	}
}

// TestClamAVConformance reads the InstallShield launchers of Debian's clamav-testfiles
// (pinned by scripts/fetch-realfiles) and compares every file with what ClamAV's own parser
// extracts (testdata/record-clamscan.sh): the same names, extraction paths, sizes and bytes.
// One difference is ClamAV's, kept on purpose: on the plain layout ClamAV stops before the
// last record (setup.inx, whose bytes end the payload exactly), which rollgate lists.
func TestClamAVConformance(t *testing.T) {
	type entry struct {
		Path   string
		Size   int64
		SHA256 string
	}
	for _, name := range []string{"clam_ISmsi_int", "clam_ISmsi_ext", "clam_IScab_int", "clam_IScab_ext"} {
		t.Run(name, func(t *testing.T) {
			p := testutil.RealFile(t, "installers/debian/clamav-testfiles@1.4.3/"+name+".exe")
			var want []entry
			for _, f := range testutil.ReadTSV(t, filepath.Join("testdata", "clamav", name+".tsv"), 4) {
				size, err := strconv.ParseInt(f[2], 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				path := f[0]
				if f[1] != "-" {
					path = strings.ReplaceAll(f[1], `\`, "/")
				}
				want = append(want, entry{path, size, f[3]})
			}
			src := testutil.PEOverlay(t, p)
			r, err := NewReader(src, src.Size())
			if err != nil {
				t.Fatalf("NewReader = %v", err)
			}
			var got []entry
			if err := r.Walk(func(p string, size int64, rd io.Reader) error {
				h := sha256.New()
				if _, err := io.Copy(h, rd); err != nil {
					return err
				}
				got = append(got, entry{p, size, hex.EncodeToString(h.Sum(nil))})
				return nil
			}); err != nil {
				t.Fatalf("Walk = %v", err)
			}
			if r.Layout == LayoutPlain && len(got) == len(want)+1 && got[len(got)-1].Path == "Disk1/setup.inx" {
				got = got[:len(got)-1] // ClamAV stops before the last plain record
			}
			for i := range want {
				if want[i].SHA256 == "-" && i < len(got) {
					want[i].SHA256 = got[i].SHA256 // named by ClamAV, not extracted: size and place only
				}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("files vs ClamAV (-want +got)\n%s", d)
			}
		})
	}
}

func fuzzSeeds() [][]byte {
	return [][]byte{
		encodedPayload(encodedFiles()...),
		encodedPayload(file{Name: "a", Data: []byte("abc"), Flags: 4}),
		plainPayload(file{Name: "setup.ini", Path: `Disk1\setup.ini`, Data: iniBytes}),
		append([]byte(MagicStream), make([]byte, 64)...),
	}
}

func TestFuzzCorpus(t *testing.T) {
	var seeds [][]any
	for _, s := range fuzzSeeds() {
		seeds = append(seeds, []any{s})
	}
	testutil.CheckFuzzCorpus(t, "FuzzReader", seeds...)
}

func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		Detect(b)
		r, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		testutil.WalkRead(t, r, 1<<20)
		r.Walk(func(_ string, _ int64, rd io.Reader) error {
			_, err := io.Copy(io.Discard, io.LimitReader(rd, 1<<20))
			return err
		})
	})
}
