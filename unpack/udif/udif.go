// Package udif reads Apple's Universal Disk Image Format (UDIF, the ".dmg" container) over
// hostile input.
//
// Layout followed (no public Apple specification exists; this is the layout documented by
// libdmg-hfsplus, 7-Zip's DmgHandler and Jonathan Levin's "Demystifying the DMG file format"):
//
//   - a 512-byte "koly" trailer at the end of the file (or, rarely, at its start) locates the
//     data fork and the XML property list;
//   - the plist's resource-fork/blkx array holds one base64 "mish" BLKX table per partition,
//     each a run of 40-byte chunk descriptors mapping sectors of the decoded disk to
//     compressed (zlib, bzip2, ADC, LZFSE, LZMA/xz), raw, zero or ignored data;
//   - CRC32 checksums of the data fork (trailer) and of each partition's decoded bytes (mish).
//
// The decoded disk is offered through Disk, an io.ReaderAt that decodes chunks on demand and
// keeps a small byte-bounded LRU of decoded chunks, so the whole disk is never in memory.
// Zero and ignored runs are never allocated. Errata handled: chunk offsets relative to the
// data fork plus the table's own data offset; tables whose comment chunks sit anywhere; gaps
// between partitions read as zeros.
package udif

import (
	"bytes"
	"compress/bzip2"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
	"howett.net/plist"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/adc"
	"github.com/rollgate/rollgate/unpack/lzfse"
)

// Named limits.
const (
	SectorSize       = 512
	MaxPlistBytes    = 16 << 20                       // XML property list size
	MaxPlistDepth    = 32                             // nesting of <dict>/<array> in the property list
	MaxTables        = 4096                           // blkx tables (partitions)
	MaxChunks        = 1 << 20                        // chunk descriptors over all tables
	MaxChunkBytes    = 64 << 20                       // decoded size of one compressed or raw chunk
	MaxDiskBytes     = int64(unpack.MaxExpandedBytes) // decoded disk size (zero runs are never allocated, but a reader may hash them)
	MaxCacheBytes    = 32 << 20                       // decoded chunks kept in the LRU
	MaxChecksumBytes = int64(64) << 30                // data-fork bytes the trailer CRC is computed over
)

// Chunk types of a mish table.
const (
	ChunkZero       = 0x00000000
	ChunkRaw        = 0x00000001
	ChunkIgnore     = 0x00000002
	ChunkADC        = 0x80000004
	ChunkZlib       = 0x80000005
	ChunkBzip2      = 0x80000006
	ChunkLZFSE      = 0x80000007
	ChunkLZMA       = 0x80000008
	ChunkComment    = 0x7ffffffe
	ChunkTerminator = 0xffffffff
)

const kolySize = 512

// ErrNoTrailer: the input has no koly trailer (or header), so it is not a UDIF image; it
// wraps unpack.ErrFormat.
var ErrNoTrailer = fmt.Errorf("udif: no koly trailer: %w", unpack.ErrFormat)

// Partition is one blkx table: a run of sectors of the decoded disk.
type Partition struct {
	// ID is the table's ID attribute in the plist (-1 for the MBR, often 0..n).
	ID int
	// Number is the partition number parsed from the name's "(TYPE : N)" suffix, or the
	// table's index when absent.
	Number int
	// Name is the plist's Name (or CFName), e.g. "disk image (Apple_HFS : 4)".
	Name string
	// Type is the partition type from the name, e.g. "Apple_HFS", "Windows_FAT_16", "MBR".
	Type       string
	Attributes string
	// Offset and Size locate the partition in Disk, in bytes.
	Offset, Size int64
	// CRC32 is the checksum of the decoded partition bytes; HasCRC says whether the table
	// carried one.
	CRC32  uint32
	HasCRC bool
}

// chunk is one decoded-disk run; start and size in bytes.
type chunk struct {
	typ        uint32
	start, end int64 // decoded byte range
	off, n     int64 // compressed bytes in the file
	table      int
}

