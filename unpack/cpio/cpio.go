// Package cpio reads cpio archives from hostile input: as a stream (Stream, for the
// compressed payloads of macOS packages) and as an fs.FS over random-access bytes (Reader).
//
// Formats: the POSIX.1 "odc" portable format (magic "070707", 76-byte octal header, no
// padding), which Apple's pax and mkbom payloads use, and the SVR4 "newc" format (magic
// "070701", or "070702" with a checksum that is not checked; 110-byte hex header, name and
// data padded to 4 bytes). The old binary format is refused. The archive ends at the
// "TRAILER!!!" entry; bytes after it are ignored.
//
// Errata handled: names are stored with and without a leading "./" or "/" (both dropped; ".."
// refused); the "." root entry is skipped; a newc hard-link group stores its data in the
// last member only, and the earlier members are reported with their stored size (zero).
package cpio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/fstree"
)

// Limits.
const (
	// MaxNameBytes bounds one stored name (PATH_MAX is 1024 on macOS).
	MaxNameBytes = 4096
	// MaxLinkBytes bounds a symbolic link's target.
	MaxLinkBytes = 4096
	// MaxEntries bounds the entries of one archive.
	MaxEntries = unpack.MaxEntries
)

// Header describes one archive entry.
type Header struct {
	// Name is the cleaned fs.FS path ("." for the root entry).
	Name    string
	Raw     string // the name as stored
	Mode    fs.FileMode
	Size    int64
	Link    string // symbolic link target
	ModTime time.Time
	Ino     uint64
	Nlink   uint64
	// Offset is the byte offset of the header in the stream; DataOffset that of the data.
	Offset, DataOffset int64
}

// Stream reads a cpio archive sequentially.
type Stream struct {
	r       *countReader
	left    int64 // unread data of the current entry
	pad     int64 // padding after the current entry's data
	done    bool
	err     error
	entries int
}

type countReader struct {
	r   *bufio.Reader
	off int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.off += int64(n)
	return n, err
}

// NewStream returns a Stream reading from r.
func NewStream(r io.Reader) *Stream {
	return &Stream{r: &countReader{r: bufio.NewReaderSize(r, 64<<10)}}
}

