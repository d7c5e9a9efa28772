// Package lzfse decodes Apple's LZFSE and LZVN compression (UDIF chunk type 0x80000007,
// decmpfs types 7/8 and 11/12), written from Apple's reference implementation's description
// (github.com/lzfse/lzfse, lzfse_decode_base.c, lzfse_fse.h, lzvn_decode_base.c).
//
// An LZFSE stream is a run of blocks, each starting with a 4-byte magic:
//
//	"bvx-"  uncompressed: u32 size, then the bytes
//	"bvxn"  LZVN: u32 decoded size, u32 payload size, then an LZVN stream
//	"bvx1"  LZFSE with a plain header (frequency tables as u16)
//	"bvx2"  LZFSE with packed header fields and variable-length frequency tables
//	"bvx$"  end of stream
//
// LZFSE blocks carry four interleaved FSE (tANS) literal streams and one L/M/D stream, both
// read backwards from their end. Every table, state, count and distance from the input is
// checked before use; output is bounded by the caller's limit.
package lzfse

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/rollgate/rollgate/unpack"
)

// Limits from the format (the reference encoder's block sizes).
const (
	literalsPerBlock = 4 * 10000
	matchesPerBlock  = 10000
	lStates          = 64
	mStates          = 64
	dStates          = 256
	literalStates    = 1024
	lSymbols         = 20
	mSymbols         = 20
	dSymbols         = 64
	literalSymbols   = 256
	v1HeaderSize     = 772
	v2FixedSize      = 32
)

const (
	magicEOS   = 0x24787662 // bvx$
	magicRaw   = 0x2d787662 // bvx-
	magicV1    = 0x31787662 // bvx1
	magicV2    = 0x32787662 // bvx2
	magicLZVN  = 0x6e787662 // bvxn
	maxBlocks  = 1 << 20
	freqTables = lSymbols + mSymbols + dSymbols + literalSymbols
)

var (
	lExtra = [lSymbols]uint8{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 5, 8}
	lBase  = [lSymbols]int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 28, 60}
	mExtra = [mSymbols]uint8{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 5, 8, 11}
	mBase  = [mSymbols]int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 24, 56, 312}
	dExtra = [dSymbols]uint8{
		0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
		4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7,
		8, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 10, 11, 11, 11, 11,
		12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 15}
	dBase = [dSymbols]int32{
		0, 1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 28, 36, 44, 52, 60, 76, 92, 108,
		124, 156, 188, 220, 252, 316, 380, 444, 508, 636, 764, 892, 1020, 1276, 1532, 1788,
		2044, 2556, 3068, 3580, 4092, 5116, 6140, 7164, 8188, 10236, 12284, 14332, 16380, 20476,
		24572, 28668, 32764, 40956, 49148, 57340, 65532, 81916, 98300, 114684,
		131068, 163836, 196604, 229372}
)

func errFormat(format string, off int64, msg string, args ...any) error {
	return &unpack.FormatError{Format: format, Offset: off, Msg: fmt.Sprintf(msg, args...)}
}

