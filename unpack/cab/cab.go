// Package cab reads Microsoft Cabinet files ([MS-CAB], "Microsoft Cabinet File Format") over
// hostile input and exposes them as a read-only fs.FS and an unpack.Walker.
//
// It follows [MS-CAB] 2.1–2.5: CFHEADER with the optional reserve area (cbCFHeader, cbCFFolder,
// cbCFData) and the PREV/NEXT cabinet names, CFFOLDER, CFFILE and CFDATA with its checksum,
// which is verified whenever it is non-zero. Folders are stored ("none"), MSZIP (each CFDATA is
// "CK" followed by a complete raw deflate stream whose dictionary is the previous 32 KiB of the
// folder's output, decoded in parallel by the sibling package mszip), LZX or Quantum,
// decoded by the sibling packages lzx and quantum; other typeCompress values report
// unpack.ErrUnsupported.
//
// Cabinet sets (a folder continued across cabinets, files marked with the iFolder values
// 0xFFFD, 0xFFFE and 0xFFFF, a CFDATA block split with cbUncomp == 0 in the first part) are
// merged the way 7-Zip and libmspack merge them: a cabinet's first folder continues the
// previous cabinet's last folder when one of its files is marked as continued from the
// previous cabinet, and the copies of a continued file listed by both cabinets are kept once.
// OpenSetFS finds a set's other cabinets beside one of them by the names its header gives, as
// cabextract does (set.go). Search and NewSearchReader find cabinets after other bytes (a
// self-extracting executable's stub, several cabinets in one file) as libmspack's cabd_search
// does, with bounded scanning (search.go).
//
// Names: CFFILE names carry no code page unless the _A_NAME_IS_UTF attribute (0x80) says UTF-8
// (invalid sequences become U+FFFD). 7-Zip on Windows decodes the others with the ANSI code
// page and on Linux keeps their bytes as they are (what testdata/golden.tsv records); this
// package maps each byte to one character, ISO 8859-1, which is 7-Zip's byte-for-byte
// behaviour expressed as valid UTF-8 and does not depend on the environment. File.RawName
// keeps the decoded, unsanitised name. Names are then split on '\' and '/', and empty, "."
// and ".." components and a leading drive letter ("C:") are dropped (as 7-Zip does), so every
// exposed path satisfies fs.ValidPath and stays under the root; a name left with nothing is
// "unnamed". When two files end up with the same path (or a file would sit where a directory
// is), the later one in storage order gets the suffix "~2", "~3", …; nothing is dropped.
//
// Errata handled: cbCabinet is not trusted (the real size bounds every offset); a folder
// whose CFDATA chain ends early, as wixl writes for a folder of empty files (cCFData 1, no
// CFDATA), keeps the blocks present and Folder.Truncated says so; a zero-length file may
// point anywhere; MSZIP blocks reference the previous 32 KiB of output across block
// boundaries; split CFDATA blocks are joined; the libmspack CVE corpus (endless loops,
// over-reads, bad folder indexes) is refused or read within bounds.
package cab

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/rollgate/rollgate/unpack"
)

// Limits. They bound what a hostile cabinet can make the reader allocate or decode.
const (
	MaxCabinets     = 1 << 10                 // cabinets in one set
	MaxFolders      = 1 << 16                 // folders in one set (after merging continuations)
	MaxFiles        = unpack.MaxEntries       // CFFILE entries in one set
	MaxBlocks       = 1 << 24                 // CFDATA blocks in one set (each needs ≥ 8 input bytes)
	MaxNameBytes    = 1 << 13                 // bytes in one CFFILE name, NUL included (7-Zip's limit)
	MaxCabinetName  = 256                     // bytes in szCabinetPrev/Next, szDiskPrev/Next, NUL included
	MaxBlockBytes   = 32768                   // cbUncomp of one CFDATA block (stored, MSZIP, Quantum)
	MaxLZXBlock     = 32768 + 6144            // cbUncomp of one LZX CFDATA block ([MS-CAB] 2.5)
	MaxFolderBytes  = unpack.MaxExpandedBytes // uncompressed bytes of one folder
	MaxExpanded     = unpack.MaxExpandedBytes // uncompressed bytes of all folders, and bytes one Walk may decode
	WalkSlack       = 256 << 20               // bytes one Walk may decode beyond twice the folders' size
	MaxCheckpoints  = 32 << 20                // bytes of MSZIP restart points one Reader keeps for File.Open
	checkpointEvery = 32                      // MSZIP blocks (1 MiB of output) between restart points, at least
	maxFolderCkpts  = 256                     // restart points per folder, at most
	headerSize      = 36
	folderEntrySize = 8
	fileEntrySize   = 16
	dataHeaderSize  = 8
)