func errAt(entry string, off int64, format string, args ...any) error {
	return &unpack.FormatError{Format: "cpio", Entry: entry, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// Next advances to the next entry and returns its header and a reader of its data, valid
// until the next call. It returns io.EOF after the trailer.
func (s *Stream) Next() (*Header, io.Reader, error) {
	if s.err != nil {
		return nil, nil, s.err
	}
	h, err := s.next()
	if err != nil {
		s.err = err
		return nil, nil, err
	}
	return h, &dataReader{s: s}, nil
}

func (s *Stream) next() (*Header, error) {
	if s.done {
		return nil, io.EOF
	}
	if _, err := io.CopyN(io.Discard, s.r, s.left+s.pad); err != nil {
		return nil, errAt("", s.r.off, "archive ends inside an entry: %v", err)
	}
	s.left, s.pad = 0, 0
	if s.entries >= MaxEntries {
		return nil, &unpack.FormatError{Format: "cpio", Offset: s.r.off, Msg: fmt.Sprintf("more than %d entries", MaxEntries), Err: unpack.ErrLimit}
	}
	s.entries++
	h := &Header{Offset: s.r.off}
	var magic [6]byte
	if _, err := io.ReadFull(s.r, magic[:]); err != nil {
		return nil, errAt("", h.Offset, "archive ends without a trailer")
	}
	var nameSize int64
	var newc bool
	switch string(magic[:]) {
	case "070707":
		var b [70]byte
		if _, err := io.ReadFull(s.r, b[:]); err != nil {
			return nil, errAt("", h.Offset, "truncated odc header")
		}
		f := []int{6, 6, 6, 6, 6, 6, 6, 11, 6, 11}
		var v [10]uint64
		pos := 0
		for i, w := range f {
			x, err := strconv.ParseUint(string(b[pos:pos+w]), 8, 64)
			if err != nil {
				return nil, errAt("", h.Offset+6+int64(pos), "odc field %d %q is not octal", i, b[pos:pos+w])
			}
			v[i] = x
			pos += w
		}
		h.Ino, h.Nlink = v[1], v[5]
		h.Mode = mode(uint32(v[2]))
		h.ModTime = time.Unix(int64(v[7]), 0).UTC()
		nameSize, h.Size = int64(v[8]), int64(v[9])
	case "070701", "070702":
		newc = true
		var b [104]byte
		if _, err := io.ReadFull(s.r, b[:]); err != nil {
			return nil, errAt("", h.Offset, "truncated newc header")
		}
		var v [13]uint64
		for i := range v {
			x, err := strconv.ParseUint(string(b[8*i:8*i+8]), 16, 64)
			if err != nil {
				return nil, errAt("", h.Offset+6+int64(8*i), "newc field %d %q is not hex", i, b[8*i:8*i+8])
			}
			v[i] = x
		}
		h.Ino, h.Nlink = v[0], v[4]
		h.Mode = mode(uint32(v[1]))
		h.ModTime = time.Unix(int64(v[5]), 0).UTC()
		h.Size, nameSize = int64(v[6]), int64(v[11])
	default:
		return nil, errAt("", h.Offset, "bad magic %q", magic[:])
	}
	if nameSize < 1 || nameSize > MaxNameBytes {
		return nil, &unpack.FormatError{Format: "cpio", Offset: h.Offset, Msg: fmt.Sprintf("name of %d bytes (limit %d)", nameSize, MaxNameBytes), Err: limitOrFormat(nameSize > MaxNameBytes)}
	}
	name := make([]byte, nameSize)
	if _, err := io.ReadFull(s.r, name); err != nil {
		return nil, errAt("", h.Offset, "truncated name")
	}
	if name[nameSize-1] != 0 {
		return nil, errAt("", h.Offset, "name is not NUL-terminated")
	}
	h.Raw = string(name[:nameSize-1])
	if newc {
		hdr := int64(110) + nameSize
		if _, err := io.CopyN(io.Discard, s.r, (4-hdr%4)%4); err != nil {
			return nil, errAt(h.Raw, h.Offset, "truncated name padding")
		}
		s.pad = (4 - h.Size%4) % 4
	}
	h.DataOffset = s.r.off
	if h.Raw == "TRAILER!!!" {
		s.done = true
		return nil, io.EOF
	}
	if h.Size > unpack.MaxExpandedBytes {
		return nil, &unpack.FormatError{Format: "cpio", Entry: h.Raw, Offset: h.Offset, Msg: fmt.Sprintf("entry of %d bytes", h.Size), Err: unpack.ErrLimit}
	}
	clean, err := fstree.Clean(h.Raw)
	if err != nil {
		return nil, &unpack.FormatError{Format: "cpio", Entry: h.Raw, Offset: h.Offset, Msg: "name leaves the archive root", Err: unpack.ErrInsecurePath}
	}
	h.Name = clean
	s.left = h.Size
	switch {
	case h.Mode&fs.ModeSymlink != 0:
		if h.Size > MaxLinkBytes {
			return nil, &unpack.FormatError{Format: "cpio", Entry: h.Raw, Offset: h.Offset, Msg: fmt.Sprintf("link target of %d bytes", h.Size), Err: unpack.ErrLimit}
		}
		t := make([]byte, h.Size)
		if _, err := io.ReadFull(s.r, t); err != nil {
			return nil, errAt(h.Raw, h.DataOffset, "truncated link target")
		}
		h.Link = string(t)
		// The data reader replays the target.
		s.left = 0
	}
	return h, nil
}

func limitOrFormat(limit bool) error {
	if limit {
		return unpack.ErrLimit
	}
	return unpack.ErrFormat
}

// mode converts a stat mode to an fs.FileMode.
func mode(m uint32) fs.FileMode {
	perm := fs.FileMode(m & 0o777)
	switch m & 0o170000 {
	case 0o040000:
		return fs.ModeDir | perm
	case 0o120000:
		return fs.ModeSymlink | perm
	case 0o100000, 0:
		return perm
	case 0o010000:
		return fs.ModeNamedPipe | perm
	case 0o020000:
		return fs.ModeDevice | fs.ModeCharDevice | perm
	case 0o060000:
		return fs.ModeDevice | perm
	case 0o140000:
		return fs.ModeSocket | perm
	}
	return fs.ModeIrregular | perm
}

type dataReader struct{ s *Stream }

func (d *dataReader) Read(b []byte) (int, error) {
	s := d.s
	if s.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > s.left {
		b = b[:s.left]
	}
	n, err := s.r.Read(b)
	s.left -= int64(n)
	if err == io.EOF && s.left > 0 {
		s.err = errAt("", s.r.off, "archive ends inside an entry")
		return n, s.err
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// Reader is a cpio archive over random-access bytes. It implements fs.FS, fs.ReadDirFS,
// fs.StatFS and unpack.Walker.
type Reader struct {
	r     io.ReaderAt
	size  int64
	tree  *fstree.Tree
	files []*fstree.Node
}

// NewReader indexes the cpio archive in r.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	cr := &Reader{r: r, size: size, tree: fstree.New(MaxEntries)}
	s := NewStream(io.NewSectionReader(r, 0, size))
	for {
		h, _, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Name == "." {
			continue
		}
		n, err := AddToTree(cr.tree, h.Name, h)
		if err != nil {
			return nil, err
		}
		if n.Mode.IsRegular() {
			cr.files = append(cr.files, n)
		}
	}
	return cr, nil
}

// AddToTree adds h at path p to t, with h as the node's Data (links carry their target).
func AddToTree(t *fstree.Tree, p string, h *Header) (*fstree.Node, error) {
	size := h.Size
	if h.Mode.IsDir() {
		size = 0
	}
	n, err := t.Add(p, h.Mode, size, h.ModTime, h)
	if err != nil {
		return nil, &unpack.FormatError{Format: "cpio", Entry: h.Raw, Offset: h.Offset, Msg: err.Error(), Err: sentinel(err)}
	}
	n.Link = h.Link
	return n, nil
}

func sentinel(err error) error {
	for _, s := range []error{unpack.ErrLimit, unpack.ErrInsecurePath, unpack.ErrUnsupported} {
		if errors.Is(err, s) {
			return s
		}
	}
	return unpack.ErrFormat
}

func (cr *Reader) open(n *fstree.Node) (io.ReadCloser, error) {
	h := n.Data.(*Header)
	if n.Mode&fs.ModeSymlink != 0 {
		return io.NopCloser(strings.NewReader(h.Link)), nil
	}
	if !n.Mode.IsRegular() {
		return io.NopCloser(strings.NewReader("")), nil
	}
	return io.NopCloser(io.NewSectionReader(cr.r, h.DataOffset, h.Size)), nil
}

// Open implements fs.FS.
func (cr *Reader) Open(name string) (fs.File, error) { return cr.tree.OpenFile(name, cr.open) }

// Stat implements fs.StatFS.
func (cr *Reader) Stat(name string) (fs.FileInfo, error) { return cr.tree.Stat(name) }

// ReadDir implements fs.ReadDirFS.
func (cr *Reader) ReadDir(name string) ([]fs.DirEntry, error) { return cr.tree.ReadDir(name) }

// Walk implements unpack.Walker in storage order.
func (cr *Reader) Walk(fn func(path string, size int64, r io.Reader) error) error {
	for _, n := range cr.files {
		h := n.Data.(*Header)
		if err := fn(n.Path, h.Size, io.NewSectionReader(cr.r, h.DataOffset, h.Size)); err != nil {
			return err
		}
	}
	return nil
}

// Open opens the cpio archive in the named file; Close closes it.
func Open(name string) (*unpack.ReadCloser[*Reader], error) { return unpack.OpenFile(name, NewReader) }

// The reader contract every format keeps.
var (
	_ fs.ReadDirFS  = (*Reader)(nil)
	_ fs.StatFS     = (*Reader)(nil)
	_ unpack.Walker = (*Reader)(nil)
)
