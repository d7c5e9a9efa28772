package mszip

import (
	"encoding/binary"
	"errors"
	"sync"
)

// Deflate (RFC 1951) decoding of one MSZIP block without its dictionary. The decoder never
// looks at output it has produced: Huffman decoding does not depend on it. Literals go
// straight into the output; every back-reference is recorded as a match and copied later by
// replay, once the previous block's output (the dictionary) is known. That split is what lets
// blocks be decoded on several cores.

const (
	maxCodeLen = 15  // longest deflate code
	numLit     = 288 // literal/length alphabet including the two reserved codes
	maxNumLit  = 286 // HLIT + 257 may not exceed this
	maxNumDist = 30  // HDIST + 1 may not exceed this
	litBits    = 10  // primary table bits, literal/length
	distBits   = 8   // primary table bits, distance
	clenBits   = 7   // primary table bits, code-length code (its codes are at most 7 bits)
	endOfBlock = 256
)

// Decoding errors. The Reader wraps them in an *Error naming the block.
var (
	errCorrupt     = errors.New("corrupt deflate data")
	errTruncated   = errors.New("deflate data ends early")
	errTooLong     = errors.New("block decodes to more than its uncompressed size")
	errBadDistance = errors.New("back-reference before the start of the folder")
)

// Table entries: bits 0–4 hold the bits a leaf consumes (its full code length), bit 5 marks
// a link to a subtable, bit 6 an unused or reserved code, bit 7 a literal, bit 13 the end of
// block; bits 8–12 hold a length or distance code's extra bits (a link's subtable bits), and
// bits 16–31 the literal, the length or distance base, the code-length symbol, or a link's
// subtable offset. Folding the bases in saves the hot loop two lookups per match.
const (
	entLink    = 1 << 5
	entInvalid = 1 << 6
	entLiteral = 1 << 7
	entEOB     = 1 << 13
)

// Alphabets a table decodes, which decide what its leaves hold.
const (
	alphaCodeLen = iota // code-length codes: the symbol
	alphaLitLen         // literal/length
	alphaDist           // distance
)

// leaf is the table entry for symbol sym of code length n in alphabet a.
func leaf(a, sym int, n uint) uint32 {
	e := uint32(n)
	switch {
	case a == alphaCodeLen:
		return e | uint32(sym)<<16
	case a == alphaLitLen && sym < 256:
		return e | entLiteral | uint32(sym)<<16
	case a == alphaLitLen && sym == endOfBlock:
		return e | entEOB
	case a == alphaLitLen && sym-257 < len(lenBase):
		return e | uint32(lenExtra[sym-257])<<8 | uint32(lenBase[sym-257])<<16
	case a == alphaDist && sym < len(dstBase):
		return e | uint32(dstExtra[sym])<<8 | uint32(dstBase[sym])<<16
	}
	return e | entInvalid // literal/length 286, 287; distance 30, 31
}

// huffman is a canonical Huffman decoding table: a primary table indexed by the next
// `primary` input bits plus subtables for longer codes.
type huffman struct {
	table   []uint32
	primary uint
}

