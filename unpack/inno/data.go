package inno

import (
	"bytes"
	"compress/bzip2"
	"compress/zlib"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"sort"

	"github.com/ulikunitz/xz/lzma"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/fstree"
)

// File data (innoextract src/stream/chunk.cpp, file.cpp, exefilter.hpp): a chunk at
// setup-1 + its offset opens with "zlb\x1a", then its compressed bytes; the files it holds
// sit at their offsets in the decompressed chunk.

var chunkMagic = []byte("zlb\x1a")

// unreadable says why f's data cannot be read, or nil.
func (r *Reader) unreadable(f *File) error {
	d := &r.data[f.Location]
	switch {
	case r.DataOffset == 0 && r.slices == nil:
		return errs.Unsupported(f.Path, -1, "file data in slice files beside the installer (setup-1.bin, disk spanning), and no folder to find them in was given")
	case r.DataOffset != 0 && (d.firstSlice != 0 || d.lastSlice != 0):
		return errs.Format(f.Path, -1, "file data in slices %d to %d of an installer that carries its data", d.firstSlice, d.lastSlice)
	case d.encrypted:
		return errs.Unsupported(f.Path, r.DataOffset+int64(d.chunkOffset), "encrypted chunk (password-protected installer)")
	}
	return nil
}

// chunk is an opened, decompressing chunk.
type chunk struct {
	key [2]uint64 // first slice, chunk offset
	rd  io.Reader
	pos uint64 // decompressed bytes consumed
}

// mostFromChunk is the decompressed size of the chunk holding d: the end of its last file.
func (r *Reader) mostFromChunk(d *dataEntry) int64 {
	var most uint64
	for i := range r.data {
		e := &r.data[i]
		if e.firstSlice == d.firstSlice && e.chunkOffset == d.chunkOffset {
			most = max(most, e.offset+e.size)
		}
	}
	return int64(min(most, uint64(MaxExpanded)))
}

// openChunk opens the chunk holding d, decompressing from its start.
func (r *Reader) openChunk(d *dataEntry, what string) (*chunk, error) {
	src, off, err := r.chunkSource(d, what)
	if err != nil {
		return nil, err
	}
	var rd io.Reader = src
	method := "stored"
	if d.compressed {
		method = r.Header.Compression
	}
	most := min(r.mostFromChunk(d), expansion(int64(min(d.chunkSize, 1<<62)), MaxExpanded))
	switch method {
	case "zlib":
		z, err := zlib.NewReader(src)
		if err != nil {
			return nil, wrapDecode(what, off+4, fmt.Errorf("zlib: %w", err))
		}
		rd = z
	case "bzip2":
		rd = bzip2.NewReader(src)
	case "lzma1":
		var props [5]byte
		if _, err := io.ReadFull(src, props[:]); err != nil {
			return nil, wrapDecode(what, off+4, fmt.Errorf("LZMA properties: %w", err))
		}
		z, err := newLZMA1(src, props, most)
		if err != nil {
			return nil, wrapDecode(what, off+4, err)
		}
		rd = z
	case "lzma2":
		var p [1]byte
		if _, err := io.ReadFull(src, p[:]); err != nil {
			return nil, wrapDecode(what, off+4, fmt.Errorf("LZMA2 property: %w", err))
		}
		if p[0] > 40 {
			return nil, errs.Format(what, off+4, "LZMA2 dictionary property %d", p[0])
		}
		dict := int64(0xFFFFFFFF)
		if p[0] < 40 {
			dict = int64(2|p[0]&1) << (p[0]/2 + 11)
		}
		if dict > MaxDictBytes {
			return nil, errs.Limit(what, off+4, "LZMA2 dictionary of %d bytes (limit %d)", dict, int64(MaxDictBytes))
		}
		z, err := lzma.Reader2Config{DictCap: int(max(min(dict, most), lzma.MinDictCap))}.NewReader2(src)
		if err != nil {
			return nil, wrapDecode(what, off+4, err)
		}
		rd = z
	}
	if sp, ok := src.(*span); ok {
		rd = &spanErr{r: rd, sp: sp}
	}
	return &chunk{key: [2]uint64{uint64(d.firstSlice), uint64(d.chunkOffset)},
		rd: &budget{r: rd, left: expansion(int64(min(d.chunkSize, 1<<62)), MaxExpanded), what: what}}, nil
}

