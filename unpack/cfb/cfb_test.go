package cfb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
)

var samples = []string{"msi/relic-dummy.msi", "msi/osslsigncode-unsigned.msi"}

func readSample(t testing.TB, rel string) []byte { return testutil.ReadSample(t, rel) }

func open(t testing.TB, b []byte) *Reader {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("NewReader = %v", err)
	}
	return r
}

func TestSamples(t *testing.T) {
	for _, rel := range samples {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			r := open(t, readSample(t, rel))
			if r.Root().Type != TypeRoot {
				t.Fatalf("Root().Type = %v, want root", r.Root().Type)
			}
			var streams int
			var sum bool
			err := r.WalkEntries(func(path []*Entry, e *Entry) error {
				if len(path) > 0 && path[0] != r.Root() {
					t.Errorf("path[0] = %q, want the root", path[0].Name)
				}
				if e.Type != TypeStream {
					return nil
				}
				streams++
				if e.Name == "\x05SummaryInformation" {
					sum = true
				}
				s, err := r.OpenStream(e)
				if err != nil {
					return err
				}
				n, err := io.Copy(io.Discard, s)
				if err != nil || n != e.Size {
					t.Errorf("reading %q = %d, %v; want %d, nil", e.Name, n, err, e.Size)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if streams < 5 || !sum {
				t.Errorf("streams = %d, summary stream found %v", streams, sum)
			}
			// Children are in the spec's order: shorter names first, then by upper-cased code unit.
			kids := r.Root().Children
			for i := 1; i < len(kids); i++ {
				if len(kids[i-1].RawName) > len(kids[i].RawName) {
					t.Errorf("Children out of order: %q before %q", kids[i-1].Name, kids[i].Name)
				}
			}
		})
	}
}

func TestFS(t *testing.T) {
	for _, rel := range samples {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			r := open(t, readSample(t, rel))
			var want []string
			for _, c := range r.Root().Children {
				want = append(want, EscapeName(c.Name))
			}
			if err := fstest.TestFS(r, want...); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestEscapeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"\x05SummaryInformation", "%05SummaryInformation"},
		{"a/b", "a%2Fb"},
		{`a\b`, "a%5Cb"},
		{"50%", "50%25"},
		{"..", "%2E%2E"},
		{".", "%2E"},
		{"", "%00"},
		{"\ufffd", "\ufffd"},
		{"䡀䌏䈯", "䡀䌏䈯"},
	}
	for _, tt := range tests {
		got := EscapeName(tt.in)
		if got != tt.want {
			t.Errorf("EscapeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !fs.ValidPath(got) {
			t.Errorf("EscapeName(%q) = %q, not a valid path", tt.in, got)
		}
	}
}

// layout describes where the structures of a sample sit, so tests can corrupt them.
type layout struct {
	r *Reader
	b []byte
}

func (l layout) fatEntryOffset(s uint32) int64 {
	fat0 := binary.LittleEndian.Uint32(l.b[0x4C:])
	return l.r.sectorOffset(fat0) + 4*int64(s)
}

// dirEntryOffset is the file offset of directory entry id.
func (l layout) dirEntryOffset(id uint32) int64 {
	first := binary.LittleEndian.Uint32(l.b[0x30:])
	sectors, err := chain("directory", l.r.fat, first, -1, l.r.nSectors, l.r.ssz)
	if err != nil {
		panic(err)
	}
	per := uint32(l.r.ssz / dirEntrySize)
	return l.r.sectorOffset(sectors[id/per]) + int64(id%per)*dirEntrySize
}

func (l layout) largestStream() *Entry {
	var big *Entry
	l.r.WalkEntries(func(_ []*Entry, e *Entry) error {
		if e.Type == TypeStream && (big == nil || e.Size > big.Size) {
			big = e
		}
		return nil
	})
	return big
}

// readAll opens b and reads every stream, returning the first error.
func readAll(b []byte) error {
	r, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return err
	}
	return r.WalkEntries(func(_ []*Entry, e *Entry) error {
		if e.Type != TypeStream {
			return nil
		}
		s, err := r.OpenStream(e)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, s)
		return err
	})
}

