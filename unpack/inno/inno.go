// Package inno reads Inno Setup installers (setup data versions 5.2.5 to 6.4.3, 6.5.2 and
// 6.7.0, Unicode and ANSI) over hostile input and exposes the files they install as an fs.FS and an
// unpack.Walker, plus the script's registry writes, [Run] entries and shortcuts as facts.
//
// It follows the format as innoextract (github.com/dscharrer/innoextract, src/loader,
// src/setup, src/stream) reads it, checked against innoextract's output on real installers:
//
//   - The setup loader's offset table sits in the PE resource RCDATA #11111 (5.1.5 and later)
//     or behind the "Inno" magic at file offset 0x30 (older loaders). It names where the
//     setup headers ("setup-0") and the file data ("setup-1") start in the file.
//   - setup-0 opens with a 64-byte version string ("Inno Setup Setup Data (6.1.0) (u)"),
//     then two header blocks. Each block is a CRC32, a stored size and a compressed flag
//     (CRC'd together), then that many bytes of 4 KiB chunks each preceded by their CRC32,
//     holding an LZMA1 stream (5-byte properties, raw data) or stored bytes. The first block
//     holds the setup header (strings, entry counts, options) and the entries (languages,
//     messages, permissions, types, components, tasks, directories, files, icons, INI,
//     registry, deletes, runs, wizard images, helper DLLs); the second holds the file
//     location ("data") entries. Both must be consumed exactly.
//   - setup-1 holds chunks: "zlb\x1a", then the chunk's compressed bytes (stored, zlib,
//     bzip2, LZMA1 with Inno's 5-byte properties, LZMA2 with a 1-byte property). A solid
//     chunk holds many files at their offsets; an executable may be stored through the x86
//     CALL/JMP address filter (innoextract's 5200 variant, 5309 from 5.3.9), and every
//     file's checksum (MD5 before 5.3.9, SHA-1, SHA-256 from 6.4) is verified over the
//     restored bytes: a mismatch is a FormatError naming the file.
//
// Install paths are innoextract's: the destination's constants keep their names as the
// first path component without braces ("{app}\bin\x.dll" is app/bin/x.dll, "{sys}\y.dll"
// is sys/y.dll, "{commonappdata}\…" commonappdata/…, "{code:F|a}" code$F$a), characters
// Windows forbids become "$", "\" separates, "." and empty components are dropped and ".."
// drops the component before it. Files whose destinations collide (case-insensitively) are
// resolved as innoextract does (the later entry overwrites unless its version or time
// says otherwise); rollgate hides no file, so each losing entry is kept as "path~N", N its
// 1-based place among the losers. Temporary files (deleteafterinstall) are listed, as
// innoextract 1.9 extracts them. Files without data (external copies) are not listed.
//
// Held against innoextract on real installers of data versions 5.4.2 (u), 5.5.0, 5.5.7,
// 5.5.7 (u), 6.0.0 (u), 6.1.0 (u), 6.3.0 and 6.4.0.1 (conformance_test.go); 5.2.5 to 5.4.1 follow innoextract
// untested. Data in slice files beside the installer (DiskSpanning=yes: setup-1.bin,
// setup-1a.bin, …) is read through the folder NewReaderFS is given (slice.go), held against
// innoextract on installers of data 5.5.7 (u) and 6.4.0.1 built by Inno Setup's compiler;
// the 64-bit slice header of 6.5.2 and later follows issrc (is-6_5_2), untested on a real
// one. innoextract reads no data version after 6.4.0.1: the 6.4.2 header string and the
// 6.4.3 file location flags follow Inno Setup's own Shared.Struct.pas (jrsoftware/issrc,
// tags is-6_4_2 and is-6_4_3), checked on real 6.4.2 and 6.4.3 installers by every file's
// own SHA-256; data versions 6.5.2 (Inno Setup 6.5.2-6.5.4) and 6.7.0 (6.7.x) likewise
// from is-6_5_2 and is-6_7_0 (v67.go), checked on one and eight real installers. Not read:
// setup data older than 5.2.5, 6.5.0, 6.6.x and any later than 6.7.0
// (unpack.ErrUnsupported), slice files without a folder to find them in (the reader
// opens; reading a file is ErrUnsupported), Setup 5.x's "..\DISKn\" slice folders,
// 6.7's fully encrypted headers (ErrUnsupported), encrypted chunks (each such file stays
// listed, Open fails with ErrUnsupported, Walk skips it and Reader.Skipped names it), and
// the modified 5.3.10.1/5.4.2.1/5.5.0.1/5.5.7.1
// variants beyond the retry innoextract also makes (a version string that fails to parse is
// read again as the variant). ANSI strings are decoded as Windows-1252.
package inno

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/fstree"
)

