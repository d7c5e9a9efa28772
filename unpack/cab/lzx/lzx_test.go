package lzx

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

const methodLZX = 3

var goodSamples = []string{
	"cab/test_read_format_cab_3.cab",
	"cab/libmspack/good/large-files-cab.cab",
	"cab/libmspack/good/mixed.cab",
	"cab/libmspack/good/mszip_lzx_qtm.cab",
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

func decodeFolder(t testing.TB, f *cabtest.Folder) []byte {
	t.Helper()
	r, err := NewReader(bytes.NewReader(f.Payload()), f.WindowBits(), f.Size())
	if err != nil {
		t.Fatalf("NewReader(window %d) = %v", f.WindowBits(), err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding LZX:%d folder = %v", f.WindowBits(), err)
	}
	if int64(len(out)) != f.Size() {
		t.Fatalf("decoded %d bytes, want %d", len(out), f.Size())
	}
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestSamples decodes every LZX folder of the conformance samples and compares each file
// with 7-Zip's extraction (testdata/golden.txt).
func TestSamples(t *testing.T) {
	golden := cabtest.ReadGolden(t, "testdata/golden.txt")
	want := map[[2]string]cabtest.Golden{}
	for _, g := range golden {
		want[[2]string{g.Sample, g.Path}] = g
	}
	for _, s := range goodSamples {
		t.Run(path.Base(s), func(t *testing.T) {
			c := loadCab(t, s, false)
			checked := 0
			for fi := range c.Folders {
				f := &c.Folders[fi]
				if f.Method() != methodLZX {
					continue
				}
				data := decodeFolder(t, f)
				for _, file := range c.Files {
					if file.Folder != fi {
						continue
					}
					g, ok := want[[2]string{s, file.Name}]
					if !ok {
						t.Errorf("%s: no golden entry", file.Name)
						continue
					}
					if file.Offset+file.Size > int64(len(data)) {
						t.Fatalf("%s: beyond folder data", file.Name)
					}
					got := data[file.Offset : file.Offset+file.Size]
					if int64(len(got)) != g.N || sha(got) != g.SHA256 {
						t.Errorf("%s: %d bytes sha256 %s, want %d bytes %s", file.Name, len(got), sha(got), g.N, g.SHA256)
					}
					checked++
					if file.Name == "large-files.cab" {
						checkNested(t, s, got, golden)
					}
				}
			}
			if checked == 0 {
				t.Errorf("%s: no LZX file checked", s)
			}
		})
	}
}

// checkNested decodes the two 2 GiB LZX folders (windows 2^15 and 2^21) of the nested
// large-files.cab: the first 64 MiB always, all of it with ROLLGATE_LONG=1.
func checkNested(t *testing.T, sample string, cab []byte, golden []cabtest.Golden) {
	c, err := cabtest.Parse(cab)
	if err != nil {
		t.Fatalf("nested large-files.cab: %v", err)
	}
	long := os.Getenv("ROLLGATE_LONG") == "1"
	for _, file := range c.Files {
		f := &c.Folders[file.Folder]
		if f.Method() != methodLZX {
			continue
		}
		for _, g := range golden {
			if g.Sample != sample || g.Path != "large-files.cab/"+file.Name {
				continue
			}
			if g.N == file.Size && !long {
				continue
			}
			r, err := NewReader(bytes.NewReader(f.Payload()), f.WindowBits(), f.Size())
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			if _, err := io.CopyN(io.Discard, r, file.Offset); err != nil {
				t.Fatal(err)
			}
			if n, err := io.CopyN(h, r, g.N); err != nil {
				t.Fatalf("%s: decoding LZX:%d after %d bytes: %v", g.Path, f.WindowBits(), n, err)
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != g.SHA256 {
				t.Errorf("%s: first %d bytes sha256 %s, want %s", g.Path, g.N, got, g.SHA256)
			}
		}
	}
}

// TestHostile feeds libmspack's malformed cabinets: each LZX folder must decode or fail
// with ErrFormat, quickly, without panicking.
func TestHostile(t *testing.T) {
	for _, tc := range []struct {
		sample  string
		wantErr bool
	}{
		{"cab/libmspack/bad/cve-2015-4471-lzx-under-read.cab", true},
		{"cab/libmspack/bad/lzx-main-tree-no-lengths.cab", true},
		{"cab/libmspack/bad/lzx-premature-matches.cab", true},
	} {
		t.Run(path.Base(tc.sample), func(t *testing.T) {
			c := loadCab(t, tc.sample, true)
			var firstErr error
			for _, f := range c.Folders {
				if f.Method() != methodLZX {
					continue
				}
				start := time.Now()
				r, err := NewReader(bytes.NewReader(f.Payload()), f.WindowBits(), f.Size())
				if err == nil {
					_, err = io.Copy(io.Discard, r)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("took %v", d)
				}
				if err != nil && !errors.Is(err, unpack.ErrFormat) {
					t.Errorf("decode = %v, want an error wrapping ErrFormat", err)
				}
				if firstErr == nil {
					firstErr = err
				}
			}
			if tc.wantErr && firstErr == nil {
				t.Errorf("decode = nil, want an error")
			}
			var fe *unpack.FormatError
			if firstErr != nil && !errors.As(firstErr, &fe) {
				t.Errorf("decode = %T %v, want *unpack.FormatError", firstErr, firstErr)
			} else if fe != nil && (fe.Format != "lzx" || fe.Offset < 0) {
				t.Errorf("decode = %+v, want Format lzx and an offset", fe)
			}
		})
	}
}

func TestNewReaderArgs(t *testing.T) {
	for _, tc := range []struct {
		bits int
		size int64
		ok   bool
	}{
		{14, 10, false}, {22, 10, false}, {15, -1, false}, {15, 0, true}, {21, 1 << 40, true},
	} {
		_, err := NewReader(bytes.NewReader(nil), tc.bits, tc.size)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, unpack.ErrFormat)) {
			t.Errorf("NewReader(bits %d, size %d) = %v, want ok %v", tc.bits, tc.size, err, tc.ok)
		}
	}
	// size 0 reads nothing; a huge claimed size allocates only the window.
	r, _ := NewReader(bytes.NewReader(nil), 15, 0)
	if n, err := io.Copy(io.Discard, r); n != 0 || err != nil {
		t.Errorf("empty stream: %d, %v", n, err)
	}
	r, _ = NewReader(bytes.NewReader(nil), 21, 1<<40)
	if _, err := io.Copy(io.Discard, r); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("empty input for 1 TiB: %v, want ErrFormat", err)
	}
}

func TestHuffmanBuild(t *testing.T) {
	for _, tc := range []struct {
		name string
		lens []uint8
		want error
	}{
		{"complete", []uint8{1, 2, 3, 3}, nil},
		{"single-bit pair", []uint8{0, 1, 0, 1}, nil},
		{"over-subscribed", []uint8{1, 1, 1}, errOversubscribed},
		{"incomplete", []uint8{1, 2, 0, 0}, errIncomplete},
		{"lone code", []uint8{0, 1}, errIncomplete},
		{"empty", []uint8{0, 0, 0}, errEmptyTree},
		{"too long", []uint8{17, 1}, nil},
	} {
		h := newHuffman(2, len(tc.lens))
		err := h.build(tc.lens)
		if tc.name == "too long" {
			if err == nil {
				t.Errorf("build(%v) = nil, want an error", tc.lens)
			}
			continue
		}
		if !errors.Is(err, tc.want) && err != tc.want {
			t.Errorf("build(%v) = %v, want %v", tc.lens, err, tc.want)
		}
	}
	// Long codes (beyond the 2-bit table) decode through the canonical search.
	h := newHuffman(2, 5)
	if err := h.build([]uint8{1, 2, 3, 4, 4}); err != nil {
		t.Fatal(err)
	}
	// Canonical codes: 0, 10, 110, 1110, 1111.
	for _, tc := range []struct {
		code uint64
		bits uint
		sym  int
	}{{0b0, 1, 0}, {0b10, 2, 1}, {0b110, 3, 2}, {0b1110, 4, 3}, {0b1111, 4, 4}} {
		br := &bitReader{buf: tc.code << (64 - tc.bits), n: 64}
		got, err := h.decode(br)
		if err != nil || got != tc.sym || br.n != 64-tc.bits {
			t.Errorf("decode(%0*b) = %d, %v (%d bits left), want %d", tc.bits, tc.code, got, err, br.n, tc.sym)
		}
	}
}

func TestE8Translate(t *testing.T) {
	mk := func(abs int32) []byte {
		b := make([]byte, 20)
		b[0] = 0xE8
		b[1], b[2], b[3], b[4] = byte(abs), byte(abs>>8), byte(abs>>16), byte(abs>>24)
		return b
	}
	for _, tc := range []struct {
		abs, curpos, size, want int32
	}{
		{100, 0, 1000, 100},   // rel = abs - curpos
		{100, 40, 1000, 60},   // curpos advances the base
		{-10, 40, 1000, 990},  // negative abs within -curpos: rel = abs + size
		{-50, 40, 1000, -50},  // below -curpos: untouched
		{1000, 0, 1000, 1000}, // at or beyond file size: untouched
		{5, 0, -1, 5},         // negative file size translates nothing here
	} {
		b := mk(tc.abs)
		e8Translate(b, tc.curpos, tc.size)
		got := int32(le32(b[1:]))
		if got != tc.want {
			t.Errorf("e8Translate(abs %d, curpos %d, size %d) = %d, want %d", tc.abs, tc.curpos, tc.size, got, tc.want)
		}
	}
	// The last 10 bytes of a frame are never translated.
	b := make([]byte, 12)
	b[2] = 0xE8
	b[3] = 1
	e8Translate(b, 0, 1000)
	if b[3] != 1 {
		t.Errorf("translated inside the last 10 bytes")
	}
}

// bitWriter builds LZX bitstreams for tests: 16-bit little-endian words, MSB first.
type bitWriter struct {
	out  []byte
	acc  uint32
	nacc uint
}

func (w *bitWriter) bits(v uint32, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | (v>>uint(i))&1
		w.nacc++
		if w.nacc == 16 {
			w.out = append(w.out, byte(w.acc), byte(w.acc>>8))
			w.acc, w.nacc = 0, 0
		}
	}
}

