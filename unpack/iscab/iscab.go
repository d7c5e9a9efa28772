// Package iscab reads InstallShield cabinets: the data1.hdr header and the data1.cab,
// data2.cab ... volumes (magic "ISc(") an InstallScript installer's Disk1 media carry.
//
// InstallShield publishes no specification. The layout read here is the one unshield
// (github.com/twogood/unshield, lib/cabfile.h, libunshield.c, file.c, file_group.c)
// documents. Every file of the InstallShield test installers Debian ships in
// clamav-testfiles is checked against unshield 1.4's listing and extraction, and their
// descriptors against ClamAV's header parser (testdata/record-unshield.sh); versions 5, 12
// and 17+ (UTF-16 names), split files, links and a data1.cab that is its own header are
// checked on sets written by package iscabtest, there being no such real cabinet at hand.
//
//   - Common header (20 bytes, at the start of the header and of every volume): the
//     signature "ISc(", a version word, volume info, the offset and size of the cabinet
//     descriptor. The version word gives the major version: bits 12-15 when its top byte is
//     1, the low 16 bits divided by 100 when its top byte is 2 or 4; other words, and
//     versions before 5, are ErrUnsupported.
//   - Cabinet descriptor: at 0x0c the file table offset (from the descriptor), at 0x14 and
//     0x18 its size twice, at 0x1c the directory count, at 0x28 the file count, at 0x2c the
//     offset of the version 6+ file descriptors (from the file table), at 0x3e 71 heads of
//     file group lists (each entry: name offset, descriptor offset, next entry; a group
//     descriptor holds its name and its first and last file index, at 0x16 or, version 5,
//     0x4c).
//   - File table: one 32-bit offset (from the file table) per directory name, then, for
//     version 5, one per file descriptor. Version 6+ descriptors (0x57 bytes each) follow at
//     the offset 0x2c gives: flags (1 split across volumes, 2 obfuscated, 4 compressed,
//     8 invalid), expanded size, compressed size and data offset (64-bit), MD5 of the
//     expanded bytes, name offset, directory index, link to a previous and next descriptor
//     with link flags (1: this file's bytes are the previous one's), volume number. Version
//     5 descriptors (0x3a bytes) hold name offset, directory index, flags, expanded and
//     compressed size, data offset (32-bit) and an MD5, with the volume found from the
//     volumes' first and last file indexes.
//   - Volumes: after the common header a volume header (version 5: 40 bytes of 32-bit
//     fields; 6+: 64 bytes of 64-bit ones) gives the indexes of the first and last file the
//     volume holds and where their pieces lie, which is how a split file continues from
//     one volume to the next. Volumes are <prefix><N>.cab beside the header, prefix being
//     the header's name up to its first "." or digit.
//   - File data: stored, or a sequence of chunks (a 16-bit length and that many bytes of
//     raw deflate). Obfuscated files have every byte of that stream XORed with 0xd5,
//     rotated right by 2 and decremented by its position modulo 0x47.
//
// Names are ANSI (read as Windows-1252's Latin-1 subset: bytes at or above 0x80 become the
// code points of the same value) before major version 17 and UTF-16LE from 17 on.
//
// Paths are unshield's listing paths: the file group's name, the directory name, the file
// name, joined by backslashes ("<Support>English Files\_IsRes.dll",
// "DefaultComponent\clam.exe"), with "\" as "/" and Win32 trimming applied, in unshield's
// order (group by group, a group's files by index). A file in two groups is listed under
// both. Unlike unshield, a valid file no group lists is not dropped: it follows, under its
// directory alone. Descriptors flagged invalid or with no name or no data offset are not
// files (unshield skips them too; ClamAV calls them external: files of the media beside
// the cabinet, such as setup.inx).
//
// The reader implements fs.FS (ReadDirFS, StatFS) and unpack.Walker; each file's MD5 is
// verified (version 6+, when the descriptor holds one) as its last byte is read, and
// opening a set opens every volume its files need, so that a missing volume is an
// ErrUnsupported from Open, not an error halfway through a walk.
package iscab

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/fstree"
)

// Limits on hostile cabinets.
const (
	// MaxFiles bounds the file descriptors a header lists.
	MaxFiles = 1 << 16
	// MaxDirectories bounds the directory names a header lists.
	MaxDirectories = 1 << 16
	// MaxVolumes bounds the volume number a file starts in or continues to.
	MaxVolumes = 256
	// MaxHeaderBytes bounds the bytes of the header read: all of a data<N>.hdr, the start of
	// a data1.cab that is its own header (whose tables lie before its files' data).
	MaxHeaderBytes = 16 << 20
	// MaxChunkBytes bounds what one compressed chunk inflates to.
	MaxChunkBytes = 1 << 20
	// MaxLinkSteps bounds a chain of duplicated-file links.
	MaxLinkSteps = 64
	// MaxFileGroups bounds the file groups the descriptor's lists hold.
	MaxFileGroups = 4096
	// MaxNameBytes bounds one directory or file name.
	MaxNameBytes = 4096
)

