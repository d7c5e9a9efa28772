package unpack

import (
	"errors"
	"io"
	"os"
)

// ReadCloser is a format reader that owns the file it reads: what every reader's
// package-level Open(name) returns, as archive/zip's OpenReader does. Close closes the reader
// (when it holds resources of its own) and then the file.
type ReadCloser[R any] struct {
	Reader R
	file   io.Closer
}

// Close releases the reader and closes the file.
func (rc *ReadCloser[R]) Close() error {
	var err error
	if c, ok := any(rc.Reader).(io.Closer); ok {
		err = c.Close()
	}
	return errors.Join(err, rc.file.Close())
}

// OpenFile opens the named file and hands it, with its size, to newReader: the shared body of
// every reader's Open(name). The file is closed when newReader fails.
func OpenFile[R any](name string, newReader func(r io.ReaderAt, size int64) (R, error)) (*ReadCloser[R], error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := newReader(f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	return &ReadCloser[R]{Reader: r, file: f}, nil
}
