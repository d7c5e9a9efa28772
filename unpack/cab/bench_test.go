//go:build unix

package cab

import (
	"bytes"
	"compress/flate"
	"io"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	kflate "github.com/klauspost/compress/flate"
)

// cpuTime is the process's user + system time: the machine is shared, so MB/s per CPU
// second ("cpu-MB/s") is the number that compares across runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration, bytes int64) {
	if d := cpuTime() - start; d > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/1e6/d.Seconds(), "cpu-MB/s")
	}
}

// benchData is 8 MiB that compresses about 3:1 with deflate, like program files.
func benchData() []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	words := make([][]byte, 512)
	for i := range words {
		w := make([]byte, 2+rng.IntN(10))
		for j := range w {
			w[j] = byte(rng.IntN(256))
		}
		words[i] = w
	}
	out := make([]byte, 0, 8<<20+16)
	for len(out) < 8<<20 {
		if rng.IntN(8) == 0 {
			out = append(out, byte(rng.IntN(256)))
			continue
		}
		out = append(out, words[rng.IntN(len(words))]...)
	}
	return out[:8<<20]
}

func BenchmarkMSZIP(b *testing.B) {
	data := benchData()
	cab := buildCab(cabSpec{folders: []testFolder{{method: compMSZIP, files: []testFile{
		{name: "a.bin", data: data[:3<<20]}, {name: "b.bin", data: data[3<<20:]},
	}}}})
	b.Logf("cabinet: %d bytes for %d (%.2f:1)", len(cab), len(data), float64(len(data))/float64(len(cab)))
	for _, impl := range []struct {
		name string
		fn   func(io.Reader, []byte) inflater
	}{{"klauspost", newKlauspostInflater}, {"stdlib", newStdInflater}} {
		b.Run(impl.name, func(b *testing.B) {
			saved := newInflater
			newInflater = impl.fn
			defer func() { newInflater = saved }()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				r, err := NewReader(bytes.NewReader(cab), int64(len(cab)))
				if err != nil {
					b.Fatal(err)
				}
				err = r.Walk(func(p string, size int64, rd io.Reader) error {
					_, err := io.Copy(io.Discard, rd)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start, int64(len(data)))
		})
	}
}

// BenchmarkStored measures the stored path (reads and checksums only).
func BenchmarkStored(b *testing.B) {
	data := benchData()
	cab := buildCab(cabSpec{folders: []testFolder{{method: compNone, files: []testFile{{name: "a.bin", data: data}}}}})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	start := cpuTime()
	defer func() { reportCPU(b, start, int64(len(data))) }()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(cab), int64(len(cab)))
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Walk(func(p string, size int64, rd io.Reader) error {
			_, err := io.Copy(io.Discard, rd)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}

func newStdInflater(r io.Reader, dict []byte) inflater {
	return flate.NewReaderDict(r, dict).(inflater)
}

func newKlauspostInflater(r io.Reader, dict []byte) inflater {
	return kflate.NewReaderDict(r, dict).(inflater)
}
