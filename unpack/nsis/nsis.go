// Package nsis reads Nullsoft Scriptable Install System (NSIS) installers over hostile input
// and exposes the files they install as an fs.FS and an unpack.Walker, plus the install
// script's registry writes, program runs and downloads as facts (Reader.Script).
//
// It follows NSIS's own layout (Source/exehead/fileform.h, NSIS 2.x and 3.x): a PE stub, then
// at a 512-byte boundary the firstheader (flags, 0xDEADBEEF, "NullsoftInst", header length,
// length of all following data, an optional CRC32 at the end), then the header (common
// header with its block table: pages, sections, entries, strings, language tables, control
// colours, background font, data) and the data block. A solid installer compresses the
// header and every data block as one stream, each prefixed by its 4-byte length; a
// non-solid one stores each block as a 4-byte length (top bit: compressed) and its own
// stream. Compressors: raw deflate ("zlib"), NSIS's bzip2 variant (no stream header, a one-
// byte block signature, no CRCs: bzip2.go) and LZMA as a 5-byte properties header and raw
// LZMA data, with or without an end marker (lzma.go, checked against
// github.com/ulikunitz/xz/lzma in the tests; the dictionary is capped by MaxDictBytes). Strings are ANSI (NSIS 2: codes 252–255,
// NSIS 3: codes 1–4) or UTF-16LE (NSIS 3 Unicode: codes 1–4 followed by one 16-bit value);
// variables, shell folders and language strings are expanded to their $NAME form as 7-Zip's
// NSIS handler (CPP/7zip/Archive/Nsis) spells them, so the install paths equal `7zz x`.
// Header blocks of 64-bit targets (Target amd64-unicode) are 12 bytes wide and detected.
//
// Install paths: the script's entries are read in order; SetOutPath sets the output folder
// and File (EW_EXTRACTFILE) names a file relative to it, WriteUninstaller names the
// uninstaller (its content is the installer's stub patched with the uninstaller icon, then
// the uninstaller data, as 7-Zip writes it). A path is exposed slash-separated under a root
// named for its leading variable or shell folder without the "$": INSTDIR/bin/media.dll,
// PLUGINSDIR/NSISdl.dll, LOCALAPPDATA/Acme/profile.dat, SYSDIR/…; a path with no leading
// variable is taken relative to INSTDIR (7-Zip lists it bare); a drive-absolute path keeps
// its drive ("C:/…") and a UNC path lives under "UNC/". Empty, "." and ".." components are
// dropped, and trailing periods and spaces trimmed as Win32 trims them when the file is
// created (unpack.WinComponents; 7-Zip keeps them). When several entries extract different data to the same path, the last one in
// script order keeps the path (what a full install leaves on disk, and what `7zz x`
// extracts) and each earlier one is kept as "path~N", N its 1-based place among them;
// entries naming the same data at the same path are one file.
//
// The entries are interpreted linearly, as 7-Zip does, without following jumps; a path
// built at run time from user variables keeps the variable's name ($0, $R1, $_3_). Unlike
// 7-Zip, a File name that starts with a shell folder ($SYSDIR\x.dll) is taken as absolute,
// as exehead resolves it, not joined to the output folder. The archive CRC is not checked
// (neither does 7-Zip); every read is bounded by the limits below.
// NSIS 2.25 and older (other built-in variable numbering), Jim Park's Unicode NSIS 2 fork,
// NSISBI and LZMA with 7-Zip's BCJ filter flag are reported as unpack.ErrUnsupported or
// read with the NSIS 3 numbering.
package nsis

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"sync"
	"time"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/fstree"
)

