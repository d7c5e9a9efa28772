//go:build unix

package nsis

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/ulikunitz/xz/lzma"
)

// benchStream is an NSIS-style LZMA stream (5 property bytes, raw data, end marker) of
// benchPlain: 6 MB of text-like lines and 2 MB of random bytes, the mix bench/gen writes for
// bench/nsis.sh, encoded once with ulikunitz/xz/lzma.
var (
	benchOnce   sync.Once
	benchStream []byte
	benchPlain  []byte
)

func lzmaBenchData(b *testing.B) ([]byte, []byte) {
	benchOnce.Do(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		words := []string{"installer", "payload", "cabinet", "folder", "version", "signature", "baseline", "update"}
		var plain bytes.Buffer
		for plain.Len() < 6<<20 {
			for i := 0; i < 8; i++ {
				plain.WriteString(words[rng.IntN(len(words))])
				plain.WriteByte(' ')
				plain.WriteString(strconv.Itoa(rng.IntN(100000)))
				plain.WriteByte(' ')
			}
			plain.WriteByte('\n')
		}
		random := make([]byte, 2<<20)
		for i := range random {
			random[i] = byte(rng.Uint32())
		}
		plain.Write(random)
		var enc bytes.Buffer
		w, err := lzma.WriterConfig{DictCap: 8 << 20, EOSMarker: true, SizeInHeader: false}.NewWriter(&enc)
		if err != nil {
			panic(err)
		}
		w.Write(plain.Bytes())
		if err := w.Close(); err != nil {
			panic(err)
		}
		// .lzma: 5 property bytes, 8 size bytes, data; NSIS: properties and data.
		s := enc.Bytes()
		benchStream = append(append([]byte(nil), s[:5]...), s[13:]...)
		benchPlain = plain.Bytes()
	})
	return benchStream, benchPlain
}

// BenchmarkLZMADecode decodes benchStream (the decoder alone).
func BenchmarkLZMADecode(b *testing.B) {
	stream, plain := lzmaBenchData(b)
	// The benchmark measures a correct decode.
	var props [5]byte
	copy(props[:], stream)
	z, err := newLZMA(bytes.NewReader(stream[5:]), props)
	if err != nil {
		b.Fatal(err)
	}
	if got, err := io.ReadAll(z); err != nil || !bytes.Equal(got, plain) {
		b.Fatalf("decoded %d bytes, %v; want the %d plain bytes", len(got), err, len(plain))
	}
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(plain)))
	total := int64(len(plain))
	defer reportCPU(b, &total)()
	for b.Loop() {
		var props [5]byte
		copy(props[:], stream)
		z, err := newLZMA(bytes.NewReader(stream[5:]), props)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, z, buf)
		if err != nil || n != int64(len(plain)) {
			b.Fatalf("decoded %d bytes, %v; want %d", n, err, len(plain))
		}
	}
}

// BenchmarkWalkSHA256 walks the installer named by ROLLGATE_NSIS_BENCH (bench/nsis.sh
// builds one; KEEP=1 keeps it) hashing every file, as the inventory does.
func BenchmarkWalkSHA256(b *testing.B) {
	p := os.Getenv("ROLLGATE_NSIS_BENCH")
	if p == "" {
		b.Skip("ROLLGATE_NSIS_BENCH names no installer")
	}
	var total int64
	report := reportCPU(b, &total)
	defer report()
	for b.Loop() {
		rc, err := Open(p)
		if err != nil {
			b.Fatal(err)
		}
		total = 0
		err = rc.Reader.Walk(func(_ string, _ int64, rd io.Reader) error {
			h := sha256.New()
			n, err := io.Copy(h, rd)
			total += n
			return err
		})
		rc.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(total)
	}
}

// BenchmarkSolidDecode decodes the solid stream of the installer named by
// ROLLGATE_NSIS_BENCH on the calling goroutine: the decoder alone, on makensis's encoding.
func BenchmarkSolidDecode(b *testing.B) {
	p := os.Getenv("ROLLGATE_NSIS_BENCH")
	if p == "" {
		b.Skip("ROLLGATE_NSIS_BENCH names no installer")
	}
	var total int64
	report := reportCPU(b, &total)
	defer report()
	buf := make([]byte, readAheadBuf)
	for b.Loop() {
		rc, err := Open(p)
		if err != nil {
			b.Fatal(err)
		}
		d, err := rc.Reader.openSolid()
		if err != nil {
			b.Fatal(err)
		}
		total, err = io.CopyBuffer(io.Discard, d, buf)
		rc.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(total)
	}
}

// reportCPU starts counting the process's CPU time (user + system) and returns the function
// that reports it per operation, and bytes per CPU second (*bytesPerOp is read then: a walk
// learns it as it goes): on a shared machine wall time depends on the other processes, CPU
// time much less.
func reportCPU(b *testing.B, bytesPerOp *int64) func() {
	cpu := func() int64 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return ru.Utime.Nano() + ru.Stime.Nano()
	}
	start := cpu()
	return func() {
		if b.N == 0 {
			return
		}
		per := float64(cpu()-start) / float64(b.N)
		b.ReportMetric(per, "cpu-ns/op")
		if per > 0 {
			b.ReportMetric(float64(*bytesPerOp)/per*1e3, "cpu-MB/s")
		}
	}
}