// Reader is an opened UDIF image.
type Reader struct {
	r          io.ReaderAt
	size       int64
	diskSize   int64
	parts      []Partition
	chunks     []chunk // sorted by start, non-overlapping, only data-bearing types
	forkCRC    uint32
	hasForkCRC bool
	forkOff    int64
	forkLen    int64
	tableSums  []byte // each table's first checksum word, for the master checksum
	sigOff     int64
	sigLen     int64

	mu    sync.Mutex
	cache []cached // most recently used last
	held  int
}

type cached struct {
	idx  int
	data []byte
}

// NewReader parses the koly trailer, the property list and every blkx table. It reads the
// data fork once to check its CRC32 when the trailer carries one.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	if size < kolySize {
		return nil, errs.Format("", size, "file too small for a koly trailer (%d bytes)", size)
	}
	var magic [8]byte
	if _, err := r.ReadAt(magic[:], 0); err == nil && string(magic[:]) == "encrcdsa" {
		return nil, errs.Unsupported("", 0, "encrypted disk image (encrcdsa)")
	}
	if _, err := r.ReadAt(magic[:], size-8); err == nil && string(magic[:]) == "cdsaencr" {
		return nil, errs.Unsupported("", size-8, "encrypted disk image (cdsaencr)")
	}
	koly := make([]byte, kolySize)
	kolyOff := size - kolySize
	if _, err := r.ReadAt(koly, kolyOff); err != nil {
		return nil, errs.Format("", kolyOff, "reading trailer: %v", err)
	}
	if string(koly[:4]) != "koly" {
		// Rare form: the header at the front of the file.
		if _, err := r.ReadAt(koly, 0); err != nil || string(koly[:4]) != "koly" {
			return nil, &unpack.FormatError{Format: "udif", Offset: kolyOff, Msg: "no koly trailer", Err: ErrNoTrailer}
		}
		kolyOff = 0
	}
	be := binary.BigEndian
	if hs := be.Uint32(koly[8:]); hs != kolySize {
		return nil, errs.Format("", kolyOff+8, "koly header size %d", hs)
	}
	z := &Reader{r: r, size: size}
	z.forkOff = int64(be.Uint64(koly[0x18:]))
	z.forkLen = int64(be.Uint64(koly[0x20:]))
	xmlOff := int64(be.Uint64(koly[0xd8:]))
	xmlLen := int64(be.Uint64(koly[0xe0:]))
	sectors := be.Uint64(koly[0x1ec:])
	if !within(z.forkOff, z.forkLen, size) {
		return nil, errs.Format("", kolyOff+0x18, "data fork [%d,+%d) outside the %d-byte file", z.forkOff, z.forkLen, size)
	}
	// Since macOS 10.11.5 the reserved area carries the embedded code signature's place.
	z.sigOff, z.sigLen = int64(be.Uint64(koly[0x128:])), int64(be.Uint64(koly[0x130:]))
	if z.sigLen != 0 && !within(z.sigOff, z.sigLen, size) {
		return nil, errs.Format("", kolyOff+0x128, "code signature [%d,+%d) outside the %d-byte file", z.sigOff, z.sigLen, size)
	}
	if sectors > uint64(MaxDiskBytes/SectorSize) {
		return nil, errs.Limit("", kolyOff+0x1ec, "disk claims %d sectors (limit %d bytes)", sectors, MaxDiskBytes)
	}
	if ct, bits := be.Uint32(koly[0x50:]), be.Uint32(koly[0x54:]); ct == 2 && bits == 32 {
		z.forkCRC, z.hasForkCRC = be.Uint32(koly[0x58:]), true
	}
	if xmlLen == 0 {
		return nil, errs.Unsupported("", kolyOff+0xd8, "image without an XML property list (resource-fork-only images)")
	}
	if xmlLen > MaxPlistBytes {
		return nil, errs.Limit("", kolyOff+0xe0, "property list of %d bytes (limit %d)", xmlLen, MaxPlistBytes)
	}
	if !within(xmlOff, xmlLen, size) {
		return nil, errs.Format("", kolyOff+0xd8, "property list [%d,+%d) outside the %d-byte file", xmlOff, xmlLen, size)
	}
	xml := make([]byte, xmlLen)
	if _, err := r.ReadAt(xml, xmlOff); err != nil {
		return nil, errs.Format("", xmlOff, "reading property list: %v", err)
	}
	if err := z.parsePlist(xml, xmlOff); err != nil {
		return nil, err
	}
	// The master checksum is the CRC32 of the tables' first checksum words, in plist order.
	if ct, bits := be.Uint32(koly[0x160:]), be.Uint32(koly[0x164:]); ct == 2 && bits == 32 {
		if got, want := crc32.ChecksumIEEE(z.tableSums), be.Uint32(koly[0x168:]); got != want {
			return nil, errs.Format("", kolyOff+0x168, "master checksum %08x, trailer says %08x", got, want)
		}
	}
	if z.hasForkCRC && z.forkLen <= MaxChecksumBytes {
		h := crc32.NewIEEE()
		if _, err := io.Copy(h, io.NewSectionReader(r, z.forkOff, z.forkLen)); err != nil {
			return nil, errs.Format("", z.forkOff, "reading data fork: %v", err)
		}
		if got := h.Sum32(); got != z.forkCRC {
			return nil, errs.Format("", z.forkOff, "data fork CRC32 %08x, trailer says %08x", got, z.forkCRC)
		}
	}
	if s := int64(sectors) * SectorSize; s > z.diskSize {
		z.diskSize = s
	}
	return z, nil
}

