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
	got, c, err := OpenFile(name, size)
	if err != nil || got != 5 {
		t.Fatalf("OpenFile(%q) = %d, %v, want 5, nil", name, got, err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}

	if _, _, err := OpenFile(filepath.Join(t.TempDir(), "missing"), size); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenFile(missing) = %v, want ErrNotExist", err)
	}

	var held io.ReaderAt
	_, c, err = OpenFile(name, func(r io.ReaderAt, n int64) (int64, error) {
		held = r
		return 0, ErrFormat
	})
	if !errors.Is(err, ErrFormat) || c != nil {
		t.Fatalf("OpenFile(failing reader) = %v, %v, want nil, ErrFormat", c, err)
	}
	if _, err := held.ReadAt(make([]byte, 1), 0); !errors.Is(err, os.ErrClosed) {
		t.Errorf("file after a failed open: ReadAt = %v, want ErrClosed", err)
	}
}
