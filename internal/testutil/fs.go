package testutil

import (
	"io"
	"io/fs"
	"testing"

	"github.com/rollgate/rollgate/unpack"
)

// Open opens the file at p with a reader constructor (NewReader(r io.ReaderAt, size int64))
// and closes the file when the test ends.
func Open[T any](t testing.TB, p string, newReader func(io.ReaderAt, int64) (T, error)) T {
	t.Helper()
	rc, err := unpack.OpenFile(p, newReader)
	if err != nil {
		t.Fatalf("NewReader(%q) = %v", p, err)
	}
	t.Cleanup(func() { rc.Close() })
	return rc.Reader
}

// WalkRead walks fsys the way a fuzz target should after a successful open: every path must
// be fs.ValidPath, and every regular file is read (up to limit bytes). Errors from the reader
// are fine; a panic or an invalid path is not.
func WalkRead(t testing.TB, fsys fs.FS, limit int64) {
	t.Helper()
	fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if !fs.ValidPath(p) {
			t.Fatalf("invalid path %q", p)
		}
		if d.Type().IsRegular() {
			if f, err := fsys.Open(p); err == nil {
				io.Copy(io.Discard, io.LimitReader(f, limit))
				f.Close()
			}
		}
		return nil
	})
}
