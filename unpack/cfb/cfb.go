// Package cfb reads Compound File Binary files ([MS-CFB] v3 and v4, the container of MSI,
// MSP and legacy Office documents) from hostile input.
//
// It follows [MS-CFB] revision 10.0 sections 2.2 (header), 2.3 (FAT), 2.4 (mini FAT), 2.5
// (DIFAT) and 2.6 (directory). Every chain walk is bounded by the number of sectors the file
// can hold and keeps a visited set, so a loop in the FAT, the DIFAT, the mini FAT or the
// directory tree is a FormatError rather than an endless loop. Errata handled as other readers
// do: the upper 32 bits of a stream size are ignored in version 3 files (older writers left
// garbage there), a last sector cut short by the end of the file is tolerated until a read
// actually needs its missing bytes, and a directory chain longer than its entries is accepted.
package cfb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"unicode/utf16"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/fstree"
)

// EntryType is the object type of a directory entry ([MS-CFB] 2.6.1).
type EntryType uint8

const (
	TypeStorage EntryType = 1
	TypeStream  EntryType = 2
	TypeRoot    EntryType = 5
)

func (t EntryType) String() string {
	switch t {
	case TypeStorage:
		return "storage"
	case TypeStream:
		return "stream"
	case TypeRoot:
		return "root"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Limits.
const (
	// MaxDirEntries bounds the directory entries read from one file.
	MaxDirEntries = unpack.MaxEntries
	// MaxDepth bounds the nesting of storages.
	MaxDepth = 64
)

// Sector numbers with special meaning ([MS-CFB] 2.1).
const (
	maxRegSect = 0xFFFFFFFA
	difSect    = 0xFFFFFFFC
	fatSect    = 0xFFFFFFFD
	endOfChain = 0xFFFFFFFE
	freeSect   = 0xFFFFFFFF
	noStream   = 0xFFFFFFFF

	headerSize     = 512
	dirEntrySize   = 128
	miniSectorSize = 64
	miniCutoff     = 4096
	headerDIFAT    = 109
)

var signature = [8]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// Entry is one directory entry: the root, a storage or a stream.
type Entry struct {
	// Name is decoded from the UTF-16 directory name as is (invalid UTF-16 becomes U+FFFD).
	Name string
	// RawName holds the name's UTF-16 code units without the terminating NUL.
	RawName []uint16
	Type    EntryType
	CLSID   [16]byte
	Size    int64
	// Children is the in-order walk of the child red-black tree (the spec's name order).
	Children []*Entry
	// StateBits, Created and Modified are stored as is ([MS-CFB] 2.6.3; the times are raw
	// FILETIMEs): the MsiDigitalSignatureEx prehash covers these bytes.
	StateBits uint32
	Created   [8]byte
	Modified  [8]byte

	start uint32
	id    uint32
}

// Reader reads one compound file.
type Reader struct {
	r    io.ReaderAt
	size int64

	shift    uint   // sector shift: 9 or 12
	ssz      int64  // sector size
	nSectors uint32 // sectors the file can hold after the header

	fat     []uint32
	miniFAT []uint32
	entries []*Entry // by directory id; nil for unallocated ids
	root    *Entry
	mini    *Stream // the mini stream (root entry's data)

	fsys *fstree.Tree
}

// NewReader reads the header, the allocation tables and the directory of the compound file
// held by r, which is size bytes long. Streams are read lazily through OpenStream.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	if size < headerSize {
		return nil, errs.Format("", 0, "file of %d bytes is shorter than the header", size)
	}
	var h [headerSize]byte
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return nil, fmt.Errorf("cfb: reading header: %w", errors.Join(unpack.ErrFormat, err))
	}
	if [8]byte(h[:8]) != signature {
		return nil, errs.Format("", 0, "not a compound file (bad signature)")
	}
	le := binary.LittleEndian
	major := le.Uint16(h[0x1A:])
	if le.Uint16(h[0x1C:]) != 0xFFFE {
		return nil, errs.Format("", 0x1C, "bad byte order mark")
	}
	shift := uint(le.Uint16(h[0x1E:]))
	switch {
	case major == 3 && shift == 9, major == 4 && shift == 12:
	default:
		return nil, errs.Format("", 0x1A, "unsupported version %d with sector shift %d", major, shift)
	}
	if ms := le.Uint16(h[0x20:]); ms != 6 {
		return nil, errs.Format("", 0x20, "mini sector shift %d, want 6", ms)
	}
	if c := le.Uint32(h[0x38:]); c != miniCutoff {
		return nil, errs.Format("", 0x38, "mini stream cutoff %d, want %d", c, miniCutoff)
	}
	cr := &Reader{r: r, size: size, shift: shift, ssz: 1 << shift}
	n := (size - cr.ssz + cr.ssz - 1) >> shift
	if n < 0 {
		n = 0
	}
	if n > maxRegSect {
		n = maxRegSect
	}
	cr.nSectors = uint32(n)

	if err := cr.readFAT(h[:]); err != nil {
		return nil, err
	}
	if err := cr.readDirectory(le.Uint32(h[0x30:])); err != nil {
		return nil, err
	}
	if err := cr.readMiniFAT(le.Uint32(h[0x3C:]), le.Uint32(h[0x40:])); err != nil {
		return nil, err
	}
	fsys, err := newFSTree(cr)
	if err != nil {
		return nil, err
	}
	cr.fsys = fsys
	return cr, nil
}