// Magic opens a header and every volume.
const Magic = "ISc("

// File flags.
const (
	FlagSplit      = 1
	FlagObfuscated = 2
	FlagCompressed = 4
	FlagInvalid    = 8
)

// linkPrev marks a descriptor whose bytes are those of its link_previous descriptor.
const linkPrev = 1

const (
	groupSlots = 71 // file group list heads in the cabinet descriptor
	commonLen  = 20
	descLen6   = 0x57
	descLen5   = 0x3a
	volHdrLen5 = 40
	volHdrLen6 = 64
)

var errs = unpack.Errs("iscab")

// File is one file of the cabinet set.
type File struct {
	// Index is the descriptor's index in the file table.
	Index int
	// Path is where the file lands in the fs.FS.
	Path string
	// Group, Directory and Name are the strings the header gives: the file group that lists
	// the file (empty when none does), its directory and its name.
	Group, Directory, Name string
	Flags                  uint16
	// Size is the expanded size; Compressed the stored bytes of a compressed file.
	Size, Compressed int64
	// DataOffset is where the file's bytes start in its first volume.
	DataOffset int64
	MD5        [16]byte
	// Volume is the volume the file's bytes start in (version 6+: the descriptor's).
	Volume int
	// LinkPrevious and LinkFlags are the duplicated-file link of a version 6+ descriptor.
	LinkPrevious uint32
	LinkFlags    uint8
	// off is the descriptor's offset in the header, for errors.
	off int64
	// data is the descriptor whose bytes this file has (itself, or the end of its links).
	data *File
}

// Reader is an opened cabinet set.
type Reader struct {
	fsys fs.FS
	// Version is the common header's version word; Major the version it reads as.
	Version uint32
	Major   int
	// Files are the valid files in descriptor order.
	Files []*File
	all   []*File // every descriptor by index (nil: not read)

	dir, prefix string // volume names: dir/prefix<N>.cab
	hdrName     string
	names       map[string]string // lower-cased names in dir → names

	mu   sync.Mutex
	vols map[int]*volume
	tree *fstree.Tree
}

// MajorVersion returns the major version a common header's version word reads as (unshield's
// rule), 0 when it names none.
func MajorVersion(v uint32) int {
	switch v >> 24 {
	case 1:
		return int(v>>12) & 0xf
	case 2, 4:
		return int(v&0xffff) / 100
	}
	return 0
}

// VolumePrefix returns the name volumes of the set whose header is name share: its base
// name up to the first "." or digit ("data" for data1.hdr), as unshield names them.
func VolumePrefix(name string) string {
	b := path.Base(name)
	if i := strings.IndexFunc(b, func(r rune) bool { return r == '.' || r >= '0' && r <= '9' }); i >= 0 {
		b = b[:i]
	}
	return b
}

// Open reads the header hdrName of fsys (a data<N>.hdr, or a data1.cab that is its own
// header); the volumes are found beside it, as <prefix><N>.cab with any letter case.
func Open(fsys fs.FS, hdrName string) (*Reader, error) {
	hf, err := fsys.Open(hdrName)
	if err != nil {
		return nil, fmt.Errorf("opening %q: %w", hdrName, err)
	}
	defer hf.Close()
	st, err := hf.Stat()
	if err != nil {
		return nil, fmt.Errorf("opening %q: %w", hdrName, err)
	}
	var common [commonLen]byte
	if _, err := io.ReadFull(hf, common[:]); err != nil {
		return nil, errs.Format(hdrName, 0, "common header cut short: %v", err)
	}
	if string(common[:4]) != Magic {
		return nil, errs.Format(hdrName, 0, "no %q signature", Magic)
	}
	rd := &Reader{fsys: fsys, hdrName: hdrName, vols: map[int]*volume{}}
	rd.Version = binary.LittleEndian.Uint32(common[4:])
	rd.Major = MajorVersion(rd.Version)
	if rd.Major < 5 {
		return nil, errs.Unsupported(hdrName, 4, "cabinet version word 0x%08x names no version 5 or later", rd.Version)
	}
	cdo := int64(binary.LittleEndian.Uint32(common[12:]))
	cds := int64(binary.LittleEndian.Uint32(common[16:]))
	if cds < 0x30 {
		return nil, errs.Format(hdrName, 16, "cabinet descriptor of %d bytes, fewer than 48", cds)
	}
	// The descriptor's size does not cover the file table after it: the header is read
	// whole, up to MaxHeaderBytes (a data1.cab that is its own header goes on with data).
	end := st.Size()
	if cdo+cds > end {
		return nil, errs.Format(hdrName, 12, "cabinet descriptor at 0x%x, %d bytes, runs past the %d-byte header", cdo, cds, end)
	}
	if cdo+cds > MaxHeaderBytes {
		return nil, errs.Limit(hdrName, 12, "cabinet descriptor ends at 0x%x, past the first %d bytes", cdo+cds, MaxHeaderBytes)
	}
	truncated := end > MaxHeaderBytes
	end = min(end, MaxHeaderBytes)
	hdr := make([]byte, end)
	copy(hdr, common[:])
	if _, err := io.ReadFull(hf, hdr[commonLen:]); err != nil {
		return nil, errs.Format(hdrName, commonLen, "reading the header: %v", err)
	}
	rd.dir, rd.prefix = path.Dir(hdrName), VolumePrefix(hdrName)
	if err := rd.readTable(header{b: hdr, name: hdrName, truncated: truncated}, cdo); err != nil {
		return nil, err
	}
	if err := rd.buildTree(); err != nil {
		return nil, err
	}
	if err := rd.checkVolumes(); err != nil {
		rd.Close()
		return nil, err
	}
	return rd, nil
}

