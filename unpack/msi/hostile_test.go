package msi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rollgate/rollgate/unpack"
)

// exercise opens b and uses everything a caller would: every table, the joins, the walk and
// the fs.FS. It returns the first error.
func exercise(b []byte) error {
	p, err := newReader(b, nil)
	if err != nil {
		return err
	}
	for _, name := range p.Tables() {
		if _, err := p.Table(name); err != nil {
			return err
		}
	}
	if _, err := p.CustomActions(); err != nil {
		return err
	}
	if _, err := p.Shortcuts(); err != nil {
		return err
	}
	if _, err := p.Binaries(); err != nil {
		return err
	}
	if _, err := p.MSITables(); err != nil {
		return err
	}
	var walkErr error
	err = p.Walk(func(path string, size int64, r io.Reader) error {
		if !fs.ValidPath(path) {
			return errors.New("invalid path " + path)
		}
		n, err := io.Copy(io.Discard, r)
		if err == nil && n != size {
			err = errors.New("short read")
		}
		return err
	})
	if err != nil {
		walkErr = err
	}
	fs.WalkDir(p, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			fs.ReadFile(p, path)
		}
		return nil
	})
	return walkErr
}

// streamAt returns where a stream's first bytes (up to one 64-byte mini sector) sit in the
// raw file; the test fails unless they occur exactly once.
func streamAt(t *testing.T, b []byte, p *Package, name string) (off int, content []byte) {
	t.Helper()
	content, err := p.readStream(name, MaxTableBytes)
	if err != nil || len(content) == 0 {
		t.Fatalf("readStream(%q) = %d bytes, %v", name, len(content), err)
	}
	head := content[:min(64, len(content))]
	off = bytes.Index(b, head)
	if off < 0 || bytes.LastIndex(b, head) != off {
		t.Fatalf("stream %q not found exactly once", name)
	}
	return off, content
}

func stringID(t *testing.T, p *Package, s string) uint16 {
	t.Helper()
	for i, v := range p.pool.strings {
		if v == s && i > 0 {
			return uint16(i)
		}
	}
	t.Fatalf("string %q not in the pool", s)
	return 0
}

