package msi

import (
	"fmt"
	"io"
	"io/fs"
	"math"
	"time"

	"github.com/rollgate/rollgate/unpack/fstree"
)

// The fs.FS view: every File row at its install path, every Binary stream at
// "Binary/<Name>", every cabinet entry no File row installs at
// "Cabinet/<Media Cabinet>/<name>", and every stream nothing references at
// "(orphan-stream)/<name>". Install paths that collide with each other (two rows resolving to one
// path, or a file where another row needs a folder) keep the first row; the later one gets
// "~<File key>" appended to its name so nothing is hidden.

// place adds a file at want, or at want~key, want~key~2, ... when want is taken (by another
// file, or by a folder a file needs, or the reverse).
func place(t *fstree.Tree, want, key string, size int64, data any) (*fstree.Node, bool) {
	if n, err := t.Add(want, 0o444, size, time.Time{}, data); err == nil {
		return n, true
	}
	alt := want + "~" + sanitize(key)
	for i := 2; i < 100; i++ {
		if n, err := t.Add(alt, 0o444, size, time.Time{}, data); err == nil {
			return n, true
		}
		alt = fmt.Sprintf("%s~%s~%d", want, sanitize(key), i)
	}
	return nil, false
}

// buildTree lays out the fs.FS view. Node.Data is the *binStream or *fileSrc; Sys is the
// File row. The tree needs no node limit of its own: MaxFiles and MaxPathTotal bound it.
func (p *Package) buildTree(l *layout) error {
	t := fstree.New(math.MaxInt)
	t.SetDirPerm(0o555)
	// Binary first: "Binary" must stay a folder even if an install path claims it.
	for _, b := range l.binaries {
		n, ok := place(t, b.path, b.key, b.size, b)
		if !ok {
			return p.limitErr("Binary", "no free path for %q", b.key)
		}
		b.path = n.Path
	}
	for _, b := range l.orphans {
		n, ok := place(t, b.path, "", b.size, b)
		if !ok {
			return p.limitErr("_Streams", "no free path for %q", b.key)
		}
		b.path = n.Path
	}
	for _, f := range l.files {
		n, ok := place(t, f.InstallPath, f.Key, f.size, f)
		if !ok {
			return p.limitErr("File", "no free path for %q", f.Key)
		}
		f.InstallPath = n.Path
		n.Sys = f.File
	}
	for _, f := range l.hidden {
		n, ok := place(t, f.InstallPath, "", f.size, f)
		if !ok {
			return p.limitErr("Media", "no free path for %q", f.InstallPath)
		}
		f.InstallPath = n.Path
		n.Sys = f.File
	}
	l.tree = t
	return nil
}

// Open implements fs.FS over install paths. A file in a cabinet is decompressed from the
// start of its folder; use Walk to read every file once.
func (p *Package) Open(name string) (fs.File, error) {
	return p.layout.tree.OpenFile(name, p.openNode)
}

func (p *Package) openNode(n *fstree.Node) (io.ReadCloser, error) {
	var rc io.ReadCloser
	switch src := n.Data.(type) {
	case *binStream:
		s, err := p.openEntry(src.e)
		if err != nil {
			return nil, err
		}
		rc = io.NopCloser(s)
	case *fileSrc:
		var err error
		switch {
		case src.cf != nil:
			if rc, err = src.cf.Open(); err != nil {
				return nil, err
			}
		case src.cab != nil:
			return nil, src.cab.err
		default:
			var sz int64
			if rc, sz, err = p.openSource(src); err != nil {
				return nil, err
			}
			if sz != n.Size {
				rc.Close()
				return nil, p.formatErr(src.Key, -1, "source file has %d bytes, the File table says %d", sz, n.Size)
			}
		}
	}
	return limitedCloser{io.LimitReader(rc, n.Size), rc}, nil
}

// limitedCloser reads at most the size the tables give and closes the whole source.
type limitedCloser struct {
	io.Reader
	io.Closer
}

// Stat implements fs.StatFS.
func (p *Package) Stat(name string) (fs.FileInfo, error) { return p.layout.tree.Stat(name) }

// ReadDir implements fs.ReadDirFS.
func (p *Package) ReadDir(name string) ([]fs.DirEntry, error) { return p.layout.tree.ReadDir(name) }

var _ interface {
	fs.ReadDirFS
	fs.StatFS
} = (*Package)(nil)
