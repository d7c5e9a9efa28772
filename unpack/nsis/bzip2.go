package nsis

import (
	"bufio"
	"errors"
	"io"
)

// NSIS's bzip2 (makensis Source/bzip2, read by exehead's decompressor and 7-Zip's
// CNsisDecoder) is bzip2 with the framing removed: no "BZh" stream header, each block opens
// with the single byte 0x31 (instead of the 48-bit block magic) followed directly by the
// 24-bit origPtr (no block CRC, no randomised bit), and the stream ends with the byte 0x17
// (no stream CRC). The block body is standard bzip2 (Julian Seward's format, as described in
// bzip2 1.0's decompress.c): symbol map, 2–6 Huffman tables chosen per 50 symbols by
// MTF-coded selectors, RUNA/RUNB run lengths, move-to-front, the inverse Burrows–Wheeler
// transform and the final run-length expansion (4 equal bytes and a count). This decoder is
// written for that layout; compress/bzip2 needs the framing.

const (
	bzBlockMax    = 900000 // level 9 block size, the largest NSIS writes
	bzMaxSelector = 18002  // bzip2 1.0.8: selectors beyond are read and ignored
	bzMaxCodeLen  = 20
	bzGroupSize   = 50
)

var errBzip2 = errors.New("corrupt NSIS bzip2 data")

type bitReader struct {
	r    *bufio.Reader
	bits uint64
	n    uint
	err  error
}

func (b *bitReader) read(n uint) uint32 {
	for b.n < n {
		c, err := b.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			if b.err == nil {
				b.err = err
			}
			return 0
		}
		b.bits = b.bits<<8 | uint64(c)
		b.n += 8
	}
	b.n -= n
	return uint32(b.bits>>b.n) & (1<<n - 1)
}

func (b *bitReader) bit() bool { return b.read(1) == 1 }

// huffman is one canonical code table decoded bit by bit.
type huffman struct {
	limit [bzMaxCodeLen + 2]int32 // largest code of each length, -1 if none
	base  [bzMaxCodeLen + 2]int32 // index in perm of the first code of each length minus that code
	perm  []uint16
	min   uint
	max   uint
}

func newHuffman(lens []uint8) (*huffman, error) {
	h := &huffman{min: bzMaxCodeLen, perm: make([]uint16, 0, len(lens))}
	for _, l := range lens {
		h.min = min(h.min, uint(l))
		h.max = max(h.max, uint(l))
	}
	code, idx := int32(0), int32(0)
	for l := uint(1); l <= bzMaxCodeLen; l++ {
		h.limit[l] = -1
		first := code
		for s, sl := range lens {
			if uint(sl) == l {
				h.perm = append(h.perm, uint16(s))
				code++
			}
		}
		if code > first {
			h.limit[l] = code - 1
			h.base[l] = idx - first
			idx += code - first
		}
		if code > 1<<l {
			return nil, errBzip2 // over-subscribed
		}
		code <<= 1
	}
	return h, nil
}

func (h *huffman) decode(br *bitReader) (uint16, error) {
	code := int32(br.read(h.min))
	for l := h.min; l <= h.max; l++ {
		if br.err != nil {
			return 0, br.err
		}
		if h.limit[l] >= 0 && code <= h.limit[l] {
			i := h.base[l] + code
			if i < 0 || int(i) >= len(h.perm) {
				return 0, errBzip2
			}
			return h.perm[i], nil
		}
		code = code<<1 | int32(br.read(1))
	}
	return 0, errBzip2
}

// nsisBzip2 is an io.Reader over one NSIS bzip2 stream.
type nsisBzip2 struct {
	br   bitReader
	tt   []uint32 // inverse BWT vector; low byte: the block's byte at that position
	n    int      // block length
	pos  uint32   // next tt index
	left int      // block bytes not yet emitted
	// final run-length expansion state
	last   int // last byte emitted, -1 at a block start
	same   int // how many times in a row
	repeat int // copies of last still to emit
	done   bool
	err    error
}

func newNSISBzip2(r io.Reader) *nsisBzip2 {
	return &nsisBzip2{br: bitReader{r: bufio.NewReaderSize(r, 64<<10)}, tt: make([]uint32, bzBlockMax)}
}

func (z *nsisBzip2) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if z.repeat > 0 {
			p[n] = byte(z.last)
			n++
			z.repeat--
			continue
		}
		if z.left == 0 {
			if z.err != nil || z.done {
				break
			}
			if z.err = z.nextBlock(); z.err != nil {
				break
			}
			continue
		}
		v := z.tt[z.pos]
		z.pos = v >> 8
		z.left--
		c := int(v & 0xff)
		if z.same == 4 {
			z.repeat = c
			z.same = 0
			continue
		}
		if c == z.last {
			z.same++
		} else {
			z.last, z.same = c, 1
		}
		p[n] = byte(c)
		n++
	}
	if n > 0 {
		return n, nil
	}
	if z.err != nil {
		return 0, z.err
	}
	return 0, io.EOF
}

