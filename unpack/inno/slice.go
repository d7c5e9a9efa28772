package inno

// Disk spanning (DiskSpanning=yes): the loader table's setup-1 offset is 0 and the file data
// lives in slice files beside the installer. The layout follows innoextract
// (src/stream/slice.cpp, src/cli/extract.cpp) and Inno Setup's own reader and writer
// (jrsoftware/issrc Setup.FileExtractor.pas and Compiler.CompressionHandler.pas, Extract.pas
// before 6.0; Shared.Struct.pas for the header, tags is-5_5_9 to is-6_7_0):
//
//   - slice i (from 0) is NAME-D.bin, D = i/SlicesPerDisk + 1, or NAME-Dx.bin with the letter
//     x = 'a' + i%SlicesPerDisk when SlicesPerDisk (1 to 26, the compiler's bounds) is more
//     than 1: setup-1.bin, setup-2.bin or setup-1a.bin, setup-1b.bin, setup-2a.bin, …;
//   - NAME is the setup loader's own file name without its extension, the only name Setup
//     itself looks for; innoextract then tries the setup header's BaseFilename (the
//     compiler's OutputBaseFilename) and then both ignoring case, and so does this reader.
//     A name is only ever a file name in the installer's folder: one with a path separator,
//     a drive colon or a control character is refused (unpack.ErrInsecurePath), and
//     Setup's "..\DISKn\" fallback of 5.x is not followed;
//   - a slice opens with "idska32\x1a" (innoextract also accepts "idska16\x1a") and its total
//     size in 32 bits; data versions 6.5.2 and later write "idskb32\x1a" and 64 bits. The
//     slice's data runs from the end of that header to the total size, which Setup requires
//     to be the file's size and innoextract only to be no larger: this reader checks what
//     innoextract checks;
//   - a chunk starts in its data entry's first slice at the entry's offset (from the slice
//     file's start, magic "zlb\x1a" included) and continues after the header of each next
//     slice, never past the entry's last slice (Setup: "Already on last slice").

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/rollgate/rollgate/unpack"
)

// Limits of the slice reader.
const (
	// MaxSlices bounds the slice numbers a data entry may name (slice files per installer;
	// real ones have a few to a few hundred).
	MaxSlices = 4096
	// MaxSliceBytes bounds the total size one slice header declares (the compiler allows
	// 2,100,000,000 bytes before 6.5.2; later ones 64-bit sizes).
	MaxSliceBytes = 1 << 36
	// MaxDirEntries bounds the folder entries scanned for a slice name ignoring case.
	MaxDirEntries = unpack.MaxFoldScan
	// maxOpenSlices bounds the slice files kept open at once.
	maxOpenSlices = 4
	// maxSlicesPerDisk is the compiler's bound on SlicesPerDisk (a letter per slice).
	maxSlicesPerDisk = 26
)

// The slice header magics (innoextract slice_ids; issrc DiskSliceID).
var (
	sliceMagics32 = []string{"idska32\x1a", "idska16\x1a"}
	sliceMagic64  = "idskb32\x1a"
)

// sliceHeaderLen is the bytes before a slice's data: the magic and its total size.
func sliceHeaderLen(wide bool) int64 {
	if wide {
		return 8 + 8
	}
	return 8 + 4
}

// parseSliceHeader reads a slice's header from its first bytes b and returns where its data
// ends. wide is data version 6.5.2 and later; fileSize is the slice file's size.
func parseSliceHeader(name string, b []byte, wide bool, fileSize int64) (int64, error) {
	n := sliceHeaderLen(wide)
	if int64(len(b)) < n || fileSize < n {
		return 0, errs.Format(name, 0, "slice file of %d bytes, shorter than its %d-byte header", fileSize, n)
	}
	var end uint64
	if wide {
		if string(b[:8]) != sliceMagic64 {
			return 0, errs.Format(name, 0, "no slice magic %q: %q", sliceMagic64, b[:8])
		}
		end = binary.LittleEndian.Uint64(b[8:])
	} else {
		if string(b[:8]) != sliceMagics32[0] && string(b[:8]) != sliceMagics32[1] {
			return 0, errs.Format(name, 0, "no slice magic %q: %q", sliceMagics32[0], b[:8])
		}
		end = uint64(binary.LittleEndian.Uint32(b[8:]))
	}
	switch {
	case end > MaxSliceBytes:
		return 0, errs.Limit(name, 8, "slice of %d bytes (limit %d)", end, int64(MaxSliceBytes))
	case end > uint64(fileSize):
		return 0, errs.Format(name, fileSize, "slice declares %d bytes, the file holds %d (truncated)", end, fileSize)
	case end < uint64(n):
		return 0, errs.Format(name, 8, "slice declares %d bytes, less than its header", end)
	}
	return int64(end), nil
}

