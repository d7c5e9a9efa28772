// Package ishield reads the files an InstallShield setup launcher (setup.exe) carries after
// its PE image: the MSI package, the setup.ini, the language files, the cabinets and the
// engine it extracts to a temporary folder before it runs them.
//
// InstallShield publishes no specification of this payload. The layouts read here are the
// ones ClamAV's libclamav/ishield.c and the ISx extractor (github.com/lifenjoiner/ISx)
// document, checked against ClamAV's own extraction of the InstallShield test installers
// Debian ships in clamav-testfiles:
//
//   - "InstallShield" (InstallShield 10.5 to 2014, mostly Basic MSI projects): an optional
//     CodeView record (NB10 or RSDS, the launcher's PDB path), a 46-byte header
//     ("InstallShield\0", a 16-bit file count), then per file a 312-byte record (a
//     NUL-terminated ANSI name in a 260-byte field, flags, the stored length, a "deflated"
//     field) and the stored bytes. Flags 4 obfuscate every 1024-byte block, flag 2 alone the
//     whole file, with a key made of the file name; a deflated file is a zlib stream after
//     that.
//   - plain (InstallScript projects, InstallShield 2009 and later): per file four
//     NUL-terminated ANSI strings (name, the path the launcher extracts it to, a version,
//     the length in decimal) and the bytes, unencoded, to the end of the payload.
//
// "ISSetupStream" payloads (InstallShield 2015 and later) and the UTF-16 plain layout are
// recognised and refused as unsupported: no installer of either layout was available to
// check a reader against. InstallShield's own cabinets (data1.hdr, data1.cab: magic "ISc(")
// are files of the payload here; package iscab opens them from this reader's fs.FS, whose
// stored files open with random access (io.ReaderAt).
//
// The reader is given the payload (the launcher's overlay, up to its certificate table) and
// exposes the files as an fs.FS at their extraction paths, with the unpack.Walker contract.
package ishield

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
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

// Limits on hostile payloads.
const (
	// MaxFiles bounds the files one payload lists.
	MaxFiles = 4096
	// MaxFileBytes bounds one file after inflation (a stored length is 32 bits anyway).
	MaxFileBytes = 4 << 30
	// maxName is the longest name or path a record holds (Win32 MAX_PATH less the NUL).
	maxName = 259
	// maxVersion is the longest version string of a plain record.
	maxVersion = 31
	// maxDebugPath bounds the PDB path of the CodeView record before the header.
	maxDebugPath = 1024
)

// Magic strings that open a payload, after its optional CodeView record.
const (
	MagicEncoded = "InstallShield\x00"
	MagicStream  = "ISSetupStream\x00"
	// CabinetMagic opens InstallShield's own cabinets and their headers (data1.cab,
	// data1.hdr), which this package lists and package iscab reads.
	CabinetMagic = "ISc("
)

const (
	headerLen = 46  // the "InstallShield" header
	recordLen = 312 // one file record of the "InstallShield" layout
	blockLen  = 1024
)

var errs = unpack.Errs("installshield")

// Layout says how the files of a payload are stored.
type Layout int

// The layouts.
const (
	LayoutEncoded Layout = iota + 1 // "InstallShield" header and records
	LayoutPlain                     // four strings and the bytes per file
)

func (l Layout) String() string {
	switch l {
	case LayoutEncoded:
		return "InstallShield"
	case LayoutPlain:
		return "plain"
	}
	return "unknown"
}

// File is one file of the payload.
type File struct {
	// Name is the name the record gives (the key of an encoded file).
	Name string
	// Path is where the file lands in the fs.FS: the record's extraction path (plain
	// layout) or its name, with "\" as "/".
	Path string
	// Version is the version string of a plain record.
	Version string
	// Offset and Stored place the stored bytes in the payload.
	Offset, Stored int64
	// Flags are the encoded record's flags (4: every 1024-byte block obfuscated; 2 alone:
	// the whole file).
	Flags uint32
	// Deflated says the (decoded) bytes are a zlib stream.
	Deflated bool
	// Size is the file's length: Stored, or the inflated length of a deflated file.
	Size int64
}

// Reader is an opened payload.
type Reader struct {
	r      io.ReaderAt
	size   int64
	Layout Layout
	// Start is the offset of the header (or of the first plain record) in the payload,
	// after the CodeView record.
	Start int64
	Files []*File
	tree  *fstree.Tree
}

