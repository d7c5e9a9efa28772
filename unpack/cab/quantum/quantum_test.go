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
func loadCab(t testing.TB, rel string, lenient bool) *testCab {
	t.Helper()
	b, err := os.ReadFile(testutil.Sample(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseTestCab(b)
	if err != nil && (c == nil || !lenient) {
		t.Fatalf("parseTestCab(%q) = %v", rel, err)
	}
	return c
}

// decodeBlocks decodes a folder with the block API.
func decodeBlocks(f *testFolder) ([]byte, error) {
	d := NewDecoder(f.windowBits())
	var out []byte
	for i, blk := range f.blocks {
		dst := make([]byte, f.uncomp[i])
		if err := d.Decode(dst, blk); err != nil {
			return out, err
		}
		out = append(out, dst...)
	}
	return out, nil
}

// delimited is the stream NewReader expects: each payload followed by 0xFF.
func (f *testFolder) delimited() []byte {
	var b []byte
	for _, blk := range f.blocks {
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
	want := map[[2]string]goldenLine{}
	for _, g := range readGolden(t) {
		want[[2]string{g.sample, g.path}] = g
	}
	for _, s := range goodSamples {
		t.Run(path.Base(s), func(t *testing.T) {
			c := loadCab(t, s, false)
			checked := 0
			for fi := range c.folders {
				f := &c.folders[fi]
				if f.method() != methodQuantum {
					continue
				}
				blocks, err := decodeBlocks(f)
				if err != nil {
					t.Fatalf("Decode(Quantum:%d) = %v", f.windowBits(), err)
				}
				r, err := NewReader(bytes.NewReader(f.delimited()), f.windowBits(), f.size())
				if err != nil {
					t.Fatal(err)
				}
				stream, err := io.ReadAll(r)
				if err != nil || !bytes.Equal(stream, blocks) {
					t.Fatalf("NewReader: %d bytes, %v; block API gave %d bytes", len(stream), err, len(blocks))
				}
				for _, file := range c.files {
					if file.folder != fi {
						continue
					}
					g, ok := want[[2]string{s, file.name}]
					if !ok {
						t.Errorf("%s: no golden entry", file.name)
						continue
					}
					if file.offset+file.size > int64(len(blocks)) {
						t.Fatalf("%s: beyond folder data", file.name)
					}
					got := blocks[file.offset : file.offset+file.size]
					if int64(len(got)) != g.n || sha(got) != g.sha256 {
						t.Errorf("%s: %d bytes sha256 %s, want %d bytes %s", file.name, len(got), sha(got), g.n, g.sha256)
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
			for fi := range c.folders {
				f := &c.folders[fi]
				if f.method() != methodQuantum {
					continue
				}
				n++
				start := time.Now()
				_, err := decodeBlocks(f)
				if err != nil && !errors.Is(err, unpack.ErrFormat) {
					t.Errorf("Decode = %v, want nil or ErrFormat", err)
				}
				r, err := NewReader(bytes.NewReader(f.delimited()), f.windowBits(), f.size())
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
	f := &c.folders[0]
	got, err := decodeBlocks(f)
	if err != nil || len(got) != 524159 || len(f.blocks) != 16 {
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
		c, _ := parseTestCab(b)
		if c == nil {
			continue
		}
		for _, fo := range c.folders {
			if fo.method() == methodQuantum && len(fo.blocks) > 0 {
				f.Add(fo.blocks[0], uint8(fo.windowBits()), uint16(fo.uncomp[0]), uint16(len(fo.blocks[0])))
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