// Decode decodes a whole LZFSE stream, producing at most limit bytes; more is an error
// wrapping unpack.ErrLimit.
func Decode(src []byte, limit int) ([]byte, error) {
	out := make([]byte, 0, min(limit, 8*len(src)+64))
	p := 0
	for blocks := 0; ; blocks++ {
		if blocks > maxBlocks {
			return out, errFormat("lzfse", int64(p), "more than %d blocks", maxBlocks)
		}
		if p+4 > len(src) {
			return out, errFormat("lzfse", int64(p), "stream ends without an end-of-stream block")
		}
		magic := binary.LittleEndian.Uint32(src[p:])
		switch magic {
		case magicEOS:
			return out, nil
		case magicRaw:
			if p+8 > len(src) {
				return out, errFormat("lzfse", int64(p), "truncated raw block header")
			}
			n := int(binary.LittleEndian.Uint32(src[p+4:]))
			p += 8
			if n > len(src)-p {
				return out, errFormat("lzfse", int64(p), "raw block of %d bytes, %d left", n, len(src)-p)
			}
			if len(out)+n > limit {
				return out, errLimit(p, limit)
			}
			out = append(out, src[p:p+n]...)
			p += n
		case magicLZVN:
			if p+12 > len(src) {
				return out, errFormat("lzfse", int64(p), "truncated lzvn block header")
			}
			raw := int(binary.LittleEndian.Uint32(src[p+4:]))
			pay := int(binary.LittleEndian.Uint32(src[p+8:]))
			p += 12
			if pay > len(src)-p {
				return out, errFormat("lzfse", int64(p), "lzvn payload of %d bytes, %d left", pay, len(src)-p)
			}
			if raw > limit-len(out) {
				return out, errLimit(p, limit)
			}
			want := len(out) + raw
			d := 0
			var used int
			var eos bool
			var err error
			out, used, eos, err = lzvnBlock(out, src[p:p+pay], want, &d)
			if err != nil {
				return out, err
			}
			if len(out) != want || (!eos && used != pay) {
				return out, errFormat("lzfse", int64(p), "lzvn block decodes to %d of %d bytes", len(out)-(want-raw), raw)
			}
			p += pay
		case magicV1, magicV2:
			var err error
			out, p, err = decodeFSEBlock(out, src, p, magic, limit)
			if err != nil {
				return out, err
			}
		default:
			return out, errFormat("lzfse", int64(p), "unknown block magic 0x%08x", magic)
		}
	}
}

func errLimit(p, limit int) error {
	return &unpack.FormatError{Format: "lzfse", Offset: int64(p), Msg: fmt.Sprintf("output exceeds %d bytes", limit), Err: unpack.ErrLimit}
}

type header struct {
	nRaw, nLiterals, nMatches, nLitPayload, nLMDPayload uint32
	literalBits, lmdBits                                int
	literalState                                        [4]uint16
	lState, mState, dState                              uint16
	freq                                                [freqTables]uint16 // l, m, d, literal
}