// Detect reports whether head, the first bytes of a PE overlay (at least 1 KiB where the
// overlay has them), opens an InstallShield payload of any layout, ISSetupStream included.
func Detect(head []byte) bool {
	start, ok := skipDebugRecord(head)
	if !ok {
		return false
	}
	h := head[start:]
	if bytes.HasPrefix(h, []byte(MagicEncoded)) || bytes.HasPrefix(h, []byte(MagicStream)) {
		return true
	}
	_, _, err := parsePlainRecord(bytes.NewReader(h), 0, int64(len(h))+MaxFileBytes)
	return err == nil
}

// skipDebugRecord returns where the payload proper starts in head: after a CodeView record
// (NB10: signature, offset, time stamp, age; RSDS: signature, GUID, age; then the PDB path and
// its NUL) when one opens head, else 0. ok is false when the record is cut short.
func skipDebugRecord(head []byte) (int, bool) {
	var fixed int
	switch {
	case bytes.HasPrefix(head, []byte("NB10")):
		fixed = 16
	case bytes.HasPrefix(head, []byte("RSDS")):
		fixed = 24
	default:
		return 0, true
	}
	if len(head) < fixed {
		return 0, false
	}
	end := bytes.IndexByte(head[fixed:min(len(head), fixed+maxDebugPath+1)], 0)
	if end < 0 {
		return 0, false
	}
	return fixed + end + 1, true
}

// NewReader opens the payload r (size bytes: the launcher's overlay).
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	head := make([]byte, min(size, maxDebugPath+64))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, errs.Format("(payload)", 0, "reading: %v", err)
	}
	start, ok := skipDebugRecord(head)
	if !ok {
		return nil, errs.Format("(payload)", 0, "CodeView record before the payload is cut short or its path is longer than %d bytes", maxDebugPath)
	}
	rd := &Reader{r: r, size: size, Start: int64(start)}
	h := head[start:]
	var err error
	switch {
	case bytes.HasPrefix(h, []byte(MagicStream)):
		return nil, errs.Unsupported("(payload)", int64(start), "ISSetupStream payload (InstallShield 2015 and later) is not read")
	case bytes.HasPrefix(h, []byte(MagicEncoded)):
		rd.Layout = LayoutEncoded
		err = rd.readEncoded()
	case len(h) >= 4 && binary.LittleEndian.Uint32(h) < MaxFiles && len(h) > 5 && h[5] == 0 && h[4] >= 0x20:
		// A 32-bit count and UTF-16 strings: the Unicode plain layout ISx describes.
		return nil, errs.Unsupported("(payload)", int64(start), "UTF-16 plain InstallShield payload is not read")
	default:
		rd.Layout = LayoutPlain
		err = rd.readPlain()
	}
	if err != nil {
		return nil, err
	}
	if err := rd.sizeDeflated(); err != nil {
		return nil, err
	}
	if err := rd.buildTree(); err != nil {
		return nil, err
	}
	return rd, nil
}

// readEncoded reads the "InstallShield" header and records.
func (rd *Reader) readEncoded() error {
	var h [headerLen]byte
	if _, err := rd.r.ReadAt(h[:], rd.Start); err != nil {
		return errs.Format("(header)", rd.Start, "header cut short: %v", err)
	}
	n := int(binary.LittleEndian.Uint16(h[14:]))
	if n > MaxFiles {
		return errs.Limit("(header)", rd.Start+14, "%d files, more than %d", n, MaxFiles)
	}
	off := rd.Start + headerLen
	for i := 0; i < n; i++ {
		var rec [recordLen]byte
		if off+recordLen > rd.size {
			return errs.Format(fmt.Sprintf("(file %d)", i), off, "record runs past the end of the %d-byte payload", rd.size)
		}
		if _, err := rd.r.ReadAt(rec[:], off); err != nil {
			return errs.Format(fmt.Sprintf("(file %d)", i), off, "reading the record: %v", err)
		}
		end := bytes.IndexByte(rec[:260], 0)
		if end <= 0 {
			return errs.Format(fmt.Sprintf("(file %d)", i), off, "record has no NUL-terminated name")
		}
		name := string(rec[:end])
		f := &File{Name: name, Flags: binary.LittleEndian.Uint32(rec[260:]),
			Stored: int64(binary.LittleEndian.Uint32(rec[268:])), Deflated: binary.LittleEndian.Uint16(rec[280:]) != 0}
		f.Offset = off + recordLen
		if f.Offset+f.Stored > rd.size {
			return errs.Format(name, f.Offset, "%d stored bytes run past the end of the %d-byte payload", f.Stored, rd.size)
		}
		f.Size = f.Stored
		rd.Files = append(rd.Files, f)
		off = f.Offset + f.Stored
	}
	return rd.checkTail(off)
}