// align pads to a word boundary; force pads a whole word when already aligned (the
// uncompressed block header's 1..16 bits).
func (w *bitWriter) align(force bool) {
	if w.nacc == 0 && !force {
		return
	}
	w.bits(0, 16-w.nacc)
}

// uncompressedBlock appends an uncompressed block carrying data.
func (w *bitWriter) uncompressedBlock(data []byte, r0, r1, r2 uint32) {
	w.bits(3, 3)
	w.bits(uint32(len(data))>>8, 16)
	w.bits(uint32(len(data))&0xff, 8)
	w.align(true)
	for _, r := range []uint32{r0, r1, r2} {
		w.out = append(w.out, byte(r), byte(r>>8), byte(r>>16), byte(r>>24))
	}
	w.out = append(w.out, data...)
	if len(data)&1 == 1 {
		w.out = append(w.out, 0)
	}
}

// TestUncompressedBlocks covers byte-mode blocks: odd lengths and their pad byte, blocks
// spanning 32 KiB frames, and the E8 translation an uncompressed block switches on.
func TestUncompressedBlocks(t *testing.T) {
	data := make([]byte, 70001)
	for i := range data {
		data[i] = byte(i*7 + i>>8)
	}
	for _, tc := range []struct {
		name   string
		splits []int
	}{
		{"one block", []int{len(data)}},
		{"odd blocks", []int{3, 40001, 29997}},
		{"frame-sized", []int{32768, 32768, 4465}},
	} {
		var w bitWriter
		w.bits(0, 1) // no E8 translation
		off := 0
		for _, n := range tc.splits {
			w.uncompressedBlock(data[off:off+n], 1, 1, 1)
			off += n
		}
		r, err := NewReader(bytes.NewReader(w.out), 16, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: decode = %d bytes, %v; want %d bytes", tc.name, len(got), err, len(data))
		}
		// Truncation is an error, never a short read.
		r, _ = NewReader(bytes.NewReader(w.out[:len(w.out)-5]), 16, int64(len(data)))
		if _, err := io.ReadAll(r); !errors.Is(err, unpack.ErrFormat) {
			t.Errorf("%s truncated: decode = %v, want ErrFormat", tc.name, err)
		}
	}

	// E8 translation: the header carries file size 1<<20, the block an E8 call.
	in := make([]byte, 64)
	in[10] = 0xE8
	in[11] = 0x20 // absolute 0x20 at output offset 10 → relative 0x20-10
	var w bitWriter
	w.bits(1, 1)
	w.bits(0x10, 16)
	w.bits(0, 16)
	w.uncompressedBlock(in, 1, 1, 1)
	r, _ := NewReader(bytes.NewReader(w.out), 15, int64(len(in)))
	got, err := io.ReadAll(r)
	if err != nil || got[11] != 0x20-10 {
		t.Errorf("E8 frame: %v, byte 11 = %#x, want %#x", err, got[11:15], 0x20-10)
	}
}

