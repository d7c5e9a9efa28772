package hfs

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"sort"
	"strings"
	"unicode/utf16"
)

// A synthetic HFS+ volume builder for tests: it lays out a volume header, an extents
// overflow B-tree, a catalog B-tree and an attributes B-tree (one header node plus as many
// leaf nodes as needed each), and file data, following TN1150. Hostile variants patch the
// produced bytes.

const (
	tBlock    = 4096
	tNodeSize = 4096
)

type tEntry struct {
	path     string
	dir      bool
	data     []byte
	mode     uint16 // full BSD mode; 0 picks a default
	hardlink uint32 // iNode number this hlnk record points to
	dirlink  uint32 // dir_N number this fdrp record points to
	decmpfs  []byte // com.apple.decmpfs attribute (header + inline data)
	rsrc     []byte // resource fork
	fragment bool   // spread the data fork over one-block extents (forces overflow extents)
	rawName  []uint16
}

type tVolume struct {
	entries []tEntry
	hx      bool
	// set by build
	catalogOff int64 // byte offset of the catalog file
	catalogLen int
}

type tRecord struct {
	key  []byte
	data []byte
}

func utf16be(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.BigEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func catKey(parent uint32, name []byte) []byte {
	k := make([]byte, 8+len(name))
	binary.BigEndian.PutUint16(k, uint16(6+len(name)))
	binary.BigEndian.PutUint32(k[2:], parent)
	binary.BigEndian.PutUint16(k[6:], uint16(len(name)/2))
	copy(k[8:], name)
	return k
}

type tFork struct {
	size    uint64
	extents []extent
}

func (f tFork) put(b []byte) {
	binary.BigEndian.PutUint64(b, f.size)
	var total uint32
	for _, e := range f.extents {
		total += e.count
	}
	binary.BigEndian.PutUint32(b[12:], total)
	for i, e := range f.extents {
		if i == 8 {
			break
		}
		binary.BigEndian.PutUint32(b[16+8*i:], e.start)
		binary.BigEndian.PutUint32(b[20+8*i:], e.count)
	}
}

// btreeFile lays out a header node and leaf nodes holding recs (already sorted).
func btreeFile(recs []tRecord, keyCompare byte, bigKeys bool) []byte {
	var leaves [][]byte
	cur := []tRecord{}
	size := 14
	flush := func() {
		if len(cur) == 0 {
			return
		}
		n := make([]byte, tNodeSize)
		n[8] = 0xff
		n[9] = 1
		binary.BigEndian.PutUint16(n[10:], uint16(len(cur)))
		off := 14
		for i, r := range cur {
			binary.BigEndian.PutUint16(n[tNodeSize-2*(i+1):], uint16(off))
			off += copy(n[off:], r.key)
			off += copy(n[off:], r.data)
			if off%2 == 1 {
				off++
			}
		}
		binary.BigEndian.PutUint16(n[tNodeSize-2*(len(cur)+1):], uint16(off))
		leaves = append(leaves, n)
		cur = cur[:0]
		size = 14
	}
	for _, r := range recs {
		need := len(r.key) + len(r.data) + 1 + 2
		if size+need+2 > tNodeSize {
			flush()
		}
		cur = append(cur, r)
		size += need
	}
	flush()
	total := 1 + len(leaves)
	out := make([]byte, total*tNodeSize)
	h := out[:tNodeSize]
	h[8] = 1
	binary.BigEndian.PutUint16(h[10:], 3)
	hr := h[14:]
	if len(leaves) > 0 {
		binary.BigEndian.PutUint16(hr, 1)
		binary.BigEndian.PutUint32(hr[2:], 1)
		binary.BigEndian.PutUint32(hr[10:], 1)
		binary.BigEndian.PutUint32(hr[14:], uint32(len(leaves)))
	}
	binary.BigEndian.PutUint32(hr[6:], uint32(len(recs)))
	binary.BigEndian.PutUint16(hr[18:], tNodeSize)
	binary.BigEndian.PutUint16(hr[20:], 516)
	binary.BigEndian.PutUint32(hr[22:], uint32(total))
	hr[37] = keyCompare
	attrs := uint32(0)
	if bigKeys {
		attrs = 6
	}
	binary.BigEndian.PutUint32(hr[38:], attrs)
	for i, l := range leaves {
		if i+1 < len(leaves) {
			binary.BigEndian.PutUint32(l, uint32(i+2))
		}
		if i > 0 {
			binary.BigEndian.PutUint32(l[4:], uint32(i))
		}
		copy(out[(i+1)*tNodeSize:], l)
	}
	return out
}

func (v *tVolume) build() []byte {
	type item struct {
		e      tEntry
		id     uint32
		parent uint32
		name   []byte
	}
	ids := map[string]uint32{"": cnidRoot}
	next := uint32(16)
	var items []item
	// Folders first so that parents exist.
	sorted := append([]tEntry(nil), v.entries...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return strings.Count(sorted[i].path, "/") < strings.Count(sorted[j].path, "/")
	})
	for _, e := range sorted {
		dir, base := "", e.path
		if i := strings.LastIndex(e.path, "/"); i >= 0 {
			dir, base = e.path[:i], e.path[i+1:]
		}
		name := utf16be(base)
		if e.rawName != nil {
			name = make([]byte, 2*len(e.rawName))
			for i, c := range e.rawName {
				binary.BigEndian.PutUint16(name[2*i:], c)
			}
		}
		id := next
		next++
		ids[e.path] = id
		items = append(items, item{e, id, ids[dir], name})
	}
	// Allocation: block 0 holds the header; then extents, catalog, attributes, data.
	blk := uint32(1)
	var dataBlocks []byte
	alloc := func(b []byte, fragment bool) tFork {
		n := uint32((len(b) + tBlock - 1) / tBlock)
		f := tFork{size: uint64(len(b))}
		if n == 0 {
			return f
		}
		if fragment {
			for i := uint32(0); i < n; i++ {
				f.extents = append(f.extents, extent{blk + 2*i, 1})
			}
			buf := make([]byte, int(2*n)*tBlock)
			for i := 0; i < int(n); i++ {
				copy(buf[2*i*tBlock:], b[i*tBlock:min(len(b), (i+1)*tBlock)])
			}
			dataBlocks = append(dataBlocks, buf...)
			blk += 2 * n
			return f
		}
		f.extents = []extent{{blk, n}}
		buf := make([]byte, int(n)*tBlock)
		copy(buf, b)
		dataBlocks = append(dataBlocks, buf...)
		blk += n
		return f
	}
	var catRecs, attrRecs, extRecs []tRecord
	rootFolder := make([]byte, 88)
	binary.BigEndian.PutUint16(rootFolder, recFolder)
	binary.BigEndian.PutUint32(rootFolder[8:], cnidRoot)
	binary.BigEndian.PutUint16(rootFolder[42:], sIFDIR|0o755)
	catRecs = append(catRecs, tRecord{catKey(cnidRootParent, utf16be("Test")), rootFolder})
	// Files' data is laid out after the B-trees; allocate B-trees first with a fixed
	// reservation so block numbers are known.
	const reserve = 64 // blocks for the three B-trees
	treeStart := blk
	blk += reserve
	for _, it := range items {
		e := it.e
		if e.dir {
			d := make([]byte, 88)
			binary.BigEndian.PutUint16(d, recFolder)
			binary.BigEndian.PutUint32(d[8:], it.id)
			binary.BigEndian.PutUint32(d[16:], 3700000000)
			mode := e.mode
			if mode == 0 {
				mode = sIFDIR | 0o755
			}
			binary.BigEndian.PutUint16(d[42:], mode)
			catRecs = append(catRecs, tRecord{catKey(it.parent, it.name), d})
			continue
		}
		d := make([]byte, 248)
		binary.BigEndian.PutUint16(d, recFile)
		binary.BigEndian.PutUint32(d[8:], it.id)
		binary.BigEndian.PutUint32(d[16:], 3700000000)
		mode := e.mode
		if mode == 0 {
			mode = sIFREG | 0o644
		}
		binary.BigEndian.PutUint16(d[42:], mode)
		if e.hardlink != 0 {
			binary.BigEndian.PutUint32(d[44:], e.hardlink)
			copy(d[48:], "hlnkhfs+")
		}
		if e.dirlink != 0 {
			binary.BigEndian.PutUint32(d[44:], e.dirlink)
			copy(d[48:], "fdrpMACS")
		}
		if e.decmpfs != nil {
			d[41] = ufCompressed
			k := make([]byte, 14+len(utf16be("com.apple.decmpfs")))
			binary.BigEndian.PutUint16(k, uint16(len(k)-2))
			binary.BigEndian.PutUint32(k[4:], it.id)
			binary.BigEndian.PutUint16(k[12:], uint16(len("com.apple.decmpfs")))
			copy(k[14:], utf16be("com.apple.decmpfs"))
			ad := make([]byte, 16+len(e.decmpfs))
			binary.BigEndian.PutUint32(ad, 0x10)
			binary.BigEndian.PutUint32(ad[12:], uint32(len(e.decmpfs)))
			copy(ad[16:], e.decmpfs)
			attrRecs = append(attrRecs, tRecord{k, ad})
		}
		df := alloc(e.data, e.fragment)
		df.put(d[88:])
		if len(df.extents) > 8 {
			k := make([]byte, 12)
			binary.BigEndian.PutUint16(k, 10)
			binary.BigEndian.PutUint32(k[4:], it.id)
			var start uint32
			for _, x := range df.extents[:8] {
				start += x.count
			}
			binary.BigEndian.PutUint32(k[8:], start)
			ed := make([]byte, 64)
			for i, x := range df.extents[8:] {
				binary.BigEndian.PutUint32(ed[8*i:], x.start)
				binary.BigEndian.PutUint32(ed[8*i+4:], x.count)
			}
			extRecs = append(extRecs, tRecord{k, ed})
		}
		if e.rsrc != nil {
			alloc(e.rsrc, false).put(d[168:])
		}
		catRecs = append(catRecs, tRecord{catKey(it.parent, it.name), d})
	}
	sort.SliceStable(catRecs, func(i, j int) bool {
		return bytes.Compare(catRecs[i].key[2:], catRecs[j].key[2:]) < 0
	})
	cmp := byte(0xcf)
	if v.hx {
		cmp = 0xbc
	}
	extFile := btreeFile(extRecs, 0, false)
	catFile := btreeFile(catRecs, cmp, true)
	attrFile := btreeFile(attrRecs, 0, true)
	total := blk
	img := make([]byte, int(total)*tBlock)
	hdr := img[1024:]
	if v.hx {
		copy(hdr, "HX")
		binary.BigEndian.PutUint16(hdr[2:], 5)
	} else {
		copy(hdr, "H+")
		binary.BigEndian.PutUint16(hdr[2:], 4)
	}
	binary.BigEndian.PutUint32(hdr[0x10:], 3700000000)
	binary.BigEndian.PutUint32(hdr[0x14:], 3700000000)
	binary.BigEndian.PutUint32(hdr[0x28:], tBlock)
	binary.BigEndian.PutUint32(hdr[0x2c:], total)
	binary.BigEndian.PutUint32(hdr[0x40:], next)
	b := treeStart
	place := func(file []byte, at int) {
		n := uint32(len(file) / tBlock)
		copy(img[int(b)*tBlock:], file)
		tFork{size: uint64(len(file)), extents: []extent{{b, n}}}.put(hdr[at:])
		b += n
	}
	place(extFile, 0xc0)
	v.catalogOff = int64(b) * tBlock
	v.catalogLen = len(catFile)
	place(catFile, 0x110)
	place(attrFile, 0x160)
	if b > treeStart+reserve {
		panic("test volume B-trees exceed their reservation")
	}
	copy(img[int(treeStart+reserve)*tBlock:], dataBlocks)
	return img
}

