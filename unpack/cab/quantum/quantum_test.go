package quantum

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path"
	"testing"
	"time"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/cab/internal/cabtest"
)

const methodQuantum = 2

var goodSamples = []string{
	"cab/libmspack/good/mixed.cab",
	"cab/libmspack/good/mszip_lzx_qtm.cab",
}

var hostileSamples = []string{
	"cab/libmspack/bad/cve-2010-2801-qtm-flush.cab",
	"cab/libmspack/bad/cve-2014-9556-qtm-infinite-loop.cab",
	"cab/libmspack/bad/cve-2018-18584-qtm-max-size-block.cab",
	"cab/libmspack/bad/qtm-max-size-block.cab",
}

// loadCab parses a sample; lenient keeps the folders of a cabinet whose file list is
// broken (the hostile samples).
func loadCab(t testing.TB, rel string, lenient bool) *cabtest.Cab {
	t.Helper()
	c, err := cabtest.Parse(testutil.ReadSample(t, rel))
	if err != nil && (c == nil || !lenient) {
		t.Fatalf("cabtest.Parse(%q) = %v", rel, err)
	}
	return c
}

// decodeBlocks decodes a folder with the block API.
func decodeBlocks(f *cabtest.Folder) ([]byte, error) {
	d := NewDecoder(f.WindowBits())
	var out []byte
	for i, blk := range f.Blocks {
		dst := make([]byte, f.Uncomp[i])
		if err := d.Decode(dst, blk); err != nil {
			return out, err
		}
		out = append(out, dst...)
	}
	return out, nil
}

