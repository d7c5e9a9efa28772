// Package dmg opens an Apple disk image and exposes what it holds as one read-only fs.FS.
//
// A DMG is a UDIF container (package udif) around a disk; the disk is split into partitions
// by the UDIF blkx tables (or, for a single whole-disk table or a raw disk, by an Apple
// Partition Map, GPT or MBR inside it). Each partition is an entry named as 7-Zip names it,
// "<number>.<type>": "0.MBR", "1.free", "2.Windows_FAT_16", "4.hfs".
//
// Layout of the fs.FS (DESIGN.md: DMG inventory paths are the path inside the volume):
//
//   - exactly one HFS+/HFSX volume and otherwise only partition-map metadata and free space
//     (MBR, GPT headers and tables, Apple_Free, Apple_partition_map, drivers): the fs.FS is
//     that volume, paths are the volume's own ("dummy.app/Contents/Info.plist"); the
//     metadata partitions are only in Partitions();
//   - otherwise the top level lists every partition entry; HFS+ partitions are directories
//     holding the volume ("4.hfs/dummy.app/..."), all others are regular files holding the
//     partition's raw bytes (streamed reads check the UDIF CRC32), so a second data
//     partition (FAT, APFS, unknown) is never hidden. APFS partitions are listed as files;
//     Volume reports unpack.ErrUnsupported for them.
//
// An HFS+ volume that fails to open fails the whole image (its raw bytes are not offered
// instead). Encrypted images report unpack.ErrUnsupported. A file without a koly trailer is
// read as a raw disk when it holds a partition map or an HFS+ volume.
package dmg

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/hfs"
	"github.com/rollgate/rollgate/unpack/udif"
)

// Filesystem kinds recognised in a partition.
const (
	FSNone = ""
	FSHFS  = "hfs"
	FSAPFS = "apfs"
)

// Partition is one entry of the image.
type Partition struct {
	Name       string // entry name, "2.Windows_FAT_16"
	Type       string // partition type, "Windows_FAT_16", "Apple_HFS"
	Offset     int64  // in the decoded disk, bytes
	Size       int64
	Filesystem string // FSHFS, FSAPFS or FSNone
	udifIndex  int    // blkx table index, -1 when from a partition map
}

// Image is an opened disk image.
type Image struct {
	udif   *udif.Reader // nil for a raw disk
	disk   io.ReaderAt
	size   int64
	parts  []Partition
	vols   map[string]*hfs.Reader // entry name -> volume
	single *hfs.Reader
}

var (
	_ fs.FS         = (*Image)(nil)
	_ fs.ReadDirFS  = (*Image)(nil)
	_ fs.StatFS     = (*Image)(nil)
	_ unpack.Walker = (*Image)(nil)
)

// Open opens the disk image in the named file; Close closes it.
func Open(name string) (*unpack.ReadCloser[*Image], error) { return unpack.OpenFile(name, NewReader) }

