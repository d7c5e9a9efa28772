package msi

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// The fs.FS view: every File row at its install path, every Binary stream at
// "Binary/<Name>", and every cabinet entry no File row installs at
// "Cabinet/<Media Cabinet>/<name>". Install paths that collide with each other (two rows resolving to one
// path, or a file where another row needs a folder) keep the first row; the later one gets
// "~<File key>" appended to its name so nothing is hidden.

type node struct {
	name     string // full path; "." for the root
	dir      bool
	children []*node
	file     *fileSrc
	bin      *binStream
}

type tree struct {
	nodes map[string]*node
}

func (t *tree) mkdirAll(p string) (*node, bool) {
	if n, ok := t.nodes[p]; ok {
		return n, n.dir
	}
	parent, ok := t.mkdirAll(parentOf(p))
	if !ok {
		return nil, false
	}
	n := &node{name: p, dir: true}
	t.nodes[p] = n
	parent.children = append(parent.children, n)
	return n, true
}

func parentOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return "."
}

// add places a file node at p, or reports false when p is taken.
func (t *tree) add(p string, n *node) bool {
	if _, taken := t.nodes[p]; taken || !fs.ValidPath(p) || p == "." {
		return false
	}
	parent, ok := t.mkdirAll(parentOf(p))
	if !ok {
		return false
	}
	n.name = p
	t.nodes[p] = n
	parent.children = append(parent.children, n)
	return true
}

// place adds n at want, or at want~key, want~key~2, ... when want is taken.
func (t *tree) place(want, key string, n *node) (string, bool) {
	if t.add(want, n) {
		return want, true
	}
	alt := want + "~" + sanitize(key)
	for i := 2; i < 100; i++ {
		if t.add(alt, n) {
			return alt, true
		}
		alt = fmt.Sprintf("%s~%s~%d", want, sanitize(key), i)
	}
	return "", false
}

func (p *Package) buildTree(l *layout) error {
	t := &tree{nodes: map[string]*node{".": {name: ".", dir: true}}}
	// Binary first: "Binary" must stay a folder even if an install path claims it.
	for _, b := range l.binaries {
		q, ok := t.place(b.path, b.key, &node{bin: b})
		if !ok {
			return p.limitErr("Binary", "no free path for %q", b.key)
		}
		b.path = q
	}
	for _, f := range l.files {
		q, ok := t.place(f.InstallPath, f.Key, &node{file: f})
		if !ok {
			return p.limitErr("File", "no free path for %q", f.Key)
		}
		f.InstallPath = q
	}
	for _, f := range l.hidden {
		q, ok := t.place(f.InstallPath, "", &node{file: f})
		if !ok {
			return p.limitErr("Media", "no free path for %q", f.InstallPath)
		}
		f.InstallPath = q
	}
	for _, n := range t.nodes {
		sort.Slice(n.children, func(i, j int) bool { return n.children[i].name < n.children[j].name })
	}
	l.tree = t
	return nil
}

func (p *Package) lookup(op, name string) (*node, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	n, ok := p.layout.tree.nodes[name]
	if !ok {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return n, nil
}

// Open implements fs.FS over install paths. A file in a cabinet is decompressed from the
// start of its folder; use Walk to read every file once.
func (p *Package) Open(name string) (fs.File, error) {
	n, err := p.lookup("open", name)
	if err != nil {
		return nil, err
	}
	if n.dir {
		return &dirFile{n: n}, nil
	}
	var rc io.ReadCloser
	size := n.size()
	switch {
	case n.bin != nil:
		s, err := p.CFB.OpenStream(n.bin.e)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		rc = io.NopCloser(s)
	case n.file.cf != nil:
		rc, err = n.file.cf.Open()
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
	case n.file.cab != nil:
		return nil, &fs.PathError{Op: "open", Path: name, Err: n.file.cab.err}
	default:
		var sz int64
		rc, sz, err = p.openSource(n.file)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		if sz != size {
			rc.Close()
			return nil, &fs.PathError{Op: "open", Path: name, Err: p.formatErr(n.file.Key, -1, "source file has %d bytes, the File table says %d", sz, size)}
		}
	}
	return &regFile{n: n, rc: rc, r: io.LimitReader(rc, size)}, nil
}

// Stat implements fs.StatFS.
func (p *Package) Stat(name string) (fs.FileInfo, error) {
	n, err := p.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return info{n}, nil
}

// ReadDir implements fs.ReadDirFS.
func (p *Package) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := p.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if !n.dir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	out := make([]fs.DirEntry, len(n.children))
	for i, c := range n.children {
		out[i] = fs.FileInfoToDirEntry(info{c})
	}
	return out, nil
}

func (n *node) size() int64 {
	switch {
	case n.bin != nil:
		return n.bin.size
	case n.file != nil:
		return n.file.size
	}
	return 0
}

type info struct{ n *node }

func (i info) Name() string { return path.Base(i.n.name) }
func (i info) Size() int64  { return i.n.size() }
func (i info) Mode() fs.FileMode {
	if i.n.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (i info) ModTime() time.Time { return time.Time{} }
func (i info) IsDir() bool        { return i.n.dir }
func (i info) Sys() any {
	if i.n.file != nil {
		return i.n.file.File
	}
	return nil
}

type regFile struct {
	n  *node
	rc io.ReadCloser
	r  io.Reader
}

func (f *regFile) Stat() (fs.FileInfo, error) { return info{f.n}, nil }
func (f *regFile) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *regFile) Close() error               { return f.rc.Close() }

type dirFile struct {
	n   *node
	off int
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return info{d.n}, nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.n.name, Err: fs.ErrInvalid}
}
func (d *dirFile) Close() error { return nil }
func (d *dirFile) ReadDir(count int) ([]fs.DirEntry, error) {
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

var _ interface {
	fs.ReadDirFS
	fs.StatFS
} = (*Package)(nil)
