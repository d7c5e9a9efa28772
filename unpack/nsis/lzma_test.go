package nsis

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"
	"testing/iotest"

	"github.com/ulikunitz/xz/lzma"
)

// ulikunitz decodes an NSIS LZMA stream with github.com/ulikunitz/xz/lzma, the reference
// this package's decoder is checked against.
func ulikunitz(t *testing.T, stream []byte) []byte {
	t.Helper()
	hdr := append(append([]byte(nil), stream[:5]...), bytes.Repeat([]byte{0xff}, 8)...)
	zr, err := lzma.NewReader(bufio.NewReader(io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(stream[5:]))))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("ulikunitz: %v", err)
	}
	return out
}

// TestLZMADifferential decodes the solid LZMA streams of the fixtures with both decoders.
// ulikunitz may decode past the real end of a stream without end marker into padding
// (the CRC, the signature): the outputs must agree on everything this decoder yields.
func TestLZMADifferential(t *testing.T) {
	for _, name := range []string{"acme-5.1.0-setup.exe", "acme-5.2.0-setup.exe"} {
		r := open(t, name)
		data := readFixture(t, name)
		stream := data[r.dataStart:r.dataEnd]
		want := ulikunitz(t, stream)
		var props [5]byte
		copy(props[:], stream)
		z, err := newLZMA(bytes.NewReader(stream[5:]), props)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(z)
		if err != nil {
			t.Fatalf("%s: ReadAll = %v", name, err)
		}
		if len(got) == 0 || len(got) > len(want) || !bytes.Equal(got, want[:len(got)]) {
			t.Errorf("%s: %d bytes differ from ulikunitz's %d", name, len(got), len(want))
		}
		if len(got) < int(r.HeaderLen) {
			t.Errorf("%s: %d bytes, shorter than the header", name, len(got))
		}
	}
}

// TestLZMADifferentialMixed encodes text-like lines (words, base-36 numbers: literal runs
// between short far matches, so every literal state) and random bytes with
// ulikunitz/xz/lzma under several lc/lp/pb settings and decodes them with this package's
// decoder, which must give the input back; the input is small (the fixtures are smaller still)
// but long enough for refills, window wraps and every path of the literal run.
func TestLZMADifferentialMixed(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	words := []string{"installer", "payload", "cabinet", "folder", "version", "signature"}
	var plain []byte
	for len(plain) < 600<<10 {
		for range 4 + rng.IntN(8) {
			if rng.IntN(2) == 0 {
				plain = append(append(plain, words[rng.IntN(len(words))]...), ' ')
			}
			plain = append(strconv.AppendUint(plain, rng.Uint64(), 36), ' ')
		}
		plain[len(plain)-1] = '\n'
		if rng.IntN(50) == 0 {
			for range rng.IntN(4096) {
				plain = append(plain, byte(rng.Uint32()))
			}
		}
	}
	for _, p := range []lzma.Properties{{LC: 3, LP: 0, PB: 2}, {LC: 0, LP: 2, PB: 0}, {LC: 4, LP: 0, PB: 4}, {LC: 1, LP: 1, PB: 1}} {
		var enc bytes.Buffer
		// A 64 KiB window: the 600 KB wrap it many times.
		w, err := lzma.WriterConfig{Properties: &p, DictCap: 64 << 10, EOSMarker: true}.NewWriter(&enc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(plain); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		// .lzma: 5 property bytes, 8 size bytes, data.
		var props [5]byte
		copy(props[:], enc.Bytes())
		z, err := newLZMA(iotest.HalfReader(bytes.NewReader(enc.Bytes()[13:])), props)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(z)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("lc %d lp %d pb %d: %d bytes, %v; want the %d plain bytes", p.LC, p.LP, p.PB, len(got), err, len(plain))
		}
	}
}

func TestLZMAHostile(t *testing.T) {
	tests := []struct {
		name  string
		props [5]byte
		data  []byte
	}{
		{"bad properties", [5]byte{225, 0, 0, 1, 0}, []byte{0, 0, 0, 0, 0}},
		{"first byte not zero", [5]byte{0x5d, 0, 0, 1, 0}, []byte{1, 2, 3, 4, 5, 6}},
		{"distance before the start", [5]byte{0x5d, 0, 0, 1, 0}, bytes.Repeat([]byte{0, 0xff}, 64)},
	}
	for _, tt := range tests {
		z, err := newLZMA(bytes.NewReader(tt.data), tt.props)
		if err == nil {
			_, err = io.ReadAll(z)
		}
		if err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

// FuzzLZMA feeds arbitrary streams to the decoder: errors are fine, panics and endless
// output are not.
func FuzzLZMA(f *testing.F) {
	f.Add([]byte{0x5d, 0, 0, 1, 0, 0, 0x41, 0x20, 0x10, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 5 {
			return
		}
		var props [5]byte
		copy(props[:], data)
		props[3], props[4] = 0, 0 // at most 64 KiB of dictionary
		z, err := newLZMA(bytes.NewReader(data[5:]), props)
		if err != nil {
			return
		}
		io.Copy(io.Discard, io.LimitReader(z, 64<<20))
	})
}

// TestLZMAInputShapes decodes a fixture's solid stream from readers that return one byte at
// a time, half of what is asked, or the last data with io.EOF: the decoder's input buffer
// (refilled to keep lzMargin bytes readable) must yield the same bytes whatever the reads.
func TestLZMAInputShapes(t *testing.T) {
	r := open(t, "acme-5.1.0-setup.exe")
	data := readFixture(t, "acme-5.1.0-setup.exe")
	stream := data[r.dataStart:r.dataEnd]
	var props [5]byte
	copy(props[:], stream)
	decode := func(src io.Reader) ([]byte, error) {
		z, err := newLZMA(src, props)
		if err != nil {
			return nil, err
		}
		return io.ReadAll(z)
	}
	want, err := decode(bytes.NewReader(stream[5:]))
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]io.Reader{
		"one byte":   iotest.OneByteReader(bytes.NewReader(stream[5:])),
		"half":       iotest.HalfReader(bytes.NewReader(stream[5:])),
		"data + EOF": iotest.DataErrReader(bytes.NewReader(stream[5:])),
	} {
		got, err := decode(src)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want the %d bytes of a bytes.Reader", name, len(got), err, len(want))
		}
	}
}

// TestRCBit checks the branch-free bit decoder (and rcFlag) against the specification's one
// for every probability and both outcomes, with ranges and codes on either side of the bound.
func TestRCBit(t *testing.T) {
	for v := uint32(1); v < 2048; v++ {
		for _, rng := range []uint32{1 << 24, 0x12345678, 0xFFFFFFFF} {
			bound := (rng >> 11) * v
			for _, code := range []uint32{0, bound - 1, bound, bound + 1, rng - 1} {
				if code >= rng {
					continue
				}
				wantP, wantR, wantC, wantB := v+(2048-v)>>5, bound, code, uint32(0)
				if code >= bound {
					wantP, wantR, wantC, wantB = v-v>>5, rng-bound, code-bound, 1
				}
				for name, dec := range map[string]func(uint32, uint32, *uint16) (uint32, uint32, uint32){"rcBit": rcBit, "rcFlag": rcFlag} {
					p := uint16(v)
					r, c, b := dec(rng, code, &p)
					if uint32(p) != wantP || r != wantR || c != wantC || b != wantB {
						t.Fatalf("%s(%#x, %#x, %d) = %#x, %#x, %d, p %d; want %#x, %#x, %d, p %d",
							name, rng, code, v, r, c, b, p, wantR, wantC, wantB, wantP)
					}
				}
			}
		}
	}
}
