package unpack

import (
	"io"
	"os"
)

// OpenFile opens the named file and hands it, with its size, to newReader: the shared body
// of every reader's Open(name). The file is closed when newReader fails; otherwise the
// caller owns the returned Closer and closes it after it is done with the reader.
func OpenFile[T any](name string, newReader func(r io.ReaderAt, size int64) (T, error)) (T, io.Closer, error) {
	var zero T
	f, err := os.Open(name)
	if err != nil {
		return zero, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return zero, nil, err
	}
	r, err := newReader(f, st.Size())
	if err != nil {
		f.Close()
		return zero, nil, err
	}
	return r, f, nil
}
