package xar

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
)

func open(t testing.TB, p string) *Reader { return testutil.Open(t, p, NewReader) }

func TestSampleRelicDummy(t *testing.T) {
	r := open(t, testutil.Sample(t, "pkg/relic-dummy.pkg"))
	want := []string{"com.sas.dummy.pkg/Payload", "com.sas.dummy.pkg/PackageInfo", "Distribution", "com.sas.dummy.pkg/Bom"}
	got := r.Files()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Files() = %v, want %v", got, want)
	}
	if err := fstest.TestFS(r, want...); err != nil {
		t.Error(err)
	}
	sizes := map[string]int64{}
	err := r.Walk(func(p string, size int64, rd io.Reader) error {
		n, err := io.Copy(io.Discard, rd)
		if err != nil {
			return err
		}
		if n != size {
			t.Errorf("Walk %q yields %d bytes, size %d", p, n, size)
		}
		sizes[p] = n
		return nil
	})
	if err != nil {
		t.Fatalf("Walk = %v", err)
	}
	if sizes["Distribution"] != 1067 || sizes["com.sas.dummy.pkg/Bom"] != 36574 {
		t.Errorf("Walk sizes = %v", sizes)
	}
	if len(r.Signatures()) != 0 {
		t.Errorf("Signatures() = %d, want none", len(r.Signatures()))
	}
}

func TestDoubleLinkRefusedFast(t *testing.T) {
	p := testutil.Sample(t, "pkg/test_read_format_xar_doublelink.xar")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = NewReader(bytes.NewReader(b), int64(len(b)))
	if !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("NewReader(doublelink) = %v, want ErrFormat", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("NewReader(doublelink) took %v", d)
	}
}

func TestFixtureSignature(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	r := open(t, filepath.Join(filepath.Dir(file), "..", "..", "testdata", "fixtures", "mac", "acme-mac-1.0.pkg"))
	sigs := r.Signatures()
	if len(sigs) != 1 || sigs[0].Style != "RSA" || len(sigs[0].Certs) != 2 || len(sigs[0].Data) != 256 || len(sigs[0].Digest) != 20 {
		t.Fatalf("Signatures() = %+v, want one RSA signature with 2 certificates", sigs)
	}
	if err := fstest.TestFS(r, "Distribution", "acme.pkg/Payload", "acme.pkg/PackageInfo", "acme.pkg/Scripts"); err != nil {
		t.Error(err)
	}
}

// xarFile is a file for the test builder.
type xarFile struct {
	name    string
	typ     string // file, directory, symlink, hardlink
	link    string // hardlink target id or "original"; symlink target
	data    []byte
	encode  bool   // zlib
	extSum  string // override extracted checksum
	offset  int64  // -1: next in heap
	length  int64  // -1: stored length
	extra   string // XML appended inside <file>
	kids    []xarFile
	size    int64 // -1: len(data)
	rawName string
}