// nextBlock reads one block (or the end marker) and prepares the inverse BWT.
func (z *nsisBzip2) nextBlock() error {
	br := &z.br
	switch sig := br.read(8); {
	case br.err != nil:
		return br.err
	case sig == 0x17:
		z.done = true
		return nil
	case sig != 0x31:
		return errBzip2
	}
	origPtr := br.read(24)
	// Symbol map: 16 ranges of 16 byte values.
	var seqToUnseq [256]byte
	inUse := 0
	ranges := br.read(16)
	for i := 0; i < 16; i++ {
		if ranges&(0x8000>>i) == 0 {
			continue
		}
		bits := br.read(16)
		for j := 0; j < 16; j++ {
			if bits&(0x8000>>j) != 0 {
				seqToUnseq[inUse] = byte(i*16 + j)
				inUse++
			}
		}
	}
	if br.err != nil {
		return br.err
	}
	if inUse == 0 {
		return errBzip2
	}
	alpha := inUse + 2
	groups := int(br.read(3))
	selectors := int(br.read(15))
	if groups < 2 || groups > 6 || selectors == 0 {
		return errBzip2
	}
	mtfGroups := [6]uint8{0, 1, 2, 3, 4, 5}
	sel := make([]uint8, 0, min(selectors, bzMaxSelector))
	for i := 0; i < selectors; i++ {
		j := 0
		for br.bit() {
			j++
			if j >= groups || br.err != nil {
				return errBzip2
			}
		}
		g := mtfGroups[j]
		copy(mtfGroups[1:j+1], mtfGroups[:j])
		mtfGroups[0] = g
		if len(sel) < bzMaxSelector {
			sel = append(sel, g)
		}
	}
	tables := make([]*huffman, groups)
	lens := make([]uint8, alpha)
	for t := range tables {
		l := int(br.read(5))
		for s := 0; s < alpha; s++ {
			for {
				if l < 1 || l > bzMaxCodeLen || br.err != nil {
					return errBzip2
				}
				if !br.bit() {
					break
				}
				if br.bit() {
					l--
				} else {
					l++
				}
			}
			lens[s] = uint8(l)
		}
		h, err := newHuffman(lens)
		if err != nil {
			return err
		}
		tables[t] = h
	}
	// Symbols: RUNA/RUNB runs and move-to-front indexes, EOB = alpha-1.
	var mtf [256]byte
	for i := range mtf {
		mtf[i] = byte(i)
	}
	var counts [256]int
	n, run, runWeight := 0, 0, 1
	flush := func() error {
		if run == 0 {
			return nil
		}
		if n+run > bzBlockMax {
			return errBzip2
		}
		c := seqToUnseq[mtf[0]]
		for k := 0; k < run; k++ {
			z.tt[n+k] = uint32(c)
		}
		n += run
		counts[c] += run
		run, runWeight = 0, 1
		return nil
	}
	for g, left := 0, 0; ; left-- {
		if left == 0 {
			if g >= len(sel) {
				return errBzip2
			}
			left = bzGroupSize
			g++
		}
		s, err := tables[sel[g-1]].decode(br)
		if err != nil {
			return err
		}
		switch {
		case s <= 1: // RUNA, RUNB
			if runWeight > bzBlockMax {
				return errBzip2
			}
			run += runWeight << s
			runWeight <<= 1
			if run > bzBlockMax {
				return errBzip2
			}
			continue
		case int(s) == alpha-1:
			if err := flush(); err != nil {
				return err
			}
			return z.startBlock(n, origPtr, &counts)
		}
		if err := flush(); err != nil {
			return err
		}
		idx := int(s) - 1
		if idx >= inUse || n >= bzBlockMax {
			return errBzip2
		}
		v := mtf[idx]
		copy(mtf[1:idx+1], mtf[:idx])
		mtf[0] = v
		c := seqToUnseq[v]
		z.tt[n] = uint32(c)
		n++
		counts[c]++
	}
}

// startBlock builds the inverse BWT links for a block of n bytes.
func (z *nsisBzip2) startBlock(n int, origPtr uint32, counts *[256]int) error {
	if n == 0 || int(origPtr) >= n {
		return errBzip2
	}
	var next [256]int
	sum := 0
	for c := range next {
		next[c] = sum
		sum += counts[c]
	}
	for i := 0; i < n; i++ {
		c := z.tt[i] & 0xff
		z.tt[next[c]] |= uint32(i) << 8
		next[c]++
	}
	z.pos = z.tt[origPtr] >> 8
	z.n, z.left = n, n
	z.last, z.same = -1, 0
	return nil
}