// Open opens the UDIF image in the named file; Close closes it.
func Open(name string) (*unpack.ReadCloser[*Reader], error) { return unpack.OpenFile(name, NewReader) }

// within reports whether [off, off+n) lies inside [0, size).
func within(off, n, size int64) bool {
	return off >= 0 && n >= 0 && off <= size && n <= size-off
}

type plistEntry struct {
	Attributes string `plist:"Attributes"`
	CFName     string `plist:"CFName"`
	Data       []byte `plist:"Data"`
	ID         string `plist:"ID"`
	Name       string `plist:"Name"`
}

type plistRoot struct {
	ResourceFork map[string][]plistEntry `plist:"resource-fork"`
}

var nameRE = regexp.MustCompile(`\(([^():]*?)\s*:\s*(\d+)\)\s*$`)

func (z *Reader) parsePlist(xml []byte, xmlOff int64) (err error) {
	// The plist decoder recurses per nesting level and also reads binary plists (whose
	// object references can form cycles): accept only XML, with bounded nesting.
	if err := checkXML(xml, xmlOff); err != nil {
		return err
	}
	var root plistRoot
	// The plist decoder is third-party code over hostile bytes: a panic there is a format
	// error, not a crash.
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = errs.Format("", xmlOff, "property list: decoder panic: %v", p)
			}
		}()
		if _, e := plist.Unmarshal(xml, &root); e != nil {
			err = errs.Format("", xmlOff, "property list: %v", e)
		}
	}()
	if err != nil {
		return err
	}
	blkx := root.ResourceFork["blkx"]
	if len(blkx) == 0 {
		return errs.Format("", xmlOff, "property list has no blkx tables")
	}
	if len(blkx) > MaxTables {
		return errs.Limit("", xmlOff, "%d blkx tables (limit %d)", len(blkx), MaxTables)
	}
	nchunks := 0
	for i, e := range blkx {
		name := e.Name
		if name == "" {
			name = e.CFName
		}
		p := Partition{Name: name, Attributes: e.Attributes, Number: i}
		if id, err := strconv.Atoi(strings.TrimSpace(e.ID)); err == nil {
			p.ID = id
		}
		if m := nameRE.FindStringSubmatch(name); m != nil {
			p.Type = strings.TrimSpace(m[1])
			if n, err := strconv.Atoi(m[2]); err == nil && n < 1<<20 {
				p.Number = n
			}
		}
		if err := z.parseTable(&p, i, e.Data, &nchunks); err != nil {
			return err
		}
		z.parts = append(z.parts, p)
	}
	sort.Slice(z.chunks, func(a, b int) bool { return z.chunks[a].start < z.chunks[b].start })
	for i := 1; i < len(z.chunks); i++ {
		if z.chunks[i].start < z.chunks[i-1].end {
			c := z.chunks[i]
			return errs.Format(z.parts[c.table].Name, c.off, "chunk at disk byte %d overlaps the previous one", c.start)
		}
	}
	return nil
}