// buildXar writes a xar with a SHA-1 TOC checksum at heap offset 0.
func buildXar(files []xarFile) []byte {
	var heap bytes.Buffer
	heap.Write(make([]byte, 20))
	var toc strings.Builder
	id := 1
	var write func([]xarFile)
	write = func(fs []xarFile) {
		for _, f := range fs {
			fmt.Fprintf(&toc, "<file id=\"%d\">", id)
			id++
			name := f.name
			if f.rawName != "" {
				name = f.rawName
			}
			fmt.Fprintf(&toc, "<name>%s</name>", name)
			typ := f.typ
			if typ == "" {
				typ = "file"
			}
			switch typ {
			case "hardlink":
				fmt.Fprintf(&toc, "<type link=\"%s\">hardlink</type>", f.link)
			case "symlink":
				fmt.Fprintf(&toc, "<type>symlink</type><link type=\"file\">%s</link>", f.link)
			default:
				fmt.Fprintf(&toc, "<type>%s</type>", typ)
			}
			if f.data != nil {
				stored, enc := f.data, "application/octet-stream"
				if f.encode {
					var z bytes.Buffer
					w := zlib.NewWriter(&z)
					w.Write(f.data)
					w.Close()
					stored, enc = z.Bytes(), "application/x-gzip"
				}
				off, length, size := int64(heap.Len()), int64(len(stored)), int64(len(f.data))
				if f.offset >= 0 && f.offset != 0 {
					off = f.offset
				}
				if f.length > 0 {
					length = f.length
				}
				if f.size > 0 {
					size = f.size
				}
				ext := sha1.Sum(f.data)
				es := hex.EncodeToString(ext[:])
				if f.extSum != "" {
					es = f.extSum
				}
				fmt.Fprintf(&toc, "<data><length>%d</length><offset>%d</offset><size>%d</size><encoding style=\"%s\"/><extracted-checksum style=\"sha1\">%s</extracted-checksum></data>", length, off, size, enc, es)
				heap.Write(stored)
			}
			toc.WriteString(f.extra)
			write(f.kids)
			toc.WriteString("</file>")
		}
	}
	write(files)
	x := "<?xml version=\"1.0\"?><xar><toc><checksum style=\"sha1\"><offset>0</offset><size>20</size></checksum>" + toc.String() + "</toc></xar>"
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write([]byte(x))
	w.Close()
	sum := sha1.Sum(z.Bytes())
	h := heap.Bytes()
	copy(h, sum[:])
	var out bytes.Buffer
	out.WriteString("xar!")
	binary.Write(&out, binary.BigEndian, uint16(28))
	binary.Write(&out, binary.BigEndian, uint16(1))
	binary.Write(&out, binary.BigEndian, uint64(z.Len()))
	binary.Write(&out, binary.BigEndian, uint64(len(x)))
	binary.Write(&out, binary.BigEndian, uint32(1))
	out.Write(z.Bytes())
	out.Write(h)
	return out.Bytes()
}

func f(name string, data string) xarFile {
	return xarFile{name: name, data: []byte(data), offset: -1, length: -1, size: -1}
}

func TestBuilt(t *testing.T) {
	dir := xarFile{name: "dir", typ: "directory", kids: []xarFile{f("a.txt", "alpha"), {name: "z.txt", data: []byte("zeta zeta zeta"), encode: true, extra: ""}}}
	link := xarFile{name: "ln", typ: "symlink", link: "dir/a.txt"}
	orig := f("orig", "shared")
	orig.typ, orig.link = "hardlink", "original"
	hl := xarFile{name: "hl", typ: "hardlink", link: "5"}
	b := buildXar([]xarFile{dir, link, orig, hl})
	r, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("NewReader = %v", err)
	}
	if err := fstest.TestFS(r, "dir/a.txt", "dir/z.txt", "ln", "orig", "hl"); err != nil {
		t.Error(err)
	}
	for p, want := range map[string]string{"dir/z.txt": "zeta zeta zeta", "hl": "shared", "ln": "dir/a.txt"} {
		got, err := fs.ReadFile(r, p)
		if err != nil || string(got) != want {
			t.Errorf("ReadFile(%q) = %q, %v, want %q", p, got, err, want)
		}
	}
	if info, _ := fs.Stat(r, "ln"); info.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Stat(ln).Mode() = %v, want a symlink", info.Mode())
	}
}