// CFHEADER flags.
const (
	flagPrevCabinet    = 0x0001
	flagNextCabinet    = 0x0002
	flagReservePresent = 0x0004
)

// CFFILE iFolder values for files continued across cabinets.
const (
	ifoldContinuedFromPrev    = 0xFFFD
	ifoldContinuedToNext      = 0xFFFE
	ifoldContinuedPrevAndNext = 0xFFFF
)

// File attributes ([MS-CAB] 2.3, attribs).
const (
	AttrReadOnly  = 0x01
	AttrHidden    = 0x02
	AttrSystem    = 0x04
	AttrArchive   = 0x20
	AttrExec      = 0x40
	AttrNameIsUTF = 0x80
)

// Compression types (typeCompress & 0x000F).
const (
	compNone    = 0
	compMSZIP   = 1
	compQuantum = 2
	compLZX     = 3
)

// File is one CFFILE entry.
type File struct {
	Name    string // sanitised, '/'-separated path as exposed by the fs.FS
	Size    int64  // cbFile
	Attribs uint16
	Folder  int    // index into Reader.Folders (continuations merged)
	Offset  uint32 // uoffFolderStart: where the file starts in its folder's uncompressed data
	Date    uint16 // MS-DOS date
	Time    uint16 // MS-DOS time

	// RawName is the name as stored, decoded (UTF-8 or Latin-1) but not sanitised.
	RawName string

	raw string // the stored name bytes
	r   *Reader
}

// ModTime converts the MS-DOS date and time (local time of the packer, read as UTC).
func (f *File) ModTime() time.Time { return dosTime(f.Date, f.Time) }

// Folder describes one CFFOLDER, merged across cabinets for a set.
type Folder struct {
	Compression    string // "none", "mszip", "lzx:21", "quantum:21" (window bits), "unknown:N"
	TypeCompress   uint16 // the raw typeCompress field
	Blocks         int    // CFDATA blocks, a block split across cabinets counted once
	Size           int64  // uncompressed bytes (sum of cbUncomp)
	CompressedSize int64  // sum of cbData
	Cabinets       int    // cabinets the folder's data lies in
	// Truncated: the cabinet ends before the last CFDATA block cCFData announces; the
	// blocks present are read (every file must lie inside them).
	Truncated bool
}

// Part is one cabinet of a set, for NewSetReader.
type Part struct {
	R    io.ReaderAt
	Size int64
	Name string // file name, used in errors and to match szCabinetNext; may be empty
}

// Reader reads one cabinet or one cabinet set.
type Reader struct {
	parts   []*cabinet
	folders []*folder
	files   []*File // storage order, continued duplicates removed
	tree    *tree
	closers []io.Closer

	mu        sync.Mutex
	cursor    *folderReader // idle folder reader left by the last File.Open reader
	ckptBytes int64         // bytes held by all folders' checkpoints
}

// cabinet is one parsed CFHEADER with its raw tables.
type cabinet struct {
	part          Part
	flags         uint16
	setID         uint16
	index         uint16 // iCabinet
	cbCFData      int
	prevName      string
	nextName      string
	folders       []rawFolder
	files         []rawFile
	prevContinued bool // a file is marked continued from the previous cabinet
	nextContinued bool // a file is marked continued into the next cabinet
}

type rawFolder struct {
	off          int64 // offset of the CFFOLDER entry, for errors
	coffCabStart uint32
	cCFData      uint16
	typeCompress uint16
}

type rawFile struct {
	off     int64 // offset of the CFFILE entry
	cbFile  uint32
	uoff    uint32
	iFolder uint16
	date    uint16
	time    uint16
	attribs uint16
	name    string // decoded
	raw     string // as stored
}

// folder is a merged folder with its block table.
type folder struct {
	info   Folder
	method uint16
	window int // window bits for LZX / Quantum
	blocks []block
	// starts[i] is the uncompressed offset where blocks[i] begins.
	starts []int64
	index  int
	// ckpts are MSZIP restart points (block index and the 32 KiB of output before it),
	// sorted by block, recorded while decoding; guarded by Reader.mu.
	ckpts []checkpoint
}

