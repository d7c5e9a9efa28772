package fstree

import (
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/rollgate/rollgate/unpack"
)

func TestClean(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"./a/b", "a/b", nil},
		{"/abs/path", "abs/path", nil},
		{"a//b/./c", "a/b/c", nil},
		{".", ".", nil},
		{"", ".", nil},
		{"../x", "", unpack.ErrInsecurePath},
		{"a/../../x", "", unpack.ErrInsecurePath},
		{"a/..", "", unpack.ErrInsecurePath},
		{"..\\x", "", unpack.ErrInsecurePath},
		{"a\x00b", "", unpack.ErrInsecurePath},
		{"女の子.txt", "女の子.txt", nil},
	}
	for _, tt := range tests {
		got, err := Clean(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("Clean(%q) = %q, %v, want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

type tfs struct{ t *Tree }

func (f tfs) Open(name string) (fs.File, error) {
	return f.t.OpenFile(name, func(n *Node) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(n.Data.(string))), nil
	})
}
func (f tfs) Stat(name string) (fs.FileInfo, error)      { return f.t.Stat(name) }
func (f tfs) ReadDir(name string) ([]fs.DirEntry, error) { return f.t.ReadDir(name) }

func TestTree(t *testing.T) {
	tr := New(4)
	for _, p := range []string{"b/c", "a"} {
		if _, err := tr.Add(p, 0o644, 1, time.Time{}, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tr.Add("a", 0o644, 1, time.Time{}, "x"); !errors.Is(err, ErrDuplicate) {
		t.Errorf("Add(duplicate) = %v, want ErrDuplicate", err)
	}
	if _, err := tr.Add("a/x", 0o644, 1, time.Time{}, "x"); !errors.Is(err, ErrDuplicate) {
		t.Errorf("Add(under a file) = %v, want ErrDuplicate", err)
	}
	if _, err := tr.Add("b", fs.ModeDir|0o700, 0, time.Time{}, nil); err != nil {
		t.Errorf("Add(existing dir) = %v", err)
	}
	if _, err := tr.Add("d", 0o644, 1, time.Time{}, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Add("e", 0o644, 1, time.Time{}, "x"); !errors.Is(err, unpack.ErrLimit) {
		t.Errorf("Add(over limit) = %v, want ErrLimit", err)
	}
	if err := fstest.TestFS(tfs{tr}, "a", "b/c", "d"); err != nil {
		t.Error(err)
	}
}

type seekCloser struct{ *strings.Reader }

func (seekCloser) Close() error { return nil }

// TestReaderOptions: SetDirPerm, Root, Sys, random access when the Opener offers it, and
// directory misuse reported as fs.ErrInvalid.
func TestReaderOptions(t *testing.T) {
	tr := New(8)
	tr.SetDirPerm(0o555)
	tr.Root().Sys = "root"
	n, err := tr.Add("d/f", 0o444, 5, time.Time{}, "hello")
	if err != nil {
		t.Fatal(err)
	}
	n.Sys = "f"
	fsys := seekFS{tr}
	if err := fstest.TestFS(fsys, "d/f"); err != nil {
		t.Error(err)
	}
	tests := []struct {
		name string
		mode fs.FileMode
		sys  any
	}{
		{".", fs.ModeDir | 0o555, "root"},
		{"d", fs.ModeDir | 0o555, nil},
		{"d/f", 0o444, "f"},
	}
	for _, tc := range tests {
		st, err := fsys.Stat(tc.name)
		if err != nil || st.Mode() != tc.mode || st.Sys() != tc.sys {
			t.Errorf("Stat(%q) = %v, %v, %v, want %v, %v", tc.name, st.Mode(), st.Sys(), err, tc.mode, tc.sys)
		}
	}
	f, err := fsys.Open("d/f")
	if err != nil {
		t.Fatal(err)
	}
	ra, ok := f.(io.ReaderAt)
	if _, seeks := f.(io.Seeker); !ok || !seeks {
		t.Fatalf("Open(%q) = %T, want an io.ReaderAt and io.Seeker", "d/f", f)
	}
	b := make([]byte, 3)
	if n, err := ra.ReadAt(b, 2); n != 3 || err != nil || string(b) != "llo" {
		t.Errorf("ReadAt(2) = %d, %v, %q, want 3, nil, %q", n, err, b[:n], "llo")
	}
	d, err := fsys.Open("d")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read(b); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Read(dir) = %v, want ErrInvalid", err)
	}
	if _, err := fsys.ReadDir("d/f"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("ReadDir(file) = %v, want ErrInvalid", err)
	}
}

type seekFS struct{ t *Tree }

func (f seekFS) Open(name string) (fs.File, error) {
	return f.t.OpenFile(name, func(n *Node) (io.ReadCloser, error) {
		return seekCloser{strings.NewReader(n.Data.(string))}, nil
	})
}
func (f seekFS) Stat(name string) (fs.FileInfo, error)      { return f.t.Stat(name) }
func (f seekFS) ReadDir(name string) ([]fs.DirEntry, error) { return f.t.ReadDir(name) }