// Limits. They bound what a hostile installer can make the reader allocate or decode.
const (
	// MaxStubSearchBytes bounds how far from the start the firstheader is looked for.
	MaxStubSearchBytes = 64 << 20
	// MaxHeaderBytes bounds the decompressed header (makensis: a few KiB to a few MiB).
	MaxHeaderBytes = 64 << 20
	// MaxEntries bounds the script's instructions (28 bytes each).
	MaxEntries = 1 << 22
	// MaxFiles bounds the files one installer exposes.
	MaxFiles = unpack.MaxEntries
	// MaxStringBytes bounds one expanded string (NSIS_MAX_STRLEN is 1024 to 8192 chars).
	MaxStringBytes = 64 << 10
	// MaxDictBytes bounds the LZMA dictionary the decoder allocates (makensis default 8 MiB,
	// SetCompressorDictSize accepts more, 64 MiB covers real installers).
	MaxDictBytes = 64 << 20
	// MaxExpanded bounds the bytes one Walk or one size scan may decode.
	MaxExpanded = unpack.MaxExpandedBytes
	// MaxPatchBytes bounds an uninstaller's icon patch block.
	MaxPatchBytes = 16 << 20
	// MaxStubBytes bounds the PE stub copied into an uninstaller.
	MaxStubBytes = 64 << 20
	// MaxDupBufferBytes bounds the bytes Walk keeps to deliver data shared by two paths
	// of a solid installer again; larger shared data is decoded again.
	MaxDupBufferBytes = 64 << 20
	// MaxScriptBytes bounds the bytes of all the strings expanded while reading the
	// instructions (each can reference a long string).
	MaxScriptBytes = 32 << 20
	// MaxFacts bounds each list of script facts.
	MaxFacts = 1 << 16
)

const (
	firstHeaderSize = 28
	entrySize       = 28
	alignment       = 512
	fhFlagsMask     = 0xF
	fhNoCRC         = 4
	fhForceCRC      = 8
	fhUninstall     = 1
)

var signature = []byte("\xef\xbe\xad\xdeNullsoftInst")

// Reader is an opened NSIS installer. It implements fs.FS, fs.ReadDirFS, fs.StatFS and
// unpack.Walker. File sizes are learnt lazily (by the first Stat, ReadDir or Open, or by a
// Walk), so a Reader is not safe for concurrent use.
type Reader struct {
	r    io.ReaderAt
	size int64

	// Offset is where the firstheader starts; Stub is the PE stub before it, [StubStart,
	// Offset).
	Offset    int64
	StubStart int64
	// Flags are the firstheader flags (1: uninstaller, 2: silent, 4: no CRC, 8: force CRC).
	Flags     uint32
	HeaderLen uint32
	ArcLen    uint32
	Method    Method
	Solid     bool
	Unicode   bool
	// NSIS3 is true for NSIS 3 string codes, false for NSIS 2.
	NSIS3 bool
	// Is64 is true for a 64-bit target's header (12-byte block headers).
	Is64 bool

	dataStart int64 // file offset of the data (solid: the compressed stream; non-solid: block 0)
	dataEnd   int64 // end of the archive data (CRC excluded)

	files  []*File
	tree   *fstree.Tree
	script Script

	sizeOnce sync.Once
	sizeErr  error
}

// File is one file the installer extracts.
type File struct {
	Path    string // fs.FS path
	RawName string // the path as the script spells it, variables expanded to $NAME
	Pos     uint32 // data block offset
	ModTime time.Time
	// Entry is the index of the instruction that extracts it.
	Entry int
	// Uninstaller marks WriteUninstaller's file; PatchSize is its icon patch block length.
	Uninstaller bool
	PatchSize   uint32

	size  int64 // -1 until known
	node  *fstree.Node
	dupOf *File // an earlier file with the same data position
}

// Size returns the file's size; it may decode the installer to learn it.
func (f *File) Size() int64 { return f.size }