type checkpoint struct {
	block int
	hist  []byte
}

// span is one CFDATA payload in one cabinet.
type span struct {
	cab   int32
	n     uint16 // cbData
	csum  uint32
	off   int64 // offset of the CFDATA header
	data  int64 // offset of the payload
	block int   // block index within that cabinet's folder, for errors
}

// block is one logical CFDATA block: usually one span, two or more when split across cabinets.
type block struct {
	span
	uncomp uint16
	extra  []span
}

func (b *block) compressedLen() int {
	n := int(b.n)
	for _, s := range b.extra {
		n += int(s.n)
	}
	return n
}

// NewReader reads a single cabinet. A cabinet whose files continue into a neighbour of its
// set is refused with an error naming the missing cabinet; use OpenSet or NewSetReader.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	return NewSetReader([]Part{{R: r, Size: size}})
}

// OpenSet opens the cabinets of one set (split-1.cab … split-5.cab) from files. The Reader
// keeps them open; Close releases them.
func OpenSet(paths ...string) (*Reader, error) {
	if len(paths) == 0 {
		return nil, &unpack.FormatError{Format: "cab", Offset: -1, Msg: "no cabinet given"}
	}
	if len(paths) > MaxCabinets {
		return nil, fmt.Errorf("cab: %d cabinets in a set (max %d): %w", len(paths), MaxCabinets, unpack.ErrLimit)
	}
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	parts := make([]Part, 0, len(paths))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("opening cabinet %q: %w", p, err)
		}
		files = append(files, f)
		st, err := f.Stat()
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("opening cabinet %q: %w", p, err)
		}
		parts = append(parts, Part{R: f, Size: st.Size(), Name: filepath.Base(p)})
	}
	r, err := NewSetReader(parts)
	if err != nil {
		closeAll()
		return nil, err
	}
	for _, f := range files {
		r.closers = append(r.closers, f)
	}
	return r, nil
}

// Close releases the files OpenSet opened. It is a no-op for readers made by NewReader.
func (r *Reader) Close() error {
	var first error
	for _, c := range r.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	r.closers = nil
	return first
}

// NewSetReader reads the cabinets of one set. Parts are ordered by their iCabinet field;
// they must share one setID and be consecutive, and a folder continued across cabinets must
// find its continuation, else the error names the missing cabinet.
func NewSetReader(parts []Part) (*Reader, error) {
	if len(parts) == 0 {
		return nil, &unpack.FormatError{Format: "cab", Offset: -1, Msg: "no cabinet given"}
	}
	if len(parts) > MaxCabinets {
		return nil, fmt.Errorf("cab: %d cabinets in a set (max %d): %w", len(parts), MaxCabinets, unpack.ErrLimit)
	}
	cabs := make([]*cabinet, 0, len(parts))
	nfiles := 0
	for _, p := range parts {
		c, err := parseCabinet(p)
		if err != nil {
			return nil, err
		}
		nfiles += len(c.files)
		if nfiles > MaxFiles {
			return nil, fmt.Errorf("cab: more than %d files in the set: %w", MaxFiles, unpack.ErrLimit)
		}
		cabs = append(cabs, c)
	}
	if len(cabs) > 1 {
		sort.SliceStable(cabs, func(i, j int) bool { return cabs[i].index < cabs[j].index })
		for i := 1; i < len(cabs); i++ {
			a, b := cabs[i-1], cabs[i]
			if a.setID != b.setID {
				return nil, formatErr(b, -1, fmt.Sprintf("setID %d differs from %q's %d", b.setID, a.part.Name, a.setID))
			}
			if b.index == a.index {
				return nil, formatErr(b, -1, fmt.Sprintf("cabinet number %d given twice", b.index))
			}
			if b.index != a.index+1 {
				return nil, missingErr(a, a.nextName, a.index+1)
			}
		}
	}
	r := &Reader{parts: cabs}
	if err := r.merge(); err != nil {
		return nil, err
	}
	if err := r.buildTree(); err != nil {
		return nil, err
	}
	return r, nil
}

func formatErr(c *cabinet, off int64, msg string) error {
	return &unpack.FormatError{Format: "cab", Entry: c.part.Name, Offset: off, Msg: msg}
}

func missingErr(c *cabinet, name string, index uint16) error {
	return &unpack.FormatError{Format: "cab", Entry: c.part.Name, Offset: -1,
		Msg: fmt.Sprintf("set continues in cabinet %q (number %d), which was not given", name, index)}
}