// sliceName is the file name of slice i under base.
func sliceName(base string, i, perDisk uint32) string {
	disk := strconv.FormatUint(uint64(i/perDisk)+1, 10)
	if perDisk > 1 {
		disk += string(rune('a' + i%perDisk))
	}
	return base + "-" + disk + ".bin"
}

// localName reports whether name is a plain file name in a folder: no separator, drive
// colon or control character, not "." or "..".
func localName(name string) bool {
	if name == "." || name == ".." || !fs.ValidPath(name) || strings.ContainsAny(name, `/\:`) {
		return false
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// slices finds and opens the slice files of one installer.
type slices struct {
	dir     fs.FS
	bases   []string // base names in the order tried: the installer's, BaseFilename
	perDisk uint32
	wide    bool
	names   map[uint32]string // slice → its file name in dir, once found
	open    []*sliceFile      // most recently used last
}

// sliceFile is one opened slice.
type sliceFile struct {
	index uint32
	name  string
	f     fs.File
	r     io.ReaderAt
	end   int64 // its data ends here
}

// newSlices prepares the lookup of r's slices in dir; installer is the installer's file name
// there.
func (r *Reader) newSlices(dir fs.FS, installer string) {
	var bases []string
	if stem := strings.TrimSuffix(installer, path.Ext(installer)); stem != "" {
		bases = append(bases, stem)
	}
	if b := r.Header.BaseFilename; b != "" && (len(bases) == 0 || b != bases[0]) {
		bases = append(bases, b)
	}
	_, wide := layouts65[r.Version.V]
	r.slices = &slices{dir: dir, bases: bases, perDisk: r.Header.SlicesPerDisk, wide: wide, names: map[uint32]string{}}
}

// close closes every open slice.
func (s *slices) close() error {
	var err error
	for _, f := range s.open {
		err = errors.Join(err, f.f.Close())
	}
	s.open = nil
	return err
}

// get returns slice i, opening it if it is not open; what and off (the offset in the slice
// where data is needed) name the read for errors.
func (s *slices) get(i uint32, what string, off int64) (*sliceFile, error) {
	for k, f := range s.open {
		if f.index == i {
			copy(s.open[k:], s.open[k+1:])
			s.open[len(s.open)-1] = f
			return f, nil
		}
	}
	f, err := s.openSlice(i, what, off)
	if err != nil {
		return nil, err
	}
	if len(s.open) == maxOpenSlices {
		s.open[0].f.Close()
		s.open = s.open[1:]
	}
	s.open = append(s.open, f)
	return f, nil
}

func (s *slices) openSlice(i uint32, what string, off int64) (*sliceFile, error) {
	if s.perDisk == 0 || s.perDisk > maxSlicesPerDisk {
		return nil, errs.Format("setup header", -1, "%d slices per disk (the compiler allows 1 to %d)", s.perDisk, maxSlicesPerDisk)
	}
	name, err := s.find(i, what, off)
	if err != nil {
		return nil, err
	}
	st, err := fs.Stat(s.dir, name)
	if err != nil {
		return nil, s.missing(i, name, what, off, err)
	}
	if !st.Mode().IsRegular() {
		// A FIFO would block the open for ever, a device never end.
		return nil, errs.Format(name, -1, "slice %d is not a regular file (%v)", i, st.Mode().Type())
	}
	f, err := s.dir.Open(name)
	if err != nil {
		return nil, s.missing(i, name, what, off, err)
	}
	ra, ok := f.(io.ReaderAt)
	if !ok {
		f.Close()
		return nil, errs.Unsupported(name, -1, "slice file opened without random access")
	}
	if st, err = f.Stat(); err != nil {
		f.Close()
		return nil, s.missing(i, name, what, off, err)
	}
	var b [16]byte
	hl := sliceHeaderLen(s.wide)
	if m, err := ra.ReadAt(b[:hl], 0); int64(m) < hl && st.Size() >= hl {
		f.Close()
		return nil, errs.Format(name, 0, "reading the slice header: %v", err)
	}
	end, err := parseSliceHeader(name, b[:hl], s.wide, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	return &sliceFile{index: i, name: name, f: f, r: ra, end: end}, nil
}

// missing words a slice that cannot be opened: the installer is incomplete.
func (s *slices) missing(i uint32, name, what string, off int64, err error) error {
	return errs.Format(name, off, "the slice file holding data of %q (slice %d from 0) cannot be opened: %v", what, i, err)
}

// find returns the file name of slice i in the folder: for each base name in turn, the exact
// name, then one entry equal to it ignoring case.
func (s *slices) find(i uint32, what string, off int64) (string, error) {
	if n, ok := s.names[i]; ok {
		return n, nil
	}
	if len(s.bases) == 0 {
		return "", errs.Format("setup header", -1, "no name for slice %d: neither the installer's file name nor BaseFilename is known", i)
	}
	var tried []string
	var insecure error
	for _, b := range s.bases {
		n := sliceName(b, i, s.perDisk)
		if !localName(n) {
			if insecure == nil {
				insecure = &unpack.FormatError{Format: "inno", Entry: n, Offset: -1, Err: unpack.ErrInsecurePath,
					Msg: fmt.Sprintf("slice %d's name is not a file name beside the installer (the setup header's BaseFilename is %q)", i, b)}
			}
			continue
		}
		tried = append(tried, n)
		if _, err := fs.Stat(s.dir, n); err == nil {
			s.names[i] = n
			return n, nil
		}
	}
	for _, n := range tried {
		actual, err := unpack.FoldMatch(s.dir, n)
		if errors.Is(err, unpack.ErrAmbiguous) {
			return "", errs.Unsupported(n, -1, "%v", err)
		}
		if err == nil {
			s.names[i] = actual
			return actual, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	if insecure != nil {
		return "", insecure
	}
	return "", errs.Format(tried[0], off, "the slice file holding data of %q (slice %d from 0) is not beside the installer (looked for %s)",
		what, i, strings.Join(quoteAll(tried), " and "))
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

// span reads a chunk's compressed bytes from its slices: from pos in slice cur on, moving to
// the next slice's data at the end of each, never past slice last.
type span struct {
	s         *slices
	cur, last uint32
	pos       int64
	left      uint64 // bytes of the chunk still to read
	what      string
	err       error // the first failure, which a decoder may have reported as a short stream
}

func (sp *span) Read(p []byte) (int, error) {
	if sp.err != nil {
		return 0, sp.err
	}
	n, err := sp.read(p)
	if err != nil && err != io.EOF {
		sp.err = err
	}
	return n, err
}

func (sp *span) read(p []byte) (int, error) {
	if sp.left == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	f, err := sp.s.get(sp.cur, sp.what, sp.pos)
	if err != nil {
		return 0, err
	}
	// At a slice's end, on to the next one's data; cur only grows up to last, so the loop
	// ends (an empty slice is passed over).
	for sp.pos >= f.end {
		if sp.cur >= sp.last {
			return 0, errs.Format(f.name, sp.pos, "the chunk holding %q continues past slice %d, the last its data entry names (%d bytes left)", sp.what, sp.last, sp.left)
		}
		sp.cur++
		sp.pos = sliceHeaderLen(sp.s.wide)
		if f, err = sp.s.get(sp.cur, sp.what, sp.pos); err != nil {
			return 0, err
		}
	}
	n := int64(len(p))
	n = min(n, f.end-sp.pos, int64(min(sp.left, 1<<62)))
	m, err := f.r.ReadAt(p[:n], sp.pos)
	sp.pos += int64(m)
	sp.left -= uint64(m)
	if m < int(n) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return m, errs.Format(f.name, sp.pos, "reading the chunk holding %q: %v", sp.what, err)
	}
	return m, nil
}

// externalChunk opens the compressed bytes of d's chunk in its slices, after the chunk magic.
func (r *Reader) externalChunk(d *dataEntry, what string) (io.Reader, error) {
	if d.lastSlice < d.firstSlice || d.lastSlice >= MaxSlices {
		return nil, errs.Limit(what, -1, "data in slices %d to %d (at most %d slices)", d.firstSlice, d.lastSlice, MaxSlices)
	}
	s := r.slices
	f, err := s.get(d.firstSlice, what, int64(min(d.chunkOffset, 1<<62)))
	if err != nil {
		return nil, err
	}
	hl := sliceHeaderLen(s.wide)
	if d.chunkOffset < uint64(hl) || d.chunkOffset > uint64(f.end) || uint64(f.end)-d.chunkOffset < uint64(len(chunkMagic)) {
		return nil, errs.Format(f.name, int64(min(d.chunkOffset, 1<<62)), "chunk of %q outside the slice's %d bytes of data", what, f.end)
	}
	var m [4]byte
	if _, err := f.r.ReadAt(m[:], int64(d.chunkOffset)); err != nil || string(m[:]) != string(chunkMagic) {
		return nil, errs.Format(f.name, int64(d.chunkOffset), "no chunk magic \"zlb\\x1a\" for %q", what)
	}
	return &span{s: s, cur: d.firstSlice, last: d.lastSlice, pos: int64(d.chunkOffset) + 4, left: d.chunkSize, what: what}, nil
}

// spanErr passes on the decoded bytes of a chunk read from slices; when the decoder stops
// (an LZMA or zlib decoder may report a failing source as a short stream), the slice's own
// error, which names the slice file and offset, takes the place of the decoder's.
type spanErr struct {
	r  io.Reader
	sp *span
}

func (s *spanErr) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && s.sp.err != nil {
		err = s.sp.err
	}
	return n, err
}
