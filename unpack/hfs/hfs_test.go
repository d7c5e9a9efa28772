package hfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"math/rand"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf16"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/udif"
)

func payload(n int, seed int64) []byte {
	r := rand.New(rand.NewSource(seed))
	words := []string{"alpha ", "beta ", "gamma ", "delta ", "epsilon\n"}
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(words[r.Intn(len(words))])
	}
	return []byte(b.String()[:n])
}

var (
	big   = payload(150000, 1)
	big8  = payload(100000, 2)
	big12 = payload(70000, 3)
	frag  = payload(12*tBlock-100, 4)
)

func testVolume() *tVolume {
	return &tVolume{entries: []tEntry{
		{path: "dir", dir: true},
		{path: "dir/hello.txt", data: []byte("hello world\n")},
		{path: "dir/empty", data: nil},
		{path: "frag.bin", data: frag, fragment: true},
		{path: "link", data: []byte("dir/hello.txt"), mode: sIFLNK | 0o755},
		{path: "escape", data: []byte("../../etc/passwd"), mode: sIFLNK | 0o777},
		{path: privateFiles, dir: true},
		{path: privateFiles + "/iNode7", data: []byte("inode content\n")},
		{path: "hard", hardlink: 7},
		{path: "z1", decmpfs: append(decmpfsHeader(1, 5), "plain"...)},
		{path: "z3", decmpfs: append(decmpfsHeader(3, 4000), zlibData(payload(4000, 5))...)},
		{path: "z3raw", decmpfs: append(decmpfsHeader(3, 6), "\x0fstored"...)},
		{path: "z4", decmpfs: decmpfsHeader(4, len(big)), rsrc: rsrcZlib(big)},
		{path: "v7", decmpfs: append(decmpfsHeader(7, 3000), lzvnLiterals(payload(3000, 6))...)},
		{path: "v8", decmpfs: decmpfsHeader(8, len(big8)), rsrc: rsrcTable(big8, lzvnLiterals)},
		{path: "f11", decmpfs: append(decmpfsHeader(11, 2000), lzfseStored(payload(2000, 7))...)},
		{path: "f12", decmpfs: decmpfsHeader(12, len(big12)), rsrc: rsrcTable(big12, lzfseStored)},
		{path: "slash", rawName: utf16.Encode([]rune("a/b")), data: []byte("colon\n")},
		{path: "dot", rawName: []uint16{'.'}, data: []byte("hidden\n")},
		{path: "nul", rawName: []uint16{'x', 0, 'y'}, data: []byte("hidden\n")},
		{path: "café", data: []byte("unicode\n")},
	}}
}

func open(t testing.TB, img []byte) *Reader {
	t.Helper()
	v, err := NewReader(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatalf("NewReader = %v", err)
	}
	return v
}