// NewReader opens a UDIF image (or, failing that, a raw disk holding a partition map or an
// HFS+ volume) from r.
func NewReader(r io.ReaderAt, size int64) (*Image, error) {
	im := &Image{vols: map[string]*hfs.Reader{}}
	u, err := udif.NewReader(r, size)
	if err != nil {
		if !errors.Is(err, udif.ErrNoTrailer) {
			return nil, err
		}
		// A raw (read-only, uncompressed "UDTO"-like) disk.
		if !looksLikeDisk(r, size) {
			return nil, err
		}
		im.disk, im.size = r, size
		im.fromMap(readPartitionMap(r, size))
	} else {
		im.udif, im.disk, im.size = u, u.Disk(), u.Size()
		tables := u.Partitions()
		if len(tables) == 1 && fsAt(im.disk, tables[0].Offset, tables[0].Size) == FSNone {
			if m := readPartitionMap(im.disk, im.size); len(m) > 0 {
				im.fromMap(m)
			}
		}
		if im.parts == nil {
			for i, t := range tables {
				im.parts = append(im.parts, Partition{
					Name:      entryName(t.Number, t.Type, t.Name),
					Type:      t.Type,
					Offset:    t.Offset,
					Size:      t.Size,
					udifIndex: i,
				})
			}
		}
	}
	if im.parts == nil && fsAt(im.disk, 0, im.size) != FSNone {
		im.parts = []Partition{{Name: "0.hfs", Type: "Apple_HFS", Size: im.size, udifIndex: -1}}
		if im.udif != nil && len(im.udif.Partitions()) == 1 {
			im.parts[0].udifIndex = 0
		}
	}
	seen := map[string]int{}
	nhfs := 0
	for i := range im.parts {
		p := &im.parts[i]
		// Entry names must be unique and valid paths.
		if n := seen[p.Name]; n > 0 {
			p.Name = fmt.Sprintf("%s~%d", p.Name, n)
		}
		seen[p.Name]++
		p.Filesystem = fsAt(im.disk, p.Offset, p.Size)
		if p.Filesystem != FSHFS {
			continue
		}
		v, err := hfs.NewReader(io.NewSectionReader(im.disk, p.Offset, p.Size), p.Size)
		if err != nil {
			// A broken volume fails the image: listing its raw bytes instead would hide
			// the files a verdict depends on.
			return nil, fmt.Errorf("dmg: partition %q: %w", p.Name, err)
		}
		im.vols[p.Name] = v
		nhfs++
	}
	if nhfs == 1 {
		others := false
		for _, p := range im.parts {
			if p.Filesystem != FSHFS && !metadataTypes[p.Type] {
				others = true
			}
		}
		for _, v := range im.vols {
			if !others {
				im.single = v
			}
		}
	}
	if len(im.parts) == 0 {
		return nil, &unpack.FormatError{Format: "dmg", Offset: -1, Msg: "no partitions"}
	}
	return im, nil
}

func looksLikeDisk(r io.ReaderAt, size int64) bool {
	return fsAt(r, 0, size) != FSNone || len(readPartitionMap(r, size)) > 0
}

func (im *Image) fromMap(m []mapEntry) {
	for i, e := range m {
		im.parts = append(im.parts, Partition{
			Name:      entryName(i, e.typ, ""),
			Type:      e.typ,
			Offset:    e.offset,
			Size:      e.size,
			udifIndex: -1,
		})
	}
}

// fsAt recognises the filesystem at a partition's start.
func fsAt(r io.ReaderAt, off, size int64) string {
	if size < 2048 {
		return FSNone
	}
	b := make([]byte, 0x80)
	if _, err := r.ReadAt(b, off+1024); err == nil {
		switch string(b[:2]) {
		case "H+", "HX":
			return FSHFS
		case "BD": // an HFS wrapper counts when it embeds an HFS+ volume
			if string(b[0x7c:0x7e]) == "H+" {
				return FSHFS
			}
		}
	}
	m := make([]byte, 4)
	if _, err := r.ReadAt(m, off+32); err == nil && string(m) == "NXSB" {
		return FSAPFS
	}
	return FSNone
}

// metadataTypes are partition types that hold no files a Mac would mount.
var metadataTypes = map[string]bool{
	"MBR": true, "Protective Master Boot Record": true,
	"Primary GPT Header": true, "Primary GPT Table": true,
	"Backup GPT Header": true, "Backup GPT Table": true,
	"Apple_Free": true, "Apple_partition_map": true, "Apple_Void": true,
	"DDM": true, "Driver Descriptor Map": true, "Apple_Driver": true, "Apple_Driver43": true,
	"Apple_Driver_ATA": true, "Apple_Driver_ATAPI": true, "Apple_Patches": true,
}

// 7-Zip's short names for Apple partition types (DmgHandler.cpp's k_Names).
var shortTypes = map[string]string{
	"Apple_HFS":  "hfs",
	"Apple_HFSX": "hfsx",
	"Apple_UFS":  "ufs",
	"Apple_APFS": "apfs",
	"Apple_ISO":  "iso",
	"Apple_Free": "free",
	"DDM":        "ddm",
}

