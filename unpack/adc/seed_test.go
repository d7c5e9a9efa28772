package adc_test

import (
	"os"
	"testing"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack/adc"
	"github.com/rollgate/rollgate/unpack/udif"
)

// The ADC chunks of compression-adc.dmg, as Apple's encoder wrote them.
func sampleChunks(t testing.TB) [][]byte {
	zrc, err := udif.Open(testutil.Sample(t, "dmg/compression-adc.dmg"))
	if err != nil {
		t.Fatal(err)
	}
	defer zrc.Close()
	z := zrc.Reader
	b, err := os.ReadFile(testutil.Sample(t, "dmg/compression-adc.dmg"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, c := range z.Chunks() {
		if c.Type == udif.ChunkADC {
			out = append(out, b[c.FileOffset:c.FileOffset+c.StoredSize])
		}
	}
	return out
}

func TestSampleChunks(t *testing.T) {
	chunks := sampleChunks(t)
	if len(chunks) == 0 {
		t.Fatal("no ADC chunks in compression-adc.dmg")
	}
	for i, c := range chunks {
		if _, err := adc.Decode(c, 64<<20); err != nil {
			t.Errorf("Decode(chunk %d) = %v", i, err)
		}
	}
}

func FuzzADC(f *testing.F) {
	for _, c := range sampleChunks(f) {
		f.Add(c)
	}
	f.Add([]byte{0x83, 'a', 'b', 'c', 'd', 0x00, 0x03}) // literal, then a two-byte copy
	f.Add([]byte{0x80, 'z', 0x44, 0x00, 0x00})          // literal, then a three-byte copy
	f.Fuzz(func(t *testing.T, b []byte) {
		out, _ := adc.Decode(b, 1<<20)
		if len(out) > 1<<20 {
			t.Fatalf("Decode produced %d bytes over its limit", len(out))
		}
	})
}
