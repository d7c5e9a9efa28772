package hfs

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/rollgate/rollgate/unpack"
)

var (
	_ fs.FS         = (*Reader)(nil)
	_ fs.ReadDirFS  = (*Reader)(nil)
	_ fs.StatFS     = (*Reader)(nil)
	_ fs.ReadLinkFS = (*Reader)(nil)
	_ unpack.Walker = (*Reader)(nil)
)

// Open opens a file or directory. A symbolic link opens as itself (fs.ModeSymlink), its
// content the link target: links are never followed.
func (v *Reader) Open(name string) (fs.File, error) {
	n, err := v.lookup("open", name)
	if err != nil {
		return nil, err
	}
	info := v.info(n, path.Base(name))
	if n.isDir() {
		return &dirFile{v: v, n: n, info: info, path: name}, nil
	}
	ra, size, err := v.content(n, name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	info.size = size
	return &regFile{info: info, sr: io.NewSectionReader(ra, 0, size), path: name}, nil
}

func (v *Reader) lookup(op, name string) (*node, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	n := v.root
	if name == "." {
		return n, nil
	}
	for _, el := range strings.Split(name, "/") {
		if !n.isDir() {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		c := n.child(el)
		if c == nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		n = c
	}
	return n, nil
}

// target returns the node whose content a name shows: a hard link's iNode file.
func target(n *node) *node {
	if n.link != nil {
		return n.link
	}
	return n
}

// Stat describes a file without opening it; symbolic links are not followed.
func (v *Reader) Stat(name string) (fs.FileInfo, error) {
	n, err := v.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	fi := v.info(n, path.Base(name))
	if !n.isDir() {
		size, err := v.contentSize(n, name)
		if err != nil {
			return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
		}
		fi.size = size
	}
	return fi, nil
}

// Lstat is Stat: nothing is followed.
func (v *Reader) Lstat(name string) (fs.FileInfo, error) { return v.Stat(name) }

// ReadLink returns a symbolic link's target as stored; it is never resolved.
func (v *Reader) ReadLink(name string) (string, error) {
	n, err := v.lookup("readlink", name)
	if err != nil {
		return "", err
	}
	t := target(n)
	if !t.isSymlink() {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	ra, size, err := v.content(n, name)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	if size > MaxSymlinkBytes {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: errs.Limit(name, -1, "symlink target of %d bytes", size)}
	}
	b := make([]byte, size)
	if _, err := ra.ReadAt(b, 0); err != nil && err != io.EOF {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return string(b), nil
}

// ReadDir lists a directory, sorted by name.
func (v *Reader) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := v.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if !n.isDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	out := make([]fs.DirEntry, 0, len(n.kids()))
	for _, c := range n.kids() {
		out = append(out, dirEntry{v: v, n: c, name: exposedName(c.name), dir: name})
	}
	return out, nil
}

// Walk delivers every regular file in storage order (by the first allocation block of the
// fork that holds its bytes), so that a compressed container below the volume (UDIF
// chunks) is decoded front to back; ties keep path order.
func (v *Reader) Walk(fn func(path string, size int64, r io.Reader) error) error {
	type item struct {
		path  string
		block uint32
	}
	var items []item
	err := fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		n, err := v.lookup("walk", p)
		if err != nil {
			return err
		}
		t := target(n)
		fd := t.data
		if t.ownerFlags&ufCompressed != 0 && t.data.size == 0 {
			fd = t.rsrc
		}
		items = append(items, item{p, fd.ext[0].start})
		return nil
	})
	if err != nil {
		return err
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].block < items[j].block })
	for _, it := range items {
		if err := v.walkOne(it.path, fn); err != nil {
			return err
		}
	}
	return nil
}

func (v *Reader) walkOne(p string, fn func(path string, size int64, r io.Reader) error) error {
	f, err := v.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return fn(p, fi.Size(), f)
}

// content returns a reader over what a file shows: its data fork, or its decmpfs
// decompressed bytes.
func (v *Reader) content(n *node, name string) (io.ReaderAt, int64, error) {
	t := target(n)
	if t.ownerFlags&ufCompressed != 0 {
		if attr, ok := v.decmpfs[t.id]; ok {
			return v.decmpfsReader(t, attr, name)
		}
		if err := v.decmpfsErr[t.id]; err != nil {
			return nil, 0, err
		}
	}
	f, err := v.newFork(name, t.id, 0, t.data, true)
	if err != nil {
		return nil, 0, err
	}
	return f, f.size, nil
}

// contentSize is content's size without decoding compressed data.
func (v *Reader) contentSize(n *node, name string) (int64, error) {
	t := target(n)
	if t.ownerFlags&ufCompressed != 0 {
		if attr, ok := v.decmpfs[t.id]; ok {
			return decmpfsSize(attr, name)
		}
	}
	_, size, err := v.content(n, name)
	return size, err
}

type fileInfo struct {
	name    string
	size    int64
	mode    fs.FileMode
	modTime time.Time
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.size }
func (fi *fileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi *fileInfo) ModTime() time.Time { return fi.modTime }
func (fi *fileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi *fileInfo) Sys() any           { return nil }

func (v *Reader) info(n *node, base string) *fileInfo {
	t := target(n)
	fi := &fileInfo{name: base, mode: t.fileMode(), modTime: t.modTime}
	if n.linkDir != nil {
		fi.modTime = n.linkDir.modTime
	}
	return fi
}

type dirEntry struct {
	v    *Reader
	n    *node
	name string
	dir  string
}

func (d dirEntry) Name() string      { return d.name }
func (d dirEntry) IsDir() bool       { return d.n.isDir() }
func (d dirEntry) Type() fs.FileMode { return d.v.info(d.n, d.name).mode.Type() }
func (d dirEntry) Info() (fs.FileInfo, error) {
	p := d.name
	if d.dir != "." {
		p = d.dir + "/" + d.name
	}
	return d.v.Stat(p)
}

type dirFile struct {
	v    *Reader
	n    *node
	info *fileInfo
	path string
	pos  int
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.path, Err: errors.New("is a directory")}
}
func (d *dirFile) Close() error { return nil }

func (d *dirFile) ReadDir(count int) ([]fs.DirEntry, error) {
	rest := d.n.kids()[d.pos:]
	if count > 0 && len(rest) == 0 {
		return nil, io.EOF
	}
	if count > 0 && len(rest) > count {
		rest = rest[:count]
	}
	out := make([]fs.DirEntry, 0, len(rest))
	for _, c := range rest {
		out = append(out, dirEntry{v: d.v, n: c, name: exposedName(c.name), dir: d.path})
	}
	d.pos += len(rest)
	return out, nil
}

type regFile struct {
	info *fileInfo
	sr   *io.SectionReader
	path string
}

func (f *regFile) Stat() (fs.FileInfo, error)                { return f.info, nil }
func (f *regFile) Read(p []byte) (int, error)                { return f.sr.Read(p) }
func (f *regFile) ReadAt(p []byte, off int64) (int, error)   { return f.sr.ReadAt(p, off) }
func (f *regFile) Seek(off int64, whence int) (int64, error) { return f.sr.Seek(off, whence) }
func (f *regFile) Close() error                              { return nil }

// Open opens the HFS+ volume (a raw partition image) in the named file; Close closes it.
func Open(name string) (*unpack.ReadCloser[*Reader], error) { return unpack.OpenFile(name, NewReader) }