// sectorOffset is where sector s starts in the file.
func (r *Reader) sectorOffset(s uint32) int64 { return (int64(s) + 1) << r.shift }

// readSector reads sector s into buf (len ssz); a sector cut short by the end of the file
// is an error only for the bytes that are missing.
func (r *Reader) readSector(what string, s uint32, buf []byte) error {
	if s >= r.nSectors {
		return errs.Format(what, -1, "sector %d out of range (file holds %d)", s, r.nSectors)
	}
	off := r.sectorOffset(s)
	n, err := r.r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || err == io.EOF {
		return errs.Format(what, off+int64(n), "sector %d truncated", s)
	}
	return fmt.Errorf("cfb: reading %s sector %d: %w", what, s, err)
}

func (r *Reader) readFAT(h []byte) error {
	le := binary.LittleEndian
	perSector := uint32(r.ssz / 4)
	nFAT := le.Uint32(h[0x2C:])
	if nFAT > r.nSectors {
		nFAT = r.nSectors
	}
	fatSectors := make([]uint32, 0, min(nFAT, headerDIFAT))
	for i := 0; i < headerDIFAT && uint32(len(fatSectors)) < nFAT; i++ {
		s := le.Uint32(h[0x4C+4*i:])
		if s == freeSect || s == endOfChain {
			break
		}
		fatSectors = append(fatSectors, s)
	}
	// DIFAT chain.
	difat := le.Uint32(h[0x44:])
	visited := newBitset(r.nSectors)
	buf := make([]byte, r.ssz)
	for uint32(len(fatSectors)) < nFAT && difat != endOfChain && difat != freeSect {
		if difat >= r.nSectors {
			return errs.Format("DIFAT", 0x44, "DIFAT sector %d out of range", difat)
		}
		if visited.testAndSet(difat) {
			return errs.Format("DIFAT", r.sectorOffset(difat), "DIFAT chain loops at sector %d", difat)
		}
		if err := r.readSector("DIFAT", difat, buf); err != nil {
			return err
		}
		for i := uint32(0); i < perSector-1 && uint32(len(fatSectors)) < nFAT; i++ {
			s := le.Uint32(buf[4*i:])
			if s == freeSect || s == endOfChain {
				break
			}
			fatSectors = append(fatSectors, s)
		}
		difat = le.Uint32(buf[r.ssz-4:])
	}
	// Only as many FAT sectors as the file's sectors need are read; the rest could only
	// describe sectors that do not exist.
	if need := int((r.nSectors + perSector - 1) / perSector); len(fatSectors) > need {
		fatSectors = fatSectors[:need]
	}
	entries := uint64(len(fatSectors)) * uint64(perSector)
	if entries > uint64(r.nSectors) {
		entries = uint64(r.nSectors)
	}
	r.fat = make([]uint32, entries)
	for i, s := range fatSectors {
		if err := r.readSector("FAT", s, buf); err != nil {
			return err
		}
		base := uint32(i) * perSector
		for j := uint32(0); j < perSector && base+j < uint32(len(r.fat)); j++ {
			r.fat[base+j] = le.Uint32(buf[4*j:])
		}
	}
	return nil
}