func decodeFSEBlock(out, src []byte, p int, magic uint32, limit int) ([]byte, int, error) {
	var h header
	le := binary.LittleEndian
	start := p
	var hsize int
	if magic == magicV2 {
		if p+v2FixedSize > len(src) {
			return out, p, errFormat("lzfse", int64(p), "truncated v2 header")
		}
		h.nRaw = le.Uint32(src[p+4:])
		v0 := le.Uint64(src[p+8:])
		v1 := le.Uint64(src[p+16:])
		v2 := le.Uint64(src[p+24:])
		h.nLiterals = uint32(v0 & 0xfffff)
		h.nLitPayload = uint32(v0 >> 20 & 0xfffff)
		h.nMatches = uint32(v0 >> 40 & 0xfffff)
		h.literalBits = int(v0>>60&7) - 7
		for i := range 4 {
			h.literalState[i] = uint16(v1 >> (10 * i) & 0x3ff)
		}
		h.nLMDPayload = uint32(v1 >> 40 & 0xfffff)
		h.lmdBits = int(v1>>60&7) - 7
		hsize = int(uint32(v2))
		h.lState = uint16(v2 >> 32 & 0x3ff)
		h.mState = uint16(v2 >> 42 & 0x3ff)
		h.dState = uint16(v2 >> 52 & 0x3ff)
		if hsize < v2FixedSize || hsize > len(src)-p {
			return out, p, errFormat("lzfse", int64(p), "v2 header size %d", hsize)
		}
		if err := decodeFreqs(&h, src[p+v2FixedSize:p+hsize]); err != nil {
			return out, p, errFormat("lzfse", int64(p), "%v", err)
		}
	} else {
		if p+v1HeaderSize > len(src) {
			return out, p, errFormat("lzfse", int64(p), "truncated v1 header")
		}
		b := src[p:]
		h.nRaw = le.Uint32(b[4:])
		h.nLiterals = le.Uint32(b[12:])
		h.nMatches = le.Uint32(b[16:])
		h.nLitPayload = le.Uint32(b[20:])
		h.nLMDPayload = le.Uint32(b[24:])
		h.literalBits = int(int32(le.Uint32(b[28:])))
		for i := range 4 {
			h.literalState[i] = le.Uint16(b[32+2*i:])
		}
		h.lmdBits = int(int32(le.Uint32(b[40:])))
		h.lState = le.Uint16(b[44:])
		h.mState = le.Uint16(b[46:])
		h.dState = le.Uint16(b[48:])
		for i := range freqTables {
			h.freq[i] = le.Uint16(b[50+2*i:])
		}
		hsize = v1HeaderSize
	}
	p += hsize
	switch {
	case h.nLiterals > literalsPerBlock, h.nMatches > matchesPerBlock,
		h.literalState[0] >= literalStates, h.literalState[1] >= literalStates,
		h.literalState[2] >= literalStates, h.literalState[3] >= literalStates,
		h.lState >= lStates, h.mState >= mStates, h.dState >= dStates,
		h.literalBits < -7 || h.literalBits > 0, h.lmdBits < -7 || h.lmdBits > 0:
		return out, p, errFormat("lzfse", int64(start), "block header out of range")
	}
	if uint64(h.nLitPayload)+uint64(h.nLMDPayload) > uint64(len(src)-p) {
		return out, p, errFormat("lzfse", int64(start), "block payload past the end of the input")
	}
	if int(h.nRaw) > limit-len(out) {
		return out, p, errLimit(p, limit)
	}
	lF := h.freq[:lSymbols]
	mF := h.freq[lSymbols : lSymbols+mSymbols]
	dF := h.freq[lSymbols+mSymbols : lSymbols+mSymbols+dSymbols]
	litF := h.freq[lSymbols+mSymbols+dSymbols:]
	if !checkFreq(lF, lStates) || !checkFreq(mF, mStates) || !checkFreq(dF, dStates) || !checkFreq(litF, literalStates) {
		return out, p, errFormat("lzfse", int64(start), "frequency table sums past its state count")
	}
	var litDec [literalStates]litEntry
	var lDec [lStates]valEntry
	var mDec [mStates]valEntry
	var dDec [dStates]valEntry
	initLitTable(litDec[:], litF)
	initValTable(lDec[:], lF, lExtra[:], lBase[:])
	initValTable(mDec[:], mF, mExtra[:], mBase[:])
	initValTable(dDec[:], dF, dExtra[:], dBase[:])

	// Literals: four interleaved streams read backwards from the end of their payload.
	litEnd := p + int(h.nLitPayload)
	var in bitIn
	if err := in.init(src[p:litEnd], h.literalBits); err != nil {
		return out, p, err
	}
	lits := make([]byte, (h.nLiterals+3)&^3)
	st := h.literalState
	for i := 0; i < len(lits); i += 4 {
		if err := in.flush(); err != nil {
			return out, p, err
		}
		for k := range 4 {
			e := litDec[st[k]]
			st[k] = (e.delta + uint16(in.pull(e.k))) & (literalStates - 1)
			lits[i+k] = e.sym
		}
	}
	lits = lits[:h.nLiterals]
	p = litEnd

	// L, M, D triplets.
	lmdEnd := p + int(h.nLMDPayload)
	if err := in.init(src[p:lmdEnd], h.lmdBits); err != nil {
		return out, p, err
	}
	want := len(out) + int(h.nRaw)
	ls, ms, ds := h.lState, h.mState, h.dState
	D := -1
	li := 0
	for n := uint32(0); n < h.nMatches; n++ {
		if err := in.flush(); err != nil {
			return out, p, err
		}
		L := int(valDecode(&ls, lDec[:], &in, lStates))
		M := int(valDecode(&ms, mDec[:], &in, mStates))
		if d := int(valDecode(&ds, dDec[:], &in, dStates)); d != 0 {
			D = d
		}
		if L > len(lits)-li {
			return out, p, errFormat("lzfse", int64(p), "literal run past the block's literals")
		}
		if len(out)+L+M > want {
			return out, p, errFormat("lzfse", int64(p), "block overruns its %d decoded bytes", h.nRaw)
		}
		out = append(out, lits[li:li+L]...)
		li += L
		if M > 0 {
			if D <= 0 || D > len(out) {
				return out, p, errFormat("lzfse", int64(p), "match distance %d with %d bytes of output", D, len(out))
			}
			out = copyMatch(out, D, M)
		}
	}
	if len(out) != want {
		return out, p, errFormat("lzfse", int64(start), "block decodes to %d bytes, header says %d", len(out)-(want-int(h.nRaw)), h.nRaw)
	}
	return out, lmdEnd, nil
}

