// Package hfs reads HFS+ and HFSX volumes (Apple Technical Note TN1150, "HFS Plus Volume
// Format") over hostile input and exposes them as a read-only fs.FS.
//
// What is read: the volume header (also inside an HFS wrapper), the extents-overflow,
// catalog and attributes B-trees, data forks, file hard links (iNode files in the
// "\x00\x00\x00\x00HFS+ Private Data" folder), symbolic links (fs.ModeSymlink, never
// followed) and decmpfs transparent compression (com.apple.decmpfs: types 1, 3/4 zlib,
// 7/8 LZVN, 11/12 LZFSE).
//
// The catalog is read by walking its leaf chain once (no key comparison: HFS+'s case-folding
// order needs a large Unicode table and buys nothing when every record is wanted). Every
// walk keeps a visited set and caps; names are capped at 255 UTF-16 units. Errata handled:
// catalog names that contain '/' appear with ':' (as the macOS POSIX layer shows them); the
// two private metadata folders are hidden; directory hard links ("dir_N" in the private
// directory folder) are followed unless that makes the tree cyclic, deeper than MaxDirDepth
// or larger than unpack.MaxEntries, in which case every directory link shows as an empty
// directory. Names are the catalog's (decomposed, NFD) Unicode as stored.
package hfs

import (
	"encoding/binary"
	"io"
	"sort"
	"time"

	"github.com/rollgate/rollgate/unpack"
)

// Named limits.
const (
	MaxBlockSize    = 1 << 20 // allocation block size, bytes
	MaxNodeSize     = 1 << 15 // B-tree node size, bytes (TN1150 allows 512..32768)
	MaxNodes        = 1 << 22 // B-tree nodes visited in one walk
	MaxExtents      = 1 << 16 // extents of one fork
	MaxNameUnits    = 255     // UTF-16 units in a catalog name
	MaxSymlinkBytes = 4096    // symbolic link target
	MaxDirDepth     = 1024    // directory levels below the root
	MaxDecmpfsBytes = 1 << 20 // inline decmpfs attribute data
	MaxFileBytes    = unpack.MaxExpandedBytes
)

// CNIDs with fixed meanings.
const (
	cnidRootParent = 1
	cnidRoot       = 2
	cnidExtents    = 3
	cnidCatalog    = 4
	cnidAttributes = 8
)

const headerOffset = 1024

// hfsEpoch is 1904-01-01 00:00:00 UTC, the origin of HFS+ dates.
var hfsEpoch = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)

func hfsTime(s uint32) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return hfsEpoch.Add(time.Duration(s) * time.Second)
}

type extent struct{ start, count uint32 }

// forkData is an HFSPlusForkData record.
type forkData struct {
	size   uint64
	blocks uint32
	ext    [8]extent
}

func parseFork(b []byte) forkData {
	be := binary.BigEndian
	f := forkData{size: be.Uint64(b), blocks: be.Uint32(b[12:])}
	for i := range 8 {
		f.ext[i] = extent{be.Uint32(b[16+8*i:]), be.Uint32(b[20+8*i:])}
	}
	return f
}

// fork reads one fork's logical bytes through its extents.
type fork struct {
	r     io.ReaderAt
	bs    int64
	size  int64
	ext   []extent
	first []int64 // logical block index of each extent
	name  string
}

func (f *fork) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errs.Format(f.name, off, "negative offset")
	}
	if off >= f.size {
		return 0, io.EOF
	}
	want := len(p)
	if rem := f.size - off; int64(want) > rem {
		want = int(rem)
	}
	done := 0
	for done < want {
		pos := off + int64(done)
		blk := pos / f.bs
		i := sort.Search(len(f.first), func(i int) bool { return f.first[i] > blk }) - 1
		if i < 0 || blk >= f.first[i]+int64(f.ext[i].count) {
			return done, errs.Format(f.name, pos, "fork byte %d is not covered by an extent", pos)
		}
		e := f.ext[i]
		inExt := pos - f.first[i]*f.bs
		phys := int64(e.start)*f.bs + inExt
		n := int64(e.count)*f.bs - inExt
		if n > int64(want-done) {
			n = int64(want - done)
		}
		m, err := f.r.ReadAt(p[done:done+int(n)], phys)
		done += m
		if err != nil && !(err == io.EOF && m == int(n)) {
			return done, errs.Format(f.name, phys, "reading fork: %v", err)
		}
	}
	if want < len(p) {
		return done, io.EOF
	}
	return done, nil
}