// checkTail refuses bytes after the last file that are not zero: data the launcher does not
// list would be a file rollgate never saw.
func (rd *Reader) checkTail(off int64) error {
	var buf [4096]byte
	for p := off; p < rd.size; {
		n := min(int64(len(buf)), rd.size-p)
		if _, err := rd.r.ReadAt(buf[:n], p); err != nil {
			return errs.Format("(after the last file)", p, "reading: %v", err)
		}
		if i := bytes.IndexFunc(buf[:n], func(r rune) bool { return r != 0 }); i >= 0 {
			return errs.Format("(after the last file)", p+int64(i), "%d bytes follow the last listed file", rd.size-off)
		}
		p += n
	}
	return nil
}

// readPlain reads plain records to the end of the payload.
func (rd *Reader) readPlain() error {
	off := rd.Start
	for off < rd.size {
		if len(rd.Files) == MaxFiles {
			return errs.Limit("(payload)", off, "more than %d files", MaxFiles)
		}
		f, n, err := parsePlainRecord(io.NewSectionReader(rd.r, off, rd.size-off), off, rd.size-off)
		if err != nil {
			if len(rd.Files) > 0 && allZero(rd.r, off, rd.size) {
				break // padding after the last file
			}
			return err
		}
		f.Offset = off + n
		rd.Files = append(rd.Files, f)
		off = f.Offset + f.Stored
	}
	if len(rd.Files) == 0 {
		return errs.Format("(payload)", rd.Start, "no InstallShield header and no plain file record")
	}
	return nil
}

// allZero reports whether r holds only zero bytes from off to end.
func allZero(r io.ReaderAt, off, end int64) bool {
	rd := &Reader{r: r, size: end}
	return rd.checkTail(off) == nil
}

// parsePlainRecord reads one plain record (name, extraction path, version, decimal length,
// each NUL-terminated) from r, at offset base of the payload, with left bytes of payload
// from its start. It returns the file (Offset unset) and the record's length.
func parsePlainRecord(r io.Reader, base, left int64) (*File, int64, error) {
	br := bufio.NewReaderSize(r, 1024)
	var fields [4]string
	var n int64
	for i, max := range []int{maxName, maxName, maxVersion, 10} {
		s, err := br.ReadSlice(0)
		if err != nil || len(s)-1 > max {
			return nil, 0, errs.Format("(plain record)", base+n, "field %d is not a NUL-terminated string of at most %d bytes", i+1, max)
		}
		v := s[:len(s)-1]
		if len(v) == 0 {
			return nil, 0, errs.Format("(plain record)", base+n, "field %d is empty", i+1)
		}
		for _, c := range v {
			if c < 0x20 || c == 0xff {
				return nil, 0, errs.Format("(plain record)", base+n, "field %d holds byte 0x%02x", i+1, c)
			}
		}
		fields[i] = string(v)
		n += int64(len(s))
	}
	if !isVersion(fields[2]) {
		return nil, 0, errs.Format(fields[0], base, "version %q is not dotted numbers", fields[2])
	}
	size, err := strconv.ParseUint(fields[3], 10, 32)
	if err != nil {
		return nil, 0, errs.Format(fields[0], base, "length %q is not a decimal number", fields[3])
	}
	if int64(size) > left-n {
		return nil, 0, errs.Format(fields[0], base+n, "%d bytes run past the end of the payload (%d left)", size, left-n)
	}
	return &File{Name: fields[0], Path: fields[1], Version: fields[2], Stored: int64(size), Size: int64(size)}, n, nil
}

