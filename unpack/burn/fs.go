package burn

import (
	"fmt"
	"io"
	"io/fs"

	"github.com/rollgate/rollgate/unpack/fstree"
)

// Files returns the exposed payloads in manifest order (the manifest first).
func (r *Reader) Files() []*File { return r.files }

func (r *Reader) open(n *fstree.Node) (io.ReadCloser, error) {
	f := n.Data.(*File)
	rc, err := f.cf.Open()
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{fstree.ExactReader(rc, f.Size, "burn", f.Path), rc}, nil
}

// Open implements fs.FS.
func (r *Reader) Open(name string) (fs.File, error) { return r.tree.OpenFile(name, r.open) }

// Stat implements fs.StatFS.
func (r *Reader) Stat(name string) (fs.FileInfo, error) { return r.tree.Stat(name) }

// ReadDir implements fs.ReadDirFS.
func (r *Reader) ReadDir(name string) ([]fs.DirEntry, error) { return r.tree.ReadDir(name) }

// Walk implements unpack.Walker: each container is walked in its cabinet's storage order
// (every folder decoded once), the UX container first.
func (r *Reader) Walk(fn func(path string, size int64, rd io.Reader) error) error {
	for ci, c := range r.cabs {
		if c == nil {
			continue
		}
		err := c.Walk(func(name string, size int64, rd io.Reader) error {
			f := r.byCab[ci][name]
			if f == nil {
				return errs.Format(name, -1, "container %d walks a file the directory did not list", ci)
			}
			return fn(f.Path, f.Size, fstree.ExactReader(rd, f.Size, "burn", f.Path))
		})
		if err != nil {
			return fmt.Errorf("burn: container %d: %w", ci, err)
		}
	}
	return nil
}