// Reader is an opened HFS+ or HFSX volume.
type Reader struct {
	r          io.ReaderAt
	size       int64
	base       int64 // offset of the HFS+ volume (non-zero inside an HFS wrapper)
	bs         int64
	blocks     uint32
	signature  string
	created    time.Time
	modified   time.Time
	overflow   map[uint64][]extentRun // (fileID, forkType) -> overflow extent records
	decmpfs    map[uint32][]byte      // fileID -> inline com.apple.decmpfs attribute
	decmpfsErr map[uint32]error
	nodes      map[uint32]*node
	root       *node
}

type extentRun struct {
	startBlock uint32
	ext        [8]extent
}

// NewReader opens the volume in r (size bytes, the partition).
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	v := &Reader{r: r, size: size}
	hdr := make([]byte, 512)
	if size < headerOffset+512 {
		return nil, errs.Format("", 0, "volume of %d bytes is too small", size)
	}
	if _, err := r.ReadAt(hdr, headerOffset); err != nil {
		return nil, errs.Format("", headerOffset, "reading volume header: %v", err)
	}
	be := binary.BigEndian
	if string(hdr[:2]) == "BD" {
		// HFS wrapper (TN1150 "HFS Wrapper"): the HFS+ volume is an embedded extent.
		if string(hdr[0x7c:0x7e]) != "H+" {
			return nil, errs.Unsupported("", -1, "plain HFS (not HFS+) volume")
		}
		alBlkSiz := int64(be.Uint32(hdr[0x14:]))
		alBlSt := int64(be.Uint16(hdr[0x1c:]))
		start := int64(be.Uint16(hdr[0x7e:]))
		count := int64(be.Uint16(hdr[0x80:]))
		if alBlkSiz == 0 || alBlkSiz%512 != 0 || alBlkSiz > MaxBlockSize {
			return nil, errs.Format("", headerOffset+0x14, "wrapper block size %d", alBlkSiz)
		}
		v.base = alBlSt*512 + start*alBlkSiz
		if v.base+headerOffset+512 > size || count*alBlkSiz > size {
			return nil, errs.Format("", headerOffset+0x7e, "embedded volume outside the wrapper")
		}
		v.r = io.NewSectionReader(r, v.base, min(count*alBlkSiz, size-v.base))
		v.size = min(count*alBlkSiz, size-v.base)
		if _, err := v.r.ReadAt(hdr, headerOffset); err != nil {
			return nil, errs.Format("", v.base+headerOffset, "reading embedded volume header: %v", err)
		}
	}
	switch string(hdr[:2]) {
	case "H+", "HX":
		v.signature = string(hdr[:2])
	default:
		return nil, errs.Format("", headerOffset, "no HFS+ signature (%q)", hdr[:2])
	}
	v.bs = int64(be.Uint32(hdr[0x28:]))
	v.blocks = be.Uint32(hdr[0x2c:])
	if v.bs < 512 || v.bs > MaxBlockSize || v.bs&(v.bs-1) != 0 {
		return nil, errs.Format("", headerOffset+0x28, "block size %d", v.bs)
	}
	if int64(v.blocks)*v.bs > v.size {
		return nil, errs.Format("", headerOffset+0x2c, "volume claims %d blocks of %d bytes in %d bytes (truncated?)", v.blocks, v.bs, v.size)
	}
	v.created = hfsTime(be.Uint32(hdr[0x10:]))
	v.modified = hfsTime(be.Uint32(hdr[0x14:]))
	extFork := parseFork(hdr[0xc0:])
	catFork := parseFork(hdr[0x110:])
	attrFork := parseFork(hdr[0x160:])

	ef, err := v.newFork("extents overflow file", cnidExtents, 0, extFork, false)
	if err != nil {
		return nil, err
	}
	if err := v.readExtentsTree(ef); err != nil {
		return nil, err
	}
	cf, err := v.newFork("catalog file", cnidCatalog, 0, catFork, true)
	if err != nil {
		return nil, err
	}
	if attrFork.size > 0 {
		af, err := v.newFork("attributes file", cnidAttributes, 0, attrFork, true)
		if err != nil {
			return nil, err
		}
		if err := v.readAttributesTree(af); err != nil {
			return nil, err
		}
	}
	if err := v.readCatalog(cf); err != nil {
		return nil, err
	}
	return v, nil
}