// init builds the table from code lengths. Like zlib and compress/flate it rejects
// over-subscribed and incomplete codes, except a single code of length 1, and accepts an
// empty code (any use of it is an error).
func (h *huffman) init(lengths []uint8, primary uint, alphabet int) error {
	var count [maxCodeLen + 1]int
	maxLen, total := 0, 0
	for _, n := range lengths {
		if n == 0 {
			continue
		}
		count[n]++
		total++
		maxLen = max(maxLen, int(n))
	}
	h.primary = primary
	psize := 1 << primary
	if cap(h.table) < psize {
		h.table = make([]uint32, psize, psize+numLit<<5)
	}
	h.table = h.table[:psize]
	for i := range h.table {
		h.table[i] = entInvalid
	}
	if maxLen == 0 {
		return nil
	}
	left := 1
	for l := 1; l <= maxCodeLen; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return errCorrupt // over-subscribed
		}
	}
	if left > 0 && !(total == 1 && maxLen == 1) {
		return errCorrupt // incomplete
	}
	var next [maxCodeLen + 2]int
	code := 0
	for l := 1; l <= maxCodeLen; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	sub := uint(0)
	if maxLen > int(primary) {
		sub = uint(maxLen) - primary
	}
	for sym, n := range lengths {
		if n == 0 {
			continue
		}
		l := uint(n)
		c := next[l]
		next[l]++
		rev := reverse(uint32(c), l)
		leaf := leaf(alphabet, sym, l)
		if l <= primary {
			for j := rev; j < uint32(psize); j += 1 << l {
				h.table[j] = leaf
			}
			continue
		}
		p := rev & uint32(psize-1)
		e := h.table[p]
		if e&entLink == 0 {
			off := len(h.table)
			for range 1 << sub {
				h.table = append(h.table, entInvalid)
			}
			e = uint32(off)<<16 | uint32(sub)<<8 | entLink | uint32(primary)
			h.table[p] = e
		}
		off := int(e >> 16)
		for j := rev >> primary; j < 1<<sub; j += 1 << (l - primary) {
			h.table[off+int(j)] = leaf
		}
	}
	return nil
}

func reverse(c uint32, n uint) uint32 {
	var r uint32
	for range n {
		r = r<<1 | c&1
		c >>= 1
	}
	return r
}