// checkVolumes opens every volume a file's bytes lie in, so that a missing or foreign
// volume is found when the set is opened, not halfway through a walk: version 6+ names
// each file's first volume (and a split file continues in the next); version 5 files lie
// in volumes 1 to the one whose last file index reaches the last file.
func (rd *Reader) checkVolumes() error {
	if len(rd.Files) == 0 {
		return nil
	}
	if rd.Major == 5 {
		last := 0
		for _, f := range rd.Files {
			last = max(last, f.data.Index)
		}
		for n := 1; ; n++ {
			v, err := rd.volume(n)
			if err != nil {
				return err
			}
			if int(v.lastIndex) >= last {
				return nil
			}
		}
	}
	need := map[int]bool{}
	for _, f := range rd.Files {
		need[f.data.Volume] = true
		if f.data.Flags&FlagSplit != 0 {
			need[f.data.Volume+1] = true
		}
	}
	nums := make([]int, 0, len(need))
	for n := range need {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for _, n := range nums {
		if _, err := rd.volume(n); err != nil {
			return err
		}
	}
	return nil
}

// header is the header's bytes with bounded accessors.
type header struct {
	b    []byte
	name string
	// truncated: b is the first MaxHeaderBytes of a longer file, so what lies past it is
	// a limit reached, not a malformed header.
	truncated bool
}

// past is the error for what (n bytes at off) lying past the bytes read.
func (h header) past(off, n int64, what string) error {
	if h.truncated && off >= 0 && n >= 0 {
		return errs.Limit(h.name, off, "%s (%d bytes) lies past the first %d bytes read of the header", what, n, MaxHeaderBytes)
	}
	return errs.Format(h.name, off, "%s (%d bytes) runs past the %d-byte header", what, n, len(h.b))
}

func (h header) u32(off int64, what string) (uint32, error) {
	if off < 0 || off+4 > int64(len(h.b)) {
		return 0, h.past(off, 4, what)
	}
	return binary.LittleEndian.Uint32(h.b[off:]), nil
}

func (h header) span(off, n int64, what string) ([]byte, error) {
	if off < 0 || n < 0 || off+n > int64(len(h.b)) {
		return nil, h.past(off, n, what)
	}
	return h.b[off : off+n], nil
}

// str reads the NUL-terminated name at off: UTF-16LE from major version 17, else bytes
// read as Latin-1.
func (h header) str(off int64, unicode bool, what string) (string, error) {
	if off < 0 || off >= int64(len(h.b)) {
		return "", h.past(off, 1, what)
	}
	rest := h.b[off:min(int64(len(h.b)), off+2*MaxNameBytes+2)]
	if unicode {
		var u []uint16
		for i := 0; ; i += 2 {
			if i+2 > len(rest) {
				return "", errs.Format(h.name, off, "%s has no NUL within %d characters", what, MaxNameBytes)
			}
			c := binary.LittleEndian.Uint16(rest[i:])
			if c == 0 {
				break
			}
			u = append(u, c)
		}
		return string(utf16.Decode(u)), nil
	}
	end := bytes.IndexByte(rest[:min(len(rest), MaxNameBytes+1)], 0)
	if end < 0 {
		return "", errs.Format(h.name, off, "%s has no NUL within %d bytes", what, MaxNameBytes)
	}
	r := make([]rune, end)
	for i, c := range rest[:end] {
		r[i] = rune(c)
	}
	return string(r), nil
}

// readTable reads the cabinet descriptor at cdo, the directory names and the file
// descriptors.
func (rd *Reader) readTable(h header, cdo int64) error {
	b := h.b
	fto, err := h.u32(cdo+0x0c, "file table offset")
	if err != nil {
		return err
	}
	ndirs, _ := h.u32(cdo+0x1c, "directory count")
	nfiles, _ := h.u32(cdo+0x28, "file count")
	fto2, _ := h.u32(cdo+0x2c, "descriptor offset")
	if ndirs > MaxDirectories {
		return errs.Limit(rd.hdrName, cdo+0x1c, "%d directories, more than %d", ndirs, MaxDirectories)
	}
	if nfiles > MaxFiles {
		return errs.Limit(rd.hdrName, cdo+0x28, "%d files, more than %d", nfiles, MaxFiles)
	}
	base := cdo + int64(fto)
	entries := int64(ndirs)
	if rd.Major == 5 {
		entries += int64(nfiles)
	}
	table, err := h.span(base, 4*entries, "file table")
	if err != nil {
		return err
	}
	unicode := rd.Major >= 17
	dirs := make([]string, ndirs)
	for i := range dirs {
		off := base + int64(binary.LittleEndian.Uint32(table[4*i:]))
		if dirs[i], err = h.str(off, unicode, fmt.Sprintf("directory %d name", i)); err != nil {
			return err
		}
	}
	rd.all = make([]*File, nfiles)
	var valid []*File
	for i := range rd.all {
		var f *File
		if rd.Major == 5 {
			off := base + int64(binary.LittleEndian.Uint32(table[4*(int(ndirs)+i):]))
			f, err = rd.descriptor5(h, off)
		} else {
			f, err = rd.descriptor6(h, base+int64(fto2)+int64(i)*descLen6)
		}
		if err != nil {
			return err
		}
		f.Index = i
		rd.all[i] = f
		nameOff := int64(binary.LittleEndian.Uint32(b[f.off+nameField(rd.Major):]))
		if f.Flags&FlagInvalid != 0 || f.DataOffset == 0 || nameOff == 0 {
			continue // not a file, for unshield either
		}
		if f.Name, err = h.str(base+nameOff, unicode, fmt.Sprintf("file %d name", i)); err != nil {
			return err
		}
		dirIdx := f.dirIndex(b, rd.Major)
		if dirIdx >= len(dirs) {
			return errs.Format(f.Name, f.off, "directory index %d, the header lists %d", dirIdx, len(dirs))
		}
		f.Directory = dirs[dirIdx]
		valid = append(valid, f)
	}
	if err := rd.list(h, cdo, valid); err != nil {
		return err
	}
	return rd.resolveLinks()
}

// list makes the listing: for each file group, in the order of the descriptor's group
// chains, its files from first to last under the group's name (unshield's "l"); then the
// valid files no group names, under their directory alone (unshield does not list those;
// rollgate must not miss them).
func (rd *Reader) list(h header, cdo int64, valid []*File) error {
	unicode := rd.Major >= 17
	inGroup := make([]bool, len(rd.all))
	seen := map[uint32]bool{}
	var ranged int64 // descriptors the groups' ranges span, all groups together
	for slot := 0; slot < groupSlots; slot++ {
		next, err := h.u32(cdo+0x3e+4*int64(slot), "file group slot")
		if err != nil {
			return err
		}
		for next != 0 {
			if seen[next] {
				return errs.Format(rd.hdrName, cdo+int64(next), "file group list loops")
			}
			seen[next] = true
			if len(seen) > MaxFileGroups {
				return errs.Limit(rd.hdrName, cdo+int64(next), "more than %d file groups", MaxFileGroups)
			}
			e, err := h.span(cdo+int64(next), 12, "file group list entry")
			if err != nil {
				return err
			}
			desc := cdo + int64(binary.LittleEndian.Uint32(e[4:]))
			next = binary.LittleEndian.Uint32(e[8:])
			nameOff, err := h.u32(desc, "file group descriptor")
			if err != nil {
				return err
			}
			name, err := h.str(cdo+int64(nameOff), unicode, "file group name")
			if err != nil {
				return err
			}
			rangeOff := desc + 0x16
			if rd.Major == 5 {
				rangeOff = desc + 0x4c
			}
			first, err := h.u32(rangeOff, "file group range")
			if err != nil {
				return err
			}
			last, err := h.u32(rangeOff+4, "file group range")
			if err != nil {
				return err
			}
			if last >= uint32(len(rd.all)) || first > last {
				if first == last+1 || len(rd.all) == 0 {
					continue // an empty group
				}
				return errs.Format(name, rangeOff, "file group lists files %d to %d of %d", first, last, len(rd.all))
			}
			ranged += int64(last-first) + 1
			if ranged > MaxFiles {
				return errs.Limit(name, rangeOff, "file groups span more than %d descriptors", MaxFiles)
			}
			for i := first; i <= last; i++ {
				f := rd.all[i]
				inGroup[i] = true
				if f.Name == "" {
					continue
				}
				if len(rd.Files) == MaxFiles {
					return errs.Limit(name, rangeOff, "file groups list more than %d files", MaxFiles)
				}
				g := *f
				g.Group = name
				rd.Files = append(rd.Files, &g)
			}
		}
	}
	for _, f := range valid {
		if !inGroup[f.Index] {
			if len(rd.Files) == MaxFiles {
				return errs.Limit(f.Name, f.off, "more than %d files", MaxFiles)
			}
			rd.Files = append(rd.Files, f)
		}
	}
	return nil
}

// nameField is the offset of the name offset in a descriptor.
func nameField(major int) int64 {
	if major == 5 {
		return 0
	}
	return 0x3a
}

func (f *File) dirIndex(b []byte, major int) int {
	if major == 5 {
		return int(binary.LittleEndian.Uint32(b[f.off+4:]))
	}
	return int(binary.LittleEndian.Uint16(b[f.off+0x3e:]))
}

// descriptor6 reads a version 6+ file descriptor at off.
func (rd *Reader) descriptor6(h header, off int64) (*File, error) {
	d, err := h.span(off, descLen6, "file descriptor")
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	f := &File{off: off, Flags: le.Uint16(d),
		Size: int64(le.Uint64(d[2:])), Compressed: int64(le.Uint64(d[0xa:])), DataOffset: int64(le.Uint64(d[0x12:])),
		LinkPrevious: le.Uint32(d[0x4c:]), LinkFlags: d[0x54], Volume: int(le.Uint16(d[0x55:]))}
	copy(f.MD5[:], d[0x1a:])
	if f.Size < 0 || f.Compressed < 0 || f.DataOffset < 0 {
		return nil, errs.Format(rd.hdrName, off, "file descriptor sizes or offset past 2^63")
	}
	return f, nil
}

// descriptor5 reads a version 5 file descriptor at off.
func (rd *Reader) descriptor5(h header, off int64) (*File, error) {
	d, err := h.span(off, descLen5, "file descriptor")
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	f := &File{off: off, Flags: le.Uint16(d[8:]), Volume: 1,
		Size: int64(le.Uint32(d[0xa:])), Compressed: int64(le.Uint32(d[0xe:])), DataOffset: int64(le.Uint32(d[0x26:]))}
	copy(f.MD5[:], d[0x2a:])
	return f, nil
}

// resolveLinks points each file at the descriptor whose bytes it has, following
// link_previous chains at most MaxLinkSteps steps.
func (rd *Reader) resolveLinks() error {
	var total int64
	for _, f := range rd.Files {
		d := f
		for step := 0; d.LinkFlags&linkPrev != 0; step++ {
			if step == MaxLinkSteps {
				return errs.Limit(f.Name, f.off, "duplicated-file links run longer than %d steps", MaxLinkSteps)
			}
			p := int(d.LinkPrevious)
			if p >= len(rd.all) || rd.all[p] == d {
				return errs.Format(f.Name, d.off, "links to descriptor %d of %d", p, len(rd.all))
			}
			d = rd.all[p]
			if d.Flags&FlagInvalid != 0 || d.DataOffset == 0 {
				return errs.Format(f.Name, d.off, "links to descriptor %d, which holds no data", p)
			}
		}
		if d.Size != f.Size {
			return errs.Format(f.Name, f.off, "expanded size %d, the descriptor it links to says %d", f.Size, d.Size)
		}
		if d.Flags&FlagCompressed == 0 && d.Compressed != d.Size && d.Compressed != 0 {
			// unshield only warns; the stored length is the expanded one.
			d.Compressed = d.Size
		}
		f.data = d
		total += f.Size
		if total > unpack.MaxExpandedBytes {
			return errs.Limit(f.Name, f.off, "files expand to more than %d bytes", int64(unpack.MaxExpandedBytes))
		}
	}
	return nil
}

// buildTree places the files at their paths.
func (rd *Reader) buildTree() error {
	t := fstree.New(unpack.MaxEntries)
	t.SetDirPerm(0o555)
	for _, f := range rd.Files {
		var parts []string
		for _, s := range []string{f.Group, f.Directory, f.Name} {
			if s != "" {
				parts = append(parts, s)
			}
		}
		p := strings.Join(parts, `\`)
		comps := unpack.WinComponents(strings.Split(strings.ReplaceAll(p, `\`, "/"), "/"))
		clean, err := fstree.Clean(strings.Join(comps, "/"))
		if err == nil && (clean == "." || strings.ContainsRune(clean, ':')) {
			err = fmt.Errorf("name %q: %w", p, unpack.ErrInsecurePath)
		}
		if err != nil {
			return &unpack.FormatError{Format: "iscab", Entry: p, Offset: f.off, Msg: err.Error(), Err: unpack.ErrInsecurePath}
		}
		f.Path = clean
		if _, err := t.Add(clean, 0o444, f.Size, time.Time{}, f); err != nil {
			return &unpack.FormatError{Format: "iscab", Entry: p, Offset: f.off, Msg: err.Error(), Err: unpack.ErrFormat}
		}
	}
	rd.tree = t
	return nil
}

// volumeName finds volume n beside the header, in any letter case.
func (rd *Reader) volumeName(n int) (string, error) {
	want := rd.prefix + strconv.Itoa(n) + ".cab"
	p := path.Join(rd.dir, want)
	if _, err := fs.Stat(rd.fsys, p); err == nil {
		return p, nil
	}
	if rd.names == nil {
		rd.names = map[string]string{}
		ents, _ := fs.ReadDir(rd.fsys, rd.dir)
		for _, e := range ents {
			rd.names[strings.ToLower(e.Name())] = e.Name()
		}
	}
	if real, ok := rd.names[strings.ToLower(want)]; ok {
		return path.Join(rd.dir, real), nil
	}
	return "", errs.Unsupported(want, -1, "volume %d of the cabinet set %q is missing", n, rd.hdrName)
}

// volume is one opened data<N>.cab.
type volume struct {
	name string
	ra   io.ReaderAt
	size int64
	// first and last file indexes and their pieces in this volume.
	firstIndex, lastIndex             uint32
	firstOff, firstExpanded, firstLen int64
	lastOff, lastExpanded, lastLen    int64
	close                             func() error
}

// volume opens volume n (cached) and reads its headers.
func (rd *Reader) volume(n int) (*volume, error) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if v, ok := rd.vols[n]; ok {
		return v, nil
	}
	if n < 1 || n > MaxVolumes {
		return nil, errs.Limit(rd.hdrName, -1, "volume %d, outside 1 to %d", n, MaxVolumes)
	}
	name, err := rd.volumeName(n)
	if err != nil {
		return nil, err
	}
	ra, size, closer, err := openAt(rd.fsys, name)
	if err != nil {
		return nil, fmt.Errorf("opening %q: %w", name, err)
	}
	v := &volume{name: name, ra: ra, size: size, close: closer}
	hl := volHdrLen6
	if rd.Major == 5 {
		hl = volHdrLen5
	}
	b := make([]byte, commonLen+hl)
	if _, err := ra.ReadAt(b, 0); err != nil {
		closer()
		return nil, errs.Format(name, 0, "volume header cut short: %v", err)
	}
	if string(b[:4]) != Magic {
		closer()
		return nil, errs.Format(name, 0, "no %q signature", Magic)
	}
	le, h := binary.LittleEndian, b[commonLen:]
	if rd.Major == 5 {
		v.firstIndex, v.lastIndex = le.Uint32(h[8:]), le.Uint32(h[12:])
		v.firstOff, v.firstExpanded, v.firstLen = int64(le.Uint32(h[16:])), int64(le.Uint32(h[20:])), int64(le.Uint32(h[24:]))
		v.lastOff, v.lastExpanded, v.lastLen = int64(le.Uint32(h[28:])), int64(le.Uint32(h[32:])), int64(le.Uint32(h[36:]))
		if v.lastOff == 0 {
			v.lastOff = 0x7fffffff
		}
	} else {
		u := func(o int) int64 { return int64(le.Uint64(h[o:]) & (1<<63 - 1)) }
		v.firstIndex, v.lastIndex = le.Uint32(h[8:]), le.Uint32(h[12:])
		v.firstOff, v.firstExpanded, v.firstLen = u(16), u(24), u(32)
		v.lastOff, v.lastExpanded, v.lastLen = u(40), u(48), u(56)
	}
	rd.vols[n] = v
	return v, nil
}

// openAt opens name with random access: directly when the fs.File is an io.ReaderAt, else
// through a reader that reopens and skips forward.
func openAt(fsys fs.FS, name string) (io.ReaderAt, int64, func() error, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, 0, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	if ra, ok := f.(io.ReaderAt); ok {
		return ra, st.Size(), f.Close, nil
	}
	s := &forward{fsys: fsys, name: name, f: f}
	return s, st.Size(), s.Close, nil
}

// forward gives random access to a file that only streams: a read before the current
// position reopens it, a read after skips forward.
type forward struct {
	mu   sync.Mutex
	fsys fs.FS
	name string
	f    fs.File
	pos  int64
}

func (s *forward) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if off < s.pos || s.f == nil {
		if s.f != nil {
			s.f.Close()
		}
		f, err := s.fsys.Open(s.name)
		if err != nil {
			s.f = nil
			return 0, err
		}
		s.f, s.pos = f, 0
	}
	if off > s.pos {
		n, err := io.CopyN(io.Discard, s.f, off-s.pos)
		s.pos += n
		if err != nil {
			return 0, err
		}
	}
	n, err := io.ReadFull(s.f, p)
	s.pos += int64(n)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

func (s *forward) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// Close closes the volumes opened.
func (rd *Reader) Close() error {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	var first error
	for n, v := range rd.vols {
		if err := v.close(); err != nil && first == nil {
			first = err
		}
		delete(rd.vols, n)
	}
	return first
}

// stream yields a file's stored bytes across its volumes, deobfuscated.
type stream struct {
	rd     *Reader
	f      *File // the descriptor holding the bytes
	index  uint32
	vol    *volume
	volNum int
	pos    int64 // in the volume
	here   int64 // bytes left in this volume
	left   int64 // bytes left in the file
	seed   uint32
	split  bool // the file continues from one volume to the next
	err    error
}

// open returns f's expanded bytes, exactly f.Size of them, MD5-checked at the end.
func (rd *Reader) open(f *File) io.Reader {
	d := f.data
	s := &stream{rd: rd, f: d, index: uint32(d.Index), left: d.Size, split: d.Flags&FlagSplit != 0}
	if d.Flags&FlagCompressed != 0 {
		s.left = d.Compressed
	}
	var r io.Reader = s
	if d.Flags&FlagCompressed != 0 {
		r = &chunks{src: bufio.NewReaderSize(s, 64<<10), f: f, left: d.Compressed}
	}
	if rd.Major >= 6 && d.MD5 != ([16]byte{}) {
		r = &md5Check{r: r, f: f, want: d.MD5, left: f.Size, h: md5.New()}
	}
	return fstree.ExactReader(r, f.Size, "iscab", f.Path)
}

// start opens the volume the file starts in and places the stream at its bytes.
func (s *stream) start() error {
	n := s.f.Volume
	for step := 0; ; step++ {
		if step == MaxVolumes {
			return errs.Limit(s.f.Name, s.f.off, "no volume within %d holds file %d", MaxVolumes, s.index)
		}
		v, err := s.rd.volume(n)
		if err != nil {
			return err
		}
		// Version 5 descriptors name no volume: the file is in the first volume whose
		// last file index reaches it.
		if s.rd.Major == 5 && s.index > v.lastIndex {
			n++
			continue
		}
		// Nor do they flag a split file: a file whose piece in the volume header is not
		// all of it is split.
		if s.rd.Major == 5 && (int(s.index) < len(s.rd.all)-1 && s.index == v.lastIndex && v.lastLen != s.f.Compressed ||
			s.index > 0 && s.index == v.firstIndex && v.firstLen != s.f.Compressed) {
			s.split = true
		}
		return s.enter(n, v, false)
	}
}

// enter places the stream in volume v (number n) at the file's piece there: the
// descriptor's offset for a file in one volume, the volume header's first or last file
// piece for a split one.
func (s *stream) enter(n int, v *volume, next bool) error {
	comp := s.f.Flags&FlagCompressed != 0
	var off, here int64
	switch {
	case s.split && s.index == v.lastIndex && v.lastOff != 0x7fffffff:
		off, here = v.lastOff, v.lastExpanded
		if comp {
			here = v.lastLen
		}
	case s.split && s.index == v.firstIndex:
		off, here = v.firstOff, v.firstExpanded
		if comp {
			here = v.firstLen
		}
	case s.split || next:
		return errs.Format(v.name, commonLen, "volume header names neither file %d (%s) as its first nor its last file", s.index, s.f.Name)
	default:
		off, here = s.f.DataOffset, s.left
	}
	if off < 0 || off > v.size || here > v.size-off {
		return errs.Format(v.name, off, "file %d (%s): %d bytes at 0x%x run past the %d-byte volume", s.index, s.f.Name, here, off, v.size)
	}
	s.vol, s.volNum, s.pos, s.here = v, n, off, here
	return nil
}

func (s *stream) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.vol == nil {
		if s.err = s.start(); s.err != nil {
			return 0, s.err
		}
	}
	if s.left == 0 {
		return 0, io.EOF
	}
	for s.here == 0 {
		v, err := s.rd.volume(s.volNum + 1)
		if err == nil {
			err = s.enter(s.volNum+1, v, true)
		}
		if err != nil {
			s.err = err
			return 0, err
		}
	}
	n := int(min(int64(len(p)), s.here, s.left))
	n, err := s.vol.ra.ReadAt(p[:n], s.pos)
	if n == 0 && err != nil {
		s.err = errs.Format(s.vol.name, s.pos, "reading file %d (%s): %v", s.index, s.f.Name, err)
		return 0, s.err
	}
	if s.f.Flags&FlagObfuscated != 0 {
		for i := range p[:n] {
			b := p[i] ^ 0xd5
			p[i] = (b>>2 | b<<6) - byte(s.seed%0x47)
			s.seed++
		}
	}
	s.pos += int64(n)
	s.here -= int64(n)
	s.left -= int64(n)
	return n, nil
}

// chunks inflates a compressed file: 16-bit lengths, each followed by that many bytes of
// raw deflate, until the compressed size is used up.
type chunks struct {
	src  *bufio.Reader
	f    *File
	left int64 // compressed bytes not yet read
	cur  io.Reader
	off  int64 // offset of the current chunk in the compressed stream
	buf  []byte
	err  error
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if c.err != nil {
			return 0, c.err
		}
		if c.cur != nil {
			n, err := c.cur.Read(p)
			if n > 0 {
				return n, nil
			}
			if err == nil {
				continue
			}
			if !errors.Is(err, io.EOF) {
				c.err = errs.Format(c.f.Name, c.off, "chunk does not inflate: %v", err)
				return 0, c.err
			}
			c.cur = nil
		}
		if c.left == 0 {
			return 0, io.EOF
		}
		if c.left < 2 {
			c.err = errs.Format(c.f.Name, c.off, "%d compressed byte left, no room for a chunk length", c.left)
			return 0, c.err
		}
		var l [2]byte
		if _, err := io.ReadFull(c.src, l[:]); err != nil {
			c.err = wrapRead(c.f, c.off, err)
			return 0, c.err
		}
		n := int64(binary.LittleEndian.Uint16(l[:]))
		c.off += 2
		c.left -= 2
		if n == 0 || n > c.left {
			c.err = errs.Format(c.f.Name, c.off-2, "chunk of %d bytes with %d compressed bytes left", n, c.left)
			return 0, c.err
		}
		if c.buf == nil {
			c.buf = make([]byte, 1<<16)
		}
		if _, err := io.ReadFull(c.src, c.buf[:n]); err != nil {
			c.err = wrapRead(c.f, c.off, err)
			return 0, c.err
		}
		c.cur = &chunk{z: flate.NewReader(bytes.NewReader(c.buf[:n])), f: c.f, off: c.off}
		c.off += n
		c.left -= n
	}
}

func wrapRead(f *File, off int64, err error) error {
	var fe *unpack.FormatError
	if errors.As(err, &fe) {
		return err
	}
	return errs.Format(f.Name, off, "compressed stream cut short: %v", err)
}

// chunk is one chunk's inflation, bounded by MaxChunkBytes. A chunk may end with a sync
// flush and no final block: running out of input then ends it.
type chunk struct {
	z   io.Reader
	f   *File
	off int64
	n   int64
}

func (c *chunk) Read(p []byte) (int, error) {
	n, err := c.z.Read(p)
	c.n += int64(n)
	if c.n > MaxChunkBytes {
		return 0, errs.Limit(c.f.Name, c.off, "chunk inflates to more than %d bytes", MaxChunkBytes)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

// md5Check verifies the expanded bytes' MD5 once all f.Size of them are read.
type md5Check struct {
	r    io.Reader
	f    *File
	want [16]byte
	left int64
	h    interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func (m *md5Check) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	m.h.Write(p[:n])
	m.left -= int64(n)
	if m.left == 0 && n > 0 || m.left == 0 && err == io.EOF {
		var got [16]byte
		copy(got[:], m.h.Sum(nil))
		if got != m.want {
			return n, errs.Format(m.f.Name, m.f.off, "MD5 %x, the descriptor says %x", got, m.want)
		}
	}
	return n, err
}

// Walk implements unpack.Walker: the files in the order their bytes lie in the volumes
// (volume, data offset, descriptor index), so that streaming volumes are read forward.
func (rd *Reader) Walk(fn func(path string, size int64, r io.Reader) error) error {
	files := append([]*File(nil), rd.Files...)
	sort.SliceStable(files, func(i, j int) bool {
		a, b := files[i].data, files[j].data
		if a.Volume != b.Volume {
			return a.Volume < b.Volume
		}
		return a.DataOffset < b.DataOffset
	})
	for _, f := range files {
		if err := fn(f.Path, f.Size, rd.open(f)); err != nil {
			return err
		}
	}
	return nil
}

// Open implements fs.FS.
func (rd *Reader) Open(name string) (fs.File, error) {
	return rd.tree.OpenFile(name, func(n *fstree.Node) (io.ReadCloser, error) {
		return io.NopCloser(rd.open(n.Data.(*File))), nil
	})
}

// Stat implements fs.StatFS.
func (rd *Reader) Stat(name string) (fs.FileInfo, error) { return rd.tree.Stat(name) }

// ReadDir implements fs.ReadDirFS.
func (rd *Reader) ReadDir(name string) ([]fs.DirEntry, error) { return rd.tree.ReadDir(name) }