// Limits. They bound what a hostile installer can make the reader allocate or decode.
const (
	// MaxHeaderBytes bounds one decompressed header block (real installers: KiB to a few
	// MiB; the compiled Pascal script and wizard images are the large parts).
	MaxHeaderBytes = 64 << 20
	// MaxRatio bounds the bytes one compressed byte may decompress to, in a header block or
	// a chunk (plus 1 MiB of slack): above LZMA's own maximum (about 7000 for runs of one
	// byte) and zlib's (1032), so only a bzip2 chunk of long runs could reach it. It keeps
	// a small hostile input from decoding gigabytes.
	MaxRatio = 8192
	// MaxStringBytes bounds one string in the header (the compiled script, a wizard image).
	MaxStringBytes = 64 << 20
	// MaxEntries bounds each entry count in the setup header.
	MaxEntries = 1 << 20
	// MaxFiles bounds the files one installer exposes.
	MaxFiles = unpack.MaxEntries
	// MaxDictBytes bounds the LZMA dictionary a chunk may declare (Inno's ultra64 uses
	// 64 MiB, LZMADictionarySize allows up to 1 GiB); the window allocated is also never
	// larger than the bytes the chunk can yield.
	MaxDictBytes = 1 << 30
	// MaxExpanded bounds the bytes one Walk decodes.
	MaxExpanded = unpack.MaxExpandedBytes
	// MaxDupBufferBytes bounds the bytes Walk keeps to deliver one data location that
	// several files install; larger shared data is decoded again.
	MaxDupBufferBytes = 64 << 20
	// maxRenames bounds the suffixes tried for one path that collides with a directory.
	maxRenames = 64
)

var errs = unpack.Errs("inno")

// Reader is an opened Inno Setup installer. It implements fs.FS, fs.ReadDirFS, fs.StatFS and
// unpack.Walker. It is not safe for concurrent use.
type Reader struct {
	r    io.ReaderAt
	size int64

	// Version is the setup data version.
	Version Version
	// HeaderOffset and DataOffset are where setup-0 and setup-1 start in the file;
	// DataOffset is 0 when the data lives in separate setup-1.bin files.
	HeaderOffset int64
	DataOffset   int64
	// Header holds the setup header's product facts and options.
	Header Header

	Files    []*File
	Registry []RegistryEntry
	Runs     []RunEntry // [Run] then [UninstallRun] (Uninstall set)
	Icons    []Icon
	INI      []INIEntry

	data   []dataEntry
	tree   *fstree.Tree
	parked *chunk  // the chunk the last closed file read, kept for the next open
	slices *slices // the slice files beside the installer (disk spanning), when given a folder
}

// File is one file the installer extracts.
type File struct {
	Path        string // fs.FS path
	Destination string // as the script spells it: "{app}\bin\x.dll"
	Source      string // the compiler's source path, when kept
	Size        int64
	ModTime     time.Time
	Location    int  // data entry index
	Encrypted   bool // its chunk is encrypted: not readable
	Temporary   bool // deleteafterinstall
	Components  string
	Tasks       string
	Languages   string

	flags uint32
	node  *fstree.Node
	dupOf *File // an earlier file with the same data location
}

// Skipped returns the files Walk does not deliver and why (encrypted chunks).
func (r *Reader) Skipped() map[string]error {
	out := map[string]error{}
	for _, f := range r.Files {
		if err := r.unreadable(f); err != nil {
			out[f.Path] = err
		}
	}
	return out
}

// NewReader opens the Inno Setup installer in r. An input without an Inno Setup loader
// offset table or setup-0 header is an unpack.ErrFormat error; setup data of a version this
// reader does not read is unpack.ErrUnsupported. An installer whose file data is in slice
// files beside it (disk spanning) opens, but its files cannot be read: use NewReaderFS.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) { return NewReaderFS(r, size, nil, "") }

// NewReaderFS is NewReader for an installer named name in the folder dir: when its file data
// is in slice files (setup-1.bin, disk spanning), they are read from dir by the names Inno
// Setup gives them (slice.go). A slice that is absent, cut short or not a slice makes
// reading the files it holds fail with unpack.ErrFormat, one whose name would leave dir with
// unpack.ErrInsecurePath. dir is not touched for an installer that carries its data. Close
// closes the slices.
func NewReaderFS(r io.ReaderAt, size int64, dir fs.FS, name string) (*Reader, error) {
	ir := &Reader{r: r, size: size}
	off, err := ir.locate()
	if err != nil {
		return nil, err
	}
	ir.HeaderOffset, ir.DataOffset = off.header, off.data
	if err := ir.readSetup0(); err != nil {
		return nil, err
	}
	if err := ir.buildTree(); err != nil {
		return nil, err
	}
	if ir.DataOffset == 0 && dir != nil {
		ir.newSlices(dir, name)
	}
	return ir, nil
}

// Close closes the slice files the reader opened; the installer itself is the caller's.
func (r *Reader) Close() error {
	r.parked = nil
	if r.slices == nil {
		return nil
	}
	return r.slices.close()
}

// Open opens the named installer, reading slice files beside it; Close closes it.
func Open(name string) (*unpack.ReadCloser[*Reader], error) {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	return unpack.OpenFile(name, func(r io.ReaderAt, size int64) (*Reader, error) {
		return NewReaderFS(r, size, os.DirFS(dir), base)
	})
}