// chunkSource returns the compressed bytes of d's chunk, after its magic, and the offset
// errors name: in the installer, or in the first of the slice files beside it.
func (r *Reader) chunkSource(d *dataEntry, what string) (io.Reader, int64, error) {
	if r.DataOffset == 0 {
		src, err := r.externalChunk(d, what)
		return src, int64(min(d.chunkOffset, 1<<62)), err
	}
	off := r.DataOffset + int64(d.chunkOffset)
	var m [4]byte
	if off < 0 || off+4 > r.size {
		return nil, off, errs.Format(what, off, "chunk beyond the end of the file")
	}
	if _, err := r.r.ReadAt(m[:], off); err != nil || !bytes.Equal(m[:], chunkMagic) {
		return nil, off, errs.Format(what, off, "no chunk magic \"zlb\\x1a\"")
	}
	if d.chunkSize > uint64(r.size-off-4) {
		return nil, off, errs.Format(what, off, "chunk of %d bytes beyond the end of the file", d.chunkSize)
	}
	return io.NewSectionReader(r.r, off+4, int64(d.chunkSize)), off, nil
}

// budget fails a decode that goes past MaxExpanded bytes.
type budget struct {
	r    io.Reader
	left int64
	what string
}

func (b *budget) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.left <= 0 {
		return 0, errs.Limit(b.what, -1, "chunk decompresses past its limit (%d bytes, %d per compressed byte)", int64(MaxExpanded), MaxRatio)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// content returns f's bytes from the chunk c (positioned at or before f's data): exactly
// f.Size bytes, the call filter undone, the checksum verified at the end.
func (r *Reader) content(c *chunk, f *File) (io.Reader, error) {
	d := &r.data[f.Location]
	if d.offset < c.pos {
		return nil, errs.Format(f.Path, -1, "data at chunk offset %d behind the stream position %d", d.offset, c.pos)
	}
	n, err := io.CopyN(io.Discard, c.rd, int64(d.offset-c.pos))
	c.pos += uint64(n)
	if err != nil {
		return nil, wrapDecode(f.Path, r.DataOffset+int64(d.chunkOffset), fmt.Errorf("skipping to the file's data: %w", err))
	}
	var rd io.Reader = &counting{r: fstree.ExactReader(c.rd, int64(d.size), "inno", f.Path), pos: &c.pos}
	if d.callFilter {
		rd = newCallFilter(rd, d.flipFilter)
	}
	var h hash.Hash
	switch len(d.sum) {
	case sha256.Size:
		h = sha256.New()
	case md5.Size:
		h = md5.New()
	default:
		h = sha1.New()
	}
	return &verified{r: rd, h: h, want: d.sum, what: f.Path, off: r.DataOffset + int64(d.chunkOffset)}, nil
}

type counting struct {
	r   io.Reader
	pos *uint64
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.pos += uint64(n)
	return n, err
}

// verified checks the file's checksum when its content ends.
type verified struct {
	r    io.Reader
	h    hash.Hash
	want []byte
	what string
	off  int64 // the chunk's file offset, for errors
	err  error
}

func (v *verified) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF {
		if got := v.h.Sum(nil); !bytes.Equal(got, v.want) {
			v.err = errs.Format(v.what, v.off, "checksum mismatch in the chunk: content hashes to %x, the setup data says %x", got, v.want)
			return n, v.err
		}
	}
	if err != nil {
		v.err = err
	}
	return n, err
}