// chain returns the first want sectors of the chain starting at start in table (the FAT, or
// the mini FAT when limit is the mini stream's sector count). want < 0 follows the chain to
// its end. A loop, an out-of-range link or a chain shorter than want is a FormatError.
func chain(what string, table []uint32, start uint32, want int64, limit uint32, unit int64) ([]uint32, error) {
	if want > int64(limit) {
		return nil, errs.Format(what, -1, "needs %d sectors, the file holds %d", want, limit)
	}
	var out []uint32
	if want >= 0 {
		out = make([]uint32, 0, want)
	}
	visited := newBitset(limit)
	s := start
	for want < 0 || int64(len(out)) < want {
		if s == endOfChain {
			if want < 0 {
				return out, nil
			}
			return nil, errs.Format(what, -1, "stream truncated: chain ends after %d of %d sectors (stream offset 0x%x)", len(out), want, int64(len(out))*unit)
		}
		if s >= limit || s >= uint32(len(table)) {
			return nil, errs.Format(what, -1, "sector %d out of range (stream offset 0x%x)", s, int64(len(out))*unit)
		}
		if visited.testAndSet(s) {
			return nil, errs.Format(what, -1, "sector chain loops at sector %d (stream offset 0x%x)", s, int64(len(out))*unit)
		}
		out = append(out, s)
		s = table[s]
	}
	return out, nil
}

func (r *Reader) readDirectory(start uint32) error {
	sectors, err := chain("directory", r.fat, start, -1, r.nSectors, r.ssz)
	if err != nil {
		return err
	}
	perSector := int(r.ssz / dirEntrySize)
	n := len(sectors) * perSector
	if n > MaxDirEntries {
		return errs.Limit("directory", -1, "%d directory entries exceed the limit of %d", n, MaxDirEntries)
	}
	if n == 0 {
		return errs.Format("directory", -1, "empty directory")
	}
	r.entries = make([]*Entry, n)
	type links struct{ left, right, child uint32 }
	lk := make([]links, n)
	le := binary.LittleEndian
	buf := make([]byte, r.ssz)
	for si, s := range sectors {
		if err := r.readSector("directory", s, buf); err != nil {
			return err
		}
		for k := 0; k < perSector; k++ {
			id := si*perSector + k
			d := buf[k*dirEntrySize : (k+1)*dirEntrySize]
			typ := EntryType(d[0x42])
			if typ == 0 {
				continue
			}
			off := r.sectorOffset(s) + int64(k*dirEntrySize)
			if typ != TypeStorage && typ != TypeStream && typ != TypeRoot {
				return errs.Format("directory", off+0x42, "entry %d has object type %d", id, typ)
			}
			nameLen := int(le.Uint16(d[0x40:]))
			if nameLen > 64 || nameLen%2 != 0 {
				return errs.Format("directory", off+0x40, "entry %d has name length %d", id, nameLen)
			}
			units := nameLen / 2
			if units > 0 {
				units-- // terminating NUL
			}
			raw := make([]uint16, units)
			for i := range raw {
				raw[i] = le.Uint16(d[2*i:])
			}
			e := &Entry{
				Name:    string(utf16.Decode(raw)),
				RawName: raw,
				Type:    typ,
				start:   le.Uint32(d[0x74:]),
				id:      uint32(id),
			}
			copy(e.CLSID[:], d[0x50:0x60])
			e.StateBits = le.Uint32(d[0x60:])
			copy(e.Created[:], d[0x64:0x6C])
			copy(e.Modified[:], d[0x6C:0x74])
			sz := le.Uint64(d[0x78:])
			if r.shift == 9 {
				sz &= 0xFFFFFFFF
			}
			if sz > uint64(r.size) && typ != TypeStorage {
				return errs.Format(e.Name, off+0x78, "stream size %d exceeds the file size %d", sz, r.size)
			}
			if typ == TypeStorage {
				sz = 0
			}
			e.Size = int64(sz)
			r.entries[id] = e
			lk[id] = links{le.Uint32(d[0x44:]), le.Uint32(d[0x48:]), le.Uint32(d[0x4C:])}
		}
	}
	root := r.entries[0]
	if root == nil || root.Type != TypeRoot {
		return errs.Format("directory", r.sectorOffset(sectors[0]), "entry 0 is not the root")
	}
	r.root = root

	visited := newBitset(uint32(n))
	visited.testAndSet(0)
	var build func(e *Entry, depth int) error
	build = func(e *Entry, depth int) error {
		if depth > MaxDepth {
			return errs.Limit(e.Name, -1, "storages nested deeper than %d", MaxDepth)
		}
		// In-order walk of the child tree with an explicit stack.
		var stack []uint32
		cur := lk[e.id].child
		for cur != noStream || len(stack) > 0 {
			for cur != noStream {
				if cur >= uint32(n) || r.entries[cur] == nil {
					return errs.Format(e.Name, -1, "directory link to entry %d out of range", cur)
				}
				if visited.testAndSet(cur) {
					return errs.Format(e.Name, -1, "directory tree cycle at entry %d", cur)
				}
				if r.entries[cur].Type == TypeRoot {
					return errs.Format(e.Name, -1, "root entry %d inside the tree", cur)
				}
				stack = append(stack, cur)
				cur = lk[cur].left
			}
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			e.Children = append(e.Children, r.entries[id])
			cur = lk[id].right
		}
		for _, c := range e.Children {
			if c.Type == TypeStorage {
				if err := build(c, depth+1); err != nil {
					return err
				}
			} else if lk[c.id].child != noStream {
				return errs.Format(c.Name, -1, "stream entry %d has children", c.id)
			}
		}
		return nil
	}
	if err := build(root, 0); err != nil {
		return err
	}
	// The mini stream is the root entry's data, in regular sectors.
	ms, err := r.openStream(root, false)
	if err != nil {
		return err
	}
	r.mini = ms
	return nil
}