// checkXML makes sure the property list is XML and its nesting stays under MaxPlistDepth.
func checkXML(b []byte, off int64) error {
	head := bytes.TrimLeft(b, "\ufeff \t\r\n")
	if !bytes.HasPrefix(head, []byte("<")) {
		return errs.Format("", off, "property list is not XML")
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		if b[i] != '<' {
			continue
		}
		j := i + 1
		closing := j < len(b) && b[j] == '/'
		if closing {
			j++
		}
		var name []byte
		for k := j; k < len(b) && k < j+6; k++ {
			c := b[k]
			if c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				break
			}
			name = append(name, c)
		}
		if string(name) != "dict" && string(name) != "array" {
			continue
		}
		end := bytes.IndexByte(b[i:], '>')
		if end < 0 {
			return errs.Format("", off+int64(i), "unterminated tag in the property list")
		}
		switch {
		case closing:
			depth--
		case b[i+end-1] == '/': // <dict/>
		default:
			if depth++; depth > MaxPlistDepth {
				return errs.Limit("", off+int64(i), "property list nests deeper than %d", MaxPlistDepth)
			}
		}
	}
	return nil
}

const mishHeader = 0xcc

func (z *Reader) parseTable(p *Partition, idx int, b []byte, nchunks *int) error {
	be := binary.BigEndian
	if len(b) < mishHeader || string(b[:4]) != "mish" {
		return errs.Format(p.Name, -1, "blkx data is not a mish table")
	}
	first := be.Uint64(b[8:])
	count := be.Uint64(b[0x10:])
	dataOff := be.Uint64(b[0x18:])
	if first > uint64(MaxDiskBytes/SectorSize) || count > uint64(MaxDiskBytes/SectorSize)-first {
		return errs.Limit(p.Name, -1, "table claims sectors [%d,+%d) (limit %d bytes)", first, count, MaxDiskBytes)
	}
	if dataOff > uint64(z.forkLen) {
		return errs.Format(p.Name, -1, "table data offset %d past the %d-byte data fork", dataOff, z.forkLen)
	}
	p.Offset = int64(first) * SectorSize
	p.Size = int64(count) * SectorSize
	z.tableSums = append(z.tableSums, b[0x48:0x4c]...)
	// The checksum covers the table's data and zero chunks, not its ignored runs.
	if ct, bits := be.Uint32(b[0x40:]), be.Uint32(b[0x44:]); ct == 2 && bits == 32 {
		p.CRC32, p.HasCRC = be.Uint32(b[0x48:]), true
	}
	n := be.Uint32(b[0xc8:])
	if uint64(n)*40 > uint64(len(b)-mishHeader) {
		return errs.Format(p.Name, -1, "table claims %d chunks in %d bytes", n, len(b))
	}
	if *nchunks += int(n); *nchunks > MaxChunks {
		return errs.Limit(p.Name, -1, "more than %d chunks", MaxChunks)
	}
	if end := p.Offset + p.Size; end > z.diskSize {
		z.diskSize = end
	}
	for i := 0; i < int(n); i++ {
		c := b[mishHeader+40*i:]
		typ := be.Uint32(c)
		sec := be.Uint64(c[8:])
		cnt := be.Uint64(c[0x10:])
		off := be.Uint64(c[0x18:])
		ln := be.Uint64(c[0x20:])
		switch typ {
		case ChunkTerminator, ChunkComment:
			continue
		case ChunkZero, ChunkIgnore, ChunkRaw, ChunkADC, ChunkZlib, ChunkBzip2, ChunkLZFSE, ChunkLZMA:
		default:
			return errs.Unsupported(p.Name, -1, "chunk %d: type 0x%08x", i, typ)
		}
		if sec > count || cnt > count-sec {
			return errs.Format(p.Name, -1, "chunk %d: sectors [%d,+%d) outside the table's %d", i, sec, cnt, count)
		}
		if cnt == 0 {
			continue
		}
		ch := chunk{typ: typ, start: p.Offset + int64(sec)*SectorSize, table: idx}
		ch.end = ch.start + int64(cnt)*SectorSize
		if typ != ChunkZero && typ != ChunkIgnore {
			if ch.end-ch.start > MaxChunkBytes {
				return errs.Limit(p.Name, -1, "chunk %d decodes to %d bytes (limit %d)", i, ch.end-ch.start, MaxChunkBytes)
			}
			if off > uint64(z.forkLen) || ln > uint64(z.forkLen) || dataOff+off > uint64(z.forkLen)-ln {
				return errs.Format(p.Name, -1, "chunk %d: data [%d,+%d) past the %d-byte data fork", i, off, ln, z.forkLen)
			}
			ch.off = z.forkOff + int64(dataOff+off)
			ch.n = int64(ln)
			if typ == ChunkRaw && ch.n < ch.end-ch.start {
				return errs.Format(p.Name, ch.off, "chunk %d: raw run of %d bytes for %d sectors", i, ch.n, cnt)
			}
		}
		z.chunks = append(z.chunks, ch)
	}
	return nil
}