// Compression helpers for decmpfs fixtures.

func decmpfsHeader(typ uint32, size int) []byte {
	h := make([]byte, 16)
	copy(h, "fpmc")
	binary.LittleEndian.PutUint32(h[4:], typ)
	binary.LittleEndian.PutUint64(h[8:], uint64(size))
	return h
}

func zlibData(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// lzvnLiterals encodes b as an LZVN stream of literal runs and an end-of-stream opcode.
func lzvnLiterals(b []byte) []byte {
	var out []byte
	for len(b) > 0 {
		n := min(len(b), 271)
		if n < 16 {
			out = append(out, 0xe0|byte(n))
		} else {
			out = append(out, 0xe0, byte(n-16))
		}
		out = append(out, b[:n]...)
		b = b[n:]
	}
	return append(out, 0x06, 0, 0, 0, 0, 0, 0, 0)
}

func lzfseStored(b []byte) []byte {
	out := []byte("bvx-")
	out = binary.LittleEndian.AppendUint32(out, uint32(len(b)))
	out = append(out, b...)
	return append(out, "bvx$"...)
}

// rsrcZlib builds a type-4 resource fork: a resource header, then at 0x100 the resource
// data length and the block table, then the blocks.
func rsrcZlib(content []byte) []byte {
	var blocks [][]byte
	for i := 0; i < len(content); i += 65536 {
		blocks = append(blocks, zlibData(content[i:min(len(content), i+65536)]))
	}
	tab := make([]byte, 4+8*len(blocks))
	binary.LittleEndian.PutUint32(tab, uint32(len(blocks)))
	off := len(tab)
	var body []byte
	for i, b := range blocks {
		binary.LittleEndian.PutUint32(tab[4+8*i:], uint32(off))
		binary.LittleEndian.PutUint32(tab[8+8*i:], uint32(len(b)))
		off += len(b)
		body = append(body, b...)
	}
	res := append(tab, body...)
	out := make([]byte, 0x100)
	binary.BigEndian.PutUint32(out, 0x100)
	binary.BigEndian.PutUint32(out[8:], uint32(4+len(res)))
	out = binary.BigEndian.AppendUint32(out, uint32(len(res)))
	return append(out, res...)
}

// rsrcTable builds a type-8/12 resource fork: LE offsets table then blocks.
func rsrcTable(content []byte, enc func([]byte) []byte) []byte {
	var blocks [][]byte
	for i := 0; i < len(content); i += 65536 {
		blocks = append(blocks, enc(content[i:min(len(content), i+65536)]))
	}
	tab := make([]byte, 4*(len(blocks)+1))
	off := len(tab)
	var body []byte
	for i, b := range blocks {
		binary.LittleEndian.PutUint32(tab[4*i:], uint32(off))
		off += len(b)
		body = append(body, b...)
	}
	binary.LittleEndian.PutUint32(tab[4*len(blocks):], uint32(off))
	return append(tab, body...)
}
