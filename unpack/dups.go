package unpack

import (
	"bytes"
	"io"
)

// Dups lets a Walk over a solid stream deliver a file that repeats an earlier file's data
// (two install paths of one stored file) without decoding the stream again: while the
// earlier file is read, its bytes are kept, up to a bound; a repeat whose data was not kept
// is opened again (fs.FS Open decodes from the start of its block run).
type Dups[K comparable] struct {
	max    int64 // bytes kept for one file; larger data is opened again
	shared map[K]bool
	kept   map[K][]byte
}

// NewDups tracks repeats of the keys in shared, keeping at most max bytes of each.
func NewDups[K comparable](max int64, shared map[K]bool) *Dups[K] {
	return &Dups[K]{max: max, shared: shared, kept: map[K][]byte{}}
}

// Tee returns rd, copying what is read from it when k's data will be needed again and size
// is within the bound; call done once rd has been read to its end.
func (d *Dups[K]) Tee(k K, size int64, rd io.Reader) (r io.Reader, done func()) {
	if !d.shared[k] || size > d.max {
		return rd, func() {}
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	return io.TeeReader(rd, buf), func() { d.kept[k] = buf.Bytes() }
}

// Repeat calls fn for path with the data of of: the kept bytes, else what open returns
// (size bytes).
func (d *Dups[K]) Repeat(of K, path string, size int64, open func() (io.ReadCloser, error),
	fn func(path string, size int64, r io.Reader) error) error {
	if b, ok := d.kept[of]; ok {
		return fn(path, int64(len(b)), bytes.NewReader(b))
	}
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return fn(path, size, rc)
}
