//go:build unix

package mszip

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	kflate "github.com/klauspost/compress/flate"
)

// sequential decodes blocks one after another with a flate reader that takes a dictionary,
// as unpack/cab did before this package.
func sequential(bl []block, newReader func(io.Reader, []byte) io.ReadCloser, reset func(io.ReadCloser, io.Reader, []byte) error, sink io.Writer) error {
	hist := make([]byte, 0, histCap)
	var br bytes.Reader
	var fr io.ReadCloser
	for _, b := range bl {
		if len(hist)+b.uncomp > cap(hist) {
			keep := hist[len(hist)-min(len(hist), window):]
			hist = hist[:copy(hist[:cap(hist)], keep)]
		}
		dict := hist[len(hist)-min(len(hist), window):]
		br.Reset(b.payload[2:])
		if fr == nil {
			fr = newReader(&br, dict)
		} else if err := reset(fr, &br, dict); err != nil {
			return err
		}
		n := len(hist)
		if _, err := io.ReadFull(fr, hist[n:n+b.uncomp]); err != nil {
			return err
		}
		hist = hist[:n+b.uncomp]
		sink.Write(hist[n:])
	}
	return nil
}

// BenchmarkMSZIPParallel decodes 16 MiB of text-like data (about 3:1) in 32 KiB MSZIP
// blocks: this package with 1, 2 and 4 workers against compress/flate and klauspost/compress
// decoding sequentially. The "+sha256" variants also hash the output in the reading goroutine,
// as the inventory does; klauspost-pipelined+sha256 decodes on one goroutine and hashes on
// another.
func BenchmarkMSZIPParallel(b *testing.B) {
	data := textData(16<<20, 42)
	bl := encode(b, data, flate.DefaultCompression, MaxBlockBytes)
	var csize int
	for _, x := range bl {
		csize += len(x.payload)
	}
	b.Logf("%d bytes in %d blocks, %d compressed (%.2f:1)", len(data), len(bl), csize, float64(len(data))/float64(csize))
	type impl struct {
		name string
		run  func(io.Writer) error
	}
	impls := []impl{
		{"stdlib", func(w io.Writer) error {
			return sequential(bl, func(r io.Reader, d []byte) io.ReadCloser { return flate.NewReaderDict(r, d) },
				func(fr io.ReadCloser, r io.Reader, d []byte) error { return fr.(flate.Resetter).Reset(r, d) }, w)
		}},
		{"klauspost", func(w io.Writer) error {
			return sequential(bl, func(r io.Reader, d []byte) io.ReadCloser { return kflate.NewReaderDict(r, d) },
				func(fr io.ReadCloser, r io.Reader, d []byte) error { return fr.(kflate.Resetter).Reset(r, d) }, w)
		}},
	}
	for _, workers := range []int{1, 2, 4} {
		impls = append(impls, impl{fmt.Sprintf("mszip-%d", workers), func(w io.Writer) error {
			_, err := io.Copy(w, NewReader(&blocks{b: bl}, int64(len(data)), workers))
			return err
		}})
	}
	// klauspost decoding on one goroutine while the caller hashes on another: the alternative
	// to a parallel decoder on two cores.
	klauspostPipe := func(w io.Writer) error {
		pr, pw := io.Pipe()
		go func() {
			pw.CloseWithError(impls[1].run(pw))
		}()
		_, err := io.Copy(w, pr)
		return err
	}
	for _, im := range impls {
		for _, hash := range []bool{false, true} {
			name := im.name
			if hash {
				name += "+sha256"
			}
			run := im.run
			if im.name == "klauspost" && hash {
				// Only the pipelined form: hashing in line is measured by mszip-1+sha256.
				name, run = "klauspost-pipelined+sha256", klauspostPipe
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				start := cpuTime()
				defer func() {
					if d := cpuTime() - start; d > 0 {
						b.ReportMetric(float64(len(data))*float64(b.N)/1e6/d.Seconds(), "cpu-MB/s")
					}
				}()
				for b.Loop() {
					var w io.Writer = io.Discard
					if hash {
						w = sha256.New()
					}
					if err := run(w); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// cpuTime is the process's user + system time: on a shared machine MB per CPU second
// ("cpu-MB/s") compares across runs where wall-clock MB/s does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
