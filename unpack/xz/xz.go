// Package xz reads .xz streams with a hard cap on the LZMA2 dictionary it allocates.
//
// It follows "The .xz File Format", version 1.2.1 (tukaani.org/xz/xz-file-format.txt):
// stream header, blocks, index and stream footer, with concatenated streams and stream
// padding. Only the LZMA2 filter (0x21) alone is read; BCJ, delta and any other filter are
// ErrUnsupported. Checks None, CRC32, CRC64 and SHA-256 are verified; other check types are
// ErrUnsupported. The LZMA2 chunks are decoded by github.com/ulikunitz/xz/lzma.
//
// Why not ulikunitz/xz's own container reader: its ReaderConfig.DictCap is raised to whatever
// a stream declares, so a 60-byte stream declaring a 1.5 GiB dictionary allocates 1.5 GiB.
// Here the declared size is compared with the cap before anything is allocated.
package xz

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"

	"github.com/ulikunitz/xz/lzma"

	"github.com/rollgate/rollgate/unpack"
)

// Limits, with units.
const (
	// DefaultMaxDict is the dictionary cap (bytes) used when NewReader is given maxDict <= 0:
	// xz -9 uses 64 MiB.
	DefaultMaxDict = 64 << 20
	// MaxVarintBytes is the longest multibyte integer the specification allows (bytes).
	MaxVarintBytes = 9
	// MaxBlockHeaderBytes is the largest block header the size byte can express (bytes).
	MaxBlockHeaderBytes = 1024
	// MaxIndexBytes bounds one stream's index (bytes); the backward size field allows 16 GiB,
	// but each record describes a block that was decoded, so this is far beyond real files.
	MaxIndexBytes = 64 << 20
)

var errs = unpack.Errs("xz")

// maxEmptyReads bounds consecutive empty reads from the LZMA2 decoder (a stall guard).
const maxEmptyReads = 100

var (
	headerMagic = []byte{0xFD, '7', 'z', 'X', 'Z', 0x00}
	footerMagic = []byte{'Y', 'Z'}
	crc64Table  = crc64.MakeTable(crc64.ECMA)
)

// Check types (stream flags, low nibble of the second byte).
const (
	checkNone   = 0x00
	checkCRC32  = 0x01
	checkCRC64  = 0x04
	checkSHA256 = 0x0A
)

// filterLZMA2 is the only filter ID read.
const filterLZMA2 = 0x21