// entryName builds "<number>.<type>", sanitised into a single valid path element.
func entryName(num int, typ, full string) string {
	t := typ
	if s, ok := shortTypes[typ]; ok {
		t = s
	}
	if t == "" {
		t = full
	}
	t = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, strings.TrimSpace(t))
	if t == "" {
		t = "partition"
	}
	return strconv.Itoa(num) + "." + t
}

// Partitions lists the image's entries in disk order.
func (im *Image) Partitions() []Partition { return append([]Partition(nil), im.parts...) }

// Disk returns the decoded disk and its size.
func (im *Image) Disk() (io.ReaderAt, int64) { return im.disk, im.size }

// UDIF returns the UDIF container, nil for a raw disk.
func (im *Image) UDIF() *udif.Reader { return im.udif }

// Volume returns the HFS+ volume of a partition entry. APFS and other filesystems report
// an error wrapping unpack.ErrUnsupported.
func (im *Image) Volume(entry string) (*hfs.Reader, error) {
	if v := im.vols[entry]; v != nil {
		return v, nil
	}
	for _, p := range im.parts {
		if p.Name == entry {
			if p.Filesystem == FSAPFS {
				return nil, &unpack.FormatError{Format: "dmg", Entry: entry, Offset: p.Offset, Msg: "APFS volumes are not read", Err: unpack.ErrUnsupported}
			}
			return nil, &unpack.FormatError{Format: "dmg", Entry: entry, Offset: p.Offset, Msg: "no filesystem rollgate reads", Err: unpack.ErrUnsupported}
		}
	}
	return nil, &unpack.FormatError{Format: "dmg", Entry: entry, Offset: -1, Msg: "no such partition", Err: fs.ErrNotExist}
}

// Single reports the HFS+ volume the fs.FS shows directly, if there is exactly one.
func (im *Image) Single() *hfs.Reader { return im.single }

// --- fs.FS ---

// split resolves a path to a partition entry and the rest inside it.
func (im *Image) split(op, name string) (*Partition, string, error) {
	if !fs.ValidPath(name) {
		return nil, "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return nil, ".", nil
	}
	first, rest, _ := strings.Cut(name, "/")
	if rest == "" {
		rest = "."
	}
	for i := range im.parts {
		if im.parts[i].Name == first {
			return &im.parts[i], rest, nil
		}
	}
	return nil, "", &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

func rebase(err error, name string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: name, Err: pe.Err}
	}
	return err
}

// Open opens a file or directory of the image.
func (im *Image) Open(name string) (fs.File, error) {
	if im.single != nil {
		return im.single.Open(name)
	}
	p, rest, err := im.split("open", name)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return &rootDir{im: im}, nil
	}
	if v := im.vols[p.Name]; v != nil {
		f, err := v.Open(rest)
		if err != nil {
			return nil, rebase(err, name)
		}
		if rest == "." {
			return &renamed{File: f, name: p.Name}, nil
		}
		return f, nil
	}
	if rest != "." {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return im.partFile(p), nil
}

// Stat describes a file of the image.
func (im *Image) Stat(name string) (fs.FileInfo, error) {
	if im.single != nil {
		return im.single.Stat(name)
	}
	p, rest, err := im.split("stat", name)
	if err != nil {
		return nil, err
	}
	if p != nil && rest != "." && im.vols[p.Name] != nil {
		fi, err := im.vols[p.Name].Stat(rest)
		return fi, rebase(err, name)
	}
	f, err := im.Open(name)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: errors.Unwrap(err)}
	}
	defer f.Close()
	return f.Stat()
}

// ReadDir lists a directory of the image.
func (im *Image) ReadDir(name string) ([]fs.DirEntry, error) {
	if im.single != nil {
		return im.single.ReadDir(name)
	}
	p, rest, err := im.split("readdir", name)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return im.rootEntries(), nil
	}
	if v := im.vols[p.Name]; v != nil {
		ents, err := v.ReadDir(rest)
		return ents, rebase(err, name)
	}
	return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
}

