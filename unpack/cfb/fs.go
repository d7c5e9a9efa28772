package cfb

import (
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/fstree"
)

// The fs.FS view names each entry by its decoded name with the characters fs.ValidPath,
// fstest or a host file system would trip over percent-escaped: control characters, '/',
// '\\', ':' and '%' become %XX, and the names "", "." and ".." are written as escapes too
// (so "\x05SummaryInformation" is "%05SummaryInformation"). A name that still collides
// with a sibling gets a "~N" suffix.

// EscapeName returns the fs.FS path element for a directory entry name.
func EscapeName(name string) string {
	switch name {
	case "":
		return "%00"
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	var b strings.Builder
	for _, c := range name {
		switch {
		case c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == ':' || c == '%':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// newFSTree builds the fs.FS view of the storage tree: streams are 0o444 files, storages
// 0o555 directories, and every node's Sys is its *Entry.
func newFSTree(r *Reader) (*fstree.Tree, error) {
	t := fstree.New(MaxDirEntries)
	t.SetDirPerm(0o555)
	root := t.Root()
	root.Size, root.Sys = r.root.Size, r.root
	var add func(e *Entry, dir string) error
	add = func(e *Entry, dir string) error {
		seen := map[string]bool{}
		next := map[string]int{} // next suffix to try per escaped name, so duplicates stay linear
		for _, c := range e.Children {
			base := EscapeName(c.Name)
			name := base
			for seen[name] {
				if next[base] < 2 {
					next[base] = 2
				}
				name = fmt.Sprintf("%s~%d", base, next[base])
				next[base]++
			}
			seen[name] = true
			p := name
			if dir != "." {
				p = dir + "/" + name
			}
			mode := fs.FileMode(0o444)
			if c.Type != TypeStream {
				mode = fs.ModeDir | 0o555
			}
			n, err := t.Add(p, mode, c.Size, time.Time{}, c)
			if err != nil {
				return err
			}
			n.Sys = c
			if c.Type != TypeStream {
				if err := add(c, p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := add(r.root, "."); err != nil {
		return nil, err
	}
	return t, nil
}

// Open implements fs.FS over the raw storage tree. Files implement io.ReaderAt and io.Seeker.
func (r *Reader) Open(name string) (fs.File, error) {
	return r.fsys.OpenFile(name, func(n *fstree.Node) (io.ReadCloser, error) {
		s, err := r.OpenStream(n.Data.(*Entry))
		if err != nil {
			return nil, err
		}
		return streamCloser{s}, nil
	})
}

// streamCloser is a Stream as an fs.File's content: closing it is a no-op.
type streamCloser struct{ *Stream }

func (streamCloser) Close() error { return nil }

// Stat implements fs.StatFS.
func (r *Reader) Stat(name string) (fs.FileInfo, error) { return r.fsys.Stat(name) }

// ReadDir implements fs.ReadDirFS.
func (r *Reader) ReadDir(name string) ([]fs.DirEntry, error) { return r.fsys.ReadDir(name) }

// Open opens the compound file in the named file; Close closes it.
func Open(name string) (*unpack.ReadCloser[*Reader], error) { return unpack.OpenFile(name, NewReader) }

// The reader contract every format keeps.
var (
	_ fs.ReadDirFS  = (*Reader)(nil)
	_ fs.StatFS     = (*Reader)(nil)
	_ unpack.Walker = (*Reader)(nil)
)