// parseCabinet reads CFHEADER, the CFFOLDER table and the CFFILE table of one cabinet.
func parseCabinet(p Part) (*cabinet, error) {
	c := &cabinet{part: p}
	if p.R == nil || p.Size < headerSize {
		return nil, formatErr(c, 0, "shorter than a CFHEADER")
	}
	var h [headerSize]byte
	if _, err := p.R.ReadAt(h[:], 0); err != nil {
		return nil, readErr(c, 0, err)
	}
	if string(h[0:4]) != "MSCF" {
		return nil, formatErr(c, 0, "missing MSCF signature")
	}
	le := binary.LittleEndian
	coffFiles := int64(le.Uint32(h[16:]))
	verMinor, verMajor := h[24], h[25]
	cFolders := int(le.Uint16(h[26:]))
	cFiles := int(le.Uint16(h[28:]))
	c.flags = le.Uint16(h[30:])
	c.setID = le.Uint16(h[32:])
	c.index = le.Uint16(h[34:])
	if verMajor != 1 {
		return nil, &unpack.FormatError{Format: "cab", Entry: p.Name, Offset: 25,
			Msg: fmt.Sprintf("cabinet version %d.%d", verMajor, verMinor), Err: unpack.ErrUnsupported}
	}
	off := int64(headerSize)
	cbCFFolder := 0
	if c.flags&flagReservePresent != 0 {
		var rs [4]byte
		if err := readFull(p, rs[:], off); err != nil {
			return nil, readErr(c, off, err)
		}
		cbCFHeader := int64(le.Uint16(rs[0:]))
		cbCFFolder = int(rs[2])
		c.cbCFData = int(rs[3])
		off += 4 + cbCFHeader
		if off > p.Size {
			return nil, formatErr(c, 36, "cbCFHeader reserve runs past the end")
		}
	}
	if c.flags&flagPrevCabinet != 0 {
		var err error
		if c.prevName, off, err = readCString(c, off, MaxCabinetName); err != nil {
			return nil, err
		}
		if _, off, err = readCString(c, off, MaxCabinetName); err != nil {
			return nil, err
		}
	}
	if c.flags&flagNextCabinet != 0 {
		var err error
		if c.nextName, off, err = readCString(c, off, MaxCabinetName); err != nil {
			return nil, err
		}
		if _, off, err = readCString(c, off, MaxCabinetName); err != nil {
			return nil, err
		}
	}

	// CFFOLDER table: bounded by the input before anything is allocated.
	fsz := int64(folderEntrySize + cbCFFolder)
	if off+int64(cFolders)*fsz > p.Size {
		return nil, formatErr(c, off, fmt.Sprintf("%d CFFOLDER entries run past the end", cFolders))
	}
	if cFolders > 0 {
		buf := make([]byte, int64(cFolders)*fsz)
		if err := readFull(p, buf, off); err != nil {
			return nil, readErr(c, off, err)
		}
		c.folders = make([]rawFolder, cFolders)
		for i := range c.folders {
			e := buf[int64(i)*fsz:]
			c.folders[i] = rawFolder{
				off:          off + int64(i)*fsz,
				coffCabStart: le.Uint32(e[0:]),
				cCFData:      le.Uint16(e[4:]),
				typeCompress: le.Uint16(e[6:]),
			}
		}
	}

	// CFFILE table.
	if coffFiles < headerSize || coffFiles > p.Size {
		return nil, formatErr(c, 16, fmt.Sprintf("coffFiles 0x%x outside the cabinet", coffFiles))
	}
	maxFiles := (p.Size - coffFiles) / (fileEntrySize + 1)
	if int64(cFiles) > maxFiles {
		return nil, formatErr(c, coffFiles, fmt.Sprintf("%d CFFILE entries cannot fit in the remaining %d bytes", cFiles, p.Size-coffFiles))
	}
	c.files = make([]rawFile, 0, cFiles)
	br := bufio.NewReaderSize(io.NewSectionReader(p.R, coffFiles, p.Size-coffFiles), 4096)
	pos := coffFiles
	var fe [fileEntrySize]byte
	for i := 0; i < cFiles; i++ {
		start := pos
		if _, err := io.ReadFull(br, fe[:]); err != nil {
			return nil, readErr(c, start, err)
		}
		pos += fileEntrySize
		raw, err := readNameBuf(br, MaxNameBytes)
		if err != nil {
			if errors.Is(err, errNameTooLong) {
				return nil, formatErr(c, pos, fmt.Sprintf("CFFILE %d: name longer than %d bytes", i, MaxNameBytes-1))
			}
			return nil, readErr(c, pos, err)
		}
		pos += int64(len(raw)) + 1
		rf := rawFile{
			off:     start,
			cbFile:  le.Uint32(fe[0:]),
			uoff:    le.Uint32(fe[4:]),
			iFolder: le.Uint16(fe[8:]),
			date:    le.Uint16(fe[10:]),
			time:    le.Uint16(fe[12:]),
			attribs: le.Uint16(fe[14:]),
		}
		rf.name = decodeName(raw, rf.attribs&AttrNameIsUTF != 0)
		rf.raw = string(raw)
		switch rf.iFolder {
		case ifoldContinuedFromPrev:
			c.prevContinued = true
		case ifoldContinuedToNext:
			c.nextContinued = true
		case ifoldContinuedPrevAndNext:
			c.prevContinued, c.nextContinued = true, true
		default:
			if int(rf.iFolder) >= cFolders {
				return nil, formatErr(c, start+8, fmt.Sprintf("CFFILE %d (%q): folder index %d, cabinet has %d folders", i, rf.name, rf.iFolder, cFolders))
			}
		}
		if (c.prevContinued || c.nextContinued) && cFolders == 0 {
			return nil, formatErr(c, start+8, fmt.Sprintf("CFFILE %d (%q): continued file in a cabinet without folders", i, rf.name))
		}
		c.files = append(c.files, rf)
	}
	return c, nil
}

