// Package mszip decodes the MSZIP compression of Microsoft Cabinet folders ([MS-CAB] 2.5.4
// with [MS-MCI]): each CFDATA block is "CK" followed by a complete raw deflate stream
// (RFC 1951) of at most 32 KiB of output whose back-references may reach into the previous
// 32 KiB of the folder's output.
//
// Blocks are decoded on several cores in two passes. Huffman decoding never looks at the
// output, so a worker decodes a block without its dictionary: it writes the literals and
// records each back-reference (position, distance, length) instead of copying it. The reader
// then replays the back-references in block order once the previous block's output is known.
// rapidgzip does the same for gzip with 16-bit marker symbols; recording the matches instead
// keeps the output in bytes, and replaying is a string of short copies, several times cheaper
// than Huffman decoding, so throughput scales with the workers (BenchmarkMSZIPParallel).
//
// Everything is bounded: a block yields at most MaxBlockBytes and its payload may hold at most
// MaxPayloadBytes, the decoder never reads past its input, an incomplete or over-subscribed
// Huffman code is refused as compress/flate refuses it, a back-reference before the start of
// the folder is an error, and the total output must be exactly the size the caller states.
// FuzzMSZIP compares the output with compress/flate.
package mszip

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/rollgate/rollgate/unpack"
)

// Limits.
const (
	MaxBlockBytes   = 32768      // uncompressed bytes of one block ([MS-CAB] 2.5.4)
	MaxPayloadBytes = 1 << 18    // compressed bytes of one block, "CK" included (a block split across cabinets joins several cbData)
	window          = 32768      // deflate dictionary
	histCap         = 4 * window // history buffer: the dictionary plus room for several blocks
	maxWorkers      = 64
)

// BlockSource yields a folder's CFDATA payloads in order.
type BlockSource interface {
	// Next returns the next payload ("CK" and the deflate stream) and its uncompressed
	// length, or io.EOF after the last block. The payload need stay valid only until the
	// next call: the Reader copies it.
	Next() (payload []byte, uncomp int, err error)
}

// Error is a malformed block. It wraps unpack.ErrFormat (or unpack.ErrLimit).
type Error struct {
	Block int // index of the block in the folder
	Msg   string
	Err   error // unpack.ErrFormat or unpack.ErrLimit
}

func (e *Error) Error() string { return fmt.Sprintf("mszip: block %d: %s", e.Block, e.Msg) }

func (e *Error) Unwrap() error { return e.Err }

func formatErr(block int, format string, a ...any) error {
	return &Error{Block: block, Msg: fmt.Sprintf(format, a...), Err: unpack.ErrFormat}
}

// job is one block on its way through a worker.
type job struct {
	index  int
	uncomp int
	in     []byte
	out    [MaxBlockBytes]byte
	n      int
	err    error
	done   chan struct{}
	d      decoder
}

var jobs = sync.Pool{New: func() any { return new(job) }}

// errInternal marks a decoder panic turned into an error; the decoder is fuzzed never to panic.
var errInternal = errors.New("mszip: internal error")

func (j *job) run() {
	defer func() {
		if p := recover(); p != nil {
			j.err = fmt.Errorf("%w: %v\n%s", errInternal, p, debug.Stack())
		}
	}()
	j.n, j.err = j.d.decode(j.in[2:], j.out[:j.uncomp])
}

// Reader yields a folder's uncompressed bytes.
type Reader struct {
	src     BlockSource
	size    int64
	workers int
	pending []*job // in flight, in block order
	next    int    // index of the next block to read from src
	srcErr  error  // what ended the source: io.EOF, its error, or a malformed block header
	blocks  int    // blocks resolved
	hist    []byte
	out     []byte
	done    int64 // bytes resolved so far
	err     error
}

// NewReader returns a reader of the size bytes that blocks decode to. workers ≤ 0 means
// GOMAXPROCS; 1 decodes in the caller's goroutine. With more, up to 4×workers blocks are in
// flight, each on its own goroutine that ends when its block is decoded, so abandoning the
// Reader leaks nothing.
func NewReader(blocks BlockSource, size int64, workers int) *Reader {
	return NewReaderDict(blocks, size, workers, nil)
}

// NewReaderDict is NewReader for blocks that continue a folder: dict is the output before
// them (its last 32 KiB are used), as History returned it.
func NewReaderDict(blocks BlockSource, size int64, workers int, dict []byte) *Reader {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	r := &Reader{src: blocks, size: size, workers: min(workers, maxWorkers), hist: make([]byte, 0, histCap)}
	r.hist = append(r.hist, dict[max(0, len(dict)-window):]...)
	return r
}

