package hfs

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/lzfse"
)

// decmpfs (transparent compression): a com.apple.decmpfs attribute holds a 16-byte header
// ("fpmc", u32 LE type, u64 LE size) and, for the inline types, the compressed bytes; the
// resource-fork types keep 64 KiB blocks in the file's resource fork behind a block table.
const (
	decmpfsBlock      = 64 << 10
	maxDecmpfsInline  = 64 << 20 // decoded size of an inline-compressed file
	decmpfsHeaderSize = 16
)

// decmpfsSize reads the uncompressed size from a decmpfs header.
func decmpfsSize(attr []byte, name string) (int64, error) {
	if len(attr) < decmpfsHeaderSize || string(attr[:4]) != "fpmc" {
		return 0, errs.Format(name, -1, "com.apple.decmpfs attribute without its header")
	}
	size := binary.LittleEndian.Uint64(attr[8:])
	if size > uint64(MaxFileBytes) {
		return 0, errs.Limit(name, -1, "decmpfs size %d (limit %d)", size, int64(MaxFileBytes))
	}
	return int64(size), nil
}

func (v *Reader) decmpfsReader(t *node, attr []byte, name string) (io.ReaderAt, int64, error) {
	size, err := decmpfsSize(attr, name)
	if err != nil {
		return nil, 0, err
	}
	typ := binary.LittleEndian.Uint32(attr[4:])
	data := attr[decmpfsHeaderSize:]
	switch typ {
	case 1, 3, 7, 11: // inline
		if size > maxDecmpfsInline {
			return nil, 0, errs.Limit(name, -1, "inline decmpfs size %d", size)
		}
		out, err := decodeBlock(typ, data, int(size))
		if err != nil {
			return nil, 0, wrapName(name, err)
		}
		if int64(len(out)) != size {
			return nil, 0, errs.Format(name, -1, "decmpfs data decodes to %d bytes, header says %d", len(out), size)
		}
		return bytes.NewReader(out), size, nil
	case 4, 8, 12:
		rf, err := v.newFork(name+" (resource fork)", t.id, 0xff, t.rsrc, true)
		if err != nil {
			return nil, 0, err
		}
		br, err := newBlockReader(rf, typ, size, name)
		if err != nil {
			return nil, 0, err
		}
		return br, size, nil
	}
	return nil, 0, errs.Unsupported(name, -1, "decmpfs compression type %d", typ)
}

func wrapName(name string, err error) error {
	return fmt.Errorf("hfs: %q: decmpfs: %w", name, err)
}

// decodeBlock decodes one inline payload or resource block of a decmpfs type.
func decodeBlock(typ uint32, b []byte, want int) ([]byte, error) {
	if typ == 1 {
		return b, nil
	}
	if len(b) == 0 {
		if want == 0 {
			return nil, nil
		}
		return nil, &unpack.FormatError{Format: "decmpfs", Offset: -1, Msg: "empty block"}
	}
	switch typ {
	case 3, 4:
		if b[0]&0x0f == 0x0f { // stored, not deflated
			return b[1:], nil
		}
		zr, err := zlib.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, &unpack.FormatError{Format: "decmpfs", Offset: -1, Msg: "zlib: " + err.Error()}
		}
		var out bytes.Buffer
		if _, err := io.Copy(&out, io.LimitReader(zr, int64(want)+1)); err != nil {
			return nil, &unpack.FormatError{Format: "decmpfs", Offset: -1, Msg: "zlib: " + err.Error()}
		}
		return out.Bytes(), nil
	case 7, 8:
		if b[0] == 0x06 {
			return b[1:], nil
		}
		return lzfse.DecodeLZVN(b, want)
	case 11, 12:
		if len(b) >= 3 && string(b[:3]) == "bvx" {
			return lzfse.Decode(b, want)
		}
		return b[1:], nil
	}
	return nil, &unpack.FormatError{Format: "decmpfs", Offset: -1, Msg: fmt.Sprintf("type %d", typ), Err: unpack.ErrUnsupported}
}

