package nsis

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/fstree"
)

// nameFiles turns the script's files into Files with unique fs.FS paths: the same data at
// the same path is one file; different data at one path: the last keeps the path, earlier
// ones get "~N".
func (r *Reader) nameFiles(raws []rawFile) error {
	type key struct {
		path string
		pos  uint32
		un   bool
	}
	seen := map[key]bool{}
	byPath := map[string][]*File{}
	var order []string
	for _, rf := range raws {
		p := fsPath(rf.name)
		k := key{p, rf.pos, rf.uninstaller}
		if seen[k] {
			continue
		}
		seen[k] = true
		f := &File{Path: p, RawName: rf.name, Pos: rf.pos, ModTime: fileTime(rf.lo, rf.hi), Entry: rf.entry,
			Uninstaller: rf.uninstaller, PatchSize: rf.patch, size: -1}
		if byPath[p] == nil {
			order = append(order, p)
		}
		byPath[p] = append(byPath[p], f)
		r.files = append(r.files, f)
	}
	for _, p := range order {
		fs := byPath[p]
		for i, f := range fs[:len(fs)-1] {
			f.Path = fmt.Sprintf("%s~%d", p, i+1)
		}
	}
	firstAt := map[[2]uint32]*File{}
	for _, f := range r.files {
		k := [2]uint32{f.Pos, f.PatchSize}
		if f.Uninstaller {
			k[1] |= 1 << 31
		}
		if g := firstAt[k]; g != nil {
			f.dupOf = g
		} else {
			firstAt[k] = f
		}
	}
	return nil
}

func (r *Reader) buildTree() error {
	t := fstree.New(unpack.MaxEntries)
	t.SetDirPerm(0o555)
	for _, f := range r.files {
		p := f.Path
		for n := 2; ; n++ {
			node, err := t.Add(p, 0o444, -1, f.ModTime, f)
			if err == nil {
				f.Path, f.node = p, node
				break
			}
			if !errors.Is(err, fstree.ErrDuplicate) || n > maxRenames {
				return &unpack.FormatError{Format: "nsis", Entry: f.Path, Offset: -1, Msg: err.Error(), Err: unpack.ErrFormat}
			}
			// A file where a directory is (or the reverse): suffix the path; when a parent
			// is the file in the way, flatten the path below the root instead.
			if n%2 == 0 {
				p = fmt.Sprintf("%s~%d", f.Path, n)
			} else {
				root, rest, _ := strings.Cut(f.Path, "/")
				p = fmt.Sprintf("%s/%s~%d", root, strings.ReplaceAll(rest, "/", "_"), n)
			}
		}
	}
	r.tree = t
	return nil
}

// maxRenames bounds the suffixes tried for one path that collides.
const maxRenames = 64

// budget fails a decode that goes past MaxExpanded bytes.
type budget struct {
	r    io.Reader
	left int64
}

func (b *budget) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil // some decoders report EOF for an empty read
	}
	if b.left <= 0 {
		return 0, &unpack.FormatError{Format: "nsis", Offset: -1, Msg: fmt.Sprintf("more than %d decompressed bytes", int64(MaxExpanded)), Err: unpack.ErrLimit}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// cursor reads the solid stream's data blocks forward.
type cursor struct {
	r     *Reader
	d     io.Reader
	pos   int64 // data-relative position of the next unread byte
	ahead *readAhead
}

// newCursor opens the solid stream. With ahead, a goroutine decodes ahead of the reads
// (readahead.go) and close must be called.
func (r *Reader) newCursor(ahead bool) (*cursor, error) {
	d, err := r.openSolid()
	if err != nil {
		return nil, err
	}
	c := &cursor{r: r, d: &budget{r: d, left: MaxExpanded}, pos: -4 - int64(r.HeaderLen)}
	if ahead {
		c.ahead = newReadAhead(c.d)
		c.d = c.ahead
	}
	return c, nil
}

// close stops the read-ahead goroutine, if any.
func (c *cursor) close() {
	if c.ahead != nil {
		c.ahead.Close()
	}
}

func (c *cursor) seek(pos int64, what string) error {
	if pos < c.pos {
		return errAt(what, -1, "data at 0x%x is behind the stream position 0x%x", pos, c.pos)
	}
	n, err := io.CopyN(io.Discard, c.d, pos-c.pos)
	c.pos += n
	if err != nil {
		return c.fail(what, err)
	}
	return nil
}

func (c *cursor) fail(what string, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return wrapDecode(what, c.r.dataStart, fmt.Errorf("solid stream at data offset 0x%x: %w", c.pos, err))
}

// block reads a block's length and returns a reader of its content; the caller reads it
// to the end before the next call.
func (c *cursor) block(what string) (int64, io.Reader, error) {
	var n [4]byte
	if _, err := io.ReadFull(c.d, n[:]); err != nil {
		return 0, nil, c.fail(what, err)
	}
	c.pos += 4
	size := int64(binary.LittleEndian.Uint32(n[:]) &^ compressedBit)
	return size, &counted{r: fstree.ExactReader(c.d, size, "nsis", what), pos: &c.pos}, nil
}

type counted struct {
	r   io.Reader
	pos *int64
}

func (c *counted) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.pos += int64(n)
	return n, err
}