func (r *Reader) readMiniFAT(start, count uint32) error {
	miniSectors := uint32((r.root.Size + miniSectorSize - 1) / miniSectorSize)
	if r.root.Size == 0 || start == endOfChain {
		return nil
	}
	if count > r.nSectors {
		count = r.nSectors
	}
	sectors, err := chain("mini FAT", r.fat, start, int64(count), r.nSectors, r.ssz)
	if err != nil {
		return err
	}
	perSector := uint32(r.ssz / 4)
	entries := uint64(len(sectors)) * uint64(perSector)
	if entries > uint64(miniSectors) {
		entries = uint64(miniSectors)
	}
	r.miniFAT = make([]uint32, entries)
	le := binary.LittleEndian
	buf := make([]byte, r.ssz)
	for i, s := range sectors {
		if err := r.readSector("mini FAT", s, buf); err != nil {
			return err
		}
		base := uint32(i) * perSector
		for j := uint32(0); j < perSector && base+j < uint32(len(r.miniFAT)); j++ {
			r.miniFAT[base+j] = le.Uint32(buf[4*j:])
		}
	}
	return nil
}

// Root returns the root storage.
func (r *Reader) Root() *Entry { return r.root }

// OpenStream opens a stream entry for reading. The stream's sector list is computed up front
// (4 bytes per sector, bounded by the file size); its data is read on demand.
func (r *Reader) OpenStream(e *Entry) (*Stream, error) {
	if e == nil || e.Type != TypeStream {
		return nil, fmt.Errorf("cfb: opening %q: not a stream", entryName(e))
	}
	return r.openStream(e, e.Size < miniCutoff)
}

func entryName(e *Entry) string {
	if e == nil {
		return "<nil>"
	}
	return e.Name
}

