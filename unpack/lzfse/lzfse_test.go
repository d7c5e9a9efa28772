package lzfse

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/rollgate/rollgate/unpack"
)

type vector struct {
	name string
	size int
	sum  string
	data []byte
}

// vectors reads testdata/vectors.txt and the *.lzfse files made by testdata/gen.sh with
// Apple's reference encoder.
func vectors(t testing.TB) []vector {
	t.Helper()
	f, err := os.Open("testdata/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		size, _ := strconv.Atoi(fields[1])
		data, err := os.ReadFile("testdata/" + fields[0] + ".lzfse")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, vector{fields[0], size, fields[2], data})
	}
	return out
}

func TestVectors(t *testing.T) {
	for _, v := range vectors(t) {
		got, err := Decode(v.data, v.size)
		if err != nil {
			t.Fatalf("Decode(%q) = %v", v.name, err)
		}
		if sum := fmt.Sprintf("%x", sha256.Sum256(got)); len(got) != v.size || sum != v.sum {
			t.Errorf("Decode(%q) = %d bytes %s, want %d bytes %s", v.name, len(got), sum, v.size, v.sum)
		}
	}
}

// The bvxn block of the small vector is a bare LZVN stream.
func TestLZVN(t *testing.T) {
	for _, v := range vectors(t) {
		if string(v.data[:4]) != "bvxn" {
			continue
		}
		raw := int(binary.LittleEndian.Uint32(v.data[4:]))
		pay := int(binary.LittleEndian.Uint32(v.data[8:]))
		got, err := DecodeLZVN(v.data[12:12+pay], raw)
		if err != nil {
			t.Fatalf("DecodeLZVN(%q) = %v", v.name, err)
		}
		if sum := fmt.Sprintf("%x", sha256.Sum256(got)); sum != v.sum {
			t.Errorf("DecodeLZVN(%q) = %s, want %s", v.name, sum, v.sum)
		}
		return
	}
	t.Fatal("no bvxn vector")
}

func TestHandmade(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"stored", []byte("bvx-\x05\x00\x00\x00hellobvx$"), "hello"},
		{"empty", []byte("bvx$"), ""},
		// LZVN: small literal "abc", then a match of 6 at distance 3 (sml_d with L=0,
		// M=6: 00 011 000, D=3), end of stream.
		{"lzvn", append([]byte("bvxn\x09\x00\x00\x00\x0e\x00\x00\x00"+"\xe3abc\x18\x03"), 0x06, 0, 0, 0, 0, 0, 0, 0, 'b', 'v', 'x', '$'), "abcabcabc"},
	}
	for _, tt := range tests {
		got, err := Decode(tt.in, 1<<20)
		if err != nil || string(got) != tt.want {
			t.Errorf("Decode(%s) = %q, %v, want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestHostile(t *testing.T) {
	vs := vectors(t)
	for _, v := range vs {
		for _, cut := range []int{0, 3, 4, 11, 31, len(v.data) / 3, len(v.data) / 2, len(v.data) - 5, len(v.data) - 1} {
			if cut > len(v.data) {
				continue
			}
			_, err := Decode(v.data[:cut], v.size)
			if !errors.Is(err, unpack.ErrFormat) {
				t.Errorf("Decode(%s[:%d]) = %v, want %v", v.name, cut, err, unpack.ErrFormat)
			}
		}
		if _, err := Decode(v.data, v.size-1); !errors.Is(err, unpack.ErrFormat) && !errors.Is(err, unpack.ErrLimit) {
			t.Errorf("Decode(%s, limit %d) = %v, want an error", v.name, v.size-1, err)
		}
		// Flip bytes through the stream: never a panic, always a bounded result.
		for i := 4; i < len(v.data); i += max(97, len(v.data)/150) {
			b := append([]byte(nil), v.data...)
			b[i] ^= 0x5a
			out, _ := Decode(b, v.size)
			if len(out) > v.size {
				t.Fatalf("Decode(%s flipped at %d) = %d bytes, over the %d limit", v.name, i, len(out), v.size)
			}
		}
	}
	if _, err := Decode([]byte("bvx-\xff\xff\xff\x00"), 100); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("Decode(stored past end) = %v, want %v", err, unpack.ErrFormat)
	}
	if _, err := Decode([]byte("bvx-\x05\x00\x00\x00hellobvx$"), 4); !errors.Is(err, unpack.ErrLimit) {
		t.Errorf("Decode(stored over limit) = %v, want %v", err, unpack.ErrLimit)
	}
	// LZVN match before the start of the output.
	if _, err := DecodeLZVN([]byte{0x18, 0x03, 0x06, 0, 0, 0, 0, 0, 0, 0}, 100); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("DecodeLZVN(distance past start) = %v, want %v", err, unpack.ErrFormat)
	}
	if _, err := DecodeLZVN([]byte{0x70}, 100); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("DecodeLZVN(undefined opcode) = %v, want %v", err, unpack.ErrFormat)
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, v := range vectors(b) {
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(int64(v.size))
			for b.Loop() {
				if _, err := Decode(v.data, v.size); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
