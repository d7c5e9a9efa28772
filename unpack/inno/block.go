package inno

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"unicode/utf16"

	"golang.org/x/text/encoding/charmap"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/nsis"
)

// A header block (innoextract src/stream/block.cpp, versions 4.0.9 and later): CRC32 of the
// next five bytes, the stored size (u32), a compressed flag (u8); then the stored bytes as
// 4096-byte chunks each preceded by its CRC32, the last one shorter. Compressed blocks hold
// an LZMA1 stream (5-byte properties, raw data).

const blockChunk = 4096

// openBlock opens the header block at off: a reader of its content and the offset after it.
func (r *Reader) openBlock(off int64, what string) (io.Reader, int64, error) {
	n := 9 // CRC32, 32-bit stored size, compressed flag
	if layouts65[r.Version.V].blockSize64 {
		n = 13 // the stored size is 64-bit (6.7)
	}
	h := make([]byte, n)
	if off+int64(n) > r.size {
		return nil, 0, errs.Format(what, off, "header block beyond the end of the file")
	}
	if _, err := r.r.ReadAt(h, off); err != nil {
		return nil, 0, errs.Format(what, off, "reading the block header: %v", err)
	}
	if crc32.ChecksumIEEE(h[4:]) != binary.LittleEndian.Uint32(h) {
		return nil, 0, errs.Format(what, off, "block header CRC32 mismatch")
	}
	var stored int64
	if n == 13 {
		u := binary.LittleEndian.Uint64(h[4:])
		if u > uint64(r.size) {
			return nil, 0, errs.Format(what, off+4, "block of %d bytes beyond the end of the file", u)
		}
		stored = int64(u)
	} else {
		stored = int64(binary.LittleEndian.Uint32(h[4:]))
	}
	compressed := h[n-1] != 0
	start := off + int64(n)
	if stored > r.size-start {
		return nil, 0, errs.Format(what, off+4, "block of %d bytes beyond the end of the file", stored)
	}
	cr := &crcChunks{src: io.NewSectionReader(r.r, start, stored), left: stored, pos: start, what: what}
	var rd io.Reader = cr
	if compressed {
		var props [5]byte
		if _, err := io.ReadFull(cr, props[:]); err != nil {
			return nil, 0, wrapDecode(what, start, fmt.Errorf("LZMA properties: %w", err))
		}
		d, err := newLZMA1(cr, props, expansion(stored, MaxHeaderBytes))
		if err != nil {
			return nil, 0, wrapDecode(what, start, err)
		}
		rd = d
	}
	return &limited{r: rd, left: expansion(stored, MaxHeaderBytes), what: what}, start + stored, nil
}

// expansion is the most a stream of n compressed bytes may decompress to: MaxRatio bytes
// per byte plus 1 MiB, and never more than limit.
func expansion(n, limit int64) int64 {
	return min(limit, 1<<20+min(n, 1<<40)*MaxRatio)
}

// newLZMA1 returns an LZMA1 decoder whose window is the declared dictionary, or less when
// the stream cannot yield more than most bytes (no match can reach further back).
func newLZMA1(src io.Reader, props [5]byte, most int64) (io.Reader, error) {
	dict := int64(binary.LittleEndian.Uint32(props[1:]))
	if dict > MaxDictBytes {
		return nil, fmt.Errorf("LZMA dictionary of %d bytes (limit %d): %w", dict, int64(MaxDictBytes), unpack.ErrLimit)
	}
	binary.LittleEndian.PutUint32(props[1:], uint32(max(min(dict, most), 4096)))
	return nsis.NewLZMAReader(src, props)
}

// crcChunks strips and checks the per-4 KiB CRC32s of a header block.
type crcChunks struct {
	src  io.Reader
	left int64 // stored bytes not yet read
	pos  int64 // file offset of the next stored byte
	buf  [blockChunk]byte
	cur  []byte
	what string
}