func (r *Reader) openStream(e *Entry, mini bool) (*Stream, error) {
	s := &Stream{r: r, e: e, size: e.Size, mini: mini}
	if e.Size == 0 {
		return s, nil
	}
	var err error
	if mini {
		if r.mini == nil {
			return nil, errs.Format(e.Name, -1, "mini stream missing")
		}
		limit := uint32(len(r.miniFAT))
		want := (e.Size + miniSectorSize - 1) / miniSectorSize
		s.sectors, err = chain(e.Name, r.miniFAT, e.start, want, limit, miniSectorSize)
		s.unit = miniSectorSize
	} else {
		want := (e.Size + r.ssz - 1) >> r.shift
		s.sectors, err = chain(e.Name, r.fat, e.start, want, r.nSectors, r.ssz)
		s.unit = r.ssz
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Walk calls fn for every stream, with its path in the fs.FS view, in lexical order: the
// unpack.Walker every reader keeps. WalkEntries walks the directory tree itself.
func (r *Reader) Walk(fn func(path string, size int64, rd io.Reader) error) error {
	return unpack.WalkFS(r, fn)
}

// WalkEntries calls fn for the root (with an empty path) and then for every entry below it,
// depth first, children in Children order; path holds e's ancestors starting with the root.
// Returning fs.SkipDir for a storage skips its children; fs.SkipAll ends the walk.
func (r *Reader) WalkEntries(fn func(path []*Entry, e *Entry) error) error {
	err := walk(nil, r.root, fn)
	if err == fs.SkipDir || err == fs.SkipAll {
		return nil
	}
	return err
}

func walk(path []*Entry, e *Entry, fn func([]*Entry, *Entry) error) error {
	if err := fn(path, e); err != nil {
		if err == fs.SkipDir && e.Type != TypeStream {
			return nil
		}
		return err
	}
	path = append(path[:len(path):len(path)], e)
	for _, c := range e.Children {
		if err := walk(path, c, fn); err != nil {
			if err == fs.SkipDir {
				return nil
			}
			return err
		}
	}
	return nil
}

// Stream reads one stream; it implements io.Reader, io.ReaderAt and io.Seeker.
type Stream struct {
	r       *Reader
	e       *Entry
	size    int64
	mini    bool
	unit    int64
	sectors []uint32
	off     int64
}

// Size is the stream's length in bytes.
func (s *Stream) Size() int64 { return s.size }

// ReadAt implements io.ReaderAt.
func (s *Stream) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("cfb: stream %q: negative offset", s.e.Name)
	}
	if off >= s.size {
		return 0, io.EOF
	}
	want := len(p)
	if rem := s.size - off; int64(want) > rem {
		p = p[:rem]
	}
	n := 0
	for n < len(p) {
		idx := off / s.unit
		within := off % s.unit
		chunk := s.unit - within
		if chunk > int64(len(p)-n) {
			chunk = int64(len(p) - n)
		}
		sec := s.sectors[idx]
		var m int
		var err error
		if s.mini {
			m, err = s.r.mini.ReadAt(p[n:n+int(chunk)], int64(sec)*miniSectorSize+within)
			if err == io.EOF && m == int(chunk) {
				err = nil
			}
			if err != nil && m < int(chunk) {
				var fe *unpack.FormatError
				if errors.As(err, &fe) || err == io.EOF {
					return n + m, errs.Format(s.e.Name, -1, "stream truncated at stream offset 0x%x (mini sector %d)", off+int64(m), sec)
				}
				return n + m, err
			}
		} else {
			// Runs of consecutive sectors are read with one call.
			for end := idx; chunk < int64(len(p)-n) && end+1 < int64(len(s.sectors)) && s.sectors[end+1] == s.sectors[end]+1; end++ {
				chunk = min(chunk+s.unit, int64(len(p)-n))
			}
			fo := s.r.sectorOffset(sec) + within
			m, err = s.r.r.ReadAt(p[n:n+int(chunk)], fo)
			if m < int(chunk) {
				if err == nil || err == io.EOF {
					return n + m, errs.Format(s.e.Name, fo+int64(m), "stream truncated at stream offset 0x%x (sector %d)", off+int64(m), sec)
				}
				return n + m, fmt.Errorf("cfb: reading stream %q: %w", s.e.Name, err)
			}
		}
		n += m
		off += int64(m)
	}
	if n < want {
		return n, io.EOF
	}
	return n, nil
}

// Read implements io.Reader.
func (s *Stream) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	n, err := s.ReadAt(p, s.off)
	s.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek implements io.Seeker.
func (s *Stream) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += s.off
	case io.SeekEnd:
		offset += s.size
	default:
		return 0, fmt.Errorf("cfb: stream %q: bad whence %d", s.e.Name, whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("cfb: stream %q: negative position", s.e.Name)
	}
	s.off = offset
	return offset, nil
}

type bitset []uint64

func newBitset(n uint32) bitset { return make(bitset, (uint64(n)+63)/64) }

// testAndSet sets bit i and reports whether it was already set; out-of-range bits read as set.
func (b bitset) testAndSet(i uint32) bool {
	w := i / 64
	if int(w) >= len(b) {
		return true
	}
	m := uint64(1) << (i % 64)
	was := b[w]&m != 0
	b[w] |= m
	return was
}

// errs builds this reader's positioned errors.
var errs = unpack.Errs("cfb")