// decodeFreqs reads the v2 header's variable-length frequency codes (LSB first).
func decodeFreqs(h *header, b []byte) error {
	if len(b) == 0 {
		return nil // tables omitted: all zero
	}
	var acc uint32
	nb := 0
	for i := range freqTables {
		for len(b) > 0 && nb+8 <= 32 {
			acc |= uint32(b[0]) << nb
			nb += 8
			b = b[1:]
		}
		v, n := freqValue(acc)
		if n > nb {
			return fmt.Errorf("frequency table truncated")
		}
		h.freq[i] = v
		acc >>= n
		nb -= n
	}
	if nb >= 8 || len(b) != 0 {
		return fmt.Errorf("frequency table does not end with the header")
	}
	return nil
}

var (
	freqBits  = [32]int8{2, 3, 2, 5, 2, 3, 2, 8, 2, 3, 2, 5, 2, 3, 2, 14, 2, 3, 2, 5, 2, 3, 2, 8, 2, 3, 2, 5, 2, 3, 2, 14}
	freqValue = func(acc uint32) (uint16, int) {
		b := acc & 31
		n := int(freqBits[b])
		switch n {
		case 8:
			return uint16(8 + (acc >> 4 & 0xf)), n
		case 14:
			return uint16(24 + (acc >> 4 & 0x3ff)), n
		}
		return uint16(freqVals[b]), n
	}
	freqVals = [32]int8{0, 2, 1, 4, 0, 3, 1, -1, 0, 2, 1, 5, 0, 3, 1, -1, 0, 2, 1, 6, 0, 3, 1, -1, 0, 2, 1, 7, 0, 3, 1, -1}
)

func checkFreq(f []uint16, states int) bool {
	s := 0
	for _, v := range f {
		s += int(v)
	}
	return s <= states
}

type litEntry struct {
	k     uint8
	sym   uint8
	delta uint16
}

type valEntry struct {
	total, vbits uint8
	delta        uint16
	base         int32
}

// tableShape computes, for a symbol of frequency f among n states, the shift k and the
// index j0 from which states use k-1 bits (tANS "spread by runs", as in fse_init_decoder_table).
func tableShape(n, f int) (k, j0 int) {
	k = bits.LeadingZeros32(uint32(f)) - bits.LeadingZeros32(uint32(n))
	j0 = ((2 * n) >> k) - f
	return
}

func initLitTable(t []litEntry, freq []uint16) {
	n := len(t)
	pos := 0
	for sym, fv := range freq {
		f := int(fv)
		if f == 0 {
			continue
		}
		k, j0 := tableShape(n, f)
		for j := 0; j < f && pos < n; j++ {
			e := litEntry{sym: uint8(sym)}
			if j < j0 {
				e.k, e.delta = uint8(k), uint16(((f+j)<<k)-n)
			} else if k > 0 {
				e.k, e.delta = uint8(k-1), uint16((j-j0)<<(k-1))
			}
			t[pos] = e
			pos++
		}
	}
}

