package unpack

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(name, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	size := func(r io.ReaderAt, n int64) (int64, error) { return n, nil }
	rc, err := OpenFile(name, size)
	if err != nil || rc.Reader != 5 {
		t.Fatalf("OpenFile(%q) = %v, %v, want 5, nil", name, rc, err)
	}
	if err := rc.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}

	if _, err := OpenFile(filepath.Join(t.TempDir(), "missing"), size); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenFile(missing) = %v, want ErrNotExist", err)
	}

	var held io.ReaderAt
	rc, err = OpenFile(name, func(r io.ReaderAt, n int64) (int64, error) {
		held = r
		return 0, ErrFormat
	})
	if !errors.Is(err, ErrFormat) || rc != nil {
		t.Fatalf("OpenFile(failing reader) = %v, %v, want nil, ErrFormat", rc, err)
	}
	if _, err := held.ReadAt(make([]byte, 1), 0); !errors.Is(err, os.ErrClosed) {
		t.Errorf("file after a failed open: ReadAt = %v, want ErrClosed", err)
	}
}