var errNameTooLong = errors.New("name too long")

// readNameBuf reads a NUL-terminated string of at most max bytes (NUL included).
func readNameBuf(br *bufio.Reader, max int) ([]byte, error) {
	var out []byte
	for {
		b, err := br.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if b == 0 {
			return out, nil
		}
		if len(out)+1 >= max {
			return nil, errNameTooLong
		}
		out = append(out, b)
	}
}

// readCString reads a NUL-terminated string at off through ReadAt.
func readCString(c *cabinet, off int64, max int) (string, int64, error) {
	n := int64(max)
	if rem := c.part.Size - off; rem < n {
		n = rem
	}
	if n <= 0 {
		return "", off, formatErr(c, off, "cabinet name runs past the end")
	}
	buf := make([]byte, n)
	if err := readFull(c.part, buf, off); err != nil {
		return "", off, readErr(c, off, err)
	}
	for i, b := range buf {
		if b == 0 {
			return decodeName(buf[:i], false), off + int64(i) + 1, nil
		}
	}
	return "", off, formatErr(c, off, "unterminated cabinet name")
}

func readFull(p Part, buf []byte, off int64) error {
	if off < 0 || off+int64(len(buf)) > p.Size {
		return io.ErrUnexpectedEOF
	}
	n, err := p.R.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// readErr turns a short read into a FormatError and keeps I/O errors as they are.
func readErr(c *cabinet, off int64, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return formatErr(c, off, "truncated")
	}
	return fmt.Errorf("cab: %sreading at 0x%x: %w", cabName(c), off, err)
}

// cabName is `"name": ` for error messages, or nothing for an unnamed cabinet.
func cabName(c *cabinet) string {
	if c.part.Name == "" {
		return ""
	}
	return fmt.Sprintf("%q: ", c.part.Name)
}

