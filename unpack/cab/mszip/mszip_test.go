package mszip

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/rollgate/rollgate/unpack"
)

// block is one CFDATA payload and its uncompressed length.
type block struct {
	payload []byte
	uncomp  int
}

// blocks is a BlockSource over a slice.
type blocks struct {
	b   []block
	err error // returned after the blocks instead of io.EOF, if set
}

func (s *blocks) Next() ([]byte, int, error) {
	if len(s.b) == 0 {
		if s.err != nil {
			return nil, 0, s.err
		}
		return nil, 0, io.EOF
	}
	b := s.b[0]
	s.b = s.b[1:]
	return b.payload, b.uncomp, nil
}

// encode compresses data the way an MSZIP writer does: blockSize bytes per block, each a
// complete deflate stream whose dictionary is the previous 32 KiB.
func encode(t testing.TB, data []byte, level, blockSize int) []block {
	var out []block
	for off := 0; off < len(data) || off == 0; off += blockSize {
		end := min(off+blockSize, len(data))
		var buf bytes.Buffer
		buf.WriteString("CK")
		dict := data[max(0, off-window):off]
		w, err := flate.NewWriterDict(&buf, level, dict)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data[off:end])
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		out = append(out, block{payload: buf.Bytes(), uncomp: end - off})
		if len(data) == 0 {
			break
		}
	}
	return out
}

// textData is n bytes of words with numbers, compressing like text and program files.
func textData(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima", "mike"}
	var b bytes.Buffer
	for b.Len() < n {
		fmt.Fprintf(&b, "%s %d ", words[rng.IntN(len(words))], rng.IntN(100000))
		if rng.IntN(16) == 0 {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()[:n]
}

func randomData(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 9))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func decodeAll(bl []block, size int64, workers int) ([]byte, error) {
	var out bytes.Buffer
	_, err := io.Copy(&out, NewReader(&blocks{b: bl}, size, workers))
	return out.Bytes(), err
}

func TestRoundTrip(t *testing.T) {
	inputs := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"one", []byte("x")},
		{"text", textData(300<<10, 1)},
		{"random", randomData(100<<10, 2)},
		{"zeros", make([]byte, 200<<10)},
		{"mixed", append(textData(70<<10, 3), randomData(70<<10, 4)...)},
	}
	levels := []int{flate.NoCompression, flate.HuffmanOnly, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression}
	for _, in := range inputs {
		for _, level := range levels {
			for _, bs := range []int{MaxBlockBytes, 1000} {
				bl := encode(t, in.data, level, bs)
				for _, workers := range []int{1, 2, 4} {
					name := fmt.Sprintf("%s/level%d/block%d/workers%d", in.name, level, bs, workers)
					got, err := decodeAll(bl, int64(len(in.data)), workers)
					if err != nil || !bytes.Equal(got, in.data) {
						t.Errorf("%s: decode = %d bytes, %v; want %d bytes equal to the input", name, len(got), err, len(in.data))
					}
				}
			}
		}
	}
}

// TestFixedAndStored checks hand-made streams: a fixed-Huffman block, and a stored block
// whose header follows a compressed block in the same byte.
func TestFixedAndStored(t *testing.T) {
	// compress/flate writes fixed blocks for short inputs.
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	w.Write([]byte("abcabcabcabc"))
	w.Flush() // an empty stored block after a compressed one
	w.Write([]byte("xyz"))
	w.Close()
	bl := []block{{payload: append([]byte("CK"), buf.Bytes()...), uncomp: 15}}
	got, err := decodeAll(bl, 15, 1)
	if err != nil || string(got) != "abcabcabcabcxyz" {
		t.Errorf("decode = %q, %v; want %q", got, err, "abcabcabcabcxyz")
	}
}