// stub returns the installer's PE stub, patched with an uninstaller's icon patch block.
func (r *Reader) patchedStub(f *File, patch []byte) ([]byte, error) {
	if r.StubStart < 0 {
		return nil, nil
	}
	stub := make([]byte, r.Offset-r.StubStart)
	if _, err := r.r.ReadAt(stub, r.StubStart); err != nil {
		return nil, errAt(f.Path, r.StubStart, "reading the stub: %v", err)
	}
	for len(patch) >= 4 {
		n := binary.LittleEndian.Uint32(patch)
		if n == 0 {
			if len(patch) != 4 {
				break
			}
			return stub, nil
		}
		if len(patch) < 8 {
			break
		}
		off := binary.LittleEndian.Uint32(patch[4:])
		patch = patch[8:]
		if uint64(n) > uint64(len(patch)) || uint64(off)+uint64(n) > uint64(len(stub)) {
			break
		}
		copy(stub[off:], patch[:n])
		patch = patch[n:]
	}
	return nil, errAt(f.Path, -1, "uninstaller icon patch does not fit the stub")
}

func readPatch(size int64, rd io.Reader, what string) ([]byte, error) {
	if size > MaxPatchBytes {
		return nil, errLimit(what, -1, "uninstaller patch of %d bytes (limit %d)", size, MaxPatchBytes)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(rd, b); err != nil {
		return nil, err
	}
	return b, nil
}

// solidContent reads f at the cursor (already at f.Pos): its size and content.
func (r *Reader) solidContent(c *cursor, f *File) (int64, io.Reader, error) {
	if err := c.seek(int64(f.Pos), f.Path); err != nil {
		return 0, nil, err
	}
	size, rd, err := c.block(f.Path)
	if err != nil || !f.Uninstaller || f.PatchSize == 0 {
		return size, rd, err
	}
	patch, err := readPatch(size, rd, f.Path)
	if err != nil {
		return 0, nil, err
	}
	stub, err := r.patchedStub(f, patch)
	if err != nil {
		return 0, nil, err
	}
	size, rd, err = c.block(f.Path)
	if err != nil {
		return 0, nil, err
	}
	return int64(len(stub)) + size, io.MultiReader(bytes.NewReader(stub), rd), nil
}

// blockContent reads f from the non-solid data blocks. When the size of a compressed block
// is unknown (known < 0) it is counted with a first decode.
func (r *Reader) blockContent(f *File, known int64) (int64, io.Reader, error) {
	off := r.dataStart + int64(f.Pos)
	var stub []byte
	if f.Uninstaller && f.PatchSize != 0 {
		rd, size, next, err := r.openBlock(off, f.Path)
		if err != nil {
			return 0, nil, err
		}
		_ = size
		patch, err := io.ReadAll(io.LimitReader(rd, MaxPatchBytes+1))
		if err != nil {
			return 0, nil, wrapDecode(f.Path, off, err)
		}
		if len(patch) > MaxPatchBytes {
			return 0, nil, errLimit(f.Path, off, "uninstaller patch over %d bytes", MaxPatchBytes)
		}
		if stub, err = r.patchedStub(f, patch); err != nil {
			return 0, nil, err
		}
		off = next
	}
	rd, size, _, err := r.openBlock(off, f.Path)
	if err != nil {
		return 0, nil, err
	}
	if size < 0 && known >= 0 {
		size = known - int64(len(stub))
	}
	if size < 0 {
		n, err := io.Copy(io.Discard, &budget{r: rd, left: MaxExpanded})
		if err != nil {
			return 0, nil, wrapDecode(f.Path, off, err)
		}
		size = n
		if rd, _, _, err = r.openBlock(off, f.Path); err != nil {
			return 0, nil, err
		}
	}
	rd = fstree.ExactReader(&budget{r: rd, left: MaxExpanded}, size, "nsis", f.Path)
	if stub != nil {
		return int64(len(stub)) + size, io.MultiReader(bytes.NewReader(stub), rd), nil
	}
	return size, rd, nil
}

// sizes learns every file's size: a solid installer is decoded once, the blocks of a
// non-solid one each once.
func (r *Reader) sizes() error {
	r.sizeOnce.Do(func() {
		r.sizeErr = r.scanSizes()
	})
	return r.sizeErr
}

func (r *Reader) scanSizes() error {
	set := func(f *File, n int64) {
		f.size = n
		if f.node != nil {
			f.node.Size = n
		}
	}
	if !r.Solid {
		for _, f := range r.sortedByPos() {
			if f.dupOf != nil && f.dupOf.size >= 0 {
				set(f, f.dupOf.size)
				continue
			}
			n, rd, err := r.blockContent(f, -1)
			if err != nil {
				return err
			}
			_ = rd
			set(f, n)
		}
		return nil
	}
	c, err := r.newCursor(true)
	if err != nil {
		return err
	}
	defer c.close()
	for _, f := range r.sortedByPos() {
		if f.dupOf != nil {
			if f.dupOf.size < 0 {
				return errAt(f.Path, -1, "shared data was not read")
			}
			set(f, f.dupOf.size)
			continue
		}
		n, rd, err := r.solidContent(c, f)
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, rd); err != nil {
			return err
		}
		set(f, n)
	}
	return nil
}