// newFork builds a reader over a fork, adding overflow extents when useOverflow is set.
func (v *Reader) newFork(name string, id uint32, forkType uint8, fd forkData, useOverflow bool) (*fork, error) {
	f := &fork{r: v.r, bs: v.bs, size: int64(fd.size), name: name}
	if fd.size > MaxFileBytes {
		return nil, errs.Limit(name, -1, "fork of %d bytes (limit %d)", fd.size, int64(MaxFileBytes))
	}
	var lb int64
	add := func(e extent) error {
		if e.count == 0 {
			return nil
		}
		if uint64(e.start)+uint64(e.count) > uint64(v.blocks) || (int64(e.start)+int64(e.count))*v.bs > v.size {
			return errs.Format(name, -1, "extent [%d,+%d) outside the volume's %d blocks", e.start, e.count, v.blocks)
		}
		// A fork larger than the volume must reuse blocks: refuse the amplification.
		if lb+int64(e.count) > int64(v.blocks) {
			return errs.Format(name, -1, "extents total more than the volume's %d blocks", v.blocks)
		}
		if len(f.ext) >= MaxExtents {
			return errs.Limit(name, -1, "more than %d extents", MaxExtents)
		}
		f.ext = append(f.ext, e)
		f.first = append(f.first, lb)
		lb += int64(e.count)
		return nil
	}
	for _, e := range fd.ext {
		if err := add(e); err != nil {
			return nil, err
		}
	}
	if useOverflow && lb*v.bs < f.size {
		for _, run := range v.overflow[uint64(id)<<8|uint64(forkType)] {
			if int64(run.startBlock) != lb {
				continue // a record that does not continue the fork; ignore
			}
			for _, e := range run.ext {
				if err := add(e); err != nil {
					return nil, err
				}
			}
		}
	}
	if lb*v.bs < f.size {
		return nil, errs.Format(name, -1, "fork of %d bytes has extents for only %d", f.size, lb*v.bs)
	}
	return f, nil
}

// btree is an open B-tree file.
type btree struct {
	f          *fork
	name       string
	nodeSize   int
	totalNodes uint32
	firstLeaf  uint32
	bigKeys    bool
	keyCompare uint8
}

func openBTree(f *fork) (*btree, error) {
	hdr := make([]byte, 106)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return nil, errs.Format(f.name, 0, "reading B-tree header node: %v", err)
	}
	be := binary.BigEndian
	if int8(hdr[8]) != 1 {
		return nil, errs.Format(f.name, 8, "header node kind %d", int8(hdr[8]))
	}
	t := &btree{f: f, name: f.name}
	h := hdr[14:]
	t.firstLeaf = be.Uint32(h[10:])
	t.nodeSize = int(be.Uint16(h[18:]))
	t.totalNodes = be.Uint32(h[22:])
	t.keyCompare = h[37]
	t.bigKeys = be.Uint32(h[38:])&2 != 0
	if t.nodeSize < 512 || t.nodeSize > MaxNodeSize || t.nodeSize&(t.nodeSize-1) != 0 {
		return nil, errs.Format(f.name, 32, "node size %d", t.nodeSize)
	}
	if int64(t.totalNodes)*int64(t.nodeSize) > f.size {
		return nil, errs.Format(f.name, 36, "%d nodes of %d bytes in a %d-byte file", t.totalNodes, t.nodeSize, f.size)
	}
	return t, nil
}

// leaves calls fn for every record of every leaf node, following the leaf chain with a
// visited set.
func (t *btree) leaves(fn func(rec []byte, off int64) error) error {
	if t.firstLeaf == 0 {
		return nil
	}
	be := binary.BigEndian
	node := make([]byte, t.nodeSize)
	seen := make(map[uint32]bool)
	for n := t.firstLeaf; n != 0; {
		if n >= t.totalNodes {
			return errs.Format(t.name, -1, "leaf link to node %d of %d", n, t.totalNodes)
		}
		if seen[n] {
			return errs.Format(t.name, int64(n)*int64(t.nodeSize), "leaf chain loops at node %d", n)
		}
		if len(seen) >= MaxNodes {
			return errs.Limit(t.name, -1, "more than %d leaf nodes", MaxNodes)
		}
		seen[n] = true
		off := int64(n) * int64(t.nodeSize)
		if _, err := t.f.ReadAt(node, off); err != nil {
			return errs.Format(t.name, off, "reading node %d: %v", n, err)
		}
		if int8(node[8]) != -1 {
			return errs.Format(t.name, off, "node %d in the leaf chain has kind %d", n, int8(node[8]))
		}
		nrec := int(be.Uint16(node[10:]))
		if 14+2*(nrec+1) > t.nodeSize {
			return errs.Format(t.name, off, "node %d claims %d records", n, nrec)
		}
		prev := 14
		for i := 0; i < nrec; i++ {
			a := int(be.Uint16(node[t.nodeSize-2*(i+1):]))
			b := int(be.Uint16(node[t.nodeSize-2*(i+2):]))
			if a < prev || b < a || b > t.nodeSize-2*(nrec+1) {
				return errs.Format(t.name, off, "node %d record %d offsets %d..%d", n, i, a, b)
			}
			prev = a
			if err := fn(node[a:b], off+int64(a)); err != nil {
				return err
			}
		}
		n = be.Uint32(node[0:])
	}
	return nil
}