// Partitions returns the blkx tables in plist order.
func (z *Reader) Partitions() []Partition { return append([]Partition(nil), z.parts...) }

// Size is the decoded disk size in bytes.
func (z *Reader) Size() int64 { return z.diskSize }

// Disk returns the decoded disk, random access by byte offset.
func (z *Reader) Disk() io.ReaderAt { return diskReader{z} }

// CodeSignature locates the image's embedded code signature (a code-signing SuperBlob, as
// written by codesign) in the file; ok is false when the image is not signed.
func (z *Reader) CodeSignature() (offset, size int64, ok bool) {
	return z.sigOff, z.sigLen, z.sigLen > 0
}

// Chunk is one run of the decoded disk and where its stored bytes are in the file.
type Chunk struct {
	Type                   uint32 // ChunkZlib, ChunkRaw, ...
	DiskOffset, DiskSize   int64  // decoded bytes
	FileOffset, StoredSize int64  // stored bytes (zero for zero and ignored runs)
}

// Chunks lists the data-bearing runs in disk order.
func (z *Reader) Chunks() []Chunk {
	out := make([]Chunk, 0, len(z.chunks))
	for _, c := range z.chunks {
		out = append(out, Chunk{Type: c.typ, DiskOffset: c.start, DiskSize: c.end - c.start, FileOffset: c.off, StoredSize: c.n})
	}
	return out
}