// Length and distance bases and extra bits (RFC 1951 3.2.5).
var (
	lenBase   = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	dstBase   = [30]uint32{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	dstExtra  = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clenOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// fixed holds the fixed literal/length and distance tables (RFC 1951 3.2.6).
var fixed = sync.OnceValue(func() *[2]huffman {
	var t [2]huffman
	var l [numLit]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	if err := t[0].init(l[:], litBits, alphaLitLen); err != nil {
		panic(err)
	}
	var d [32]uint8
	for i := range d {
		d[i] = 5
	}
	if err := t[1].init(d[:], distBits, alphaDist); err != nil {
		panic(err)
	}
	return &t
})

// match is a back-reference: copy n bytes from dist bytes before block offset pos.
type match struct {
	pos, dist, n uint16 // dist and n are stored minus one and minus three
}

// decoder decodes one block's deflate stream. Its tables and match list are reused.
type decoder struct {
	in   []byte
	i    int    // next input byte to load; may pass len(in), the excess reads as zeros
	b    uint64 // bit buffer, least significant bit first
	nb   uint   // valid bits in b
	lit  huffman
	dst  huffman
	cl   huffman
	lens [maxNumLit + maxNumDist]uint8
	ops  []match
}

// refill makes at least 56 bits available.
func (d *decoder) refill() {
	if d.i+8 <= len(d.in) {
		d.b |= binary.LittleEndian.Uint64(d.in[d.i:]) << d.nb
		d.i += int(63-d.nb) >> 3
		d.nb |= 56
		return
	}
	for d.nb <= 56 {
		if d.i < len(d.in) {
			d.b |= uint64(d.in[d.i]) << d.nb
		}
		d.i++
		d.nb += 8
	}
}

// overrun reports whether more bits were consumed than the input holds.
func (d *decoder) overrun() bool {
	return 8*d.i-int(d.nb) > 8*len(d.in)
}

func (d *decoder) bits(n uint) uint32 {
	if d.nb < n {
		d.refill()
	}
	v := uint32(d.b & (1<<n - 1))
	d.b >>= n
	d.nb -= n
	return v
}

// sym decodes one symbol; the caller has made at least 15 bits available.
func (d *decoder) sym(h *huffman) (int, error) {
	e := h.table[d.b&(1<<h.primary-1)]
	if e&entLink != 0 {
		e = h.table[int(e>>16)+int(d.b>>h.primary)&(1<<((e>>8)&31)-1)]
	}
	if e&entInvalid != 0 {
		return 0, errCorrupt
	}
	n := uint(e & 31)
	d.b >>= n
	d.nb -= n
	return int(e >> 16), nil
}

// decode decodes the deflate stream in (the MSZIP payload after "CK") into out, which it
// fills with the literals, and records the back-references in d.ops. It returns the number
// of output bytes. The stream must end with a final block within len(out) bytes of output.
func (d *decoder) decode(in, out []byte) (int, error) {
	d.in, d.i, d.b, d.nb = in, 0, 0, 0
	d.ops = d.ops[:0]
	pos := 0
	for {
		if d.overrun() {
			return pos, errTruncated
		}
		final := d.bits(1)
		switch d.bits(2) {
		case 0:
			n, err := d.stored(out[pos:])
			if err != nil {
				return pos, err
			}
			pos += n
		case 1:
			t := fixed()
			n, err := d.huffmanBlock(&t[0], &t[1], out, pos)
			if err != nil {
				return n, err
			}
			pos = n
		case 2:
			if err := d.dynamic(); err != nil {
				return pos, err
			}
			n, err := d.huffmanBlock(&d.lit, &d.dst, out, pos)
			if err != nil {
				return n, err
			}
			pos = n
		default:
			return pos, errCorrupt
		}
		if d.overrun() {
			return pos, errTruncated
		}
		if final == 1 {
			return pos, nil
		}
	}
}

// stored copies a stored block's bytes.
func (d *decoder) stored(out []byte) (int, error) {
	d.b >>= d.nb & 7
	d.nb &^= 7
	hdr := d.bits(32)
	n, nn := int(hdr&0xffff), int(hdr>>16)
	if n != ^nn&0xffff {
		return 0, errCorrupt
	}
	// Bytes still in the bit buffer come first.
	k := 0
	for ; k < n && d.nb >= 8; k++ {
		if k >= len(out) {
			return k, errTooLong
		}
		out[k] = byte(d.b)
		d.b >>= 8
		d.nb -= 8
	}
	if k == n {
		return n, nil
	}
	// The buffer is empty (its stale upper bits must go): d.i is the next unread byte.
	d.b = 0
	rest := n - k
	if d.i+rest > len(d.in) {
		return k, errTruncated
	}
	if k+rest > len(out) {
		return k, errTooLong
	}
	copy(out[k:], d.in[d.i:d.i+rest])
	d.i += rest
	return n, nil
}

// dynamic reads a dynamic block's code lengths and builds d.lit and d.dst.
func (d *decoder) dynamic() error {
	nlit := int(d.bits(5)) + 257
	ndist := int(d.bits(5)) + 1
	nclen := int(d.bits(4)) + 4
	if nlit > maxNumLit || ndist > maxNumDist {
		return errCorrupt
	}
	var cl [19]uint8
	for i := range nclen {
		cl[clenOrder[i]] = uint8(d.bits(3))
	}
	if err := d.cl.init(cl[:], clenBits, alphaCodeLen); err != nil {
		return err
	}
	lens := d.lens[:nlit+ndist]
	for i := 0; i < len(lens); {
		if d.overrun() {
			return errTruncated
		}
		if d.nb < maxCodeLen {
			d.refill()
		}
		s, err := d.sym(&d.cl)
		if err != nil {
			return err
		}
		var rep int
		var v uint8
		switch {
		case s < 16:
			lens[i] = uint8(s)
			i++
			continue
		case s == 16:
			if i == 0 {
				return errCorrupt
			}
			v, rep = lens[i-1], 3+int(d.bits(2))
		case s == 17:
			rep = 3 + int(d.bits(3))
		default:
			rep = 11 + int(d.bits(7))
		}
		if i+rep > len(lens) {
			return errCorrupt
		}
		for range rep {
			lens[i] = v
			i++
		}
	}
	if lens[endOfBlock] == 0 {
		return errCorrupt
	}
	if err := d.lit.init(lens[:nlit], litBits, alphaLitLen); err != nil {
		return err
	}
	return d.dst.init(lens[nlit:], distBits, alphaDist)
}

// huffmanBlock decodes one compressed block starting at out[pos]; it returns the new pos.
func (d *decoder) huffmanBlock(lit, dst *huffman, out []byte, pos int) (int, error) {
	// Local copies keep the hot loop in registers; fixed-size primary tables need no bounds
	// checks.
	b, nb, i, in := d.b, d.nb, d.i, d.in
	lt := (*[1 << litBits]uint32)(lit.table)
	dt := (*[1 << distBits]uint32)(dst.table)
	lsub, dsub := lit.table, dst.table
	ops := d.ops
	defer func() { d.b, d.nb, d.i, d.ops = b, nb, i, ops }()
	for {
		// 56 bits cover a literal/length code with its extra bits (20) and a distance code
		// with its extra bits (28).
		if nb < 48 {
			if i+8 <= len(in) {
				b |= binary.LittleEndian.Uint64(in[i:]) << nb
				i += int(63-nb) >> 3
				nb |= 56
			} else {
				if 8*i-int(nb) > 8*len(in) {
					return pos, errTruncated
				}
				for nb <= 56 {
					if i < len(in) {
						b |= uint64(in[i]) << nb
					}
					i++
					nb += 8
				}
			}
		}
		e := lt[b&(1<<litBits-1)]
		if e&entLink != 0 {
			e = lsub[int(e>>16)+int(b>>litBits)&(1<<((e>>8)&31)-1)]
		}
		n := uint(e & 31)
		b >>= n
		nb -= n
		if e&entLiteral != 0 {
			if pos >= len(out) {
				return pos, errTooLong
			}
			out[pos] = byte(e >> 16)
			pos++
			continue
		}
		if e&(entInvalid|entEOB) != 0 {
			if e&entInvalid != 0 {
				return pos, errCorrupt
			}
			if 8*i-int(nb) > 8*len(in) {
				return pos, errTruncated
			}
			return pos, nil
		}
		x := uint(e>>8) & 31
		length := int(e>>16) + int(b&(1<<x-1))
		b >>= x
		nb -= x
		e = dt[b&(1<<distBits-1)]
		if e&entLink != 0 {
			e = dsub[int(e>>16)+int(b>>distBits)&(1<<((e>>8)&31)-1)]
		}
		if e&entInvalid != 0 {
			return pos, errCorrupt
		}
		n = uint(e & 31)
		b >>= n
		nb -= n
		x = uint(e>>8) & 31
		dist := int(e>>16) + int(b&(1<<x-1))
		b >>= x
		nb -= x
		if pos+length > len(out) {
			return pos, errTooLong
		}
		ops = append(ops, match{pos: uint16(pos), dist: uint16(dist - 1), n: uint16(length - 3)})
		pos += length
	}
}

// replay copies the recorded matches into buf, whose block output starts at base and whose
// bytes before base are the dictionary. Matches are short (a few bytes to a few dozen), so
// word-sized copies beat calling memmove for each.
func replay(buf []byte, base int, ops []match) error {
	le := binary.LittleEndian
	for _, m := range ops {
		dst := base + int(m.pos)
		n := int(m.n) + 3
		d := int(m.dist) + 1
		src := dst - d
		if src < 0 {
			return errBadDistance
		}
		if dst+n > len(buf) {
			return errTooLong // cannot happen: decode bounds every match by the block
		}
		switch {
		case d >= 8 && n >= 8:
			// Forward 8-byte chunks read only bytes already final when d ≥ 8; the last
			// chunk may overlap the one before it and rewrites the same values.
			k := 0
			for ; k+8 <= n; k += 8 {
				le.PutUint64(buf[dst+k:], le.Uint64(buf[src+k:]))
			}
			if k < n {
				le.PutUint64(buf[dst+n-8:], le.Uint64(buf[src+n-8:]))
			}
		case d >= 8 && n >= 4:
			le.PutUint32(buf[dst:], le.Uint32(buf[src:]))
			le.PutUint32(buf[dst+n-4:], le.Uint32(buf[src+n-4:]))
		case d >= n:
			copy(buf[dst:dst+n], buf[src:src+n])
		default:
			// Overlapping: the pattern buf[src:dst] repeats; each copy doubles it.
			for n > 0 {
				k := copy(buf[dst:dst+n], buf[src:dst])
				dst += k
				n -= k
			}
		}
	}
	return nil
}
