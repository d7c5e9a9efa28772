package xz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	uxz "github.com/ulikunitz/xz"

	"github.com/rollgate/rollgate/unpack"
)

// seq returns what `seq 1 n` prints, the inputs of testdata/gen.sh.
func seq(n int) []byte {
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d\n", i)
	}
	return b.Bytes()
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(b []byte, maxDict int64) ([]byte, error) {
	r, err := NewReader(bytes.NewReader(b), maxDict)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestRoundTrip(t *testing.T) {
	small, large := seq(100), seq(30000)
	tests := []struct {
		file string
		want []byte
	}{
		{"default.xz", large},
		{"best.xz", large},
		{"multiblock.xz", large},
		{"smalldict.xz", large},
		{"crc32.xz", small},
		{"crc64.xz", small},
		{"sha256.xz", small},
		{"none.xz", small},
		{"empty.xz", nil},
		{"concat.xz", append(append([]byte{}, small...), small...)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := decode(fixture(t, tt.file), 64<<20)
			if err != nil {
				t.Fatalf("decode(%q) = %v", tt.file, err)
			}
			// Blocks without sizes in their headers (all but multiblock.xz) end where the
			// LZMA2 end marker ends: had the decoder read past it, the check would not match.
			if !bytes.Equal(got, tt.want) {
				t.Errorf("decode(%q) = %d bytes, want %d (contents differ)", tt.file, len(got), len(tt.want))
			}
		})
	}
}

// TestMultiblockHasBlocks makes sure the multi-block fixture really has several blocks
// with sizes in their headers, so TestRoundTrip covers that path.
func TestMultiblockHasBlocks(t *testing.T) {
	r, err := NewReader(bytes.NewReader(fixture(t, "multiblock.xz")), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	if z := r.(*reader); z.blocks < 2 {
		t.Errorf("multiblock.xz has %d blocks, want >= 2", z.blocks)
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte{}, b...)
	if i < 0 {
		i += len(c)
	}
	c[i] ^= 0x01
	return c
}

// checkOffset is where the single block's check starts in a one-block fixture: it ends
// where the index starts; the footer's backward size gives the index size.
func checkOffset(t *testing.T, b []byte, size int) int {
	t.Helper()
	f := b[len(b)-12:]
	backward := (int(f[4]) | int(f[5])<<8 | int(f[6])<<16 | int(f[7])<<24 + 1) * 4
	return len(b) - 12 - backward - size
}

// withFilter returns a one-block fixture with its filter ID byte replaced by id and the block
// header CRC32 fixed, the way gen.sh makes bigdict.xz.
func withFilter(t *testing.T, b []byte, id byte) []byte {
	t.Helper()
	c := append([]byte{}, b...)
	hs := (int(c[12]) + 1) * 4
	if c[14] != filterLZMA2 {
		t.Fatalf("filter ID %#x at offset 14, want LZMA2", c[14])
	}
	c[14] = id
	binary.LittleEndian.PutUint32(c[12+hs-4:], crc32.ChecksumIEEE(c[12:12+hs-4]))
	return c
}

func TestErrors(t *testing.T) {
	crc32f := fixture(t, "crc32.xz")
	crc64f := fixture(t, "crc64.xz")
	sha := fixture(t, "sha256.xz")
	tests := []struct {
		name    string
		in      []byte
		maxDict int64
		want    error
	}{
		{"bad CRC32 check", flip(crc32f, checkOffset(t, crc32f, 4)), 0, unpack.ErrFormat},
		{"bad CRC64 check", flip(crc64f, checkOffset(t, crc64f, 8)), 0, unpack.ErrFormat},
		{"bad SHA-256 check", flip(sha, checkOffset(t, sha, 32)+31), 0, unpack.ErrFormat},
		{"bad stream header CRC", flip(crc32f, 8), 0, unpack.ErrFormat},
		{"bad block header CRC", flip(crc32f, 16), 0, unpack.ErrFormat},
		{"bad footer magic", flip(crc32f, -1), 0, unpack.ErrFormat},
		{"bad index CRC", flip(crc32f, -13), 0, unpack.ErrFormat},
		{"not xz", []byte("hello, world"), 0, unpack.ErrFormat},
		{"empty", nil, 0, unpack.ErrFormat},
		{"truncated", crc32f[:len(crc32f)-20], 0, unpack.ErrFormat},
		{"odd stream padding", append(append([]byte{}, crc32f...), 0, 0), 0, unpack.ErrFormat},
		{"trailing garbage", append(append([]byte{}, crc32f...), 1, 2, 3, 4), 0, unpack.ErrFormat},
		{"dictionary above the cap", fixture(t, "bigdict.xz"), 0, unpack.ErrLimit},
		{"xz -9 under a 1 MiB cap", fixture(t, "best.xz"), 1 << 20, unpack.ErrLimit},
		{"BCJ filter", fixture(t, "bcj.xz"), 0, unpack.ErrUnsupported},
		{"delta filter", fixture(t, "delta.xz"), 0, unpack.ErrUnsupported},
		{"delta filter alone", withFilter(t, crc32f, 0x03), 0, unpack.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(tt.in, tt.maxDict)
			t.Log(err)
			if !errors.Is(err, tt.want) {
				t.Fatalf("decode = %v, want %v", err, tt.want)
			}
			var fe *unpack.FormatError
			if !errors.As(err, &fe) || fe.Format != "xz" {
				t.Errorf("decode = %#v, want *unpack.FormatError from xz", err)
			}
		})
	}
}