// open returns a file's content. Its chunk is decompressed from the start, or from where the
// file last closed left it when that was before this file's data (the chunk is parked on
// Close), so files opened in data order decompress a solid chunk once.
func (r *Reader) open(n *fstree.Node) (io.ReadCloser, error) {
	f := n.Data.(*File)
	if err := r.unreadable(f); err != nil {
		return nil, err
	}
	d := &r.data[f.Location]
	c := r.parked
	r.parked = nil
	if c == nil || c.key != [2]uint64{uint64(d.firstSlice), uint64(d.chunkOffset)} || d.offset < c.pos {
		var err error
		if c, err = r.openChunk(d, f.Path); err != nil {
			return nil, err
		}
	}
	rd, err := r.content(c, f)
	if err != nil {
		return nil, err
	}
	return &parking{Reader: rd, r: r, c: c}, nil
}

// parking is an opened file; Close parks its chunk for the next open.
type parking struct {
	io.Reader
	r *Reader
	c *chunk
}

func (p *parking) Close() error {
	if p.c != nil {
		p.r.parked, p.c = p.c, nil
	}
	return nil
}

// Open implements fs.FS. Opening a file of a solid chunk decompresses the chunk from its
// start; use Walk to read every file.
func (r *Reader) Open(name string) (fs.File, error) { return r.tree.OpenFile(name, r.open) }

// Stat implements fs.StatFS.
func (r *Reader) Stat(name string) (fs.FileInfo, error) { return r.tree.Stat(name) }

// ReadDir implements fs.ReadDirFS.
func (r *Reader) ReadDir(name string) ([]fs.DirEntry, error) { return r.tree.ReadDir(name) }

var (
	_ fs.ReadDirFS  = (*Reader)(nil)
	_ fs.StatFS     = (*Reader)(nil)
	_ unpack.Walker = (*Reader)(nil)
)

// Walk implements unpack.Walker: every readable file in data order, each chunk decompressed
// once (files sharing one data location are delivered from a buffer of at most
// MaxDupBufferBytes, else decoded again). Files Skipped names (encrypted) are not
// delivered. Data in slice files beside the installer (disk spanning) is read from the
// folder NewReaderFS was given; without one, Walk fails with unpack.ErrUnsupported.
func (r *Reader) Walk(fn func(path string, size int64, rd io.Reader) error) error {
	var files []*File
	shared := map[*File]bool{}
	for _, f := range r.Files {
		if err := r.unreadable(f); err != nil {
			if r.data[f.Location].encrypted && (r.DataOffset != 0 || r.slices != nil) {
				continue // listed by Skipped
			}
			return err
		}
		if f.dupOf != nil {
			shared[f.dupOf] = true
		}
		files = append(files, f)
	}
	sort.SliceStable(files, func(i, j int) bool {
		a, b := &r.data[files[i].Location], &r.data[files[j].Location]
		if a.firstSlice != b.firstSlice {
			return a.firstSlice < b.firstSlice
		}
		if a.chunkOffset != b.chunkOffset {
			return a.chunkOffset < b.chunkOffset
		}
		return a.offset < b.offset
	})
	var c *chunk
	dups := unpack.NewDups(MaxDupBufferBytes, shared)
	for _, f := range files {
		if g := f.dupOf; g != nil {
			if err := dups.Repeat(g, f.Path, f.Size, func() (io.ReadCloser, error) { return r.open(f.node) }, fn); err != nil {
				return err
			}
			continue
		}
		d := &r.data[f.Location]
		key := [2]uint64{uint64(d.firstSlice), uint64(d.chunkOffset)}
		if c == nil || c.key != key || d.offset < c.pos {
			var err error
			if c, err = r.openChunk(d, f.Path); err != nil {
				return err
			}
		}
		rd, err := r.content(c, f)
		if err != nil {
			return err
		}
		rd, kept := dups.Tee(f, f.Size, rd)
		if err := fn(f.Path, f.Size, rd); err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, rd); err != nil {
			return err
		}
		kept()
	}
	return nil
}