// merge maps each cabinet's folders onto the set's folders, reads every CFDATA header and
// checks every file's range against its folder's data.
func (r *Reader) merge() error {
	var (
		folders  []*folder
		total    int64
		nblocks  int
		prevLast = -1 // global index of the previous cabinet's last folder
	)
	type key struct {
		folder int
		off    uint32
		size   uint32
		name   string
	}
	continued := map[key]bool{}
	for ci, c := range r.parts {
		if c.prevContinued && ci == 0 {
			return missingErr(c, c.prevName, c.index-1)
		}
		if c.nextContinued && ci == len(r.parts)-1 {
			return missingErr(c, c.nextName, c.index+1)
		}
		if ci > 0 && r.parts[ci-1].nextContinued != c.prevContinued {
			return formatErr(c, -1, fmt.Sprintf("cabinet %q and this one disagree on a folder continued between them", r.parts[ci-1].part.Name))
		}
		if c.prevContinued && prevLast < 0 {
			return formatErr(c, -1, "continues a folder the previous cabinet does not have")
		}
		gmap := make([]int, len(c.folders))
		for fi, rf := range c.folders {
			var f *folder
			if fi == 0 && c.prevContinued {
				f = folders[prevLast]
				if f.info.TypeCompress != rf.typeCompress {
					return formatErr(c, rf.off+6, fmt.Sprintf("continued folder %d changes compression from 0x%x to 0x%x", f.index, f.info.TypeCompress, rf.typeCompress))
				}
				f.info.Cabinets++
			} else {
				if len(folders) >= MaxFolders {
					return fmt.Errorf("cab: more than %d folders: %w", MaxFolders, unpack.ErrLimit)
				}
				f = newFolder(len(folders), rf.typeCompress)
				folders = append(folders, f)
			}
			gmap[fi] = f.index
			added, err := r.readBlocks(ci, c, fi, rf, f)
			if err != nil {
				return err
			}
			nblocks += added
			if nblocks > MaxBlocks {
				return fmt.Errorf("cab: more than %d CFDATA blocks: %w", MaxBlocks, unpack.ErrLimit)
			}
		}
		if len(c.folders) > 0 {
			prevLast = gmap[len(gmap)-1]
		} else {
			prevLast = -1
		}
		for _, rf := range c.files {
			var g int
			switch rf.iFolder {
			case ifoldContinuedFromPrev:
				g = gmap[0]
			case ifoldContinuedToNext, ifoldContinuedPrevAndNext:
				g = gmap[len(gmap)-1]
			default:
				g = gmap[rf.iFolder]
			}
			k := key{g, rf.uoff, rf.cbFile, rf.name}
			if rf.iFolder == ifoldContinuedFromPrev || rf.iFolder == ifoldContinuedPrevAndNext {
				if continued[k] {
					continue // the copy listed by the previous cabinet
				}
			}
			if rf.iFolder == ifoldContinuedToNext || rf.iFolder == ifoldContinuedPrevAndNext {
				continued[k] = true
			}
			r.files = append(r.files, &File{
				RawName: rf.name,
				raw:     rf.raw,
				Size:    int64(rf.cbFile),
				Attribs: rf.attribs,
				Folder:  g,
				Offset:  rf.uoff,
				Date:    rf.date,
				Time:    rf.time,
				r:       r,
			})
		}
	}
	// Close the folders: a split block must be completed by the next cabinet.
	for _, f := range folders {
		if n := len(f.blocks); n > 0 && f.blocks[n-1].uncomp == 0 {
			b := f.blocks[n-1]
			c := r.parts[b.cab]
			if len(b.extra) > 0 {
				c = r.parts[b.extra[len(b.extra)-1].cab]
			}
			return formatErr(c, b.off, fmt.Sprintf("folder %d: last CFDATA block is split (cbUncomp 0) but no cabinet continues it", f.index))
		}
		f.info.Blocks = len(f.blocks)
		f.starts = make([]int64, len(f.blocks)+1)
		var sz int64
		for i := range f.blocks {
			f.starts[i] = sz
			sz += int64(f.blocks[i].uncomp)
		}
		f.starts[len(f.blocks)] = sz
		f.info.Size = sz
		if sz > MaxFolderBytes {
			return fmt.Errorf("cab: folder %d expands to %d bytes (max %d): %w", f.index, sz, int64(MaxFolderBytes), unpack.ErrLimit)
		}
		total += sz
		if total > MaxExpanded {
			return fmt.Errorf("cab: folders expand to more than %d bytes: %w", int64(MaxExpanded), unpack.ErrLimit)
		}
	}
	r.folders = folders
	for _, f := range r.files {
		fo := folders[f.Folder]
		if f.Size > 0 && int64(f.Offset)+f.Size > fo.info.Size {
			return &unpack.FormatError{Format: "cab", Entry: f.RawName, Offset: -1,
				Msg: fmt.Sprintf("file range [%d, %d) outside folder %d's %d bytes", f.Offset, int64(f.Offset)+f.Size, f.Folder, fo.info.Size)}
		}
	}
	return nil
}