// Walk delivers every regular file in path order.
func (im *Image) Walk(fn func(path string, size int64, r io.Reader) error) error {
	if im.single != nil {
		return im.single.Walk(fn)
	}
	return unpack.WalkFS(im, fn)
}

func (im *Image) rootEntries() []fs.DirEntry {
	out := make([]fs.DirEntry, 0, len(im.parts))
	for i := range im.parts {
		out = append(out, fs.FileInfoToDirEntry(im.partInfo(&im.parts[i])))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

func (im *Image) partInfo(p *Partition) *info {
	if im.vols[p.Name] != nil {
		return &info{name: p.Name, mode: fs.ModeDir | 0o555}
	}
	return &info{name: p.Name, size: p.Size, mode: 0o444}
}

type info struct {
	name string
	size int64
	mode fs.FileMode
}

func (i *info) Name() string       { return i.name }
func (i *info) Size() int64        { return i.size }
func (i *info) Mode() fs.FileMode  { return i.mode }
func (i *info) ModTime() time.Time { return time.Time{} }
func (i *info) IsDir() bool        { return i.mode.IsDir() }
func (i *info) Sys() any           { return nil }

type rootDir struct {
	im  *Image
	pos int
}

func (d *rootDir) Stat() (fs.FileInfo, error) { return &info{name: ".", mode: fs.ModeDir | 0o555}, nil }
func (d *rootDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: ".", Err: errors.New("is a directory")}
}
func (d *rootDir) Close() error { return nil }
func (d *rootDir) ReadDir(n int) ([]fs.DirEntry, error) {
	all := d.im.rootEntries()[d.pos:]
	if n > 0 && len(all) == 0 {
		return nil, io.EOF
	}
	if n > 0 && len(all) > n {
		all = all[:n]
	}
	d.pos += len(all)
	return all, nil
}

// renamed gives a volume's root directory the partition entry's name.
type renamed struct {
	fs.File
	name string
}

func (r *renamed) Stat() (fs.FileInfo, error) {
	return &info{name: r.name, mode: fs.ModeDir | 0o555}, nil
}

func (r *renamed) ReadDir(n int) ([]fs.DirEntry, error) {
	if d, ok := r.File.(fs.ReadDirFile); ok {
		return d.ReadDir(n)
	}
	return nil, errors.New("not a directory")
}

// partFile is a partition's raw bytes. Sequential reads through a UDIF table check its
// CRC32 when they reach the end.
type partFile struct {
	fi  *info
	sr  *io.SectionReader
	seq io.Reader // CRC-checked stream while reads stay sequential from 0
	pos int64
}

func (im *Image) partFile(p *Partition) *partFile {
	f := &partFile{fi: im.partInfo(p), sr: io.NewSectionReader(im.disk, p.Offset, p.Size)}
	if im.udif != nil && p.udifIndex >= 0 {
		pr := im.udif.Partition(p.udifIndex)
		if pr.Size() == p.Size {
			f.seq = pr
		}
	}
	return f
}

func (f *partFile) Stat() (fs.FileInfo, error) { return f.fi, nil }
func (f *partFile) Close() error               { return nil }
func (f *partFile) Read(b []byte) (int, error) {
	if f.seq != nil {
		n, err := f.seq.Read(b)
		f.pos += int64(n)
		return n, err
	}
	return f.sr.Read(b)
}
func (f *partFile) ReadAt(b []byte, off int64) (int, error) { return f.sr.ReadAt(b, off) }
func (f *partFile) Seek(off int64, whence int) (int64, error) {
	if f.seq != nil {
		// Leaving the sequential stream: continue with plain reads from the same place.
		if _, err := f.sr.Seek(f.pos, io.SeekStart); err != nil {
			return 0, err
		}
		f.seq = nil
	}
	return f.sr.Seek(off, whence)
}