func TestHostile(t *testing.T) {
	orig := readSample(t, "msi/relic-dummy.msi")
	l := layout{r: open(t, orig), b: orig}
	le := binary.LittleEndian
	big := l.largestStream()
	if big.Size < miniCutoff {
		t.Fatalf("largest stream %q has %d bytes, want a regular-sector stream", big.Name, big.Size)
	}
	put32 := func(b []byte, off int64, v uint32) { le.PutUint32(b[off:], v) }

	tests := []struct {
		name   string
		mutate func(b []byte) []byte
	}{
		{"truncated header", func(b []byte) []byte { return b[:300] }},
		{"truncated half", func(b []byte) []byte { return b[:len(b)/2] }},
		{"truncated last sector", func(b []byte) []byte { return b[:len(b)-700] }},
		{"bad signature", func(b []byte) []byte { b[0] = 0; return b }},
		{"bad sector shift", func(b []byte) []byte { b[0x1E] = 30; return b }},
		{"FAT chain loop", func(b []byte) []byte {
			put32(b, l.fatEntryOffset(big.start), big.start)
			return b
		}},
		{"FAT chain out of range", func(b []byte) []byte {
			put32(b, l.fatEntryOffset(big.start), 0x00FFFFFF)
			return b
		}},
		{"FAT chain ends early", func(b []byte) []byte {
			put32(b, l.fatEntryOffset(big.start), endOfChain)
			return b
		}},
		{"directory chain loop", func(b []byte) []byte {
			first := le.Uint32(b[0x30:])
			put32(b, l.fatEntryOffset(first), first)
			return b
		}},
		{"directory tree cycle", func(b []byte) []byte {
			c := l.r.Root().Children[3].id
			put32(b, l.dirEntryOffset(c)+0x44, c) // left sibling = itself
			return b
		}},
		{"directory tree cycle via root", func(b []byte) []byte {
			c := l.r.Root().Children[3].id
			put32(b, l.dirEntryOffset(c)+0x48, 0)
			return b
		}},
		{"directory id out of range", func(b []byte) []byte {
			put32(b, l.dirEntryOffset(0)+0x4C, 0x7FFFFFFF)
			return b
		}},
		{"huge stream size", func(b []byte) []byte {
			put32(b, l.dirEntryOffset(big.id)+0x78, 0xFFFFFFF0)
			return b
		}},
		{"huge root size", func(b []byte) []byte {
			put32(b, l.dirEntryOffset(0)+0x78, 0x7FFFFFF0)
			return b
		}},
		{"mini FAT loop", func(b []byte) []byte {
			first := le.Uint32(b[0x3C:])
			mf := l.r.sectorOffset(first)
			var e *Entry
			for _, c := range l.r.Root().Children {
				if c.Size > 2*miniSectorSize && c.Size < miniCutoff {
					e = c
					break
				}
			}
			put32(b, mf+4*int64(e.start), e.start)
			return b
		}},
		{"DIFAT loop", func(b []byte) []byte {
			// Claim 300 FAT sectors and append a DIFAT sector that points at itself.
			s := l.r.nSectors
			sec := make([]byte, l.r.ssz)
			for i := 0; i < len(sec)/4-1; i++ {
				le.PutUint32(sec[4*i:], freeSect)
			}
			le.PutUint32(sec[len(sec)-4:], s)
			b = append(b[:len(b):len(b)], sec...)
			put32(b, 0x2C, 300)
			put32(b, 0x44, s)
			put32(b, 0x48, 1)
			return b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.mutate(bytes.Clone(orig))
			start := time.Now()
			err := readAll(b)
			if !errors.Is(err, unpack.ErrFormat) && !errors.Is(err, unpack.ErrLimit) {
				t.Errorf("readAll(%s) = %v, want ErrFormat", tt.name, err)
			}
			var fe *unpack.FormatError
			if err != nil && !errors.As(err, &fe) {
				t.Errorf("readAll(%s) = %v, want a *unpack.FormatError", tt.name, err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("readAll(%s) took %v", tt.name, d)
			}
		})
	}
}

func TestTruncationsNeverPanic(t *testing.T) {
	orig := readSample(t, "msi/relic-dummy.msi")
	for n := 0; n < len(orig); n += 97 {
		if err := readAll(orig[:n]); err != nil && !errors.Is(err, unpack.ErrFormat) {
			t.Errorf("readAll(first %d bytes) = %v, want nil or ErrFormat", n, err)
		}
	}
}

// FuzzCFB opens, walks and reads every stream of arbitrary input: no panic, every path
// valid, every stream as long as its size. The seeds are hand-made minimal compound files
// (the committed corpus under testdata/fuzz/FuzzCFB holds what earlier runs found); the real
// MSIs are conformance samples, read by TestSamples, not seeds the mutator must shrink.
func FuzzCFB(f *testing.F) {
	for _, b := range cfbSeeds() {
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
		fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if !fs.ValidPath(p) {
				t.Errorf("invalid path %q", p)
			}
			if data, err := fs.ReadFile(r, p); err == nil {
				if info, _ := d.Info(); info != nil && int64(len(data)) != info.Size() {
					t.Errorf("%q: read %d bytes, size %d", p, len(data), info.Size())
				}
			}
			return nil
		})
	})
}

// maxFuzzInput caps FuzzCFB's inputs: larger ones only make each execution slower.
const maxFuzzInput = 64 << 10

// cfbSeeds are FuzzCFB's hand-made seeds: version 3 and 4 files with regular and mini
// streams and a storage, and a one-stream version 3 file.
func cfbSeeds() [][]byte {
	var seeds [][]byte
	for _, v := range []int{3, 4} {
		seeds = append(seeds, build(v, &node{name: "Root Entry", dir: true, children: []*node{
			{name: "a", data: pattern(100, 1)}, {name: "b", data: pattern(5000, 2)},
			{name: "S", dir: true, children: []*node{{name: "c", data: pattern(10, 3)}}},
		}}))
	}
	return append(seeds, build(3, &node{name: "Root Entry", dir: true, children: []*node{{name: "a", data: pattern(70, 1)}}}))
}
