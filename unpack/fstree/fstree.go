// Package fstree is the in-memory directory tree the archive readers (xar, cpio, pkg, asar,
// cfb, msi) expose as an fs.FS: names are checked once when added, parents are created on
// demand, duplicates are refused, and the number of nodes is bounded. File contents stay in
// the archive; the reader supplies them through an Opener.
package fstree

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/rollgate/rollgate/unpack"
)

// Node is one file, directory or symbolic link.
type Node struct {
	Name    string // base name; "." for the root
	Path    string // full fs.FS path
	Mode    fs.FileMode
	Size    int64
	ModTime time.Time
	// Data is the reader's handle on the content (a heap offset, a cpio index, ...).
	Data any
	// Link is a symbolic link's target, as stored.
	Link string
	// Sys is what the node's fs.FileInfo.Sys returns (the reader's own record, or nil).
	Sys any

	children map[string]*Node
	sorted   []*Node
}

// Tree is a directory tree with bounded size.
type Tree struct {
	root    *Node
	n       int
	max     int
	dirty   bool
	dirPerm fs.FileMode
}

// New returns an empty tree that accepts at most max nodes.
func New(max int) *Tree {
	return &Tree{root: &Node{Name: ".", Path: ".", Mode: fs.ModeDir | 0o755, children: map[string]*Node{}}, max: max, dirPerm: 0o755}
}

// SetDirPerm sets the permission bits of the root and of the directories Add creates on
// demand from now on (0o755 by default).
func (t *Tree) SetDirPerm(perm fs.FileMode) {
	t.dirPerm = perm.Perm()
	t.root.Mode = fs.ModeDir | t.dirPerm
}

// Root returns the root directory node, so a reader can set its metadata.
func (t *Tree) Root() *Node { return t.root }

// ErrDuplicate is wrapped when two entries claim one path.
var ErrDuplicate = errors.New("two entries share one path")

// Clean turns a stored archive name into a local fs.FS path: leading "/" and "./" are
// dropped and "." components removed; names with "..", NUL, backslashes or no component
// are refused with unpack.ErrInsecurePath.
func Clean(name string) (string, error) {
	if strings.ContainsAny(name, "\x00\\") {
		return "", fmt.Errorf("name %q: %w", name, unpack.ErrInsecurePath)
	}
	var out []string
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			return "", fmt.Errorf("name %q: %w", name, unpack.ErrInsecurePath)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return ".", nil
	}
	p := strings.Join(out, "/")
	if !fs.ValidPath(p) {
		return "", fmt.Errorf("name %q: %w", name, unpack.ErrInsecurePath)
	}
	return p, nil
}

// Len returns the number of nodes below the root.
func (t *Tree) Len() int { return t.n }

// Add inserts a node at p (already Clean). Missing parents become directories; adding a
// directory where one exists (implicitly or explicitly) updates its metadata; any other
// collision is ErrDuplicate.
func (t *Tree) Add(p string, mode fs.FileMode, size int64, mtime time.Time, data any) (*Node, error) {
	if p == "." {
		if mode.IsDir() {
			return t.root, nil
		}
		return nil, fmt.Errorf("root entry is not a directory: %w", unpack.ErrFormat)
	}
	if !fs.ValidPath(p) {
		return nil, fmt.Errorf("name %q: %w", p, unpack.ErrInsecurePath)
	}
	dir := t.root
	parts := strings.Split(p, "/")
	for i, c := range parts {
		last := i == len(parts)-1
		child := dir.children[c]
		if child != nil && !last {
			if !child.Mode.IsDir() {
				return nil, fmt.Errorf("%q is not a directory but holds %q: %w", child.Path, p, ErrDuplicate)
			}
			dir = child
			continue
		}
		if child != nil && last {
			if child.Mode.IsDir() && mode.IsDir() {
				child.Mode, child.ModTime, child.Data = mode, mtime, data
				return child, nil
			}
			return nil, fmt.Errorf("%q: %w", p, ErrDuplicate)
		}
		if t.n >= t.max {
			return nil, fmt.Errorf("more than %d entries: %w", t.max, unpack.ErrLimit)
		}
		t.n++
		n := &Node{Name: c, Path: strings.Join(parts[:i+1], "/"), Mode: fs.ModeDir | t.dirPerm}
		if last {
			n.Mode, n.Size, n.ModTime, n.Data = mode, size, mtime, data
		}
		if n.Mode.IsDir() {
			n.children = map[string]*Node{}
		}
		dir.children[c] = n
		t.dirty = true
		dir = n
	}
	return dir, nil
}

// Lookup returns the node at name (an fs.FS path).
func (t *Tree) Lookup(name string) (*Node, bool) {
	if name == "." {
		return t.root, true
	}
	if !fs.ValidPath(name) {
		return nil, false
	}
	n := t.root
	for _, c := range strings.Split(name, "/") {
		if n.children == nil {
			return nil, false
		}
		n = n.children[c]
		if n == nil {
			return nil, false
		}
	}
	return n, true
}

