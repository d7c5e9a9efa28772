package inno

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/inno/innotest"
)

// build lays out s after a bare DOS header.
func build(t testing.TB, s *innotest.Synth) []byte {
	t.Helper()
	b, err := s.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// walkAll walks r and returns path → SHA-256.
func walkAll(t testing.TB, r *Reader) (map[string]string, error) {
	t.Helper()
	got := map[string]string{}
	err := r.Walk(func(p string, size int64, rd io.Reader) error {
		b, err := io.ReadAll(rd)
		if err != nil {
			return err
		}
		if int64(len(b)) != size {
			t.Errorf("Walk: %q yields %d bytes, announced %d", p, len(b), size)
		}
		got[p] = sum(b)
		return nil
	})
	return got, err
}

// variants are the synthetic layouts every test runs on: 6.1.0 and 6.7.0 data, with stored
// and LZMA-compressed header blocks.
var variants = []struct {
	name            string
	compressed, v67 bool
	version         string
}{
	{"6.1.0-stored", false, false, "6.1.0 (unicode)"},
	{"6.1.0-lzma", true, false, "6.1.0 (unicode)"},
	{"6.7.0-stored", false, true, "6.7.0 (unicode)"},
	{"6.7.0-lzma", true, true, "6.7.0 (unicode)"},
}

func variant(i int) *innotest.Synth {
	s := innotest.Acme()
	s.Compressed, s.V67 = variants[i].compressed, variants[i].v67
	return s
}

func TestSynthetic(t *testing.T) {
	for i, vt := range variants {
		compressed := vt.name
		s := variant(i)
		data := build(t, s)
		r, err := NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("compressed=%v: NewReader = %v", compressed, err)
		}
		got, err := walkAll(t, r)
		if err != nil {
			t.Fatalf("compressed=%v: Walk = %v", compressed, err)
		}
		want := map[string]string{
			"app/bin/acme.exe": sum(s.Files[0].Data),
			"app/readme.txt":   sum(s.Files[1].Data),
			"sys/acmehook.dll": sum(s.Files[2].Data),
			"tmp/helper.exe":   sum(s.Files[0].Data),
			"evil.txt":         sum(s.Files[4].Data),
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("compressed=%v: Walk (-want +got)\n%s", compressed, d)
		}
		names := make([]string, 0, len(want))
		for p := range want {
			names = append(names, p)
		}
		sort.Strings(names)
		if err := fstest.TestFS(r, names...); err != nil {
			t.Errorf("fstest.TestFS: %v", err)
		}
		if r.Version.String() != vt.version {
			t.Errorf("%s: Version = %s", vt.name, r.Version)
		}
		wantHeader := Header{AppName: "Acme Softphone", AppVersionedName: "Acme Softphone 5.2.0",
			AppID: "{{6F1C7A52-0000-4000-8000-ACME00000001}", AppVersion: "5.2.0", AppPublisher: "Acme Corp",
			AppCopyright: "(c) Acme", AppPublisherURL: "https://acme.test/", DefaultDirName: `{autopf}\Acme`,
			DefaultGroupName: "Acme", UninstallName: "unins", BaseFilename: "acme-setup", Compression: "zlib",
			PrivilegesRequired: 2}
		if d := cmp.Diff(wantHeader, r.Header, cmp.AllowUnexported(Header{}), cmp.FilterPath(func(p cmp.Path) bool {
			return p.Last().String() == ".counts"
		}, cmp.Ignore())); d != "" {
			t.Errorf("Header (-want +got)\n%s", d)
		}
	}
}

func TestScriptFacts(t *testing.T) {
	for i := range variants {
		scriptFacts(t, variant(i))
	}
}