// IsInstaller reports whether r carries an Inno Setup loader offset table (analyze uses it
// to recognise the setup stub, whose overlay starts with no fixed magic). It is true for a
// table NewReader refuses as unsupported (an older loader, Inno Setup 6.5's revision 2), so
// such an installer is reported as not analysed rather than passed as a bare PE.
func IsInstaller(r io.ReaderAt, size int64) bool {
	ir := &Reader{r: r, size: size}
	pos, err := ir.findTable()
	if err != nil {
		return false
	}
	var m [12]byte
	if _, err := r.ReadAt(m[:], pos); err != nil {
		return false
	}
	_, known := loaderMagics[string(m[:])]
	return known
}

// offsets is the setup loader's offset table.
type offsets struct {
	header, data int64
}

// The loader table magics (innoextract src/loader/offsets.cpp); the 5.1.5+ ones carry a
// revision and the table's own CRC32.
var loaderMagics = map[string]bool{
	"rDlPtS02\x87eVx":          false,
	"rDlPtS04\x87eVx":          false,
	"rDlPtS05\x87eVx":          false,
	"rDlPtS06\x87eVx":          false,
	"rDlPtS07\x87eVx":          false,
	"rDlPtS\xcd\xe6\xd7{\x0b*": true,
	"nS5W7dT\x83\xaa\x1b\x0fj": true,
}

const (
	loaderMagicOffset = 0x30
	resourceInstaller = 11111
	loaderTableBytes  = 12 + 4*8 // magic, revision, 6 fields, CRC32
)

// locate finds the loader's offset table and reads it.
func (r *Reader) locate() (offsets, error) {
	pos, err := r.findTable()
	if err != nil {
		return offsets{}, err
	}
	return r.readLoaderTable(pos)
}

// findTable returns the file offset of the loader's offset table: behind the "Inno" pointer
// at 0x30 (loaders before 5.1.5), else in the PE resource RCDATA #11111.
func (r *Reader) findTable() (int64, error) {
	var m [12]byte
	if _, err := r.r.ReadAt(m[:], loaderMagicOffset); err == nil && string(m[:4]) == "Inno" {
		pos := binary.LittleEndian.Uint32(m[4:])
		if pos == ^binary.LittleEndian.Uint32(m[8:]) {
			return int64(pos), nil
		}
	}
	return findResource(r.r, r.size, 10, resourceInstaller)
}

func (r *Reader) readLoaderTable(pos int64) (offsets, error) {
	var b [loaderTableBytes]byte
	if pos < 0 || pos+int64(len(b)) > r.size {
		return offsets{}, errs.Format("loader table", pos, "offset table beyond the end of the %d-byte file", r.size)
	}
	if _, err := r.r.ReadAt(b[:], pos); err != nil {
		return offsets{}, errs.Format("loader table", pos, "reading: %v", err)
	}
	modern, ok := loaderMagics[string(b[:12])]
	if !ok {
		return offsets{}, errs.Format("loader table", pos, "unknown setup loader magic %q", b[:12])
	}
	if !modern {
		return offsets{}, errs.Unsupported("loader table", pos, "setup loader older than Inno Setup 5.1.5")
	}
	switch rev := binary.LittleEndian.Uint32(b[12:]); rev {
	case 1:
	case 2:
		return r.readLoaderTable2(pos) // 6.5 and later
	default:
		return offsets{}, errs.Unsupported("loader table", pos+12, "setup loader table revision %d", rev)
	}
	if crc32.ChecksumIEEE(b[:40]) != binary.LittleEndian.Uint32(b[40:]) {
		return offsets{}, errs.Format("loader table", pos+40, "offset table CRC32 mismatch")
	}
	// magic, revision, total size, exe offset, exe size, exe CRC32, setup-0, setup-1, CRC32
	o := offsets{header: int64(binary.LittleEndian.Uint32(b[32:])), data: int64(binary.LittleEndian.Uint32(b[36:]))}
	if o.header <= 0 || o.header >= r.size {
		return offsets{}, errs.Format("loader table", pos+32, "setup-0 at 0x%x outside the %d-byte file", o.header, r.size)
	}
	if o.data >= r.size {
		return offsets{}, errs.Format("loader table", pos+36, "setup-1 at 0x%x outside the %d-byte file", o.data, r.size)
	}
	return o, nil
}

// wrapDecode turns a decoder's error into a positioned one, keeping the sentinel.
func wrapDecode(what string, off int64, err error) error {
	var fe *unpack.FormatError
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	sentinel := unpack.ErrFormat
	switch {
	case errors.Is(err, unpack.ErrLimit):
		sentinel = unpack.ErrLimit
	case errors.Is(err, unpack.ErrUnsupported):
		sentinel = unpack.ErrUnsupported
	}
	return &unpack.FormatError{Format: "inno", Entry: what, Offset: off, Msg: err.Error(), Err: sentinel}
}

// fileTime converts a FILETIME (100 ns since 1601).
func fileTime(ft int64) time.Time {
	const epochDiff = 116444736000000000
	if ft < epochDiff {
		return time.Time{}
	}
	d := ft - epochDiff
	return time.Unix(d/1e7, d%1e7*100).UTC()
}

func (f *File) String() string { return fmt.Sprintf("%s (%s)", f.Path, f.Destination) }