// isVersion reports whether s is one to four dotted decimal numbers.
func isVersion(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// sizeDeflated finds the inflated length of every deflated file by inflating it once
// (the record stores only the compressed length; the walk contract needs the length first).
func (rd *Reader) sizeDeflated() error {
	var total int64
	for _, f := range rd.Files {
		if !f.Deflated {
			continue
		}
		n, err := io.Copy(io.Discard, rd.open(f))
		if err != nil {
			return err
		}
		f.Size = n
		total += n
		if total > unpack.MaxExpandedBytes {
			return errs.Limit(f.Name, f.Offset, "files inflate to more than %d bytes", int64(unpack.MaxExpandedBytes))
		}
	}
	return nil
}

// buildTree places the files at their paths.
func (rd *Reader) buildTree() error {
	t := fstree.New(unpack.MaxEntries)
	t.SetDirPerm(0o555)
	for _, f := range rd.Files {
		p := f.Path
		if p == "" {
			p = f.Name
		}
		comps := unpack.WinComponents(strings.Split(strings.ReplaceAll(p, `\`, "/"), "/"))
		clean, err := fstree.Clean(strings.Join(comps, "/"))
		if err == nil && (clean == "." || strings.ContainsRune(clean, ':')) {
			err = fmt.Errorf("name %q: %w", p, unpack.ErrInsecurePath)
		}
		if err != nil {
			return &unpack.FormatError{Format: "installshield", Entry: f.Name, Offset: f.Offset, Msg: err.Error(), Err: unpack.ErrInsecurePath}
		}
		f.Path = clean
		if _, err := t.Add(clean, 0o444, f.Size, time.Time{}, f); err != nil {
			return &unpack.FormatError{Format: "installshield", Entry: f.Name, Offset: f.Offset, Msg: err.Error(), Err: unpack.ErrFormat}
		}
	}
	rd.tree = t
	return nil
}

// open returns f's bytes: decoded, then inflated when the record says so, checked to be
// exactly f.Size bytes once sizeDeflated ran.
func (rd *Reader) open(f *File) io.Reader {
	var r io.Reader = io.NewSectionReader(rd.r, f.Offset, f.Stored)
	if rd.Layout == LayoutEncoded && f.Flags&6 != 0 {
		r = &decoder{r: r, key: key(f.Name), block: f.Flags&4 != 0}
	}
	if f.Deflated {
		r = &inflater{src: r, f: f}
	}
	return r
}

// key is the obfuscation key of a file: its name's bytes XOR 13 35 86 07, repeated.
func key(name string) []byte {
	magic := [4]byte{0x13, 0x35, 0x86, 0x07}
	k := []byte(name)
	for i := range k {
		k[i] ^= magic[i%4]
	}
	return k
}

// decoder undoes the obfuscation: each byte has its nibbles swapped, is XORed with the key
// byte and inverted. The key restarts at every 1024-byte block (block) or runs over the
// whole file.
type decoder struct {
	r     io.Reader
	key   []byte
	block bool
	pos   int64
}

func (d *decoder) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	for i := range p[:n] {
		pos := d.pos + int64(i)
		if d.block {
			pos %= blockLen
		}
		b := p[i]
		p[i] = ^(d.key[pos%int64(len(d.key))] ^ (b<<4 | b>>4))
	}
	d.pos += int64(n)
	return n, err
}

// inflater inflates a deflated file's zlib stream, bounded by MaxFileBytes, and names the
// file in its errors.
type inflater struct {
	src io.Reader
	f   *File
	z   io.ReadCloser
	n   int64
}

func (z *inflater) Read(p []byte) (int, error) {
	if z.z == nil {
		zr, err := zlib.NewReader(z.src)
		if err != nil {
			return 0, errs.Format(z.f.Name, z.f.Offset, "deflated file: %v", err)
		}
		z.z = zr
	}
	n, err := z.z.Read(p)
	z.n += int64(n)
	if z.n > MaxFileBytes {
		return n, errs.Limit(z.f.Name, z.f.Offset, "inflates to more than %d bytes", int64(MaxFileBytes))
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return n, errs.Format(z.f.Name, z.f.Offset, "deflated file: %v", err)
	}
	return n, err
}

// Walk implements unpack.Walker: every file in payload order.
func (rd *Reader) Walk(fn func(path string, size int64, r io.Reader) error) error {
	for _, f := range rd.Files {
		if err := fn(f.Path, f.Size, fstree.ExactReader(rd.open(f), f.Size, "installshield", f.Path)); err != nil {
			return err
		}
	}
	return nil
}

// Open implements fs.FS.
func (rd *Reader) Open(name string) (fs.File, error) {
	return rd.tree.OpenFile(name, func(n *fstree.Node) (io.ReadCloser, error) {
		f := n.Data.(*File)
		if f.Flags&6 == 0 && !f.Deflated {
			// Stored as is: random access (an InstallShield cabinet's volumes need it).
			return sectionCloser{io.NewSectionReader(rd.r, f.Offset, f.Stored)}, nil
		}
		return io.NopCloser(fstree.ExactReader(rd.open(f), f.Size, "installshield", f.Path)), nil
	})
}

// sectionCloser is a stored file's bytes with random access; closing releases nothing.
type sectionCloser struct{ *io.SectionReader }

func (sectionCloser) Close() error { return nil }

// Stat implements fs.StatFS.
func (rd *Reader) Stat(name string) (fs.FileInfo, error) { return rd.tree.Stat(name) }

// ReadDir implements fs.ReadDirFS.
func (rd *Reader) ReadDir(name string) ([]fs.DirEntry, error) { return rd.tree.ReadDir(name) }

// Close releases nothing; the caller owns r.
func (rd *Reader) Close() error { return nil }
