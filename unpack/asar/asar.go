// Package asar reads Electron asar archives (resources/app.asar) from hostile input as an
// fs.FS.
//
// Layout, as electron/asar writes it (lib/disk.js, lib/filesystem.js) with Chromium's Pickle
// framing: a pickle holding one uint32 (the size of the header pickle), then the header pickle
// (uint32 payload size, uint32 string length, the JSON header, padding to 4 bytes), then the
// file data. A file's "offset" (a decimal string) is relative to the end of the header pickle.
// Directory nodes hold "files"; file nodes "size", "offset", optional "executable",
// "unpacked" and "integrity" (SHA256 of the whole file plus per-block hashes); link nodes
// "link".
//
// Rollgate's choices: unpacked files (stored beside the archive in app.asar.unpacked/) are
// listed as irregular entries and by Unpacked, never opened; links are exposed as symbolic
// links and never followed; names that would climb out ("..", "/", "\", NUL) are refused;
// integrity is checked while a file is read when the header carries it.
package asar

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/fstree"
)

// Limits.
const (
	// MaxHeaderBytes bounds the JSON header. Large Electron apps have headers of a few MiB.
	MaxHeaderBytes = 64 << 20
	// MaxDepth bounds directory nesting.
	MaxDepth = 256
	// MaxEntries bounds the entries of one archive.
	MaxEntries = unpack.MaxEntries
	// MaxBlockSize bounds an integrity block (electron/asar uses 4 MiB).
	MaxBlockSize = 64 << 20
)

// Reader is an opened asar archive. It implements fs.FS, fs.ReadDirFS, fs.StatFS and
// unpack.Walker.
type Reader struct {
	r        io.ReaderAt
	size     int64
	data     int64 // offset of the data area
	tree     *fstree.Tree
	files    []*fstree.Node // regular files in offset order
	unpacked []string
}

// node is one header entry.
type node struct {
	Files      map[string]json.RawMessage `json:"files"`
	Size       *json.Number               `json:"size"`
	Offset     *string                    `json:"offset"`
	Unpacked   bool                       `json:"unpacked"`
	Executable bool                       `json:"executable"`
	Link       *string                    `json:"link"`
	Integrity  *struct {
		Algorithm string   `json:"algorithm"`
		Hash      string   `json:"hash"`
		BlockSize int64    `json:"blockSize"`
		Blocks    []string `json:"blocks"`
	} `json:"integrity"`
}

// content is a regular file's handle.
type content struct {
	off, size int64 // absolute offset in the archive
	hash      []byte
	blockSize int64
	blocks    [][]byte
}

func errAt(entry string, off int64, format string, args ...any) error {
	return &unpack.FormatError{Format: "asar", Entry: entry, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// NewReader opens the asar archive in r.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	var h [16]byte
	if size < 16 {
		return nil, errAt("", 0, "file of %d bytes is too short", size)
	}
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return nil, errAt("", 0, "reading the header: %v", err)
	}
	le := binary.LittleEndian
	if le.Uint32(h[0:]) != 4 {
		return nil, errAt("", 0, "not an asar archive (size pickle of %d bytes)", le.Uint32(h[0:]))
	}
	hdrSize := int64(le.Uint32(h[4:]))
	payload := int64(le.Uint32(h[8:]))
	strLen := int64(le.Uint32(h[12:]))
	if hdrSize > MaxHeaderBytes {
		return nil, &unpack.FormatError{Format: "asar", Offset: 4, Msg: fmt.Sprintf("header of %d bytes (limit %d)", hdrSize, MaxHeaderBytes), Err: unpack.ErrLimit}
	}
	if hdrSize < 8 || 8+hdrSize > size || payload+4 > hdrSize || strLen+4 > payload {
		return nil, errAt("", 4, "header sizes %d/%d/%d do not fit the %d-byte file", hdrSize, payload, strLen, size)
	}
	js := make([]byte, strLen)
	if _, err := r.ReadAt(js, 16); err != nil {
		return nil, errAt("", 16, "reading the JSON header: %v", err)
	}
	ar := &Reader{r: r, size: size, data: 8 + hdrSize, tree: fstree.New(MaxEntries)}
	var root node
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		return nil, errAt("", 16, "JSON header: %v", err)
	}
	if root.Files == nil {
		return nil, errAt("", 16, "JSON header has no files")
	}
	if err := ar.dir("", root.Files, 0); err != nil {
		return nil, err
	}
	sort.SliceStable(ar.files, func(i, j int) bool {
		return ar.files[i].Data.(*content).off < ar.files[j].Data.(*content).off
	})
	sort.Strings(ar.unpacked)
	return ar, nil
}