func (v *Reader) readExtentsTree(f *fork) error {
	v.overflow = make(map[uint64][]extentRun)
	if f.size == 0 {
		return nil
	}
	t, err := openBTree(f)
	if err != nil {
		return err
	}
	be := binary.BigEndian
	total := 0
	return t.leaves(func(rec []byte, off int64) error {
		// HFSPlusExtentKey: keyLength u16 (10), forkType u8, pad, fileID u32, startBlock u32.
		if len(rec) < 12+64 || be.Uint16(rec) < 10 {
			return errs.Format(t.name, off, "short extent record")
		}
		kl := int(be.Uint16(rec))
		if 2+kl+64 > len(rec) {
			return errs.Format(t.name, off, "extent key length %d", kl)
		}
		forkType := rec[2]
		id := be.Uint32(rec[4:])
		run := extentRun{startBlock: be.Uint32(rec[8:])}
		d := rec[2+kl:]
		for i := range 8 {
			run.ext[i] = extent{be.Uint32(d[8*i:]), be.Uint32(d[8*i+4:])}
		}
		if total++; total > MaxExtents*8 {
			return errs.Limit(t.name, off, "more than %d extent records", MaxExtents*8)
		}
		k := uint64(id)<<8 | uint64(forkType)
		v.overflow[k] = append(v.overflow[k], run)
		return nil
	})
}

func (v *Reader) readAttributesTree(f *fork) error {
	v.decmpfs = make(map[uint32][]byte)
	v.decmpfsErr = make(map[uint32]error)
	t, err := openBTree(f)
	if err != nil {
		return err
	}
	be := binary.BigEndian
	return t.leaves(func(rec []byte, off int64) error {
		// HFSPlusAttrKey: keyLength u16, pad u16, fileID u32, startBlock u32, nameLength u16, name.
		if len(rec) < 14 {
			return errs.Format(t.name, off, "short attribute record")
		}
		kl := int(be.Uint16(rec))
		nl := int(be.Uint16(rec[12:]))
		if nl > 127 || 14+2*nl > len(rec) || 2+kl > len(rec) || kl < 12+2*nl {
			return errs.Format(t.name, off, "attribute key (length %d, name %d units)", kl, nl)
		}
		if decodeName(rec[14:14+2*nl]) != "com.apple.decmpfs" {
			return nil
		}
		id := be.Uint32(rec[4:])
		d := rec[2+kl:]
		if len(d) < 4 {
			return errs.Format(t.name, off, "short attribute data")
		}
		switch be.Uint32(d) {
		case 0x10: // kHFSPlusAttrInlineData
			if len(d) < 16 {
				return errs.Format(t.name, off, "short inline attribute")
			}
			n := int(be.Uint32(d[12:]))
			if n > len(d)-16 {
				return errs.Format(t.name, off, "inline attribute of %d bytes in a %d-byte record", n, len(d)-16)
			}
			v.decmpfs[id] = append([]byte(nil), d[16:16+n]...)
		case 0x20: // kHFSPlusAttrForkData: the attribute lives in its own fork.
			if len(d) < 8+80 {
				return errs.Format(t.name, off, "short fork attribute")
			}
			fd := parseFork(d[8:])
			if fd.size > MaxDecmpfsBytes {
				v.decmpfsErr[id] = errs.Limit("", off, "decmpfs attribute of %d bytes", fd.size)
				return nil
			}
			af, err := v.newFork("decmpfs attribute", id, 0, fd, false)
			if err != nil {
				v.decmpfsErr[id] = err
				return nil
			}
			b := make([]byte, fd.size)
			if _, err := af.ReadAt(b, 0); err != nil && err != io.EOF {
				v.decmpfsErr[id] = err
				return nil
			}
			v.decmpfs[id] = b
		}
		return nil
	})
}

// Info describes the volume.
type Info struct {
	Signature string // "H+" or "HX"
	BlockSize int64
	Blocks    uint32
	Created   time.Time
	Modified  time.Time
}

// Info returns the volume header's facts.
func (v *Reader) Info() Info {
	return Info{Signature: v.signature, BlockSize: v.bs, Blocks: v.blocks, Created: v.created, Modified: v.modified}
}

// errs builds this reader's positioned errors.
var errs = unpack.Errs("hfs")