// blockReader serves a resource-fork-compressed file, decoding one 64 KiB block at a time.
type blockReader struct {
	rf     *fork
	typ    uint32
	size   int64
	name   string
	starts []int64 // block i spans starts[i]..starts[i]+lens[i] in the resource fork
	lens   []int64

	mu   sync.Mutex
	cur  int
	data []byte
}

func newBlockReader(rf *fork, typ uint32, size int64, name string) (*blockReader, error) {
	le, be := binary.LittleEndian, binary.BigEndian
	nblocks := (size + decmpfsBlock - 1) / decmpfsBlock
	br := &blockReader{rf: rf, typ: typ, size: size, name: name, cur: -1}
	if nblocks > rf.size/4+1 {
		return nil, errs.Format(name, -1, "%d blocks in a %d-byte resource fork", nblocks, rf.size)
	}
	read := func(off, n int64) ([]byte, error) {
		if off < 0 || n < 0 || off > rf.size || n > rf.size-off {
			return nil, errs.Format(name, off, "block table past the %d-byte resource fork", rf.size)
		}
		b := make([]byte, n)
		if _, err := rf.ReadAt(b, off); err != nil && err != io.EOF {
			return nil, err
		}
		return b, nil
	}
	if typ == 4 {
		h, err := read(0, 4)
		if err != nil {
			return nil, err
		}
		base := int64(be.Uint32(h)) + 4
		h, err = read(base, 4)
		if err != nil {
			return nil, err
		}
		if n := int64(le.Uint32(h)); n != nblocks {
			return nil, errs.Format(name, base, "block table has %d blocks, size needs %d", n, nblocks)
		}
		tab, err := read(base+4, 8*nblocks)
		if err != nil {
			return nil, err
		}
		for i := int64(0); i < nblocks; i++ {
			br.starts = append(br.starts, base+int64(le.Uint32(tab[8*i:])))
			br.lens = append(br.lens, int64(le.Uint32(tab[8*i+4:])))
		}
	} else {
		tab, err := read(0, 4*(nblocks+1))
		if err != nil {
			return nil, err
		}
		for i := int64(0); i < nblocks; i++ {
			a, b := int64(le.Uint32(tab[4*i:])), int64(le.Uint32(tab[4*i+4:]))
			if b < a {
				return nil, errs.Format(name, 4*i, "block %d ends before it starts", i)
			}
			br.starts = append(br.starts, a)
			br.lens = append(br.lens, b-a)
		}
	}
	for i := range br.starts {
		if br.starts[i] < 0 || br.starts[i] > rf.size || br.lens[i] > rf.size-br.starts[i] || br.lens[i] > 2*decmpfsBlock {
			return nil, errs.Format(name, br.starts[i], "block %d [%d,+%d) outside the resource fork", i, br.starts[i], br.lens[i])
		}
	}
	return br, nil
}

func (br *blockReader) block(i int) ([]byte, error) {
	if br.cur == i {
		return br.data, nil
	}
	src := make([]byte, br.lens[i])
	if _, err := br.rf.ReadAt(src, br.starts[i]); err != nil && err != io.EOF {
		return nil, err
	}
	want := int(min(decmpfsBlock, br.size-int64(i)*decmpfsBlock))
	out, err := decodeBlock(br.typ, src, want)
	if err != nil {
		return nil, wrapName(br.name, err)
	}
	if len(out) != want {
		return nil, errs.Format(br.name, br.starts[i], "block %d decodes to %d bytes, want %d", i, len(out), want)
	}
	br.cur, br.data = i, out
	return out, nil
}

func (br *blockReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errs.Format(br.name, off, "negative offset")
	}
	br.mu.Lock()
	defer br.mu.Unlock()
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= br.size {
			return n, io.EOF
		}
		i := int(pos / decmpfsBlock)
		b, err := br.block(i)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], b[pos-int64(i)*decmpfsBlock:])
	}
	return n, nil
}