// Methods names the chunk encodings present, sorted.
func (z *Reader) Methods() []string {
	seen := map[string]bool{}
	for _, c := range z.chunks {
		seen[methodName(c.typ)] = true
	}
	var out []string
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

func methodName(t uint32) string {
	switch t {
	case ChunkZero:
		return "zero"
	case ChunkIgnore:
		return "ignore"
	case ChunkRaw:
		return "raw"
	case ChunkADC:
		return "adc"
	case ChunkZlib:
		return "zlib"
	case ChunkBzip2:
		return "bzip2"
	case ChunkLZFSE:
		return "lzfse"
	case ChunkLZMA:
		return "lzma"
	}
	return fmt.Sprintf("0x%08x", t)
}

type diskReader struct{ z *Reader }

func (d diskReader) ReadAt(p []byte, off int64) (int, error) { return d.z.readAt(p, off) }

func (z *Reader) readAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("udif: negative offset %d", off)
	}
	if off >= z.diskSize {
		return 0, io.EOF
	}
	want := len(p)
	if rem := z.diskSize - off; int64(want) > rem {
		want = int(rem)
	}
	done := 0
	for done < want {
		pos := off + int64(done)
		i := sort.Search(len(z.chunks), func(i int) bool { return z.chunks[i].end > pos })
		if i == len(z.chunks) || z.chunks[i].start > pos {
			// A gap or a zero run: zeros up to the next data chunk.
			stop := int64(want - done)
			if i < len(z.chunks) && z.chunks[i].start-pos < stop {
				stop = z.chunks[i].start - pos
			}
			clear(p[done : done+int(stop)])
			done += int(stop)
			continue
		}
		c := z.chunks[i]
		n := int64(want - done)
		if c.end-pos < n {
			n = c.end - pos
		}
		dst := p[done : done+int(n)]
		switch c.typ {
		case ChunkZero, ChunkIgnore:
			clear(dst)
		case ChunkRaw:
			if _, err := z.r.ReadAt(dst, c.off+(pos-c.start)); err != nil {
				return done, errs.Format(z.parts[c.table].Name, c.off, "reading raw chunk: %v", err)
			}
		default:
			data, err := z.decoded(i)
			if err != nil {
				return done, err
			}
			copy(dst, data[pos-c.start:])
		}
		done += int(n)
	}
	if want < len(p) {
		return done, io.EOF
	}
	return done, nil
}

// decoded returns chunk i's decoded bytes through the LRU.
func (z *Reader) decoded(i int) ([]byte, error) {
	z.mu.Lock()
	for k, e := range z.cache {
		if e.idx == i {
			z.cache = append(append(z.cache[:k:k], z.cache[k+1:]...), e)
			z.mu.Unlock()
			return e.data, nil
		}
	}
	z.mu.Unlock()
	data, err := z.decodeChunk(z.chunks[i])
	if err != nil {
		return nil, err
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	for len(z.cache) > 0 && z.held+len(data) > MaxCacheBytes {
		z.held -= len(z.cache[0].data)
		z.cache = z.cache[1:]
	}
	z.cache = append(z.cache, cached{i, data})
	z.held += len(data)
	return data, nil
}

func (z *Reader) decodeChunk(c chunk) ([]byte, error) {
	name := z.parts[c.table].Name
	want := c.end - c.start
	src := io.NewSectionReader(z.r, c.off, c.n)
	var dec io.Reader
	switch c.typ {
	case ChunkZlib:
		zr, err := zlib.NewReader(src)
		if err != nil {
			return nil, errs.Format(name, c.off, "zlib chunk: %v", err)
		}
		dec = zr
	case ChunkBzip2:
		dec = bzip2.NewReader(src)
	case ChunkADC:
		dec = adc.NewReader(src)
	case ChunkLZFSE:
		if c.n > 2*MaxChunkBytes {
			return nil, errs.Limit(name, c.off, "lzfse chunk of %d compressed bytes", c.n)
		}
		in := make([]byte, c.n)
		if _, err := src.ReadAt(in, 0); err != nil {
			return nil, errs.Format(name, c.off, "reading lzfse chunk: %v", err)
		}
		out, err := lzfse.Decode(in, int(want))
		if err != nil {
			return nil, fmt.Errorf("udif: %q: lzfse chunk at 0x%x: %w", name, c.off, err)
		}
		if int64(len(out)) != want {
			return nil, errs.Format(name, c.off, "lzfse chunk decodes to %d bytes, table says %d", len(out), want)
		}
		return out, nil
	case ChunkLZMA:
		var magic [6]byte
		src.ReadAt(magic[:], 0)
		var err error
		// The dictionary is allocated up front from the header: cap it by the chunk limit.
		if string(magic[:]) == "\xfd7zXZ\x00" {
			dec, err = xz.ReaderConfig{DictCap: MaxChunkBytes}.NewReader(src)
		} else {
			dec, err = lzma.ReaderConfig{DictCap: MaxChunkBytes}.NewReader(src)
		}
		if err != nil {
			return nil, errs.Format(name, c.off, "lzma chunk: %v", err)
		}
	default:
		return nil, errs.Unsupported(name, c.off, "chunk type 0x%08x", c.typ)
	}
	// Grow with the output actually produced, never to the claimed size up front.
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(dec, want))
	if err != nil {
		if errors.Is(err, unpack.ErrFormat) || errors.Is(err, unpack.ErrLimit) || errors.Is(err, unpack.ErrUnsupported) {
			return nil, fmt.Errorf("udif: %q: %s chunk at 0x%x: %w", name, methodName(c.typ), c.off, err)
		}
		return nil, errs.Format(name, c.off, "%s chunk: %v", methodName(c.typ), err)
	}
	if n != want {
		return nil, errs.Format(name, c.off, "%s chunk decodes to %d bytes, table says %d", methodName(c.typ), n, want)
	}
	return buf.Bytes(), nil
}