// open returns a file's content; a solid installer is decoded from its start.
func (r *Reader) open(n *fstree.Node) (io.ReadCloser, error) {
	f := n.Data.(*File)
	if err := r.sizes(); err != nil {
		return nil, err
	}
	src := f
	if f.dupOf != nil {
		src = f.dupOf
	}
	if !r.Solid {
		_, rd, err := r.blockContent(src, f.size)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(rd), nil
	}
	c, err := r.newCursor(false)
	if err != nil {
		return nil, err
	}
	_, rd, err := r.solidContent(c, src)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(rd), nil
}

// Open implements fs.FS. Opening a file of a solid installer decodes the stream from its
// start; use Walk to read every file.
func (r *Reader) Open(name string) (fs.File, error) {
	if err := r.sizes(); err != nil {
		if n, ok := r.tree.Lookup(name); ok && !n.Mode.IsDir() {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
	}
	return r.tree.OpenFile(name, r.open)
}

// Stat implements fs.StatFS. The first call learns every file's size (see Walk).
func (r *Reader) Stat(name string) (fs.FileInfo, error) {
	if err := r.sizes(); err != nil {
		if n, ok := r.tree.Lookup(name); ok && !n.Mode.IsDir() {
			return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
		}
	}
	return r.tree.Stat(name)
}

// ReadDir implements fs.ReadDirFS.
func (r *Reader) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := r.sizes(); err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return r.tree.ReadDir(name)
}

// Walk implements unpack.Walker: every file in data order, a solid installer decoded once
// and streamed (files sharing one data block are delivered from a buffer of at most
// MaxDupBufferBytes, else decoded again). A non-solid compressed block whose size is not yet
// known is decoded twice (once to count).
func (r *Reader) Walk(fn func(path string, size int64, rd io.Reader) error) error {
	files := r.sortedByPos()
	if !r.Solid {
		for _, f := range files {
			src := f
			if f.dupOf != nil {
				src = f.dupOf
			}
			known := f.size
			if known < 0 && src.size >= 0 {
				known = src.size
			}
			size, rd, err := r.blockContent(src, known)
			if err != nil {
				return err
			}
			if f.size < 0 {
				f.size = size
				f.node.Size = size
			}
			if err := fn(f.Path, size, rd); err != nil {
				return err
			}
		}
		return nil
	}
	c, err := r.newCursor(true)
	if err != nil {
		return err
	}
	defer c.close()
	shared := map[*File]bool{}
	for _, f := range files {
		if f.dupOf != nil {
			shared[f.dupOf] = true
		}
	}
	dups := unpack.NewDups(MaxDupBufferBytes, shared)
	for _, f := range files {
		if g := f.dupOf; g != nil {
			if err := dups.Repeat(g, f.Path, f.size, func() (io.ReadCloser, error) { return r.open(f.node) }, fn); err != nil {
				return err
			}
			continue
		}
		size, rd, err := r.solidContent(c, f)
		if err != nil {
			return err
		}
		rd, kept := dups.Tee(f, size, rd)
		if f.size < 0 {
			f.size = size
			f.node.Size = size
		}
		if err := fn(f.Path, size, rd); err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, rd); err != nil {
			return err
		}
		kept()
	}
	return nil
}