// NewReader reads the stream header and first block header from r and returns a reader of the decompressed bytes
// of every concatenated stream in r. maxDict caps the LZMA2 dictionary in bytes
// (<= 0: DefaultMaxDict); a block declaring a larger one fails with ErrLimit before any
// allocation. Errors are *unpack.FormatError wrapping ErrFormat, ErrLimit or ErrUnsupported.
// r is read up to its end (trailing bytes after the last stream must be stream padding);
// it may be read ahead, so r should not be read by the caller afterwards.
func NewReader(r io.Reader, maxDict int64) (io.Reader, error) {
	if maxDict <= 0 {
		maxDict = DefaultMaxDict
	}
	z := &reader{maxDict: maxDict}
	br, ok := r.(byteReader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	z.in = &countingReader{r: br}
	if err := z.streamHeader(true); err != nil {
		return nil, err
	}
	// The first block header too, so that a dictionary above the cap is reported here.
	if err := z.nextBlock(); err != nil {
		if err != io.EOF {
			return nil, err
		}
		z.err = io.EOF
	}
	return z, nil
}

type byteReader interface {
	io.Reader
	io.ByteScanner
}

// countingReader counts the bytes read, for offsets and for block sizes.
type countingReader struct {
	r byteReader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// plainReader hides ReadByte, so that lzma's byte reader goes through the limit.
type plainReader struct{ r io.Reader }

func (p plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }

type reader struct {
	in      *countingReader
	maxDict int64
	err     error

	check     byte
	checkSize int
	hash      hash.Hash

	// current block, nil between blocks
	lz         *lzma.Reader2
	blockStart int64 // offset of the block header
	headerSize int64
	compStart  int64 // offset of the compressed data
	compSize   int64 // declared compressed size, -1 if absent
	uncompSize int64 // declared uncompressed size, -1 if absent
	out        int64 // bytes produced by this block

	// this stream's blocks, summarised as the index is: count, sums and a CRC32 of the records
	blocks     uint64
	sumUnpad   uint64
	sumUncomp  uint64
	recordHash hash.Hash32
	streamOff  int64
	flags      [2]byte
	indexSize  int64
}

func (z *reader) Read(p []byte) (int, error) {
	for empty := 0; z.err == nil; {
		if z.lz == nil {
			z.err = z.nextBlock()
			continue
		}
		if len(p) == 0 {
			return 0, nil
		}
		n, err := z.lz.Read(p)
		if n > 0 {
			z.out += int64(n)
			if z.uncompSize >= 0 && z.out > z.uncompSize {
				z.err = errs.Format("", z.blockStart, "block yields more than its declared %d bytes", z.uncompSize)
				return 0, z.err
			}
			if z.hash != nil {
				z.hash.Write(p[:n])
			}
		}
		switch {
		case err == io.EOF:
			z.err = z.endBlock()
		case err != nil:
			z.err = z.wrapIn(err, "lzma2 data")
		}
		if n > 0 {
			return n, nil
		}
		if empty++; empty > maxEmptyReads {
			z.err = errs.Format("", z.in.n, "lzma2 data: %v", io.ErrNoProgress)
		}
	}
	return 0, z.err
}

// wrapIn turns an error reading the input into a positioned ErrFormat.
func (z *reader) wrapIn(err error, what string) error {
	var fe *unpack.FormatError
	if errors.As(err, &fe) {
		return err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return errs.Format("", z.in.n, "%s: %v", what, err)
}

func (z *reader) readFull(b []byte, what string) error {
	if _, err := io.ReadFull(z.in, b); err != nil {
		return z.wrapIn(err, what)
	}
	return nil
}

// streamHeader reads the 12-byte stream header. After the first stream, a clean end of
// input (EOF before any byte) ends the reader and returns io.EOF.
func (z *reader) streamHeader(first bool) error {
	z.streamOff = z.in.n
	var h [12]byte
	n, err := io.ReadFull(z.in, h[:])
	if !first && n == 0 && err == io.EOF {
		return io.EOF
	}
	if err != nil {
		return z.wrapIn(err, "stream header")
	}
	if !bytes.Equal(h[:6], headerMagic) {
		return errs.Format("", z.streamOff, "no xz stream header magic")
	}
	if binary.LittleEndian.Uint32(h[8:]) != crc32.ChecksumIEEE(h[6:8]) {
		return errs.Format("", z.streamOff+8, "stream header CRC32 mismatch")
	}
	if h[6] != 0 || h[7]&0xF0 != 0 {
		return errs.Unsupported("", z.streamOff+6, "stream flags %#02x%02x", h[6], h[7])
	}
	z.flags = [2]byte{h[6], h[7]}
	z.check = h[7]
	switch z.check {
	case checkNone:
		z.checkSize, z.hash = 0, nil
	case checkCRC32:
		z.checkSize, z.hash = 4, crc32.NewIEEE()
	case checkCRC64:
		z.checkSize, z.hash = 8, crc64.New(crc64Table)
	case checkSHA256:
		z.checkSize, z.hash = 32, sha256.New()
	default:
		return errs.Unsupported("", z.streamOff+7, "check type %#x", z.check)
	}
	z.blocks, z.sumUnpad, z.sumUncomp = 0, 0, 0
	z.recordHash = crc32.NewIEEE()
	return nil
}

// nextBlock reads a block header and starts its decoder; at the index it reads the index,
// footer, stream padding and next stream header. It returns io.EOF at the end of input.
func (z *reader) nextBlock() error {
	z.blockStart = z.in.n
	size, err := z.in.ReadByte()
	if err != nil {
		return z.wrapIn(err, "block header")
	}
	if size == 0 {
		if err := z.index(); err != nil {
			return err
		}
		if err := z.footer(); err != nil {
			return err
		}
		return z.padding()
	}
	hsize := (int(size) + 1) * 4
	h := make([]byte, hsize)
	h[0] = size
	if err := z.readFull(h[1:], "block header"); err != nil {
		return err
	}
	if binary.LittleEndian.Uint32(h[hsize-4:]) != crc32.ChecksumIEEE(h[:hsize-4]) {
		return errs.Format("", z.blockStart, "block header CRC32 mismatch")
	}
	flags := h[1]
	if flags&0x3C != 0 {
		return errs.Unsupported("", z.blockStart+1, "block flags %#02x", flags)
	}
	body := bytes.NewReader(h[2 : hsize-4])
	varint := func(what string) (uint64, error) {
		v, err := readVarint(body)
		if err != nil {
			return 0, errs.Format("", z.blockStart+int64(hsize-4-body.Len()), "block header %s: %v", what, err)
		}
		return v, nil
	}
	z.compSize, z.uncompSize = -1, -1
	if flags&0x40 != 0 {
		v, err := varint("compressed size")
		if err != nil {
			return err
		}
		if v == 0 || v > 1<<62 {
			return errs.Format("", z.blockStart, "compressed size %d", v)
		}
		z.compSize = int64(v)
	}
	if flags&0x80 != 0 {
		v, err := varint("uncompressed size")
		if err != nil {
			return err
		}
		if v > 1<<62 {
			return errs.Format("", z.blockStart, "uncompressed size %d", v)
		}
		z.uncompSize = int64(v)
	}
	if nf := int(flags&3) + 1; nf != 1 {
		return errs.Unsupported("", z.blockStart+1, "filter chain of %d filters (only LZMA2 alone is read)", nf)
	}
	id, err := varint("filter ID")
	if err != nil {
		return err
	}
	psize, err := varint("filter properties size")
	if err != nil {
		return err
	}
	if id != filterLZMA2 {
		return errs.Unsupported("", z.blockStart, "filter %#x (only LZMA2 is read)", id)
	}
	if psize != 1 || body.Len() < 1 {
		return errs.Format("", z.blockStart, "LZMA2 properties of %d bytes", psize)
	}
	props, _ := body.ReadByte()
	for body.Len() > 0 {
		if b, _ := body.ReadByte(); b != 0 {
			return errs.Format("", z.blockStart, "block header padding not zero")
		}
	}
	dict, err := dictSize(props)
	if err != nil {
		return errs.Format("", z.blockStart, "%v", err)
	}
	if dict > z.maxDict {
		return errs.Limit("", z.blockStart, "LZMA2 dictionary of %d bytes above the cap of %d", dict, z.maxDict)
	}
	// A dictionary larger than the block's declared output is never referenced.
	if z.uncompSize >= 0 && z.uncompSize < dict {
		dict = z.uncompSize
	}
	dict = max(dict, lzma.MinDictCap)
	z.headerSize = int64(hsize)
	z.compStart = z.in.n
	var src io.Reader = plainReader{z.in}
	if z.compSize >= 0 {
		src = io.LimitReader(z.in, z.compSize)
	}
	lz, err := lzma.Reader2Config{DictCap: int(dict)}.NewReader2(src)
	if err != nil {
		return errs.Format("", z.compStart, "lzma2: %v", err)
	}
	z.lz, z.out = lz, 0
	if z.hash != nil {
		z.hash.Reset()
	}
	return nil
}

// dictSize decodes the LZMA2 dictionary size property byte.
func dictSize(p byte) (int64, error) {
	if p > 40 {
		return 0, errors.New("LZMA2 dictionary size property above 40")
	}
	if p == 40 {
		return 0xFFFFFFFF, nil
	}
	return int64(2|p&1) << (p/2 + 11), nil
}

// endBlock checks the block's sizes, skips its padding and verifies its check.
func (z *reader) endBlock() error {
	z.lz = nil
	comp := z.in.n - z.compStart
	if z.compSize >= 0 && comp != z.compSize {
		return errs.Format("", z.blockStart, "block data of %d bytes, header says %d", comp, z.compSize)
	}
	if z.uncompSize >= 0 && z.out != z.uncompSize {
		return errs.Format("", z.blockStart, "block yields %d bytes, header says %d", z.out, z.uncompSize)
	}
	var pad [3]byte
	np := int((4 - (z.headerSize+comp)%4) % 4)
	if err := z.readFull(pad[:np], "block padding"); err != nil {
		return err
	}
	if pad != [3]byte{} {
		return errs.Format("", z.in.n-int64(np), "block padding not zero")
	}
	if z.checkSize > 0 {
		got := make([]byte, z.checkSize)
		at := z.in.n
		if err := z.readFull(got, "block check"); err != nil {
			return err
		}
		want := z.hash.Sum(nil)
		if z.check == checkCRC32 || z.check == checkCRC64 {
			// CRC32 and CRC64 are stored little-endian; hash.Sum is big-endian.
			for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
				want[i], want[j] = want[j], want[i]
			}
		}
		if !bytes.Equal(got, want) {
			return errs.Format("", at, "block check mismatch")
		}
	}
	unpadded := uint64(z.headerSize + comp + int64(z.checkSize))
	z.blocks++
	z.sumUnpad += unpadded
	z.sumUncomp += uint64(z.out)
	z.recordHash.Write(binary.AppendUvarint(binary.AppendUvarint(nil, unpadded), uint64(z.out)))
	return nil
}

// index reads the index (its indicator byte already read) and compares it with the blocks.
func (z *reader) index() error {
	start := z.in.n - 1
	crc := crc32.NewIEEE()
	crc.Write([]byte{0})
	// Byte by byte through the hash, so nothing past the index is consumed.
	one := &teeByteReader{r: z.in, h: crc, n: 1, max: MaxIndexBytes}
	count, err := readVarint(one)
	if err != nil {
		return z.indexErr(err, "record count")
	}
	if count != z.blocks {
		return errs.Format("", start, "index lists %d records for %d blocks", count, z.blocks)
	}
	var sumUnpad, sumUncomp uint64
	rh := crc32.NewIEEE()
	for i := uint64(0); i < count; i++ {
		u, err := readVarint(one)
		if err != nil {
			return z.indexErr(err, "unpadded size")
		}
		c, err := readVarint(one)
		if err != nil {
			return z.indexErr(err, "uncompressed size")
		}
		sumUnpad += u
		sumUncomp += c
		rh.Write(binary.AppendUvarint(binary.AppendUvarint(nil, u), c))
	}
	if sumUnpad != z.sumUnpad || sumUncomp != z.sumUncomp || rh.Sum32() != z.recordHash.Sum32() {
		return errs.Format("", start, "index records do not match the blocks")
	}
	for one.n%4 != 0 {
		b, err := one.ReadByte()
		if err != nil {
			return z.indexErr(err, "padding")
		}
		if b != 0 {
			return errs.Format("", z.in.n-1, "index padding not zero")
		}
	}
	var sum [4]byte
	if err := z.readFull(sum[:], "index CRC32"); err != nil {
		return err
	}
	if binary.LittleEndian.Uint32(sum[:]) != crc.Sum32() {
		return errs.Format("", z.in.n-4, "index CRC32 mismatch")
	}
	z.indexSize = one.n + 4
	return nil
}

func (z *reader) indexErr(err error, what string) error {
	if errors.Is(err, errIndexLimit) {
		return errs.Limit("", z.in.n, "index longer than %d bytes", MaxIndexBytes)
	}
	return z.wrapIn(err, "index "+what)
}

var errIndexLimit = errors.New("index too long")

// teeByteReader reads bytes one at a time, hashing and counting them, up to max.
type teeByteReader struct {
	r   io.ByteReader
	h   hash.Hash32
	n   int64
	max int64
}

func (t *teeByteReader) ReadByte() (byte, error) {
	if t.n >= t.max {
		return 0, errIndexLimit
	}
	b, err := t.r.ReadByte()
	if err != nil {
		return 0, err
	}
	t.n++
	t.h.Write([]byte{b})
	return b, nil
}

// footer reads the stream footer and checks it against the header and the index.
func (z *reader) footer() error {
	at := z.in.n
	var f [12]byte
	if err := z.readFull(f[:], "stream footer"); err != nil {
		return err
	}
	if !bytes.Equal(f[10:], footerMagic) {
		return errs.Format("", at+10, "no stream footer magic")
	}
	if binary.LittleEndian.Uint32(f[:4]) != crc32.ChecksumIEEE(f[4:10]) {
		return errs.Format("", at, "stream footer CRC32 mismatch")
	}
	if f[8] != z.flags[0] || f[9] != z.flags[1] {
		return errs.Format("", at+8, "stream footer flags differ from the header")
	}
	if backward := (int64(binary.LittleEndian.Uint32(f[4:8])) + 1) * 4; backward != z.indexSize {
		return errs.Format("", at+4, "backward size %d, index is %d bytes", backward, z.indexSize)
	}
	return nil
}

// padding skips stream padding (zero bytes, a multiple of four) and reads the next stream
// header, or returns io.EOF at the end of input.
func (z *reader) padding() error {
	start := z.in.n
	for {
		b, err := z.in.r.ReadByte()
		if err == io.EOF {
			if (z.in.n-start)%4 != 0 {
				return errs.Format("", start, "stream padding of %d bytes is not a multiple of four", z.in.n-start)
			}
			return io.EOF
		}
		if err != nil {
			return z.wrapIn(err, "stream padding")
		}
		if b != 0 {
			if err := z.in.r.UnreadByte(); err != nil {
				return z.wrapIn(err, "stream padding")
			}
			break
		}
		z.in.n++
	}
	if (z.in.n-start)%4 != 0 {
		return errs.Format("", start, "stream padding of %d bytes is not a multiple of four", z.in.n-start)
	}
	return z.streamHeader(false)
}

// readVarint reads a multibyte integer: seven bits a byte, least significant first, at most
// MaxVarintBytes bytes, no trailing zero byte.
func readVarint(r io.ByteReader) (uint64, error) {
	var v uint64
	for i := 0; i < MaxVarintBytes; i++ {
		b, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		v |= uint64(b&0x7F) << (7 * i)
		if b&0x80 == 0 {
			if b == 0 && i > 0 {
				return 0, errors.New("integer not minimally encoded")
			}
			return v, nil
		}
	}
	return 0, errors.New("integer longer than 9 bytes")
}