// fill starts blocks until enough are in flight or the source ends. A source error or a
// malformed block header ends the source; the blocks before it are still delivered.
func (r *Reader) fill() {
	depth := 4 * r.workers
	if r.workers == 1 {
		depth = 1
	}
	for r.srcErr == nil && len(r.pending) < depth {
		p, uncomp, err := r.src.Next()
		if err != nil {
			r.srcErr = err
			break
		}
		i := r.next
		r.next++
		switch {
		case len(p) < 2 || p[0] != 'C' || p[1] != 'K':
			r.srcErr = formatErr(i, "block lacks the CK signature")
		case len(p) > MaxPayloadBytes:
			r.srcErr = formatErr(i, "%d compressed bytes, more than %d", len(p), MaxPayloadBytes)
		case uncomp < 0 || uncomp > MaxBlockBytes:
			r.srcErr = formatErr(i, "uncompressed size %d outside 0..%d", uncomp, MaxBlockBytes)
		}
		if r.srcErr != nil {
			break
		}
		j := jobs.Get().(*job)
		j.index, j.uncomp, j.err, j.n = i, uncomp, nil, 0
		j.in = append(j.in[:0], p...)
		if r.workers == 1 {
			j.done = nil
			j.run()
		} else {
			j.done = make(chan struct{})
			go func() {
				j.run()
				close(j.done)
			}()
		}
		r.pending = append(r.pending, j)
	}
}

// resolve waits for the oldest block in flight and replays it onto the history.
func (r *Reader) resolve() error {
	j := r.pending[0]
	r.pending[0] = nil
	r.pending = r.pending[1:]
	if j.done != nil {
		<-j.done
	}
	defer jobs.Put(j)
	if j.err != nil {
		if errors.Is(j.err, errInternal) {
			return fmt.Errorf("block %d: %w", j.index, j.err)
		}
		if errors.Is(j.err, errTooLong) {
			return formatErr(j.index, "decodes to more than cbUncomp %d bytes", j.uncomp)
		}
		return formatErr(j.index, "%v", j.err)
	}
	if j.n != j.uncomp {
		return formatErr(j.index, "decodes to %d bytes, cbUncomp %d", j.n, j.uncomp)
	}
	if r.done+int64(j.n) > r.size {
		return formatErr(j.index, "folder decodes to more than its %d bytes", r.size)
	}
	if len(r.hist)+j.n > cap(r.hist) {
		keep := r.hist[len(r.hist)-min(len(r.hist), window):]
		r.hist = r.hist[:copy(r.hist[:cap(r.hist)], keep)]
	}
	base := len(r.hist)
	r.hist = r.hist[:base+j.n]
	copy(r.hist[base:], j.out[:j.n])
	if err := replay(r.hist, base, j.d.ops); err != nil {
		return formatErr(j.index, "%v", err)
	}
	r.out = r.hist[base:]
	r.done += int64(j.n)
	r.blocks++
	return nil
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.fill()
		if len(r.pending) == 0 {
			if r.srcErr != io.EOF {
				r.err = r.srcErr
				continue
			}
			if r.done != r.size {
				r.err = formatErr(r.next, "blocks end after %d of %d bytes", r.done, r.size)
				continue
			}
			r.err = io.EOF
			continue
		}
		if err := r.resolve(); err != nil {
			r.err = err
		}
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// WriteTo implements io.WriterTo: io.Copy hands each block's output to w without a copy.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(r.out) > 0 {
			n, err := w.Write(r.out)
			total += int64(n)
			r.out = r.out[n:]
			if err != nil {
				return total, err
			}
			continue
		}
		_, err := r.Read(nil)
		if err == io.EOF {
			return total, nil
		}
		if err != nil && len(r.out) == 0 {
			return total, err
		}
	}
}

// Boundary reports whether the next byte Read returns starts a block, and how many blocks
// have been delivered before it.
func (r *Reader) Boundary() (blocks int, ok bool) {
	return r.blocks, len(r.out) == 0
}

// History returns the last up to 32 KiB of output before the next byte Read returns, the
// dictionary a sequential decoder would need to continue from here.
func (r *Reader) History() []byte {
	end := len(r.hist) - len(r.out)
	return r.hist[max(0, end-window):end]
}