// Partition returns a reader over one partition's decoded bytes. Reading it sequentially
// to the end checks the table's CRC32 and reports a mismatch as a FormatError.
func (z *Reader) Partition(i int) *PartitionReader {
	p := z.parts[i]
	return &PartitionReader{z: z, p: p, h: crc32.NewIEEE()}
}

// PartitionReader reads a partition: ReadAt for random access, Read for a checked stream.
type PartitionReader struct {
	z   *Reader
	p   Partition
	pos int64
	h   interface {
		io.Writer
		Sum32() uint32
	}
}

// Size is the partition size in bytes.
func (pr *PartitionReader) Size() int64 { return pr.p.Size }

// ReadAt reads the partition at off.
func (pr *PartitionReader) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("udif: negative offset %d", off)
	}
	if off >= pr.p.Size {
		return 0, io.EOF
	}
	short := false
	if rem := pr.p.Size - off; int64(len(b)) > rem {
		b, short = b[:rem], true
	}
	n, err := pr.z.readAt(b, pr.p.Offset+off)
	if err == nil && short {
		err = io.EOF
	}
	return n, err
}

// Read streams the partition, checking its CRC32 at the end.
func (pr *PartitionReader) Read(b []byte) (int, error) {
	if pr.pos >= pr.p.Size {
		return 0, io.EOF
	}
	n, err := pr.ReadAt(b, pr.pos)
	pr.z.hashData(pr.h, b[:n], pr.p.Offset+pr.pos)
	pr.pos += int64(n)
	if err == io.EOF {
		err = nil
	}
	if err != nil {
		return n, err
	}
	if pr.pos == pr.p.Size && pr.p.HasCRC {
		if got := pr.h.Sum32(); got != pr.p.CRC32 {
			return n, errs.Format(pr.p.Name, pr.p.Offset, "partition CRC32 %08x, table says %08x", got, pr.p.CRC32)
		}
	}
	return n, nil
}

// hashData writes to h the parts of b (disk bytes at off) that the table checksum covers:
// the bytes of data-bearing and zero chunks, not ignored runs or gaps.
func (z *Reader) hashData(h io.Writer, b []byte, off int64) {
	end := off + int64(len(b))
	i := sort.Search(len(z.chunks), func(i int) bool { return z.chunks[i].end > off })
	for ; i < len(z.chunks) && z.chunks[i].start < end; i++ {
		c := z.chunks[i]
		if c.typ == ChunkIgnore {
			continue
		}
		lo, hi := max(c.start, off), min(c.end, end)
		h.Write(b[lo-off : hi-off])
	}
}

// Verify decodes every partition once and checks the per-table checksums.
func (z *Reader) Verify() error {
	for i := range z.parts {
		if _, err := io.Copy(io.Discard, z.Partition(i)); err != nil {
			return err
		}
	}
	return nil
}

// errs builds this reader's positioned errors.
var errs = unpack.Errs("udif")