func (ar *Reader) dir(prefix string, files map[string]json.RawMessage, depth int) error {
	if depth > MaxDepth {
		return &unpack.FormatError{Format: "asar", Entry: prefix, Offset: -1, Msg: fmt.Sprintf("directories nested deeper than %d", MaxDepth), Err: unpack.ErrLimit}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
			return &unpack.FormatError{Format: "asar", Entry: prefix, Offset: -1, Msg: fmt.Sprintf("entry name %q", name), Err: unpack.ErrInsecurePath}
		}
		p := name
		if prefix != "" {
			p = prefix + "/" + name
		}
		var n node
		dec := json.NewDecoder(bytes.NewReader(files[name]))
		dec.UseNumber()
		if err := dec.Decode(&n); err != nil {
			return errAt(p, -1, "entry: %v", err)
		}
		if err := ar.entry(p, &n, depth); err != nil {
			return err
		}
	}
	return nil
}

func (ar *Reader) add(p string, mode fs.FileMode, size int64, data any) (*fstree.Node, error) {
	n, err := ar.tree.Add(p, mode, size, time.Time{}, data)
	if err != nil {
		sentinel := unpack.ErrFormat
		for _, s := range []error{unpack.ErrLimit, unpack.ErrInsecurePath} {
			if errors.Is(err, s) {
				sentinel = s
			}
		}
		return nil, &unpack.FormatError{Format: "asar", Entry: p, Offset: -1, Msg: err.Error(), Err: sentinel}
	}
	return n, nil
}

func (ar *Reader) entry(p string, n *node, depth int) error {
	switch {
	case n.Files != nil:
		if _, err := ar.add(p, fs.ModeDir|0o755, 0, nil); err != nil {
			return err
		}
		return ar.dir(p, n.Files, depth+1)
	case n.Link != nil:
		node, err := ar.add(p, fs.ModeSymlink|0o777, int64(len(*n.Link)), nil)
		if err != nil {
			return err
		}
		node.Link = *n.Link
		return nil
	}
	if n.Size == nil {
		return errAt(p, -1, "entry has neither files, link nor size")
	}
	size, err := strconv.ParseInt(n.Size.String(), 10, 64)
	if err != nil || size < 0 {
		return errAt(p, -1, "size %q", n.Size.String())
	}
	perm := fs.FileMode(0o644)
	if n.Executable {
		perm = 0o755
	}
	if n.Unpacked {
		// Lives in app.asar.unpacked/ beside the archive; listed, never opened here.
		if _, err := ar.add(p, fs.ModeIrregular|perm, size, nil); err != nil {
			return err
		}
		ar.unpacked = append(ar.unpacked, p)
		return nil
	}
	if n.Offset == nil {
		return errAt(p, -1, "packed file without an offset")
	}
	off, err := strconv.ParseUint(*n.Offset, 10, 63)
	if err != nil {
		return errAt(p, -1, "offset %q", *n.Offset)
	}
	avail := ar.size - ar.data
	if int64(off) > avail || size > avail-int64(off) {
		return errAt(p, ar.data, "data at offset %d size %d beyond the %d-byte data area", off, size, avail)
	}
	c := &content{off: ar.data + int64(off), size: size}
	if in := n.Integrity; in != nil {
		if !strings.EqualFold(in.Algorithm, "SHA256") {
			return &unpack.FormatError{Format: "asar", Entry: p, Offset: -1, Msg: "integrity algorithm " + in.Algorithm, Err: unpack.ErrUnsupported}
		}
		if c.hash, err = hex.DecodeString(in.Hash); err != nil || len(c.hash) != sha256.Size {
			return errAt(p, -1, "integrity hash %q", in.Hash)
		}
		if in.BlockSize <= 0 || in.BlockSize > MaxBlockSize {
			return errAt(p, -1, "integrity block size %d", in.BlockSize)
		}
		want := (size + in.BlockSize - 1) / in.BlockSize
		if want == 0 {
			want = 1
		}
		if int64(len(in.Blocks)) != want {
			return errAt(p, -1, "%d integrity blocks for %d bytes of %d-byte blocks", len(in.Blocks), size, in.BlockSize)
		}
		c.blockSize = in.BlockSize
		for _, b := range in.Blocks {
			h, err := hex.DecodeString(b)
			if err != nil || len(h) != sha256.Size {
				return errAt(p, -1, "integrity block hash %q", b)
			}
			c.blocks = append(c.blocks, h)
		}
	}
	node, err := ar.add(p, perm, size, c)
	if err != nil {
		return err
	}
	ar.files = append(ar.files, node)
	return nil
}