// TestMalformedHeaders: block headers that must be refused with a positioned ErrFormat.
func TestMalformedHeaders(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(w *bitWriter)
	}{
		{"block type 0", func(w *bitWriter) { w.bits(0, 1); w.bits(0, 3); w.bits(100, 24) }},
		{"block type 7", func(w *bitWriter) { w.bits(0, 1); w.bits(7, 3); w.bits(100, 24) }},
		{"over-subscribed pretree", func(w *bitWriter) {
			w.bits(0, 1)
			w.bits(blockVerbatim, 3)
			w.bits(100, 24)
			for range pretreeSymbols {
				w.bits(1, 4)
			}
		}},
		{"incomplete aligned tree", func(w *bitWriter) {
			w.bits(0, 1)
			w.bits(blockAligned, 3)
			w.bits(100, 24)
			for range alignedSymbols {
				w.bits(4, 3)
			}
		}},
		{"empty pretree", func(w *bitWriter) {
			w.bits(0, 1)
			w.bits(blockVerbatim, 3)
			w.bits(100, 24)
			w.bits(0, 4*pretreeSymbols)
		}},
	} {
		var w bitWriter
		tc.build(&w)
		w.bits(0, 64)
		r, _ := NewReader(bytes.NewReader(w.out), 15, 100)
		_, err := io.ReadAll(r)
		var fe *unpack.FormatError
		if !errors.As(err, &fe) || !errors.Is(err, unpack.ErrFormat) || fe.Offset < 0 || fe.Format != "lzx" {
			t.Errorf("%s: decode = %v, want a positioned lzx FormatError", tc.name, err)
		}
	}
}

