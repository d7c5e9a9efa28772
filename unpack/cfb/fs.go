package cfb

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
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

type fsNode struct {
	e        *Entry
	name     string // path element
	children []*fsNode
}

type fsTree struct {
	nodes map[string]*fsNode
}

func newFSTree(r *Reader) *fsTree {
	t := &fsTree{nodes: map[string]*fsNode{}}
	root := &fsNode{e: r.root, name: "."}
	t.nodes["."] = root
	var add func(n *fsNode, dir string)
	add = func(n *fsNode, dir string) {
		seen := map[string]bool{}
		next := map[string]int{} // next suffix to try per escaped name, so duplicates stay linear
		for _, c := range n.e.Children {
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
			cn := &fsNode{e: c, name: name}
			n.children = append(n.children, cn)
			p := name
			if dir != "." {
				p = dir + "/" + name
			}
			t.nodes[p] = cn
			if c.Type != TypeStream {
				add(cn, p)
			}
		}
		sort.Slice(n.children, func(i, j int) bool { return n.children[i].name < n.children[j].name })
	}
	add(root, ".")
	return t
}

func (r *Reader) lookup(op, name string) (*fsNode, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	n, ok := r.fsys.nodes[name]
	if !ok {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return n, nil
}

// Open implements fs.FS over the raw storage tree.
func (r *Reader) Open(name string) (fs.File, error) {
	n, err := r.lookup("open", name)
	if err != nil {
		return nil, err
	}
	if n.e.Type == TypeStream {
		s, err := r.OpenStream(n.e)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &file{s: s, n: n}, nil
	}
	return &dir{n: n}, nil
}

// Stat implements fs.StatFS.
func (r *Reader) Stat(name string) (fs.FileInfo, error) {
	n, err := r.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return info{n}, nil
}

// ReadDir implements fs.ReadDirFS.
func (r *Reader) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := r.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if n.e.Type == TypeStream {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	out := make([]fs.DirEntry, len(n.children))
	for i, c := range n.children {
		out[i] = fs.FileInfoToDirEntry(info{c})
	}
	return out, nil
}

type info struct{ n *fsNode }

func (i info) Name() string {
	if i.n.name == "." {
		return "."
	}
	return path.Base(i.n.name)
}
func (i info) Size() int64 { return i.n.e.Size }
func (i info) Mode() fs.FileMode {
	if i.n.e.Type == TypeStream {
		return 0o444
	}
	return fs.ModeDir | 0o555
}
func (i info) ModTime() time.Time { return time.Time{} }
func (i info) IsDir() bool        { return i.n.e.Type != TypeStream }
func (i info) Sys() any           { return i.n.e }

type file struct {
	s *Stream
	n *fsNode
}

func (f *file) Stat() (fs.FileInfo, error)                { return info{f.n}, nil }
func (f *file) Read(p []byte) (int, error)                { return f.s.Read(p) }
func (f *file) ReadAt(p []byte, off int64) (int, error)   { return f.s.ReadAt(p, off) }
func (f *file) Seek(off int64, whence int) (int64, error) { return f.s.Seek(off, whence) }
func (f *file) Close() error                              { return nil }

type dir struct {
	n   *fsNode
	off int
}

func (d *dir) Stat() (fs.FileInfo, error) { return info{d.n}, nil }
func (d *dir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.n.name, Err: fs.ErrInvalid}
}
func (d *dir) Close() error { return nil }
func (d *dir) ReadDir(count int) ([]fs.DirEntry, error) {
	rest := d.n.children[d.off:]
	if count > 0 && len(rest) == 0 {
		return nil, io.EOF
	}
	if count > 0 && count < len(rest) {
		rest = rest[:count]
	}
	d.off += len(rest)
	out := make([]fs.DirEntry, len(rest))
	for i, c := range rest {
		out[i] = fs.FileInfoToDirEntry(info{c})
	}
	return out, nil
}