func TestSynthetic(t *testing.T) {
	for _, hx := range []bool{false, true} {
		tv := testVolume()
		tv.hx = hx
		v := open(t, tv.build())
		files := map[string][]byte{
			"dir/hello.txt": []byte("hello world\n"),
			"dir/empty":     {},
			"frag.bin":      frag,
			"hard":          []byte("inode content\n"),
			"z1":            []byte("plain"),
			"z3":            payload(4000, 5),
			"z3raw":         []byte("stored"),
			"z4":            big,
			"v7":            payload(3000, 6),
			"v8":            big8,
			"f11":           payload(2000, 7),
			"f12":           big12,
			"a:b":           []byte("colon\n"),
			"café":          []byte("unicode\n"),
		}
		for name, want := range files {
			got, err := fs.ReadFile(v, name)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("ReadFile(%q) = %d bytes, %v, want %d bytes", name, len(got), err, len(want))
			}
		}
		for name, want := range map[string]string{"link": "dir/hello.txt", "escape": "../../etc/passwd"} {
			got, err := v.ReadLink(name)
			if err != nil || got != want {
				t.Errorf("ReadLink(%q) = %q, %v, want %q", name, got, err, want)
			}
			fi, err := v.Lstat(name)
			if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
				t.Errorf("Lstat(%q) = %v, %v, want a symlink", name, fi, err)
			}
		}
		ents, err := v.ReadDir(".")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		want := "a:b café dir escape f11 f12 frag.bin hard link v7 v8 z1 z3 z3raw z4"
		if got := strings.Join(names, " "); got != want {
			t.Errorf("ReadDir(.) = %s, want %s", got, want)
		}
		if err := fstest.TestFS(v, "dir/hello.txt", "z4", "hard", "a:b", "frag.bin"); err != nil {
			t.Errorf("TestFS: %v", err)
		}
		var walked []string
		err = v.Walk(func(p string, size int64, r io.Reader) error {
			n, err := io.Copy(io.Discard, r)
			if err != nil || n != size {
				t.Errorf("Walk(%q) read %d of %d bytes: %v", p, n, size, err)
			}
			walked = append(walked, p)
			return nil
		})
		if err != nil || len(walked) != len(files) {
			t.Errorf("Walk = %v, %d files (%q), want %d", err, len(walked), walked, len(files))
		}
	}
}

func TestDirectoryHardLinks(t *testing.T) {
	base := []tEntry{
		{path: privateDirs, dir: true},
		{path: privateDirs + "/dir_9", dir: true},
		{path: privateDirs + "/dir_9/inner.txt", data: []byte("inner\n")},
		{path: "a", dir: true},
		{path: "a/link", dirlink: 9},
		{path: "b", dir: true},
		{path: "b/link", dirlink: 9},
	}
	v := open(t, (&tVolume{entries: base}).build())
	for _, p := range []string{"a/link/inner.txt", "b/link/inner.txt"} {
		if got, err := fs.ReadFile(v, p); err != nil || string(got) != "inner\n" {
			t.Errorf("ReadFile(%q) = %q, %v, want %q", p, got, err, "inner\n")
		}
	}
	if err := fstest.TestFS(v, "a/link/inner.txt", "b/link/inner.txt"); err != nil {
		t.Errorf("TestFS(directory hard links): %v", err)
	}
	// A link inside its own target loops: every directory link is then shown empty.
	loop := append(base, tEntry{path: privateDirs + "/dir_9/back", dirlink: 9})
	v = open(t, (&tVolume{entries: loop}).build())
	ents, err := fs.ReadDir(v, "a/link")
	if err != nil || len(ents) != 0 {
		t.Errorf("ReadDir(a/link) in a looping volume = %d entries, %v, want 0", len(ents), err)
	}
	if err := fstest.TestFS(v, "a/link", "b/link"); err != nil {
		t.Errorf("TestFS(looping directory hard links): %v", err)
	}
}

func TestUnsupportedDecmpfs(t *testing.T) {
	tv := &tVolume{entries: []tEntry{{path: "odd", decmpfs: append(decmpfsHeader(99, 5), "xxxxx"...)}}}
	v := open(t, tv.build())
	if _, err := fs.ReadFile(v, "odd"); !errors.Is(err, unpack.ErrUnsupported) {
		t.Errorf("ReadFile(odd) = %v, want %v", err, unpack.ErrUnsupported)
	}
}