func newFolder(index int, typeCompress uint16) *folder {
	f := &folder{index: index, method: typeCompress & 0x000F}
	f.info.TypeCompress = typeCompress
	f.info.Cabinets = 1
	switch f.method {
	case compNone:
		f.info.Compression = "none"
	case compMSZIP:
		f.info.Compression = "mszip"
	case compQuantum:
		f.window = int(typeCompress>>8) & 0x1F
		f.info.Compression = fmt.Sprintf("quantum:%d", f.window)
	case compLZX:
		f.window = int(typeCompress>>8) & 0x1F
		f.info.Compression = fmt.Sprintf("lzx:%d", f.window)
	default:
		f.info.Compression = fmt.Sprintf("unknown:%d", f.method)
	}
	return f
}

// readBlocks walks the CFDATA chain of one cabinet's folder and appends it to f.
func (r *Reader) readBlocks(ci int, c *cabinet, fi int, rf rawFolder, f *folder) (int, error) {
	maxUncomp := MaxBlockBytes
	if f.method == compLZX {
		maxUncomp = MaxLZXBlock
	}
	hsz := int64(dataHeaderSize + c.cbCFData)
	off := int64(rf.coffCabStart)
	if rf.cCFData > 0 && (off < headerSize || off > c.part.Size) {
		return 0, formatErr(c, rf.off, fmt.Sprintf("folder %d: coffCabStart 0x%x outside the cabinet", f.index, rf.coffCabStart))
	}
	if f.info.Truncated {
		return 0, formatErr(c, rf.off, fmt.Sprintf("folder %d continues a cabinet whose part of it is truncated", f.index))
	}
	le := binary.LittleEndian
	var h [dataHeaderSize]byte
	for i := 0; i < int(rf.cCFData); i++ {
		if off+hsz > c.part.Size {
			// wixl writes cCFData 1 and no CFDATA for a folder of empty files; 7-Zip and
			// libgcab accept it. The blocks present are kept; files must fit in them.
			f.info.Truncated = true
			return i, nil
		}
		if err := readFull(c.part, h[:], off); err != nil {
			return i, readErr(c, off, err)
		}
		s := span{
			cab:   int32(ci),
			csum:  le.Uint32(h[0:]),
			n:     le.Uint16(h[4:]),
			off:   off,
			data:  off + hsz,
			block: i,
		}
		uncomp := le.Uint16(h[6:])
		if s.data+int64(s.n) > c.part.Size {
			f.info.Truncated = true
			return i, nil
		}
		if int(uncomp) > maxUncomp {
			return i, formatErr(c, off+6, fmt.Sprintf("folder %d block %d: cbUncomp %d exceeds %d", f.index, i, uncomp, maxUncomp))
		}
		last := i == int(rf.cCFData)-1
		if uncomp == 0 && !(last && fi == len(c.folders)-1 && c.nextContinued) {
			return i, formatErr(c, off+6, fmt.Sprintf("folder %d block %d: cbUncomp is 0", f.index, i))
		}
		if n := len(f.blocks); i == 0 && n > 0 && f.blocks[n-1].uncomp == 0 {
			// The first part of this block ended the previous cabinet.
			b := &f.blocks[n-1]
			b.extra = append(b.extra, s)
			b.uncomp = uncomp
		} else {
			f.blocks = append(f.blocks, block{span: s, uncomp: uncomp})
		}
		f.info.CompressedSize += int64(s.n)
		off = s.data + int64(s.n)
	}
	return int(rf.cCFData), nil
}

// Files returns the files in storage order (a file continued across cabinets appears once).
func (r *Reader) Files() []*File { return r.files }

// Folders returns the folders; File.Folder indexes this slice.
func (r *Reader) Folders() []Folder {
	out := make([]Folder, len(r.folders))
	for i, f := range r.folders {
		out[i] = f.info
	}
	return out
}

func dosTime(d, t uint16) time.Time {
	if d == 0 && t == 0 {
		return time.Time{}
	}
	return time.Date(1980+int(d>>9), time.Month((d>>5)&0xF), int(d&0x1F),
		int(t>>11), int((t>>5)&0x3F), int(t&0x1F)*2, 0, time.UTC)
}

// Open opens the cabinet in the named file; Close closes it.
func Open(name string) (*unpack.ReadCloser[*Reader], error) { return unpack.OpenFile(name, NewReader) }

// The reader contract every format keeps.
var (
	_ fs.ReadDirFS  = (*Reader)(nil)
	_ fs.StatFS     = (*Reader)(nil)
	_ unpack.Walker = (*Reader)(nil)
)