// FuzzLZX decodes arbitrary streams, seeded with the samples' LZX folders: decoding must
// end with the claimed size or an ErrFormat error, never panic or over-produce.
func FuzzLZX(f *testing.F) {
	var w bitWriter
	w.bits(0, 1)
	w.uncompressedBlock([]byte("hello, world"), 1, 1, 1)
	f.Add(w.out, uint8(15), uint32(12))
	{
		for _, s := range append(goodSamples,
			"cab/libmspack/bad/cve-2015-4471-lzx-under-read.cab",
			"cab/libmspack/bad/lzx-main-tree-no-lengths.cab",
			"cab/libmspack/bad/lzx-premature-matches.cab") {
			b, err := os.ReadFile(path.Join(testutil.Samples(f), s))
			if err != nil {
				continue
			}
			c, err := cabtest.Parse(b)
			if err != nil {
				continue
			}
			for _, fo := range c.Folders {
				if fo.Method() == methodLZX && fo.Size() <= 1<<20 {
					f.Add(fo.Payload(), uint8(fo.WindowBits()), uint32(fo.Size()))
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, bits uint8, size uint32) {
		size %= 1 << 20
		r, err := NewReader(bytes.NewReader(data), int(bits), int64(size))
		if err != nil {
			if !errors.Is(err, unpack.ErrFormat) {
				t.Fatalf("NewReader = %v", err)
			}
			return
		}
		n, err := io.Copy(io.Discard, r)
		if err != nil {
			if !errors.Is(err, unpack.ErrFormat) {
				t.Fatalf("decode = %v, want ErrFormat", err)
			}
			return
		}
		if n != int64(size) {
			t.Fatalf("decoded %d bytes, want %d", n, size)
		}
	})
}

// BenchmarkLZX decodes the LZX:21 folder of large-files-cab.cab (14.7 MB of output) and
// the first 256 MiB of the LZX:21 folder nested inside it.
func BenchmarkLZX(b *testing.B) {
	c := loadCab(b, "cab/libmspack/good/large-files-cab.cab", false)
	f := &c.Folders[0]
	bench := func(b *testing.B, f *cabtest.Folder, n int64) {
		payload := f.Payload()
		b.SetBytes(n)
		b.ResetTimer()
		for b.Loop() {
			r, err := NewReader(bytes.NewReader(payload), f.WindowBits(), f.Size())
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.CopyN(io.Discard, r, n); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("large-files-cab", func(b *testing.B) { bench(b, f, f.Size()) })
	b.Run("nested-lzx21-256MiB", func(b *testing.B) {
		inner, err := cabtest.Parse(decodeFolder(b, f))
		if err != nil {
			b.Fatal(err)
		}
		for i := range inner.Folders {
			if fo := &inner.Folders[i]; fo.Method() == methodLZX && fo.WindowBits() == 21 {
				bench(b, fo, 256<<20)
				return
			}
		}
		b.Fatal("no LZX:21 folder in large-files.cab")
	})
}