func TestHostile(t *testing.T) {
	be := binary.BigEndian
	base := testVolume()
	img := base.build()
	leaf := base.catalogOff + tNodeSize // first catalog leaf node
	patch := func(f func(b []byte)) []byte {
		b := append([]byte(nil), img...)
		f(b)
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, unpack.ErrFormat},
		{"truncated", img[:3000], unpack.ErrFormat},
		{"truncated-trees", img[:len(img)/4], unpack.ErrFormat},
		{"bad-signature", patch(func(b []byte) { copy(b[1024:], "XX") }), unpack.ErrFormat},
		{"block-size", patch(func(b []byte) { be.PutUint32(b[1024+0x28:], 3000) }), unpack.ErrFormat},
		{"leaf-loop", patch(func(b []byte) { be.PutUint32(b[leaf:], 1) }), unpack.ErrFormat},
		{"leaf-link-past-end", patch(func(b []byte) { be.PutUint32(b[leaf:], 1<<30) }), unpack.ErrFormat},
		{"giant-name", patch(func(b []byte) { be.PutUint16(b[leaf+14+6:], 0xffff) }), unpack.ErrFormat},
		{"key-past-record", patch(func(b []byte) { be.PutUint16(b[leaf+14:], 0x7ff0) }), unpack.ErrFormat},
		{"record-count", patch(func(b []byte) { be.PutUint16(b[leaf+10:], 0xffff) }), unpack.ErrFormat},
		{"node-size", patch(func(b []byte) { be.PutUint16(b[base.catalogOff+14+18:], 999) }), unpack.ErrFormat},
		{"total-nodes", patch(func(b []byte) { be.PutUint32(b[base.catalogOff+14+22:], 1<<31) }), unpack.ErrFormat},
		{"catalog-extent-outside", patch(func(b []byte) { be.PutUint32(b[1024+0x110+16:], 1<<31) }), unpack.ErrFormat},
		{"catalog-fork-huge", patch(func(b []byte) { be.PutUint64(b[1024+0x110:], 1<<62) }), unpack.ErrLimit},
	}
	for _, tt := range tests {
		start := time.Now()
		_, err := NewReader(bytes.NewReader(tt.in), int64(len(tt.in)))
		if !errors.Is(err, tt.want) {
			t.Errorf("NewReader(%s) = %v, want %v", tt.name, err, tt.want)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("NewReader(%s) took %v", tt.name, d)
		}
	}
}

// sampleVolume returns the HFS+ partition of relic-dummy.dmg.
func sampleVolume(t testing.TB) []byte {
	zrc, err := udif.Open(testutil.Sample(t, "dmg/relic-dummy.dmg"))
	if err != nil {
		t.Fatal(err)
	}
	defer zrc.Close()
	z := zrc.Reader
	for i, p := range z.Partitions() {
		if p.Type == "Apple_HFS" {
			b := make([]byte, p.Size)
			if _, err := z.Partition(i).ReadAt(b, 0); err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatal("no Apple_HFS partition in relic-dummy.dmg")
	return nil
}

func TestSampleVolume(t *testing.T) {
	v := open(t, sampleVolume(t))
	if err := fstest.TestFS(v, "dummy.app/Contents/Info.plist", "dummy.app/Contents/MacOS/dummy", "dummy.app/Contents/_CodeSignature/CodeResources"); err != nil {
		t.Errorf("TestFS(relic-dummy volume): %v", err)
	}
	if info := v.Info(); info.Signature != "H+" || info.BlockSize != 4096 {
		t.Errorf("Info(relic-dummy volume) = %+v, want H+ with 4096-byte blocks", info)
	}
}

// FuzzHFS opens arbitrary input as an HFS+ volume and walks and reads it: no panic, every
// path valid. The seeds are the builder's hand-made volumes; relic-dummy's volume is a
// conformance input (TestSampleVolume), not a seed the mutator must shrink.
func FuzzHFS(f *testing.F) {
	f.Add(testVolume().build())
	f.Add((&tVolume{entries: []tEntry{{path: "a", data: []byte("x")}}}).build())
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		v, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		testutil.WalkRead(t, v, 1<<20)
	})
}

func BenchmarkOpenAndRead(b *testing.B) {
	img := testVolume().build()
	b.SetBytes(int64(len(big) + len(big8) + len(big12) + len(frag)))
	for b.Loop() {
		v, err := NewReader(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []string{"z4", "v8", "f12", "frag.bin"} {
			if _, err := fs.ReadFile(v, n); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// maxFuzzInput caps FuzzHFS's inputs: larger ones only make each execution slower.
const maxFuzzInput = 1 << 20