// Unpacked lists the files the header marks as unpacked: they live in app.asar.unpacked/
// beside the archive and are not part of it.
func (ar *Reader) Unpacked() []string { return ar.unpacked }

func (ar *Reader) open(n *fstree.Node) (io.ReadCloser, error) {
	if n.Mode&fs.ModeSymlink != 0 {
		return io.NopCloser(strings.NewReader(n.Link)), nil
	}
	c, _ := n.Data.(*content)
	if c == nil {
		return nil, &unpack.FormatError{Format: "asar", Entry: n.Path, Offset: -1, Msg: "file is stored outside the archive (app.asar.unpacked)", Err: unpack.ErrUnsupported}
	}
	sr := io.NewSectionReader(ar.r, c.off, c.size)
	if c.hash == nil {
		return io.NopCloser(sr), nil
	}
	return &checked{r: sr, c: c, path: n.Path, whole: sha256.New(), block: sha256.New()}, nil
}

// checked verifies the integrity hashes while the file is read.
type checked struct {
	r            io.Reader
	c            *content
	path         string
	whole, block hash.Hash
	inBlock      int64
	idx          int
	read         int64
	done         error // set once the end was checked
}

func (k *checked) Read(b []byte) (int, error) {
	if k.done != nil {
		return 0, k.done
	}
	n, err := k.r.Read(b)
	data := b[:n]
	for len(data) > 0 {
		take := min(int64(len(data)), k.c.blockSize-k.inBlock)
		k.block.Write(data[:take])
		k.whole.Write(data[:take])
		k.inBlock += take
		k.read += take
		data = data[take:]
		if k.inBlock == k.c.blockSize {
			if e := k.endBlock(); e != nil {
				return n, e
			}
		}
	}
	if err == io.EOF {
		if k.inBlock > 0 || k.read == 0 {
			if e := k.endBlock(); e != nil {
				k.done = e
				return n, e
			}
		}
		if !hmac.Equal(k.whole.Sum(nil), k.c.hash) {
			k.done = errAt(k.path, -1, "integrity hash mismatch")
			return n, k.done
		}
		k.done = io.EOF
	}
	return n, err
}

func (k *checked) endBlock() error {
	if k.idx >= len(k.c.blocks) || !hmac.Equal(k.block.Sum(nil), k.c.blocks[k.idx]) {
		return errAt(k.path, k.c.off+k.read, "integrity block %d mismatch", k.idx)
	}
	k.idx++
	k.inBlock = 0
	k.block.Reset()
	return nil
}

func (k *checked) Close() error { return nil }

// Open implements fs.FS.
func (ar *Reader) Open(name string) (fs.File, error) { return ar.tree.OpenFile(name, ar.open) }

// Stat implements fs.StatFS.
func (ar *Reader) Stat(name string) (fs.FileInfo, error) { return ar.tree.Stat(name) }

// ReadDir implements fs.ReadDirFS.
func (ar *Reader) ReadDir(name string) ([]fs.DirEntry, error) { return ar.tree.ReadDir(name) }

// Walk implements unpack.Walker: packed regular files in data order.
func (ar *Reader) Walk(fn func(path string, size int64, r io.Reader) error) error {
	return fstree.Walk(ar.files, ar.open, fn)
}

// Open opens the Electron archive in the named file; Close closes it.
func Open(name string) (*unpack.ReadCloser[*Reader], error) { return unpack.OpenFile(name, NewReader) }

// The reader contract every format keeps.
var (
	_ fs.ReadDirFS  = (*Reader)(nil)
	_ fs.StatFS     = (*Reader)(nil)
	_ unpack.Walker = (*Reader)(nil)
)