func TestHostile(t *testing.T) {
	loopA := f("a", "")
	loopA.typ, loopA.link, loopA.data = "hardlink", "2", nil
	loopB := xarFile{name: "b", typ: "hardlink", link: "1"}
	badSum := f("bad", "content")
	badSum.extSum = strings.Repeat("00", 20)
	outside := f("far", "x")
	outside.offset = 1 << 30
	long := f("long", "x")
	long.length = 1 << 30
	tests := []struct {
		name    string
		files   []xarFile
		want    error
		readErr bool // NewReader succeeds, reading fails
	}{
		{"name dot-dot", []xarFile{f("..", "x")}, unpack.ErrInsecurePath, false},
		{"name with slash", []xarFile{{rawName: "a/../../etc", name: "x", data: []byte("x"), offset: -1, length: -1, size: -1}}, unpack.ErrInsecurePath, false},
		{"hard link loop", []xarFile{loopA, loopB}, unpack.ErrFormat, false},
		{"hard link to missing", []xarFile{{name: "h", typ: "hardlink", link: "99"}}, unpack.ErrFormat, false},
		{"hard link to directory", []xarFile{{name: "d", typ: "directory"}, {name: "h", typ: "hardlink", link: "1"}}, unpack.ErrFormat, false},
		{"duplicate names", []xarFile{f("a", "1"), f("a", "2")}, unpack.ErrFormat, false},
		{"data outside heap", []xarFile{outside}, unpack.ErrFormat, false},
		{"length outside heap", []xarFile{long}, unpack.ErrFormat, false},
		{"extracted checksum", []xarFile{badSum}, unpack.ErrFormat, true},
		{"two types", []xarFile{{name: "t", extra: "<type>file</type>"}}, unpack.ErrFormat, false},
	}
	for _, tt := range tests {
		b := buildXar(tt.files)
		r, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if tt.readErr {
			if err != nil {
				t.Errorf("NewReader(%s) = %v, want nil", tt.name, err)
				continue
			}
			err = r.Walk(func(string, int64, io.Reader) error { return nil })
			if err == nil {
				err = r.Walk(func(_ string, _ int64, rd io.Reader) error { _, err := io.Copy(io.Discard, rd); return err })
			}
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("NewReader(%s) = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestHostileHeader(t *testing.T) {
	good := buildXar([]xarFile{f("a", "alpha")})
	mod := func(fn func(b []byte) []byte) []byte { return fn(bytes.Clone(good)) }
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, unpack.ErrFormat},
		{"bad magic", mod(func(b []byte) []byte { b[0] = 'y'; return b }), unpack.ErrFormat},
		{"TOC beyond file", mod(func(b []byte) []byte { binary.BigEndian.PutUint64(b[8:], 1<<40); return b }), unpack.ErrFormat},
		{"TOC too large", mod(func(b []byte) []byte { binary.BigEndian.PutUint64(b[16:], 1<<40); return b }), unpack.ErrLimit},
		{"TOC size lie", mod(func(b []byte) []byte { binary.BigEndian.PutUint64(b[16:], 10); return b }), unpack.ErrFormat},
		{"checksum algorithm", mod(func(b []byte) []byte { b[27] = 9; return b }), unpack.ErrUnsupported},
		{"TOC checksum mismatch", mod(func(b []byte) []byte { h := 28 + int(binary.BigEndian.Uint64(b[8:])); b[h] ^= 1; return b }), unpack.ErrFormat},
		{"truncated heap", good[:len(good)-30], unpack.ErrFormat},
	}
	for _, tt := range tests {
		_, err := NewReader(bytes.NewReader(tt.b), int64(len(tt.b)))
		if !errors.Is(err, tt.want) {
			t.Errorf("NewReader(%s) = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// FuzzXar opens arbitrary input as a xar archive, walks and reads it: no panic, every path
// valid. The seed is a hand-made archive with a directory, an encoded file, a symlink and
// hard links; the real archives are conformance inputs, not seeds the mutator must shrink.
func FuzzXar(f *testing.F) {
	f.Add(xarSeed())
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		r, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if !fs.ValidPath(p) {
				t.Fatalf("invalid path %q", p)
			}
			fs.ReadFile(r, p)
			return nil
		})
		r.Walk(func(_ string, _ int64, rd io.Reader) error { io.Copy(io.Discard, rd); return nil })
	})
}

// maxFuzzInput caps FuzzXar's inputs: larger ones only make each execution slower.
const maxFuzzInput = 64 << 10

// xarSeed is FuzzXar's hand-made seed: a directory, an encoded file, a symlink and hard links.
func xarSeed() []byte {
	orig := xarFile{name: "o", typ: "hardlink", link: "original", data: []byte("x"), offset: -1, length: -1, size: -1}
	return buildXar([]xarFile{{name: "d", typ: "directory", kids: []xarFile{{name: "z", data: []byte("zzz"), encode: true}}}, {name: "l", typ: "symlink", link: "d/z"}, orig, {name: "h", typ: "hardlink", link: "3"}})
}