func (c *crcChunks) Read(p []byte) (int, error) {
	if len(c.cur) == 0 {
		if c.left == 0 {
			return 0, io.EOF
		}
		if c.left < 5 {
			return 0, errs.Format(c.what, c.pos, "%d trailing bytes in a header block", c.left)
		}
		var crc [4]byte
		if _, err := io.ReadFull(c.src, crc[:]); err != nil {
			return 0, errs.Format(c.what, c.pos, "reading a chunk CRC32: %v", err)
		}
		n := min(c.left-4, blockChunk)
		if _, err := io.ReadFull(c.src, c.buf[:n]); err != nil {
			return 0, errs.Format(c.what, c.pos, "reading a chunk: %v", err)
		}
		if crc32.ChecksumIEEE(c.buf[:n]) != binary.LittleEndian.Uint32(crc[:]) {
			return 0, errs.Format(c.what, c.pos, "header chunk CRC32 mismatch")
		}
		c.cur = c.buf[:n]
		c.left -= 4 + n
		c.pos += 4 + n
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

// limited fails a decode that goes past left bytes.
type limited struct {
	r    io.Reader
	left int64
	what string
}

func (l *limited) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if l.left <= 0 {
		return 0, errs.Limit(l.what, -1, "header block decompresses past its limit (MaxHeaderBytes %d, MaxRatio %d per stored byte)",
			int64(MaxHeaderBytes), MaxRatio)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// stream reads the fields of a decompressed header block. The first error sticks; every
// later read returns zero values, so entry parsers read straight through and check once.
type stream struct {
	r       io.Reader
	off     int64 // bytes consumed: the offset in the decompressed block
	err     error
	what    string // the block or entry being read, for errors
	unicode bool
	buf     [32]byte
}

func (s *stream) fail(err error) {
	if s.err != nil {
		return
	}
	var fe *unpack.FormatError
	if errors.As(err, &fe) {
		s.err = err
		return
	}
	s.err = wrapDecode(s.what, s.off, fmt.Errorf("at byte 0x%x of the decompressed block: %w", s.off, err))
}

// read returns the next n (at most 32) bytes, valid until the next read.
func (s *stream) read(n int) []byte {
	b := s.buf[:n:n]
	if s.err != nil {
		clear(b)
		return b
	}
	if _, err := io.ReadFull(s.r, b); err != nil {
		s.fail(err)
		clear(b)
		return b
	}
	s.off += int64(n)
	return b
}

func (s *stream) u8() uint8   { return s.read(1)[0] }
func (s *stream) u32() uint32 { return binary.LittleEndian.Uint32(s.read(4)) }
func (s *stream) u64() uint64 { return binary.LittleEndian.Uint64(s.read(8)) }

// skip discards n bytes.
func (s *stream) skip(n int64) {
	if s.err != nil {
		return
	}
	m, err := io.CopyN(io.Discard, s.r, n)
	s.off += m
	if err != nil {
		s.fail(err)
	}
}

// count reads an entry count, bounded by MaxEntries.
func (s *stream) count(what string) int {
	n := s.u32()
	if s.err == nil && n > MaxEntries {
		s.err = errs.Limit(s.what, s.off-4, "%d %s (limit %d)", n, what, MaxEntries)
		return 0
	}
	return int(n)
}

// bin reads a length-prefixed byte string; only as many bytes as the input holds are
// allocated.
func (s *stream) bin() []byte {
	n := s.u32()
	if s.err != nil || n == 0 {
		return nil
	}
	if n > MaxStringBytes {
		s.err = errs.Limit(s.what, s.off-4, "string of %d bytes (limit %d)", n, MaxStringBytes)
		return nil
	}
	out := make([]byte, 0, min(n, 64<<10))
	for len(out) < int(n) && s.err == nil {
		k := min(int(n)-len(out), 64<<10)
		b := make([]byte, k)
		if _, err := io.ReadFull(s.r, b); err != nil {
			s.fail(err)
			return nil
		}
		s.off += int64(k)
		out = append(out, b...)
	}
	return out
}

// skipBin discards a length-prefixed byte string.
func (s *stream) skipBin() {
	n := s.u32()
	if n > MaxStringBytes && s.err == nil {
		s.err = errs.Limit(s.what, s.off-4, "string of %d bytes (limit %d)", n, MaxStringBytes)
		return
	}
	s.skip(int64(n))
}

// str reads an encoded string: UTF-16LE in Unicode installers, Windows-1252 otherwise.
func (s *stream) str() string { return s.decode(s.bin()) }

func (s *stream) decode(b []byte) string {
	if !s.unicode {
		return decodeANSI(b)
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func decodeANSI(b []byte) string {
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return string(b)
	}
	return string(out)
}

// flags reads a Delphi set stored as bytes: n bits in ceil(n/8) bytes, 3 bytes padded to 4
// (innoextract src/util/storedenum.hpp).
func (s *stream) flags(n int) uint64 {
	nb := (n + 7) / 8
	if nb == 3 {
		nb = 4
	}
	var v uint64
	for i := 0; i < nb; i++ {
		b := uint64(s.u8())
		if i < 8 {
			v |= b << (8 * i)
		}
	}
	return v
}

// flagSet numbers the flags a version stores, in order, so a parser names the ones it
// needs and reads the right number of bytes.
type flagSet struct {
	n   int
	idx map[string]int
}

func (f *flagSet) add(name string, present bool) {
	if !present {
		return
	}
	if f.idx == nil {
		f.idx = map[string]int{}
	}
	f.idx[name] = f.n
	f.n++
}

// has reports whether the flag name is set in v.
func (f *flagSet) has(v uint64, name string) bool {
	i, ok := f.idx[name]
	return ok && v&(1<<i) != 0
}

// atEnd checks that a block has been read to its end.
func (s *stream) atEnd() {
	if s.err != nil {
		return
	}
	var b [1]byte
	n, err := io.ReadFull(s.r, b[:])
	if n != 0 {
		s.err = errs.Format(s.what, s.off, "unknown data after the last entry")
		return
	}
	if err != io.EOF && err != io.ErrUnexpectedEOF {
		s.fail(err)
	}
}