func TestHostile(t *testing.T) {
	orig := readSample(t, "msi/relic-dummy.msi")
	p, err := newReader(orig, nil)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	dirEntry := func(name string) int {
		e := p.streams[name]
		if e == nil {
			t.Fatalf("no stream %q", name)
		}
		return entryOffset(t, orig, e.RawName)
	}
	sectorShift := int(le.Uint16(orig[0x1E:]))
	fatEntry := func(s uint32) int {
		fat0 := le.Uint32(orig[0x4C:])
		return int(fat0+1)<<sectorShift + 4*int(s)
	}
	firstDir := int(le.Uint32(orig[0x30:])+1) << sectorShift
	dirTable, _ := streamAt(t, orig, p, "!Directory")
	pool, _ := streamAt(t, orig, p, streamStringPool)
	fileTable, _ := streamAt(t, orig, p, "!File")

	tests := []struct {
		name   string
		mutate func(b []byte) []byte
	}{
		{"truncated header", func(b []byte) []byte { return b[:100] }},
		{"truncated quarter", func(b []byte) []byte { return b[:len(b)/4] }},
		{"truncated half", func(b []byte) []byte { return b[:len(b)/2] }},
		{"truncated tail", func(b []byte) []byte { return b[:len(b)-600] }},
		{"FAT chain loop", func(b []byte) []byte {
			big := p.streams[streamStringData] // the one stream above the mini cutoff
			start := le.Uint32(orig[dirEntry(streamStringData)+0x74:])
			if big.Size < 4096 {
				t.Fatalf("%s is a mini stream", streamStringData)
			}
			le.PutUint32(b[fatEntry(start):], start)
			return b
		}},
		{"directory tree cycle", func(b []byte) []byte {
			off := dirEntry("!File")
			id := uint32((off - firstDir) / 128)
			if le.Uint32(b[off+0x44:]) == 0xFFFFFFFF {
				le.PutUint32(b[off+0x44:], id)
			} else {
				le.PutUint32(b[off+0x48:], id)
			}
			return b
		}},
		{"directory tree loops to the root", func(b []byte) []byte {
			le.PutUint32(b[dirEntry("!File")+0x48:], 0)
			return b
		}},
		{"DIFAT loop", func(b []byte) []byte {
			ssz := 1 << sectorShift
			s := uint32((len(b)+ssz-1)/ssz - 1)
			sec := bytes.Repeat([]byte{0xFF}, ssz)
			le.PutUint32(sec[ssz-4:], s)
			b = append(b[:len(b):len(b)], sec...)
			le.PutUint32(b[0x2C:], 300)
			le.PutUint32(b[0x44:], s)
			le.PutUint32(b[0x48:], 1)
			return b
		}},
		{"huge string data size", func(b []byte) []byte {
			le.PutUint32(b[dirEntry(streamStringData)+0x78:], 0x7FFFFFF0)
			return b
		}},
		{"string overruns the string data", func(b []byte) []byte {
			le.PutUint16(b[pool+4:], 0xFFFF)
			return b
		}},
		{"long string escape without length", func(b []byte) []byte {
			e := p.streams[streamStringPool]
			le.PutUint32(b[dirEntry(streamStringPool)+0x78:], 8)
			le.PutUint16(b[pool+4:], 0)
			le.PutUint16(b[pool+6:], 1)
			_ = e
			return b
		}},
		{"table size not a multiple of the row width", func(b []byte) []byte {
			off := dirEntry("!File")
			le.PutUint32(b[off+0x78:], le.Uint32(b[off+0x78:])-1)
			return b
		}},
		{"string id out of range", func(b []byte) []byte {
			le.PutUint16(b[fileTable:], 0xFFF0)
			return b
		}},
		{"directory table loop", func(b []byte) []byte {
			// Rows: INSTALLDIR→ProgramFilesFolder, ProgramFilesFolder→TARGETDIR, TARGETDIR.
			// Rename row 1 to "dummy" and make INSTALLDIR and dummy each other's parent.
			d := stringID(t, p, "dummy")
			install := le.Uint16(b[dirTable:])
			le.PutUint16(b[dirTable+2:], d)       // Directory[1] = dummy
			le.PutUint16(b[dirTable+6:], d)       // Directory_Parent[0] = dummy
			le.PutUint16(b[dirTable+8:], install) // Directory_Parent[1] = INSTALLDIR
			return b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.mutate(bytes.Clone(orig))
			start := time.Now()
			err := exercise(b)
			if !errors.Is(err, unpack.ErrFormat) && !errors.Is(err, unpack.ErrLimit) {
				t.Errorf("exercise(%s) = %v, want ErrFormat", tt.name, err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("exercise(%s) took %v", tt.name, d)
			}
		})
	}
}

func TestTruncationsNeverPanic(t *testing.T) {
	for _, rel := range samples {
		orig := readSample(t, rel)
		for n := 0; n < len(orig); n += 61 {
			if err := exercise(orig[:n]); err != nil && !errors.Is(err, unpack.ErrFormat) && !errors.Is(err, unpack.ErrLimit) {
				t.Errorf("exercise(%s first %d bytes) = %v, want nil or ErrFormat", rel, n, err)
			}
		}
	}
}

// FuzzMSI opens arbitrary input as an MSI and reads every table, custom action, shortcut,
// binary and file: no panic. The seeds are the small hand-made fixtures (about 10 KiB each);
// the real MSIs and the 45 KiB table fixtures are conformance inputs (TestSamples,
// TestTruncationsNeverPanic, the table tests), not seeds the mutator must shrink.
func FuzzMSI(f *testing.F) {
	if b, err := os.ReadFile(fixtures[0]); err == nil {
		f.Add(b)
	}
	alias, _ := filepath.Glob("testdata/alias/*.msi")
	for _, p := range alias {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		exercise(b)
	})
}

// maxFuzzInput caps FuzzMSI's inputs: larger ones only make each execution slower.
const maxFuzzInput = 64 << 10
