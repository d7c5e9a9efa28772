package burn

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
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
	}{f.checked(rc), rc}, nil
}

// checked wraps a payload's content so that it yields exactly f.Size bytes and, at its end,
// matches the manifest's Hash.
func (f *File) checked(rd io.Reader) io.Reader {
	rd = fstree.ExactReader(rd, f.Size, "burn", f.Path)
	if f.Hash == "" {
		return rd
	}
	return &hashReader{r: rd, h: newHash(f.Hash), f: f}
}

// newHash returns the digest the manifest's hex Hash is by its length: SHA-1 (WiX 3),
// SHA-256 or SHA-512 (WiX 4); nil for anything else.
func newHash(hexDigest string) hash.Hash {
	if _, err := hex.DecodeString(hexDigest); err != nil {
		return nil
	}
	switch len(hexDigest) {
	case 2 * sha1.Size:
		return sha1.New()
	case 2 * sha256.Size:
		return sha256.New()
	case 2 * sha512.Size:
		return sha512.New()
	}
	return nil
}

type hashReader struct {
	r io.Reader
	h hash.Hash
	f *File
}

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(h.h.Sum(nil)); got != h.f.Hash {
			return n, errs.Format(h.f.Path, -1, "payload %q hashes to %s, the manifest says %s", h.f.PayloadID, got, h.f.Hash)
		}
	}
	return n, err
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
			return fn(f.Path, f.Size, f.checked(rd))
		})
		if err != nil {
			return fmt.Errorf("burn: container %d: %w", ci, err)
		}
	}
	return nil
}