func TestMalformed(t *testing.T) {
	data := textData(100<<10, 5)
	good := encode(t, data, flate.DefaultCompression, MaxBlockBytes)
	size := int64(len(data))
	mod := func(f func(bl []block) []block) []block {
		c := make([]block, len(good))
		for i, b := range good {
			c[i] = block{payload: bytes.Clone(b.payload), uncomp: b.uncomp}
		}
		return f(c)
	}
	// A first block that refers to a dictionary the folder does not have.
	withDict := func() []block {
		var buf bytes.Buffer
		buf.WriteString("CK")
		w, _ := flate.NewWriterDict(&buf, 6, []byte("hello world, hello world"))
		w.Write([]byte("hello world"))
		w.Close()
		return []block{{payload: buf.Bytes(), uncomp: 11}}
	}
	tests := []struct {
		name  string
		bl    []block
		size  int64
		block int
		want  error
	}{
		{"no CK", mod(func(b []block) []block { b[1].payload[0] = 'X'; return b }), size, 1, unpack.ErrFormat},
		{"truncated", mod(func(b []block) []block { b[2].payload = b[2].payload[:len(b[2].payload)/2]; return b }), size, 2, unpack.ErrFormat},
		{"uncomp short", mod(func(b []block) []block { b[0].uncomp--; return b }), size - 1, 0, unpack.ErrFormat},
		{"uncomp long", mod(func(b []block) []block { b[3].uncomp = b[3].uncomp / 2; return b }), size, 3, unpack.ErrFormat},
		{"uncomp over limit", mod(func(b []block) []block { b[0].uncomp = MaxBlockBytes + 1; return b }), size, 0, unpack.ErrFormat},
		{"size short", good, size - 1, 3, unpack.ErrFormat},
		{"size long", good, size + 1, 4, unpack.ErrFormat},
		{"reserved block type", []block{{payload: []byte{'C', 'K', 0x07, 0, 0}, uncomp: 1}}, 1, 0, unpack.ErrFormat},
		{"stored length mismatch", []block{{payload: []byte{'C', 'K', 0x01, 1, 0, 0, 0, 'a'}, uncomp: 1}}, 1, 0, unpack.ErrFormat},
		{"no final block", []block{{payload: []byte{'C', 'K', 0x00, 0, 0, 0xff, 0xff}, uncomp: 0}}, 0, 0, unpack.ErrFormat},
		{"distance before folder", withDict(), 11, 0, unpack.ErrFormat},
	}
	for _, tt := range tests {
		for _, workers := range []int{1, 3} {
			got, err := decodeAll(tt.bl, tt.size, workers)
			var e *Error
			if !errors.Is(err, tt.want) || !errors.As(err, &e) || e.Block != tt.block {
				t.Errorf("%s/workers%d: decode = %v, want %v in block %d", tt.name, workers, err, tt.want, tt.block)
			}
			// The blocks before the bad one are delivered.
			if want := min(tt.block*MaxBlockBytes, len(data)); tt.name != "distance before folder" && !bytes.Equal(got, data[:want]) {
				t.Errorf("%s/workers%d: decode delivers %d bytes before the error, want %d", tt.name, workers, len(got), want)
			}
		}
	}
}

func TestSourceError(t *testing.T) {
	errDisk := errors.New("disk")
	data := textData(50<<10, 6)
	_, err := io.Copy(io.Discard, NewReader(&blocks{b: encode(t, data, 6, MaxBlockBytes), err: errDisk}, int64(len(data)), 2))
	if !errors.Is(err, errDisk) {
		t.Errorf("decode = %v, want %v", err, errDisk)
	}
}

// TestRestart reads up to a block boundary, then continues with NewReaderDict from History,
// as unpack/cab restarts a folder from a checkpoint.
func TestRestart(t *testing.T) {
	data := textData(200<<10, 8)
	bl := encode(t, data, 6, MaxBlockBytes)
	r := NewReader(&blocks{b: bl}, int64(len(data)), 2)
	buf := make([]byte, 1000)
	var pos int
	for {
		n, err := r.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		pos += n
		if k, ok := r.Boundary(); ok && k == 3 {
			break
		}
	}
	if pos != 3*MaxBlockBytes {
		t.Fatalf("Boundary() = 3, true at offset %d, want %d", pos, 3*MaxBlockBytes)
	}
	h := r.History()
	if !bytes.Equal(h, data[pos-window:pos]) {
		t.Fatalf("History() = %d bytes, want the %d before offset %d", len(h), window, pos)
	}
	for _, workers := range []int{1, 2} {
		var out bytes.Buffer
		_, err := io.Copy(&out, NewReaderDict(&blocks{b: bl[3:]}, int64(len(data)-pos), workers, h))
		if err != nil || !bytes.Equal(out.Bytes(), data[pos:]) {
			t.Errorf("NewReaderDict(workers %d) = %d bytes, %v; want the %d after offset %d", workers, out.Len(), err, len(data)-pos, pos)
		}
	}
}