// TestBigDictDoesNotAllocate is the reason for this package: a 208-byte stream declaring a
// 1.5 GiB dictionary is refused before the dictionary is allocated.
func TestBigDictDoesNotAllocate(t *testing.T) {
	in := fixture(t, "bigdict.xz")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := decode(in, 64<<20)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, unpack.ErrLimit) {
		t.Fatalf("decode(bigdict.xz) = %v, want ErrLimit", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 2<<20 {
		t.Errorf("decode(bigdict.xz) allocated %d bytes, want < 2 MiB", grew)
	}
}

// TestCapIsRespected checks that an accepted stream allocates its declared dictionary
// (64 KiB here), not the cap.
func TestCapIsRespected(t *testing.T) {
	in := fixture(t, "smalldict.xz")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := decode(in, 64<<20); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
		t.Errorf("decode(smalldict.xz) allocated %d bytes, want < 4 MiB for a 64 KiB dictionary", grew)
	}
}

// TestReadsAllStreams reads three concatenated streams without stream padding.
func TestReadsAllStreams(t *testing.T) {
	var b bytes.Buffer
	var want []byte
	for i := 0; i < 3; i++ {
		b.Write(fixture(t, "none.xz"))
		want = append(want, seq(100)...)
	}
	got, err := decode(b.Bytes(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

func TestVarint(t *testing.T) {
	tests := []struct {
		in      []byte
		want    uint64
		wantErr bool
	}{
		{[]byte{0x00}, 0, false},
		{[]byte{0x7F}, 127, false},
		{[]byte{0x80, 0x01}, 128, false},
		{[]byte{0x80, 0x00}, 0, true}, // not minimal
		{[]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, 0, true},
		{[]byte{0x80}, 0, true},
	}
	for _, tt := range tests {
		got, err := readVarint(bytes.NewReader(tt.in))
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("readVarint(%x) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestDictSize(t *testing.T) {
	tests := []struct {
		p    byte
		want int64
	}{
		{0, 4 << 10}, {1, 6 << 10}, {18, 2 << 20}, {19, 3 << 20}, {26, 32 << 20}, {37, 3 << 29}, {40, 0xFFFFFFFF},
	}
	for _, tt := range tests {
		if got, err := dictSize(tt.p); got != tt.want || err != nil {
			t.Errorf("dictSize(%d) = %d, %v; want %d", tt.p, got, err, tt.want)
		}
	}
	if _, err := dictSize(41); err == nil {
		t.Errorf("dictSize(41) succeeded, want an error")
	}
}

// FuzzReader decodes arbitrary input under a 1 MiB dictionary cap and a 4 MiB output
// budget; it must never panic, and errors must be positioned xz errors.
func FuzzReader(f *testing.F) {
	names, _ := filepath.Glob("testdata/*.xz")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 64<<10 {
			return
		}
		r, err := NewReader(bytes.NewReader(in), 1<<20)
		if err == nil {
			_, err = io.Copy(io.Discard, io.LimitReader(r, 4<<20))
		}
		if err != nil {
			var fe *unpack.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not an *unpack.FormatError", err, err)
			}
		}
	})
}

// bench20MB is a 20 MB stream of mixed text and random bytes, compressed with
// ulikunitz/xz's writer (CRC64, 8 MiB dictionary).
func bench20MB(b *testing.B) (xzData []byte, size int) {
	rng := rand.New(rand.NewSource(1))
	var plain bytes.Buffer
	for plain.Len() < 20<<20 {
		if rng.Intn(4) == 0 {
			var r [256]byte
			rng.Read(r[:])
			plain.Write(r[:])
		} else {
			fmt.Fprintf(&plain, "file %d %s\n", rng.Intn(1e6), strings.Repeat("ab", rng.Intn(40)))
		}
	}
	var out bytes.Buffer
	w, err := uxz.NewWriter(&out)
	if err != nil {
		b.Fatal(err)
	}
	w.Write(plain.Bytes())
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return out.Bytes(), plain.Len()
}

func BenchmarkReader20MB(b *testing.B) {
	in, size := bench20MB(b)
	b.SetBytes(int64(size))
	b.ResetTimer()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(in), 64<<20)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, r)
		if err != nil || n != int64(size) {
			b.Fatalf("read %d bytes, %v; want %d", n, err, size)
		}
	}
}