func scriptFacts(t *testing.T, s *innotest.Synth) {
	data := build(t, s)
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	wantReg := []RegistryEntry{
		{Hive: "HKCU", Key: `Software\Microsoft\Windows\CurrentVersion\Run`, Name: "Acme", Type: "string", Value: `"{app}\bin\acme.exe" --tray`},
		{Hive: "HKA", Key: `Software\Acme`, Name: "Path", Type: "string", Value: "{app}"},
	}
	if d := cmp.Diff(wantReg, r.Registry); d != "" {
		t.Errorf("Registry (-want +got)\n%s", d)
	}
	wantRun := []RunEntry{{Filename: `{app}\bin\acme.exe`, Parameters: "--first-run", PostInstall: true}}
	if d := cmp.Diff(wantRun, r.Runs); d != "" {
		t.Errorf("Runs (-want +got)\n%s", d)
	}
	wantIcons := []Icon{{Name: `{userstartup}\Acme`, Filename: `{app}\bin\acme.exe`}, {Name: `{group}\Acme`, Filename: `{app}\bin\acme.exe`}}
	if d := cmp.Diff(wantIcons, r.Icons); d != "" {
		t.Errorf("Icons (-want +got)\n%s", d)
	}
	var temps []string
	for _, f := range r.Files {
		if f.Temporary {
			temps = append(temps, f.Path)
		}
	}
	if d := cmp.Diff([]string{"tmp/helper.exe"}, temps); d != "" {
		t.Errorf("temporary files (-want +got)\n%s", d)
	}
}

func TestInstallPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{app}\bin\x.dll`, "app/bin/x.dll"},
		{`{sys}\y.dll`, "sys/y.dll"},
		{`{commonappdata}\Acme\cfg.ini`, "commonappdata/Acme/cfg.ini"},
		{`{code:GetDir|x}\a.txt`, "code$GetDir$x/a.txt"},
		{`{app}\{{braces}\b`, "app/{braces}/b"},
		{`{app}\..\..\..\up.txt`, "up.txt"},
		{`{app}\.\a\\b`, "app/a/b"},
		{`{app}\what?.txt`, "app/what$.txt"},
		{`{app}\ünï.txt`, "app/ünï.txt"},
		{`{app}`, "app"},
		{`{sys}\version.dll. .`, "sys/version.dll"},
		{`{app}\bin.\x.dll`, "app/bin/x.dll"},
		{`{app}\ . `, "app"},
		{`..`, ""},
		{`{{{{{{{{{{{{{{{{{{{{{{{{{{`, "{{{{{{{{{{{{{"},
		{`{{{{{{{{{{{{{{{{{{{{{{{{{`, "{{{{{{{{{{{{"},
	} {
		if got := InstallPath(tc.in); got != tc.want {
			t.Errorf("InstallPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCallFilterRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, 4, 5, 6, 100, filterBlock - 3, filterBlock + 7, 3*filterBlock + 11} {
		orig := make([]byte, size)
		for i := range orig {
			switch rng.IntN(6) {
			case 0:
				orig[i] = 0xe8
			case 1:
				orig[i] = 0xe9
			case 2:
				orig[i] = 0xff
			case 3:
				orig[i] = 0
			default:
				orig[i] = byte(rng.UintN(256))
			}
		}
		for _, flip := range []bool{false, true} {
			enc := innotest.EncodeCalls(orig, flip)
			// Read through small buffers so operands straddle reads.
			got, err := io.ReadAll(newCallFilter(&oneByte{bytes.NewReader(enc)}, flip))
			if err != nil {
				t.Fatalf("size %d flip %v: %v", size, flip, err)
			}
			if !bytes.Equal(got, orig) {
				t.Errorf("size %d flip %v: filter does not restore the input", size, flip)
			}
		}
	}
}

// oneByte reads at most three bytes at a time.
type oneByte struct{ r io.Reader }

func (o *oneByte) Read(p []byte) (int, error) { return o.r.Read(p[:min(len(p), 3)]) }

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(s *innotest.Synth)
		corrupt  func(b []byte)
		sentinel error
		open     bool // NewReader succeeds; reading fails
		entry    string
	}{
		{name: "checksum", mutate: func(s *innotest.Synth) { s.CorruptSum = 1 }, sentinel: unpack.ErrFormat, open: true, entry: "app/readme.txt"},
		{name: "old version", mutate: func(s *innotest.Synth) { s.Version = "Inno Setup Setup Data (5.2.3)" }, sentinel: unpack.ErrUnsupported},
		{name: "newer version", mutate: func(s *innotest.Synth) { s.Version = "Inno Setup Setup Data (6.5.0)" }, sentinel: unpack.ErrUnsupported},
		{name: "not a version", mutate: func(s *innotest.Synth) { s.Version = "Nullsoft (1.2.3)" }, sentinel: unpack.ErrFormat},
		{name: "loader revision 3", mutate: func(s *innotest.Synth) { s.LoaderRevision = 3 }, sentinel: unpack.ErrUnsupported, entry: "loader table"},
		{name: "setup-1.bin", mutate: func(s *innotest.Synth) { s.NoData = true }, sentinel: unpack.ErrUnsupported, open: true},
		{name: "block CRC", corrupt: func(b []byte) { b[0xc0+9+4] ^= 1 }, sentinel: unpack.ErrFormat, entry: "setup header"},
		{name: "block header CRC", corrupt: func(b []byte) { b[0xc0+4] ^= 1 }, sentinel: unpack.ErrFormat, entry: "setup header"},
		{name: "table CRC", corrupt: func(b []byte) { b[0x40+20] ^= 1 }, sentinel: unpack.ErrFormat, entry: "loader table"},
		{name: "chunk magic", corrupt: func(b []byte) {
			i := bytes.LastIndex(b, []byte("zlb\x1a"))
			b[i] = 'Z'
		}, sentinel: unpack.ErrFormat, open: true, entry: "sys/acmehook.dll"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := innotest.Acme()
			if tc.mutate != nil {
				tc.mutate(s)
			}
			data := build(t, s)
			if tc.corrupt != nil {
				tc.corrupt(data)
			}
			r, err := NewReader(bytes.NewReader(data), int64(len(data)))
			if tc.open {
				if err != nil {
					t.Fatalf("NewReader = %v, want success", err)
				}
				_, err = walkAll(t, r)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("error = %v, want %v", err, tc.sentinel)
			}
			var fe *unpack.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FormatError", err)
			}
			if tc.entry != "" && fe.Entry != tc.entry {
				t.Errorf("error names %q, want %q (%v)", fe.Entry, tc.entry, err)
			}
		})
	}
}

func TestEncrypted(t *testing.T) {
	for i := range variants {
		s := variant(i)
		s.Encrypted = true
		encrypted(t, s)
	}
}

func encrypted(t *testing.T, s *innotest.Synth) {
	data := build(t, s)
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Header.EncryptionUsed {
		t.Errorf("EncryptionUsed = false")
	}
	got, err := walkAll(t, r)
	if err != nil {
		t.Fatalf("Walk = %v", err)
	}
	if d := cmp.Diff([]string{"evil.txt", "sys/acmehook.dll"}, sortedKeys(got)); d != "" {
		t.Errorf("walked (-want +got)\n%s", d)
	}
	if d := cmp.Diff([]string{"app/bin/acme.exe", "app/readme.txt", "tmp/helper.exe"}, sortedKeys(r.Skipped())); d != "" {
		t.Errorf("Skipped (-want +got)\n%s", d)
	}
	if _, err := fs.ReadFile(r, "app/readme.txt"); !errors.Is(err, unpack.ErrUnsupported) {
		t.Errorf("ReadFile(encrypted) = %v, want ErrUnsupported", err)
	}
	if _, err := fs.Stat(r, "app/readme.txt"); err != nil {
		t.Errorf("Stat(encrypted) = %v, want the entry listed", err)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestIsInstaller: a loader table the reader refuses (6.5's revision 2, an old version) still
// marks an Inno Setup installer, so analyze reports it unread instead of a bare PE.
func TestIsInstaller(t *testing.T) {
	for _, s := range []*innotest.Synth{innotest.Acme(), func() *innotest.Synth { s := innotest.Acme(); s.LoaderRevision = 3; return s }()} {
		b := build(t, s)
		if !IsInstaller(bytes.NewReader(b), int64(len(b))) {
			t.Errorf("IsInstaller(revision %d) = false", s.LoaderRevision)
		}
	}
	junk := bytes.Repeat([]byte("MZ not an installer "), 100)
	if IsInstaller(bytes.NewReader(junk), int64(len(junk))) {
		t.Errorf("IsInstaller(junk) = true")
	}
}

func TestNotInno(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("MZ"), bytes.Repeat([]byte("not an installer "), 100)} {
		if _, err := NewReader(bytes.NewReader(data), int64(len(data))); !errors.Is(err, unpack.ErrFormat) {
			t.Errorf("NewReader(%d bytes) = %v, want ErrFormat", len(data), err)
		}
	}
}

// TestCorrupted flips bytes across a synthetic installer: every result is a sentinel error
// or a successful read, never a panic.
func TestCorrupted(t *testing.T) {
	for v := range variants {
		data := build(t, variant(v))
		for i := 0; i < len(data); i += 7 {
			b := bytes.Clone(data)
			b[i] ^= 0x5a
			if err := readAll(b); err != nil && !refused(err) {
				t.Fatalf("%s: flip at %d: %v is not a sentinel error", variants[v].name, i, err)
			}
		}
	}
}

// TestMutated applies the mutations a fuzzer would (interesting 32-bit values, truncation,
// duplicated ranges, random bytes) to both synthetic installers, from a fixed seed: every
// result is a sentinel error or a successful read.
func TestMutated(t *testing.T) {
	for v, vt := range variants {
		compressed := vt.name
		data := build(t, variant(v))
		rng := rand.New(rand.NewPCG(3, 4))
		for i := 0; i < 2000; i++ {
			b := bytes.Clone(data)
			switch rng.IntN(4) {
			case 0:
				binary.LittleEndian.PutUint32(b[rng.IntN(len(b)-4):], []uint32{0xffffffff, 0x7fffffff, 0x80000000, 0, 1 << 20}[rng.IntN(5)])
			case 1:
				b = b[:rng.IntN(len(b))]
			case 2:
				p := rng.IntN(len(b))
				n := rng.IntN(len(b) - p)
				q := rng.IntN(len(b))
				b = append(b[:q:q], append(bytes.Clone(data[p:p+n]), data[q:]...)...)
			default:
				b[rng.IntN(len(b))] = byte(rng.UintN(256))
			}
			if err := readAll(b); err != nil && !refused(err) {
				t.Fatalf("%s mutation %d: %v is not a sentinel error", compressed, i, err)
			}
		}
	}
}

func refused(err error) bool {
	return errors.Is(err, unpack.ErrFormat) || errors.Is(err, unpack.ErrUnsupported) ||
		errors.Is(err, unpack.ErrLimit) || errors.Is(err, unpack.ErrInsecurePath)
}

func readAll(data []byte) error {
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	err = r.Walk(func(p string, size int64, rd io.Reader) error {
		_, err := io.Copy(io.Discard, rd)
		return err
	})
	if err != nil {
		return err
	}
	return fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		_, err = fs.ReadFile(r, p)
		if errors.Is(err, unpack.ErrUnsupported) {
			return nil
		}
		return err
	})
}

func FuzzReader(f *testing.F) {
	for i := range variants {
		f.Add(build(f, variant(i)))
	}
	seeds, _ := filepath.Glob("testdata/*.exe")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil && len(b) < 1<<20 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := readAll(data); err != nil && !refused(err) {
			t.Fatalf("%v is not a sentinel error", err)
		}
	})
}

// TestTruncatedHeader cuts the first header block of a synthetic installer at every length:
// each cut is a FormatError that names the entry being read and an offset within the cut.
func TestTruncatedHeader(t *testing.T) {
	data := build(t, innotest.Acme())
	r := &Reader{r: bytes.NewReader(data), size: int64(len(data)), HeaderOffset: 0x80}
	v, err := parseVersion(data[0x80 : 0x80+64])
	if err != nil {
		t.Fatal(err)
	}
	rd, _, err := r.openBlock(0x80+64, "setup header")
	if err != nil {
		t.Fatal(err)
	}
	block, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for cut := 0; cut < len(block); cut++ {
		p := &Reader{Version: v}
		s := &stream{r: bytes.NewReader(block[:cut]), what: "setup header", unicode: true}
		p.readHeader(s)
		p.readEntries(s)
		var fe *unpack.FormatError
		if !errors.As(s.err, &fe) || !errors.Is(s.err, unpack.ErrFormat) {
			t.Fatalf("cut at %d: %v, want a FormatError", cut, s.err)
		}
		if fe.Offset < 0 || fe.Offset > int64(cut) {
			t.Errorf("cut at %d: error at offset %d", cut, fe.Offset)
		}
		named[strings.TrimRight(fe.Entry, "0123456789")] = true
	}
	want := map[string]bool{"setup header": true, "language entry ": true, "file entry ": true,
		"icon entry ": true, "registry entry ": true, "run entry ": true, "wizard images": true}
	if d := cmp.Diff(want, named); d != "" {
		t.Errorf("entries named by truncation errors (-want +got)\n%s", d)
	}
}
