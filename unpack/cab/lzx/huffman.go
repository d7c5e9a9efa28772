package lzx

import "fmt"

// maxCodeLen is the longest Huffman code LZX allows, in bits.
const maxCodeLen = 16

// huffman is a canonical Huffman decoder: codes are assigned in order of length, then
// symbol, and read from the most significant bit. Codes up to tableBits long decode with
// one table lookup; longer ones fall back to a per-length canonical search.
type huffman struct {
	tableBits uint
	// table entries: symbol<<5 | length, or 0 for a prefix of a longer code.
	table []uint16
	// For the long-code path: count[l] codes of length l start at code first[l] and
	// their symbols at sorted[index[l]].
	count  [maxCodeLen + 1]uint16
	first  [maxCodeLen + 1]uint32
	index  [maxCodeLen + 1]uint16
	sorted []uint16
	empty  bool // every length was zero; decoding a symbol is an error
}

func newHuffman(tableBits uint, maxSyms int) *huffman {
	return &huffman{tableBits: tableBits, table: make([]uint16, 1<<tableBits), sorted: make([]uint16, 0, maxSyms)}
}

// build makes the decoder for lens. A tree that is over-subscribed or incomplete is an
// error; an all-zero one leaves h.empty set and returns errEmptyTree.
func (h *huffman) build(lens []uint8) error {
	h.count = [maxCodeLen + 1]uint16{}
	for _, l := range lens {
		if l > maxCodeLen {
			return fmt.Errorf("code length %d exceeds %d", l, maxCodeLen)
		}
		h.count[l]++
	}
	h.count[0] = 0
	h.empty = false
	total := 0
	for l := 1; l <= maxCodeLen; l++ {
		total += int(h.count[l])
	}
	if total == 0 {
		h.empty = true
		return errEmptyTree
	}
	left := 1
	for l := 1; l <= maxCodeLen; l++ {
		left = left<<1 - int(h.count[l])
		if left < 0 {
			return errOversubscribed
		}
	}
	if left != 0 {
		return errIncomplete
	}
	var next [maxCodeLen + 1]uint32
	code := uint32(0)
	idx := uint16(0)
	for l := 1; l <= maxCodeLen; l++ {
		code = (code + uint32(h.count[l-1])) << 1
		next[l] = code
		h.first[l] = code
		h.index[l] = idx
		idx += h.count[l]
	}
	clear(h.table)
	h.sorted = h.sorted[:idx]
	var fill [maxCodeLen + 1]uint16
	for sym, l := range lens {
		if l == 0 {
			continue
		}
		h.sorted[h.index[l]+fill[l]] = uint16(sym)
		fill[l]++
		c := next[l]
		next[l]++
		if uint(l) <= h.tableBits {
			shift := h.tableBits - uint(l)
			start := c << shift
			e := uint16(sym)<<5 | uint16(l)
			t := h.table[start : start+1<<shift]
			for i := range t {
				t[i] = e
			}
		}
	}
	return nil
}

// slow decodes a code longer than tableBits from the top of buf (MSB-aligned). It returns
// the symbol and the code length, or length 0 if no code matches.
func (h *huffman) slow(buf uint64) (int, uint) {
	for l := h.tableBits + 1; l <= maxCodeLen; l++ {
		c := uint32(buf >> (64 - l))
		if d := c - h.first[l]; d < uint32(h.count[l]) {
			return int(h.sorted[uint32(h.index[l])+d]), l
		}
	}
	return 0, 0
}

// decode reads one symbol through b (used outside the hot loop).
func (h *huffman) decode(b *bitReader) (int, error) {
	if b.n < maxCodeLen {
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	e := h.table[b.buf>>(64-h.tableBits)]
	if l := uint(e & 31); l != 0 {
		b.buf <<= l
		b.n -= l
		return int(e >> 5), nil
	}
	sym, l := h.slow(b.buf)
	if l == 0 {
		return 0, errBadCode
	}
	b.buf <<= l
	b.n -= l
	return sym, nil
}
