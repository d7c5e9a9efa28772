package adc

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"testing"

	"github.com/rollgate/rollgate/unpack"
)

// encode is a small greedy ADC encoder for round trips (the decoder's conformance with
// Apple's encoder is tested on compression-adc.dmg in package udif).
func encode(src []byte) []byte {
	var out, lit []byte
	flush := func() {
		for len(lit) > 0 {
			n := min(len(lit), 128)
			out = append(out, 0x80|byte(n-1))
			out = append(out, lit[:n]...)
			lit = lit[n:]
		}
	}
	last := map[uint32]int{}
	for i := 0; i < len(src); {
		if i+4 <= len(src) {
			k := uint32(src[i]) | uint32(src[i+1])<<8 | uint32(src[i+2])<<16 | uint32(src[i+3])<<24
			j, ok := last[k]
			last[k] = i
			if ok && i-j <= 65536 {
				n := 0
				for i+n < len(src) && src[j+n] == src[i+n] && n < 67 {
					n++
				}
				if n >= 4 {
					flush()
					d := i - j - 1
					if n <= 18 && d < 1024 {
						out = append(out, byte((n-3)<<2|d>>8), byte(d))
					} else {
						out = append(out, 0x40|byte(n-4), byte(d>>8), byte(d))
					}
					i += n
					continue
				}
			}
		}
		lit = append(lit, src[i])
		i++
	}
	flush()
	return out
}

func inputs() map[string][]byte {
	r := rand.New(rand.NewSource(1))
	random := make([]byte, 100000)
	r.Read(random)
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog; "), 3000)
	runs := bytes.Repeat([]byte{0, 0, 0, 0, 0, 0, 1}, 20000)
	return map[string][]byte{"random": random, "text": text, "runs": runs, "empty": nil}
}

func TestRoundTrip(t *testing.T) {
	for name, in := range inputs() {
		enc := encode(in)
		got, err := io.ReadAll(NewReader(bytes.NewReader(enc)))
		if err != nil || !bytes.Equal(got, in) {
			t.Errorf("NewReader(encode(%s)) = %d bytes, %v, want %d bytes", name, len(got), err, len(in))
		}
		got, err = Decode(enc, len(in))
		if err != nil || !bytes.Equal(got, in) {
			t.Errorf("Decode(encode(%s)) = %d bytes, %v, want %d bytes", name, len(got), err, len(in))
		}
	}
}

func TestHostile(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		max  int
		want error
	}{
		{"distance-before-start", []byte{0x80, 'a', 0x04, 0x05}, 100, unpack.ErrFormat},
		{"truncated-literal", []byte{0x85, 'a'}, 100, unpack.ErrFormat},
		{"truncated-three-byte", []byte{0x80, 'a', 0x40, 0x00}, 100, unpack.ErrFormat},
		{"truncated-two-byte", []byte{0x80, 'a', 0x04}, 100, unpack.ErrFormat},
		{"over-limit", encode(bytes.Repeat([]byte("abcd"), 100)), 10, unpack.ErrLimit},
	}
	for _, tt := range tests {
		_, err := Decode(tt.in, tt.max)
		if !errors.Is(err, tt.want) {
			t.Errorf("Decode(%s) = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	in := inputs()["text"]
	enc := encode(in)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := io.Copy(io.Discard, NewReader(bytes.NewReader(enc))); err != nil {
			b.Fatal(err)
		}
	}
}
