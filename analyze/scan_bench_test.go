package analyze

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkEndpointScanner scans 8 MiB of random bytes in 32 KiB writes, the way a
// compressed installer's own bytes reach the scanner (every PE is scanned whole).
func BenchmarkEndpointScanner(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		s := newEndpointScanner()
		for i := 0; i < len(data); i += 32 << 10 {
			s.Write(data[i : i+32<<10])
		}
		s.Endpoints()
	}
}