// delimited is the stream NewReader expects: each payload followed by 0xFF.
func delimited(f *cabtest.Folder) []byte {
	var b []byte
	for _, blk := range f.Blocks {
		b = append(append(b, blk...), 0xFF)
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestSamples decodes the Quantum folders of the samples both ways and compares each
// file with 7-Zip's extraction (testdata/golden.txt).
func TestSamples(t *testing.T) {
	want := map[[2]string]cabtest.Golden{}
	for _, g := range cabtest.ReadGolden(t, "testdata/golden.txt") {
		want[[2]string{g.Sample, g.Path}] = g
	}
	for _, s := range goodSamples {
		t.Run(path.Base(s), func(t *testing.T) {
			c := loadCab(t, s, false)
			checked := 0
			for fi := range c.Folders {
				f := &c.Folders[fi]
				if f.Method() != methodQuantum {
					continue
				}
				blocks, err := decodeBlocks(f)
				if err != nil {
					t.Fatalf("Decode(Quantum:%d) = %v", f.WindowBits(), err)
				}
				r, err := NewReader(bytes.NewReader(delimited(f)), f.WindowBits(), f.Size())
				if err != nil {
					t.Fatal(err)
				}
				stream, err := io.ReadAll(r)
				if err != nil || !bytes.Equal(stream, blocks) {
					t.Fatalf("NewReader: %d bytes, %v; block API gave %d bytes", len(stream), err, len(blocks))
				}
				for _, file := range c.Files {
					if file.Folder != fi {
						continue
					}
					g, ok := want[[2]string{s, file.Name}]
					if !ok {
						t.Errorf("%s: no golden entry", file.Name)
						continue
					}
					if file.Offset+file.Size > int64(len(blocks)) {
						t.Fatalf("%s: beyond folder data", file.Name)
					}
					got := blocks[file.Offset : file.Offset+file.Size]
					if int64(len(got)) != g.N || sha(got) != g.SHA256 {
						t.Errorf("%s: %d bytes sha256 %s, want %d bytes %s", file.Name, len(got), sha(got), g.N, g.SHA256)
					}
					checked++
				}
			}
			if checked == 0 {
				t.Errorf("%s: no Quantum file checked", s)
			}
		})
	}
}

// TestHostile feeds libmspack's malformed Quantum cabinets: each folder must decode or
// fail with ErrFormat, within 5 s, without panicking.
func TestHostile(t *testing.T) {
	for _, s := range hostileSamples {
		t.Run(path.Base(s), func(t *testing.T) {
			c := loadCab(t, s, true)
			n := 0
			for fi := range c.Folders {
				f := &c.Folders[fi]
				if f.Method() != methodQuantum {
					continue
				}
				n++
				start := time.Now()
				_, err := decodeBlocks(f)
				if err != nil && !errors.Is(err, unpack.ErrFormat) {
					t.Errorf("Decode = %v, want nil or ErrFormat", err)
				}
				r, err := NewReader(bytes.NewReader(delimited(f)), f.WindowBits(), f.Size())
				if err == nil {
					_, err = io.Copy(io.Discard, r)
				}
				if err != nil && !errors.Is(err, unpack.ErrFormat) {
					t.Errorf("NewReader decode = %v, want nil or ErrFormat", err)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("took %v", d)
				}
			}
			if n == 0 {
				t.Errorf("no Quantum folder")
			}
		})
	}
}

// TestZeroes decodes cve-2010-2801-qtm-flush.cab, a well-formed 16-frame Quantum folder
// of 524159 zero bytes (the CVE was libmspack's flush at a window wrap). 7-Zip extracts
// its first 491520 bytes, all zero, then reports a data error in the last block.
func TestZeroes(t *testing.T) {
	c := loadCab(t, "cab/libmspack/bad/cve-2010-2801-qtm-flush.cab", true)
	f := &c.Folders[0]
	got, err := decodeBlocks(f)
	if err != nil || len(got) != 524159 || len(f.Blocks) != 16 {
		t.Fatalf("Decode = %d bytes, %v; want 524159 bytes from 16 blocks", len(got), err)
	}
	if i := bytes.IndexFunc(got, func(r rune) bool { return r != 0 }); i >= 0 {
		t.Errorf("byte %d is not zero", i)
	}
}

func TestArgs(t *testing.T) {
	for _, bits := range []int{0, 9, 22} {
		if err := NewDecoder(bits).Decode(make([]byte, 1), []byte{0, 0}); !errors.Is(err, unpack.ErrFormat) {
			t.Errorf("NewDecoder(%d).Decode = %v, want ErrFormat", bits, err)
		}
		if _, err := NewReader(bytes.NewReader(nil), bits, 1); !errors.Is(err, unpack.ErrFormat) {
			t.Errorf("NewReader(bits %d) = %v, want ErrFormat", bits, err)
		}
	}
	if _, err := NewReader(bytes.NewReader(nil), 15, -1); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("NewReader(size -1) = %v, want ErrFormat", err)
	}
	// Empty input for a non-empty block fails instead of inventing data forever.
	if err := NewDecoder(15).Decode(make([]byte, 1<<15), nil); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("Decode(empty src) = %v, want ErrFormat", err)
	}
	// Input that never gets consumed is bounded.
	d := NewDecoder(15)
	var err error
	for i := 0; i < 40 && err == nil; i++ {
		err = d.Decode(nil, make([]byte, 65535))
	}
	if !errors.Is(err, unpack.ErrLimit) {
		t.Errorf("unconsumed input: %v, want ErrLimit", err)
	}
}

// FuzzQuantum decodes arbitrary blocks, seeded with the samples' Quantum folders.
func FuzzQuantum(f *testing.F) {
	for _, s := range append(goodSamples, hostileSamples...) {
		b, err := os.ReadFile(path.Join(testutil.Samples(f), s))
		if err != nil {
			continue
		}
		c, _ := cabtest.Parse(b)
		if c == nil {
			continue
		}
		for _, fo := range c.Folders {
			if fo.Method() == methodQuantum && len(fo.Blocks) > 0 {
				f.Add(fo.Blocks[0], uint8(fo.WindowBits()), uint16(fo.Uncomp[0]), uint16(len(fo.Blocks[0])))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, bits uint8, uncomp uint16, split uint16) {
		// Two blocks: data split at split, the first producing uncomp bytes.
		k := min(int(split), len(data))
		d := NewDecoder(int(bits))
		for _, blk := range [][]byte{data[:k], data[k:]} {
			err := d.Decode(make([]byte, uncomp), blk)
			if err != nil {
				if !errors.Is(err, unpack.ErrFormat) {
					t.Fatalf("Decode = %v", err)
				}
				return
			}
		}
	})
}