// Walk visits every node below the root in lexical path order.
func (t *Tree) Walk(fn func(n *Node) error) error {
	var rec func(d *Node) error
	rec = func(d *Node) error {
		for _, c := range t.children(d) {
			if err := fn(c); err != nil {
				return err
			}
			if c.Mode.IsDir() {
				if err := rec(c); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return rec(t.root)
}

func (t *Tree) children(d *Node) []*Node {
	if d.sorted == nil || t.dirty {
		t.sortAll(t.root)
		t.dirty = false
	}
	return d.sorted
}

func (t *Tree) sortAll(d *Node) {
	d.sorted = make([]*Node, 0, len(d.children))
	for _, c := range d.children {
		d.sorted = append(d.sorted, c)
		if c.Mode.IsDir() {
			t.sortAll(c)
		}
	}
	sort.Slice(d.sorted, func(i, j int) bool { return d.sorted[i].Name < d.sorted[j].Name })
}

// Opener returns the content of a regular file or symbolic link node; the tree closes it.
type Opener func(n *Node) (io.ReadCloser, error)

// OpenFile implements fs.FS.Open for the tree.
func (t *Tree) OpenFile(name string, open Opener) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	n, ok := t.Lookup(name)
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	if n.Mode.IsDir() {
		return &dirFile{t: t, n: n}, nil
	}
	rc, err := open(n)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if rs, ok := rc.(readSeekAtCloser); ok {
		return &seekFile{file{n: n, rc: rc}, rs}, nil
	}
	return &file{n: n, rc: rc}, nil
}

// errDir is a directory misused as a file or the reverse; it is an fs.ErrInvalid.
type errDir string

func (e errDir) Error() string        { return string(e) }
func (e errDir) Is(target error) bool { return target == fs.ErrInvalid }

const (
	errIsDir  errDir = "is a directory"
	errNotDir errDir = "not a directory"
)

// Stat implements fs.StatFS.
func (t *Tree) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	n, ok := t.Lookup(name)
	if !ok {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return info{n}, nil
}

// ReadDir implements fs.ReadDirFS.
func (t *Tree) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	n, ok := t.Lookup(name)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	if !n.Mode.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	cs := t.children(n)
	out := make([]fs.DirEntry, len(cs))
	for i, c := range cs {
		out[i] = info{c}
	}
	return out, nil
}

// info is a node's fs.FileInfo and fs.DirEntry.
type info struct{ n *Node }

func (i info) Name() string               { return path.Base(i.n.Name) }
func (i info) Size() int64                { return i.n.Size }
func (i info) Mode() fs.FileMode          { return i.n.Mode }
func (i info) Type() fs.FileMode          { return i.n.Mode.Type() }
func (i info) ModTime() time.Time         { return i.n.ModTime }
func (i info) IsDir() bool                { return i.n.Mode.IsDir() }
func (i info) Sys() any                   { return i.n.Sys }
func (i info) Info() (fs.FileInfo, error) { return i, nil }
func (i info) String() string             { return fs.FormatFileInfo(i) }

type file struct {
	n  *Node
	rc io.ReadCloser
}

func (f *file) Stat() (fs.FileInfo, error) { return info{f.n}, nil }
func (f *file) Read(b []byte) (int, error) { return f.rc.Read(b) }
func (f *file) Close() error               { return f.rc.Close() }

type readSeekAtCloser interface {
	io.ReadCloser
	io.ReaderAt
	io.Seeker
}

// seekFile is a file whose content the Opener gave with random access; fs.File users
// (http.FS, io.SectionReader) may use it.
type seekFile struct {
	file
	rs readSeekAtCloser
}

func (f *seekFile) ReadAt(b []byte, off int64) (int, error)   { return f.rs.ReadAt(b, off) }
func (f *seekFile) Seek(off int64, whence int) (int64, error) { return f.rs.Seek(off, whence) }

type dirFile struct {
	t   *Tree
	n   *Node
	off int
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return info{d.n}, nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.n.Path, Err: errIsDir}
}
func (d *dirFile) Close() error { return nil }

func (d *dirFile) ReadDir(count int) ([]fs.DirEntry, error) {
	cs := d.t.children(d.n)
	rest := cs[d.off:]
	if count > 0 && len(rest) == 0 {
		return nil, io.EOF
	}
	if count > 0 && count < len(rest) {
		rest = rest[:count]
	}
	d.off += len(rest)
	out := make([]fs.DirEntry, len(rest))
	for i, c := range rest {
		out[i] = info{c}
	}
	return out, nil
}

// ExactReader wraps r so that it yields exactly size bytes: a short stream is an
// unpack.ErrFormat error naming what, a longer one is cut.
func ExactReader(r io.Reader, size int64, format, what string) io.Reader {
	return &exact{r: io.LimitReader(r, size), left: size, format: format, what: what}
}

type exact struct {
	r      io.Reader
	left   int64
	format string
	what   string
}

func (e *exact) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, &unpack.FormatError{Format: e.format, Entry: e.what, Offset: -1, Msg: fmt.Sprintf("content ends %d bytes early", e.left)}
	}
	if err != nil && err != io.EOF {
		var fe *unpack.FormatError
		if !errors.As(err, &fe) && !errors.Is(err, unpack.ErrLimit) && !errors.Is(err, unpack.ErrUnsupported) {
			err = &unpack.FormatError{Format: e.format, Entry: e.what, Offset: -1, Msg: err.Error()}
		}
	}
	return n, err
}

// Walk streams nodes in the given (storage) order through open, for a reader's
// unpack.Walker: each file is opened, handed to fn, and closed before the next.
func Walk(nodes []*Node, open Opener, fn func(path string, size int64, r io.Reader) error) error {
	for _, n := range nodes {
		rc, err := open(n)
		if err != nil {
			return fmt.Errorf("opening %q: %w", n.Path, err)
		}
		err = fn(n.Path, n.Size, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