func initValTable(t []valEntry, freq []uint16, vbits []uint8, base []int32) {
	n := len(t)
	pos := 0
	for sym, fv := range freq {
		f := int(fv)
		if f == 0 {
			continue
		}
		k, j0 := tableShape(n, f)
		for j := 0; j < f && pos < n; j++ {
			e := valEntry{vbits: vbits[sym], base: base[sym]}
			if j < j0 {
				e.total, e.delta = uint8(k)+e.vbits, uint16(((f+j)<<k)-n)
			} else if k > 0 {
				e.total, e.delta = uint8(k-1)+e.vbits, uint16((j-j0)<<(k-1))
			}
			t[pos] = e
			pos++
		}
	}
}

func valDecode(state *uint16, t []valEntry, in *bitIn, n int) int32 {
	e := t[*state]
	v := uint32(in.pull(e.total))
	*state = (e.delta + uint16(v>>e.vbits)) & uint16(n-1)
	return e.base + int32(v&(1<<e.vbits-1))
}

// bitIn is the reference's 64-bit backward bit stream: bytes are consumed from the end of
// buf towards its start; accum holds 56..63 valid bits after each flush.
type bitIn struct {
	buf   []byte // unread bytes, read from the end
	accum uint64
	nbits int
}

func (s *bitIn) init(buf []byte, n int) error {
	s.buf = buf
	if n != 0 {
		if len(buf) < 8 {
			return errFormat("lzfse", -1, "bit stream shorter than 8 bytes")
		}
		s.accum = binary.LittleEndian.Uint64(buf[len(buf)-8:])
		s.buf = buf[:len(buf)-8]
		s.nbits = n + 64
	} else {
		if len(buf) < 7 {
			return errFormat("lzfse", -1, "bit stream shorter than 7 bytes")
		}
		var b [8]byte
		copy(b[:], buf[len(buf)-7:])
		s.accum = binary.LittleEndian.Uint64(b[:])
		s.buf = buf[:len(buf)-7]
		s.nbits = 56
	}
	if s.nbits < 56 || s.nbits >= 64 || s.accum>>uint(s.nbits) != 0 {
		return errFormat("lzfse", -1, "bit stream has stray high bits")
	}
	return nil
}

func (s *bitIn) flush() error {
	nb := (63 - s.nbits) &^ 7
	nbytes := nb >> 3
	// The reference reads refills from before the payload's start (into the previous
	// section of the block) once the stream nears its end; those bits are never used by
	// a valid stream, so missing bytes read as zeros here.
	have := min(nbytes, len(s.buf))
	var incoming uint64
	if len(s.buf) >= 8 {
		// Fast path: the refill is the top nbytes of the last 8 bytes (x >> 64 is 0).
		incoming = binary.LittleEndian.Uint64(s.buf[len(s.buf)-8:]) >> uint(64-nb)
		have = 0
		s.buf = s.buf[:len(s.buf)-nbytes]
	}
	for i := 0; i < have; i++ {
		incoming |= uint64(s.buf[len(s.buf)-have+i]) << (8 * (nbytes - have + i))
	}
	s.buf = s.buf[:len(s.buf)-have]
	if nb > 0 {
		s.accum = s.accum<<uint(nb) | incoming
	}
	s.nbits += nb
	return nil
}

// pull takes n bits from the top of the accumulator. Reading more bits than remain (only
// possible on corrupt input) yields zeros; the block's size checks then fail.
func (s *bitIn) pull(n uint8) uint64 {
	k := int(n)
	if k > s.nbits {
		s.nbits = 0
		s.accum = 0
		return 0
	}
	s.nbits -= k
	r := s.accum >> uint(s.nbits)
	s.accum &= 1<<uint(s.nbits) - 1
	return r
}
