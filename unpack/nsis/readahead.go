package nsis

import (
	"io"
	"sync"
)

// Read-ahead for the solid stream: one goroutine decodes the stream into a fixed ring of
// buffers while the caller consumes (hashes, scans, spools) the previous ones, so on two
// cores LZMA decoding and SHA-256 overlap instead of adding up. Memory stays flat:
// readAheadBufs buffers of readAheadBuf bytes, whatever the stream's size.
const (
	readAheadBuf  = 256 << 10 // bytes per buffer
	readAheadBufs = 4         // buffers: at most this many decoded and not yet consumed, plus one being decoded
)

type chunk struct {
	b   []byte
	err error // after b: the decoder's error (io.EOF at the end)
}

// readAhead is an io.Reader over src decoded by a background goroutine. Close stops the
// goroutine; it must be called once the reader is no longer needed.
type readAhead struct {
	full chan chunk
	free chan []byte
	stop chan struct{}
	once sync.Once
	done sync.WaitGroup

	cur  []byte // unread part of the current buffer
	buf  []byte // the current buffer, returned to free when consumed
	err  error  // sticky
	src  io.Reader
	init bool
}

func newReadAhead(src io.Reader) *readAhead {
	return &readAhead{src: src}
}

func (r *readAhead) start() {
	r.init = true
	r.full = make(chan chunk, readAheadBufs)
	r.free = make(chan []byte, readAheadBufs+1)
	r.stop = make(chan struct{})
	for range readAheadBufs + 1 {
		r.free <- make([]byte, readAheadBuf)
	}
	r.done.Add(1)
	go r.fill()
}

// fill decodes into free buffers until the stream ends, fails or the reader is closed.
func (r *readAhead) fill() {
	defer r.done.Done()
	for {
		var b []byte
		select {
		case b = <-r.free:
		case <-r.stop:
			return
		}
		n, err := io.ReadFull(r.src, b)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		select {
		case r.full <- chunk{b: b[:n], err: err}:
		case <-r.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// Read implements io.Reader.
func (r *readAhead) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if !r.init {
		r.start()
	}
	for len(r.cur) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.buf != nil {
			r.free <- r.buf[:cap(r.buf)]
			r.buf = nil
		}
		c := <-r.full
		r.buf, r.cur, r.err = c.b, c.b, c.err
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// Close stops the decoding goroutine and waits for it.
func (r *readAhead) Close() error {
	r.once.Do(func() {
		if r.init {
			close(r.stop)
			r.done.Wait()
		}
	})
	return nil
}
