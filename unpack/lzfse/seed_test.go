package lzfse_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack/lzfse"
	"github.com/rollgate/rollgate/unpack/udif"
)

// The LZFSE chunks of compression-lzfse.dmg, as hdiutil wrote them.
func sampleChunks(t testing.TB) (chunks [][]byte, sizes []int) {
	zrc, err := udif.Open(testutil.Sample(t, "dmg/compression-lzfse.dmg"))
	if err != nil {
		t.Fatal(err)
	}
	defer zrc.Close()
	z := zrc.Reader
	b, err := os.ReadFile(testutil.Sample(t, "dmg/compression-lzfse.dmg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range z.Chunks() {
		if c.Type == udif.ChunkLZFSE {
			chunks = append(chunks, b[c.FileOffset:c.FileOffset+c.StoredSize])
			sizes = append(sizes, int(c.DiskSize))
		}
	}
	return chunks, sizes
}

func TestSampleChunks(t *testing.T) {
	chunks, sizes := sampleChunks(t)
	if len(chunks) == 0 {
		t.Fatal("no LZFSE chunks in compression-lzfse.dmg")
	}
	for i, c := range chunks {
		out, err := lzfse.Decode(c, sizes[i])
		if err != nil || len(out) != sizes[i] {
			t.Errorf("Decode(chunk %d) = %d bytes, %v, want %d", i, len(out), err, sizes[i])
		}
	}
}

// seeds returns the reference-encoder vectors (testdata, see gen.sh) and the sample chunks.
func seeds(t testing.TB) [][]byte {
	chunks, _ := sampleChunks(t)
	files, _ := filepath.Glob("testdata/*.lzfse")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, b)
	}
	return append(chunks, []byte("bvx-\x05\x00\x00\x00hellobvx$"))
}

func FuzzLZFSE(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, _ := lzfse.Decode(b, 1<<20)
		if len(out) > 1<<20 {
			t.Fatalf("Decode produced %d bytes over its limit", len(out))
		}
	})
}

// FuzzLZVN is seeded with the LZVN payloads of the seeds' "bvxn" blocks.
func FuzzLZVN(f *testing.F) {
	for _, s := range seeds(f) {
		for i := 0; i+12 <= len(s); i++ {
			if string(s[i:i+4]) != "bvxn" {
				continue
			}
			n := int(binary.LittleEndian.Uint32(s[i+8:]))
			if i+12+n <= len(s) {
				f.Add(s[i+12 : i+12+n])
			}
		}
	}
	f.Add([]byte("\xe3abc\x18\x03\x06\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, _ := lzfse.DecodeLZVN(b, 1<<20)
		if len(out) > 1<<20 {
			t.Fatalf("DecodeLZVN produced %d bytes over its limit", len(out))
		}
	})
}
