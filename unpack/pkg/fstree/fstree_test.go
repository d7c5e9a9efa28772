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
