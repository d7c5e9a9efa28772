package cab

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// decodeName turns CFFILE name bytes into a valid UTF-8 string: UTF-8 when the name carries
// _A_NAME_IS_UTF (invalid sequences become U+FFFD), else ISO 8859-1.
func decodeName(raw []byte, isUTF bool) string {
	if isUTF {
		if utf8.Valid(raw) {
			return string(raw)
		}
		return strings.ToValidUTF8(string(raw), "\uFFFD")
	}
	ascii := true
	for _, b := range raw {
		if b >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(raw)
	}
	rs := make([]rune, len(raw))
	for i, b := range raw {
		rs[i] = rune(b)
	}
	return string(rs)
}

// unnamed is the path given to a file whose name has no usable component.
const unnamed = "unnamed"

// sanitize makes a stored name a local '/'-separated path: components split on '\' and '/',
// empty, "." and ".." components dropped, a leading drive letter ("C:") dropped.
func sanitize(name string) string {
	comps := strings.FieldsFunc(name, func(r rune) bool { return r == '\\' || r == '/' })
	if len(comps) > 0 {
		if c := comps[0]; len(c) >= 2 && c[1] == ':' && isLetter(c[0]) {
			if c = c[2:]; c == "" {
				comps = comps[1:]
			} else {
				comps[0] = c
			}
		}
	}
	out := comps[:0]
	for _, c := range comps {
		if c == "." || c == ".." {
			continue
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return unnamed
	}
	return strings.Join(out, "/")
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// tree is the directory structure the fs.FS exposes.
type tree struct {
	dirs  map[string]*dirNode
	files map[string]*File
}

type dirNode struct {
	name    string
	entries []fs.DirEntry // sorted by name
}

// buildTree names every file (sanitised, unique) and builds the directories.
func (r *Reader) buildTree() error {
	t := &tree{dirs: map[string]*dirNode{".": {name: "."}}, files: make(map[string]*File, len(r.files))}
	names := make([]string, len(r.files))
	for i, f := range r.files {
		names[i] = sanitize(f.RawName)
		for d := path.Dir(names[i]); d != "."; d = path.Dir(d) {
			if t.dirs[d] != nil {
				break
			}
			t.dirs[d] = &dirNode{name: path.Base(d)}
		}
	}
	next := map[string]int{}
	for i, f := range r.files {
		p := names[i]
		if t.files[p] != nil || t.dirs[p] != nil {
			n := max(next[p], 2)
			for {
				q := fmt.Sprintf("%s~%d", p, n)
				n++
				if t.files[q] == nil && t.dirs[q] == nil {
					next[p] = n
					p = q
					break
				}
			}
		}
		f.Name = p
		t.files[p] = f
		parent := t.dirs[path.Dir(p)]
		parent.entries = append(parent.entries, fileEntry{f})
	}
	for d, n := range t.dirs {
		if d == "." {
			continue
		}
		parent := t.dirs[path.Dir(d)]
		parent.entries = append(parent.entries, dirEntry{n})
	}
	for _, n := range t.dirs {
		sort.Slice(n.entries, func(i, j int) bool { return n.entries[i].Name() < n.entries[j].Name() })
	}
	r.tree = t
	return nil
}

// fileInfo and dirInfo implement fs.FileInfo; fileEntry and dirEntry fs.DirEntry.
type fileInfo struct{ f *File }

func (i fileInfo) Name() string       { return path.Base(i.f.Name) }
func (i fileInfo) Size() int64        { return i.f.Size }
func (i fileInfo) Mode() fs.FileMode  { return 0o444 }
func (i fileInfo) ModTime() time.Time { return i.f.ModTime() }
func (i fileInfo) IsDir() bool        { return false }
func (i fileInfo) Sys() any           { return i.f }

type dirInfo struct{ d *dirNode }

func (i dirInfo) Name() string       { return i.d.name }
func (i dirInfo) Size() int64        { return 0 }
func (i dirInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o555 }
func (i dirInfo) ModTime() time.Time { return time.Time{} }
func (i dirInfo) IsDir() bool        { return true }
func (i dirInfo) Sys() any           { return nil }

type fileEntry struct{ f *File }

func (e fileEntry) Name() string               { return path.Base(e.f.Name) }
func (e fileEntry) IsDir() bool                { return false }
func (e fileEntry) Type() fs.FileMode          { return 0 }
func (e fileEntry) Info() (fs.FileInfo, error) { return fileInfo(e), nil }

type dirEntry struct{ d *dirNode }

func (e dirEntry) Name() string               { return e.d.name }
func (e dirEntry) IsDir() bool                { return true }
func (e dirEntry) Type() fs.FileMode          { return fs.ModeDir }
func (e dirEntry) Info() (fs.FileInfo, error) { return dirInfo(e), nil }

// Open implements fs.FS. Reading a file decodes its folder from the start; see File.Open.
func (r *Reader) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if f := r.tree.files[name]; f != nil {
		return &openFile{f: f}, nil
	}
	if d := r.tree.dirs[name]; d != nil {
		return &openDir{d: d}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// Stat implements fs.StatFS.
func (r *Reader) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	if f := r.tree.files[name]; f != nil {
		return fileInfo{f}, nil
	}
	if d := r.tree.dirs[name]; d != nil {
		return dirInfo{d}, nil
	}
	return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
}

// ReadDir implements fs.ReadDirFS.
func (r *Reader) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	d := r.tree.dirs[name]
	if d == nil {
		if r.tree.files[name] != nil {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: fmt.Errorf("not a directory")}
		}
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	return append([]fs.DirEntry(nil), d.entries...), nil
}

type openFile struct {
	f      *File
	rc     io.ReadCloser
	closed bool
}

func (o *openFile) Stat() (fs.FileInfo, error) { return fileInfo{o.f}, nil }

func (o *openFile) Read(p []byte) (int, error) {
	if o.closed {
		return 0, &fs.PathError{Op: "read", Path: o.f.Name, Err: fs.ErrClosed}
	}
	if o.rc == nil {
		rc, err := o.f.Open()
		if err != nil {
			return 0, err
		}
		o.rc = rc
	}
	return o.rc.Read(p)
}

func (o *openFile) Close() error {
	if o.closed {
		return &fs.PathError{Op: "close", Path: o.f.Name, Err: fs.ErrClosed}
	}
	o.closed = true
	if o.rc != nil {
		return o.rc.Close()
	}
	return nil
}

type openDir struct {
	d   *dirNode
	off int
}

func (o *openDir) Stat() (fs.FileInfo, error) { return dirInfo{o.d}, nil }
func (o *openDir) Close() error               { return nil }
func (o *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: o.d.name, Err: fmt.Errorf("is a directory")}
}

func (o *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := o.d.entries[o.off:]
	if n <= 0 {
		o.off += len(rest)
		return append([]fs.DirEntry(nil), rest...), nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	o.off += n
	return append([]fs.DirEntry(nil), rest[:n]...), nil
}