func errAt(entry string, off int64, format string, args ...any) error {
	return &unpack.FormatError{Format: "nsis", Entry: entry, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func errLimit(entry string, off int64, format string, args ...any) error {
	return &unpack.FormatError{Format: "nsis", Entry: entry, Offset: off, Msg: fmt.Sprintf(format, args...), Err: unpack.ErrLimit}
}

func errUnsupported(entry string, off int64, format string, args ...any) error {
	return &unpack.FormatError{Format: "nsis", Entry: entry, Offset: off, Msg: fmt.Sprintf(format, args...), Err: unpack.ErrUnsupported}
}

var _ unpack.Walker = (*Reader)(nil)

// NewReader opens the NSIS installer in r. An input without a firstheader is an
// unpack.ErrFormat error.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	nr := &Reader{r: r, size: size, StubStart: -1}
	if err := nr.findFirstHeader(); err != nil {
		return nil, err
	}
	header, err := nr.readHeader()
	if err != nil {
		return nil, err
	}
	h, err := parseHeader(header, nr)
	if err != nil {
		return nil, err
	}
	if err := nr.interpret(h); err != nil {
		return nil, err
	}
	if err := nr.buildTree(); err != nil {
		return nil, err
	}
	return nr, nil
}

// Open opens the named installer; Close closes it.
func Open(name string) (*unpack.ReadCloser[*Reader], error) { return unpack.OpenFile(name, NewReader) }

// Files returns the files in script order (duplicates of one data block included).
func (r *Reader) Files() []*File { return r.files }

// Script returns the facts read from the install script.
func (r *Reader) Script() *Script { return &r.script }

// findFirstHeader looks for the firstheader at every 512-byte boundary and for the PE stub
// before it.
func (r *Reader) findFirstHeader() error {
	if r.size < firstHeaderSize {
		return errAt("", 0, "file of %d bytes has no NSIS firstheader", r.size)
	}
	off, ok := FindFirstHeader(r.r, r.size)
	if !ok {
		return errAt("", -1, "no NSIS firstheader in the first %d bytes", min(r.size, MaxStubSearchBytes))
	}
	p := make([]byte, firstHeaderSize)
	if _, err := r.r.ReadAt(p, off); err != nil {
		return errAt("firstheader", off, "reading it: %v", err)
	}
	r.Offset = off
	r.Flags = binary.LittleEndian.Uint32(p)
	r.HeaderLen = binary.LittleEndian.Uint32(p[20:])
	r.ArcLen = binary.LittleEndian.Uint32(p[24:])
	return r.checkFirstHeader(p)
}

func (r *Reader) checkFirstHeader(after []byte) error {
	if r.Flags&^fhFlagsMask != 0 {
		return errUnsupported("firstheader", r.Offset, "flags 0x%x (NSISBI or a newer format)", r.Flags)
	}
	if r.HeaderLen == 0 || r.HeaderLen > MaxHeaderBytes {
		return errLimit("firstheader", r.Offset+20, "header of %d bytes (limit %d)", r.HeaderLen, MaxHeaderBytes)
	}
	if int64(r.ArcLen) <= firstHeaderSize+4 || int64(r.ArcLen) > r.size-r.Offset {
		return errAt("firstheader", r.Offset+24, "archive of %d bytes in a file with %d bytes after the firstheader", r.ArcLen, r.size-r.Offset)
	}
	r.dataStart = r.Offset + firstHeaderSize
	r.dataEnd = r.Offset + int64(r.ArcLen)
	if r.Flags&fhForceCRC != 0 || r.Flags&fhNoCRC == 0 {
		r.dataEnd -= 4
	}
	// The stub: the closest "MZ" with a PE header at a 512-byte boundary before the
	// firstheader, as 7-Zip looks for it.
	for pos := r.Offset - alignment; pos >= 0 && r.Offset-pos <= MaxStubBytes; pos -= alignment {
		if isPE(r.r, pos) {
			r.StubStart = pos
			break
		}
	}
	sig := make([]byte, 12)
	if _, err := r.r.ReadAt(sig, r.dataStart); err != nil {
		return errAt("firstheader", r.dataStart, "reading the data: %v", err)
	}
	m, solid, err := detectMethod(sig, r.HeaderLen)
	if err != nil {
		return errUnsupported("header", r.dataStart, "%v", err)
	}
	r.Method, r.Solid = m, solid
	return nil
}

func isPE(ra io.ReaderAt, pos int64) bool {
	var h [64]byte
	if _, err := ra.ReadAt(h[:], pos); err != nil || h[0] != 'M' || h[1] != 'Z' {
		return false
	}
	pe := binary.LittleEndian.Uint32(h[0x3c:])
	if pe < 0x40 || pe > 0x1000 || pe&7 != 0 {
		return false
	}
	var sig [4]byte
	if _, err := ra.ReadAt(sig[:], pos+int64(pe)); err != nil {
		return false
	}
	return string(sig[:]) == "PE\x00\x00"
}

// readHeader returns the decompressed header.
func (r *Reader) readHeader() ([]byte, error) {
	if r.Solid {
		s, err := r.openSolid()
		if err != nil {
			return nil, err
		}
		var n [4]byte
		if _, err := io.ReadFull(s, n[:]); err != nil {
			return nil, errAt("header", r.dataStart, "reading the header length: %v", err)
		}
		if binary.LittleEndian.Uint32(n[:]) != r.HeaderLen {
			return nil, errAt("header", r.dataStart, "header length %d, firstheader says %d", binary.LittleEndian.Uint32(n[:]), r.HeaderLen)
		}
		h := make([]byte, r.HeaderLen)
		if _, err := io.ReadFull(s, h); err != nil {
			return nil, errAt("header", r.dataStart, "decompressing the header: %v", err)
		}
		return h, nil
	}
	rc, size, next, err := r.openBlock(r.dataStart, "header")
	if err != nil {
		return nil, err
	}
	if size >= 0 && size != int64(r.HeaderLen) {
		return nil, errAt("header", r.dataStart, "stored header of %d bytes, firstheader says %d", size, r.HeaderLen)
	}
	h := make([]byte, r.HeaderLen)
	if _, err := io.ReadFull(rc, h); err != nil {
		return nil, errAt("header", r.dataStart, "decompressing the header: %v", err)
	}
	r.dataStart = next
	return h, nil
}

// openSolid returns the decompressed solid stream from its start.
func (r *Reader) openSolid() (io.Reader, error) {
	src := io.NewSectionReader(r.r, r.dataStart, r.dataEnd-r.dataStart)
	d, err := newDecoder(r.Method, src, MaxDictBytes)
	if err != nil {
		return nil, wrapDecode("solid stream", r.dataStart, err)
	}
	return d, nil
}

// openBlock opens the non-solid block at off: its content, its size when stored (-1 when
// compressed: known only once decoded) and the offset after it.
func (r *Reader) openBlock(off int64, what string) (io.Reader, int64, int64, error) {
	if off < r.dataStart && what != "header" || off+4 > r.dataEnd {
		return nil, 0, 0, errAt(what, off, "block beyond the archive data")
	}
	var n [4]byte
	if _, err := r.r.ReadAt(n[:], off); err != nil {
		return nil, 0, 0, errAt(what, off, "reading the block length: %v", err)
	}
	length := binary.LittleEndian.Uint32(n[:])
	compressed := length&compressedBit != 0
	length &^= compressedBit
	if int64(length) > r.dataEnd-off-4 {
		return nil, 0, 0, errAt(what, off, "block of %d bytes beyond the archive data", length)
	}
	src := io.NewSectionReader(r.r, off+4, int64(length))
	next := off + 4 + int64(length)
	if !compressed || r.Method == Stored {
		return src, int64(length), next, nil
	}
	d, err := newDecoder(r.Method, src, MaxDictBytes)
	if err != nil {
		return nil, 0, 0, wrapDecode(what, off, err)
	}
	return d, -1, next, nil
}

func wrapDecode(what string, off int64, err error) error {
	var fe *unpack.FormatError
	if errors.As(err, &fe) {
		return err
	}
	sentinel := unpack.ErrFormat
	switch {
	case errors.Is(err, unpack.ErrLimit):
		sentinel = unpack.ErrLimit
	case errors.Is(err, unpack.ErrUnsupported):
		sentinel = unpack.ErrUnsupported
	}
	return &unpack.FormatError{Format: "nsis", Entry: what, Offset: off, Msg: err.Error(), Err: sentinel}
}

// sortedByPos returns the distinct files in data order (duplicates of one data position
// and path are left out; files sharing a position keep script order).
func (r *Reader) sortedByPos() []*File {
	out := make([]*File, 0, len(r.files))
	out = append(out, r.files...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pos < out[j].Pos })
	return out
}

// fileTime converts a FILETIME; 0 and 0xFFFFFFFF/0xFFFFFFFF (SetDateSave off) are no time.
func fileTime(lo, hi uint32) time.Time {
	ft := uint64(hi)<<32 | uint64(lo)
	if ft == 0 || ft == ^uint64(0) {
		return time.Time{}
	}
	const epochDiff = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
	if ft < epochDiff {
		return time.Time{}
	}
	d := ft - epochDiff
	return time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC()
}

var _ fs.ReadDirFS = (*Reader)(nil)
var _ fs.StatFS = (*Reader)(nil)
