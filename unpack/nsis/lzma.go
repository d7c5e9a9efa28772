package nsis

import (
	"errors"
	"fmt"
	"io"
)

// An LZMA decoder for NSIS streams (5-byte properties, raw data, end marker optional),
// written from the LZMA specification (Igor Pavlov, lzma-specification.txt in the LZMA SDK):
// range coder with 11-bit probabilities, 12-state literal/match/rep machine, length and
// distance coders. It keeps the range coder in locals and decodes straight into the
// dictionary window, which makes it several times faster than github.com/ulikunitz/xz/lzma
// on solid installers; every index is bounded by construction or checked, so hostile input
// ends in errLZMA, never a panic.

var errLZMA = errors.New("corrupt LZMA data")

const (
	lzProbInit   = 1024
	lzStates     = 12
	lzPosBitsMax = 4
	lzEndDist    = 0xFFFFFFFF
	lzMinDict    = 4096
)

type lzLen struct {
	choice, choice2 uint16
	low, mid        [1 << lzPosBitsMax][8]uint16
	high            [256]uint16
}

// lzMargin is the input the decoder keeps readable past the next unread byte before it
// decodes a symbol, so the hot loop reads input bytes without a refill check: a symbol
// normalises at most once per bit it decodes, and the longest symbol, a match with the
// longest length (10 bits: choice, choice2, 8-bit high tree), a 6-bit position slot, 26
// direct bits and 4 align bits, plus isMatch and isRep, has 48 bits. At the end of the
// input the buffer is padded with lzMargin zero bytes; a symbol that reads into the padding
// read past the end (rangeDec.limit).
const lzMargin = 64

// rangeDec is the range decoder's input and, between decode calls, its state; decode keeps
// rng, code and ip in locals.
type rangeDec struct {
	rng, code uint32
	in        []byte // buffered input, in[ip:] unread; lzMargin bytes past ip are readable
	ip        int
	limit     int // in[limit:] is padding (the input ended); len(in) while it has not
	src       io.Reader
	buf       []byte
	eof       bool
}

// fill makes lzMargin bytes past ip readable: it moves the unread bytes to the front, reads
// more, and pads with zeros once the input ends.
func (r *rangeDec) fill() {
	if r.eof || len(r.in)-r.ip >= lzMargin {
		return
	}
	n := copy(r.buf, r.in[r.ip:])
	m, err := io.ReadAtLeast(r.src, r.buf[n:len(r.buf)-lzMargin], lzMargin-n)
	n += m
	if err != nil {
		r.eof = true
	}
	r.ip, r.limit = 0, n
	if r.eof {
		clear(r.buf[n : n+lzMargin])
		r.in = r.buf[:n+lzMargin]
		return
	}
	r.in = r.buf[:n]
}

// rcNorm normalises the range: one more input byte when the range fell below 2^24.
func rcNorm(rng, code uint32, in []byte, ip int) (uint32, uint32, int) {
	if rng < 1<<24 {
		return rng << 8, code<<8 | uint32(in[ip]), ip + 1
	}
	return rng, code, ip
}

// rcBit decodes one bit of probability *p (11 bits) from a normalised range and adapts *p.
//
// It is branch-free: the bits of compressed data are close to random, so a branch on them
// is mispredicted about as often as not, which costs more than computing both outcomes.
func rcBit(rng, code uint32, p *uint16) (uint32, uint32, uint32) {
	v := uint32(*p)
	bound := (rng >> 11) * v
	bit := uint32((uint64(code)-uint64(bound))>>63) ^ 1 // code >= bound
	mask := -bit
	// bit 0: v + (2048-v)>>5; bit 1: v - v>>5, which is v + (31-v)>>5 (arithmetic shift).
	*p = uint16(int32(v) + (int32(2048&^mask+31&mask)-int32(v))>>5)
	return bound + (rng-bound-bound)&mask, code - bound&mask, bit
}

// rcFlag is rcBit with a branch, for the state machine's flags (isMatch, isRep, ...), whose
// outcomes repeat more than the bits of literals and trees do.
func rcFlag(rng, code uint32, p *uint16) (uint32, uint32, uint32) {
	v := uint32(*p)
	bound := (rng >> 11) * v
	if code < bound {
		*p = uint16(v + (2048-v)>>5)
		return bound, code, 0
	}
	*p = uint16(v - v>>5)
	return rng - bound, code - bound, 1
}

// rcTree decodes a bits-bit symbol, most significant bit first, with the bit tree probs.
func rcTree(rng, code uint32, in []byte, ip int, probs []uint16, bits uint) (uint32, uint32, int, uint32) {
	m := uint32(1)
	var b uint32
	for range bits {
		rng, code, ip = rcNorm(rng, code, in, ip)
		rng, code, b = rcBit(rng, code, &probs[m])
		m = m<<1 | b
	}
	return rng, code, ip, m - 1<<bits
}

// rcReverse decodes a bits-bit symbol, least significant bit first.
func rcReverse(rng, code uint32, in []byte, ip int, probs []uint16, bits uint) (uint32, uint32, int, uint32) {
	m, sym := uint32(1), uint32(0)
	var b uint32
	for i := range bits {
		rng, code, ip = rcNorm(rng, code, in, ip)
		rng, code, b = rcBit(rng, code, &probs[m])
		m = m<<1 | b
		sym |= b << i
	}
	return rng, code, ip, sym
}

// rcLength decodes a match length (2..273) with the length coder l.
func rcLength(rng, code uint32, in []byte, ip int, l *lzLen, posState uint32) (uint32, uint32, int, uint32) {
	var b, n uint32
	rng, code, ip = rcNorm(rng, code, in, ip)
	if rng, code, b = rcFlag(rng, code, &l.choice); b == 0 {
		rng, code, ip, n = rcTree(rng, code, in, ip, l.low[posState&(1<<lzPosBitsMax-1)][:], 3)
		return rng, code, ip, 2 + n
	}
	rng, code, ip = rcNorm(rng, code, in, ip)
	if rng, code, b = rcFlag(rng, code, &l.choice2); b == 0 {
		rng, code, ip, n = rcTree(rng, code, in, ip, l.mid[posState&(1<<lzPosBitsMax-1)][:], 3)
		return rng, code, ip, 10 + n
	}
	rng, code, ip, n = rcTree(rng, code, in, ip, l.high[:], 8)
	return rng, code, ip, 18 + n
}

// lzRunGuard is how far literalRun stays from the end of the input: a literal with its
// isMatch bit reads at most 9 bytes, so one that starts this far before rangeDec.limit
// cannot read into the padding.
const lzRunGuard = 16

// literalRun decodes the plain literal whose isMatch bit decode has just read (state < 7),
// then every literal after it until an isMatch bit says match (it returns true; the match's
// other bits are decode's), n bytes are produced, or the input gets within lzRunGuard of
// limit or within lzMargin of the end of in (it returns false before the next isMatch bit).
//
// It is decode's hot path in a function of its own, with only what literals need live, so
// the range, code and tree index stay in registers through the bit loop: in decode the
// register allocator sent them through the stack.
func (z *lzmaReader) literalRun(rng, code uint32, in []byte, ip, limit, wpos int, total uint64, state uint32, n int) (uint32, uint32, int, int, uint64, uint32, bool) {
	win := z.win
	lit := z.lit
	isMatch := &z.isMatch
	// A literal's probabilities start at 0x300 * (the low lp bits of its position, then the
	// high lc bits of the byte before it), which is 3 * ((total<<8 + prev) & litMask) << lc
	// (as in the LZMA SDK). lc <= 8 and lp <= 4: the shifts mask their counts with 31 to tell
	// the compiler so.
	lc := z.lc & 31
	litMask := (uint32(0x100)<<(z.lp&31) - uint32(0x100)>>lc)
	pbMask := uint32(1)<<(z.pb&31) - 1
	end := min(len(in)-lzMargin, limit-lzRunGuard)
	prev := uint32(0)
	if total > 0 {
		i := wpos - 1
		if i < 0 {
			i += len(win)
		}
		prev = uint32(win[i])
	}
	for done := 0; ; {
		probs := (*[0x300]uint16)(lit[3*((uint32(total)<<8+prev)&litMask)<<lc:])
		sym := uint32(1)
		var b uint32
		for sym < 0x100 {
			rng, code, ip = rcNorm(rng, code, in, ip)
			rng, code, b = rcBit(rng, code, &probs[sym])
			sym = sym<<1 | b
		}
		prev = sym & 0xFF
		win[wpos] = byte(prev)
		if wpos++; wpos == len(win) {
			wpos = 0
		}
		total++
		state = lzLitNext[state]
		if done++; done >= n || ip > end {
			return rng, code, ip, wpos, total, state, false
		}
		if rng < 1<<24 {
			rng <<= 8
			code = code<<8 | uint32(in[ip])
			ip++
		}
		if rng, code, b = rcFlag(rng, code, &isMatch[state<<lzPosBitsMax+uint32(total)&pbMask]); b != 0 {
			return rng, code, ip, wpos, total, state, true
		}
	}
}

// lzLitNext is the state after a literal, by the state before (below 7: after literals).
var lzLitNext = [16]uint32{0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 4, 5}

type lzmaReader struct {
	rc rangeDec

	lc, lp, pb uint
	lit        []uint16
	isMatch    [lzStates << lzPosBitsMax]uint16
	isRep      [lzStates]uint16
	isRepG0    [lzStates]uint16
	isRepG1    [lzStates]uint16
	isRepG2    [lzStates]uint16
	isRep0Long [lzStates << lzPosBitsMax]uint16
	posSlot    [4][64]uint16
	posDec     [115]uint16
	align      [16]uint16
	lenDec     lzLen
	repLenDec  lzLen

	state            uint32
	rep0, rep1, rep2 uint32
	rep3             uint32
	win              []byte
	wpos             int    // next write position in win
	total            uint64 // bytes decoded
	pending          int    // bytes of a match still to copy
	rpos             int    // next window byte to hand to Read
	avail            int    // decoded bytes not yet handed out
	done             bool
	err              error
	initialized      bool
	huge             bool // adviseHuge was called
}

// lzHugeAfter is how much a stream decodes before its window asks for huge pages
// (adviseHuge): a header, a few kilobytes, would pay a whole huge page of memory for nothing.
const lzHugeAfter = 1 << 20

func newLZMA(src io.Reader, props [5]byte) (*lzmaReader, error) {
	d := uint(props[0])
	if d >= 9*5*5 {
		return nil, fmt.Errorf("lzma properties byte 0x%x: %w", d, errLZMA)
	}
	z := &lzmaReader{rc: rangeDec{src: src, buf: make([]byte, 64<<10+lzMargin)}}
	z.lc, d = d%9, d/9
	z.lp, z.pb = d%5, d/5
	dict := uint32(props[1]) | uint32(props[2])<<8 | uint32(props[3])<<16 | uint32(props[4])<<24
	dict = max(dict, lzMinDict)
	z.win = newWindow(int(dict))
	z.lit = make([]uint16, 0x300<<(z.lc+z.lp))
	for i := range z.lit {
		z.lit[i] = lzProbInit
	}
	for _, s := range [][]uint16{z.isMatch[:], z.isRep[:], z.isRepG0[:], z.isRepG1[:], z.isRepG2[:], z.isRep0Long[:],
		z.posSlot[0][:], z.posSlot[1][:], z.posSlot[2][:], z.posSlot[3][:], z.posDec[:], z.align[:]} {
		for i := range s {
			s[i] = lzProbInit
		}
	}
	for _, l := range []*lzLen{&z.lenDec, &z.repLenDec} {
		l.choice, l.choice2 = lzProbInit, lzProbInit
		for i := range l.low {
			for j := range l.low[i] {
				l.low[i][j], l.mid[i][j] = lzProbInit, lzProbInit
			}
		}
		for i := range l.high {
			l.high[i] = lzProbInit
		}
	}
	return z, nil
}

func (z *lzmaReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for z.avail == 0 {
		if z.err != nil {
			return 0, z.err
		}
		if z.done {
			return 0, io.EOF
		}
		// Decode about what the caller asks for: a reader that stops early (the header)
		// must not pay for a whole window.
		z.decode(min(len(z.win)/2, max(len(p), 64<<10)))
	}
	n := min(len(p), z.avail)
	// The decoded bytes are win[rpos:rpos+avail), possibly wrapping.
	first := min(n, len(z.win)-z.rpos)
	copy(p, z.win[z.rpos:z.rpos+first])
	copy(p[first:n], z.win[:n-first])
	z.rpos = (z.rpos + n) % len(z.win)
	z.avail -= n
	return n, nil
}

// decode produces up to limit bytes into the window.
func (z *lzmaReader) decode(limit int) {
	rc := &z.rc
	if !z.initialized {
		z.initialized = true
		rc.fill()
		if rc.limit == 0 {
			z.done = true // empty input: no data
			return
		}
		if rc.in[rc.ip] != 0 {
			z.err = errLZMA
			return
		}
		rc.code = uint32(rc.in[rc.ip+1])<<24 | uint32(rc.in[rc.ip+2])<<16 | uint32(rc.in[rc.ip+3])<<8 | uint32(rc.in[rc.ip+4])
		rc.ip += 5
		rc.rng = 0xFFFFFFFF
		if rc.ip > rc.limit {
			z.done = true // a stream shorter than its first five bytes: no data
			return
		}
	}
	if !z.huge && z.total >= lzHugeAfter {
		z.huge = true
		adviseHuge(z.win, int(min(z.total, uint64(len(z.win)))))
	}
	win := z.win
	wsize := len(win)
	state := z.state
	rep0, rep1, rep2, rep3 := z.rep0, z.rep1, z.rep2, z.rep3
	wpos := z.wpos
	produced := 0
	pbMask := uint32(1)<<z.pb - 1
	lpMask := uint32(1)<<z.lp - 1
	lc := z.lc
	total := z.total
	rng, code := rc.rng, rc.code
	in, ip := rc.in, rc.ip

	if z.pending > 0 {
		var k int
		z.pending, wpos, k = z.copyMatch(z.pending, wpos, limit-produced, rep0)
		produced += k
		total += uint64(k)
	}
	// A stream without an end marker ends where its input does: the symbol that read past
	// the end is dropped (a truncated stream is then caught by the length the caller
	// expects).
	ended := false
	sw, sp, st := wpos, produced, total
	for produced < limit && z.pending == 0 {
		if ip > rc.limit {
			ended = true
			break
		}
		if len(in)-ip < lzMargin && !rc.eof {
			rc.in, rc.ip = in, ip
			rc.fill()
			in, ip = rc.in, rc.ip
		}
		sw, sp, st = wpos, produced, total
		posState := uint32(total) & pbMask
		var b uint32
		rng, code, ip = rcNorm(rng, code, in, ip)
		if rng, code, b = rcFlag(rng, code, &z.isMatch[state<<lzPosBitsMax+posState]); b == 0 && state < 7 && ip+lzRunGuard <= rc.limit {
			// A plain literal far enough from the end of the input: it and the plain
			// literals after it decode in literalRun.
			var m bool
			rng, code, ip, wpos, total, state, m = z.literalRun(rng, code, in, ip, rc.limit, wpos, total, state, limit-produced)
			produced += int(total - st)
			if !m {
				continue
			}
			// literalRun decoded the isMatch bit of a match: the match starts here.
			sw, sp, st = wpos, produced, total
			posState = uint32(total) & pbMask
		} else if b == 0 {
			// A literal.
			prev := uint32(0)
			if total > 0 {
				i := wpos - 1
				if i < 0 {
					i += wsize
				}
				prev = uint32(win[i])
			}
			probs := z.lit[0x300*((uint32(total)&lpMask)<<lc+prev>>(8-lc)):][:0x300]
			sym := uint32(1)
			if state >= 7 {
				i := wpos - int(rep0) - 1
				if i < 0 {
					i += wsize
				}
				match := uint32(win[i])
				for sym < 0x100 {
					mb := match >> 7 & 1
					match <<= 1
					rng, code, ip = rcNorm(rng, code, in, ip)
					rng, code, b = rcBit(rng, code, &probs[(1+mb)<<8+sym])
					sym = sym<<1 | b
					if b != mb {
						break
					}
				}
			}
			for sym < 0x100 {
				rng, code, ip = rcNorm(rng, code, in, ip)
				rng, code, b = rcBit(rng, code, &probs[sym])
				sym = sym<<1 | b
			}
			win[wpos] = byte(sym)
			if wpos++; wpos == wsize {
				wpos = 0
			}
			produced++
			total++
			switch {
			case state < 4:
				state = 0
			case state < 10:
				state -= 3
			default:
				state -= 6
			}
			continue
		}
		var n uint32
		rng, code, ip = rcNorm(rng, code, in, ip)
		if rng, code, b = rcFlag(rng, code, &z.isRep[state]); b != 0 {
			if total == 0 {
				z.err = errLZMA
				break
			}
			rng, code, ip = rcNorm(rng, code, in, ip)
			if rng, code, b = rcFlag(rng, code, &z.isRepG0[state]); b == 0 {
				rng, code, ip = rcNorm(rng, code, in, ip)
				if rng, code, b = rcFlag(rng, code, &z.isRep0Long[state<<lzPosBitsMax+posState]); b == 0 {
					// A short rep: one byte at distance rep0+1.
					if state < 7 {
						state = 9
					} else {
						state = 11
					}
					if uint64(rep0) >= total || int(rep0) >= wsize {
						z.err = errLZMA
						break
					}
					i := wpos - int(rep0) - 1
					if i < 0 {
						i += wsize
					}
					win[wpos] = win[i]
					if wpos++; wpos == wsize {
						wpos = 0
					}
					produced++
					total++
					continue
				}
			} else {
				var dist uint32
				rng, code, ip = rcNorm(rng, code, in, ip)
				if rng, code, b = rcFlag(rng, code, &z.isRepG1[state]); b == 0 {
					dist = rep1
				} else {
					rng, code, ip = rcNorm(rng, code, in, ip)
					if rng, code, b = rcFlag(rng, code, &z.isRepG2[state]); b == 0 {
						dist = rep2
					} else {
						dist, rep3 = rep3, rep2
					}
					rep2 = rep1
				}
				rep1, rep0 = rep0, dist
			}
			rng, code, ip, n = rcLength(rng, code, in, ip, &z.repLenDec, posState)
			if state < 7 {
				state = 8
			} else {
				state = 11
			}
		} else {
			rep3, rep2, rep1 = rep2, rep1, rep0
			rng, code, ip, n = rcLength(rng, code, in, ip, &z.lenDec, posState)
			if state < 7 {
				state = 7
			} else {
				state = 10
			}
			var slot uint32
			rng, code, ip, slot = rcTree(rng, code, in, ip, z.posSlot[min(n-2, 3)][:], 6)
			if slot < 4 {
				rep0 = slot
			} else {
				direct := uint(slot>>1) - 1
				dist := (2 | slot&1) << direct
				var v uint32
				if slot < 14 {
					rng, code, ip, v = rcReverse(rng, code, in, ip, z.posDec[dist-slot:], direct)
					dist += v
				} else {
					for range direct - 4 {
						// Branch-free (the bits are random): code < rng, so code-rng after
						// halving rng lies within ±2^31 and its sign is the bit's complement.
						rng, code, ip = rcNorm(rng, code, in, ip)
						rng >>= 1
						code -= rng
						t := -(code >> 31)
						code += rng & t
						v = v<<1 + t + 1
					}
					dist += v << 4
					rng, code, ip, v = rcReverse(rng, code, in, ip, z.align[:], 4)
					dist += v
				}
				rep0 = dist
			}
			if rep0 == lzEndDist {
				z.done = true
				break
			}
		}
		if uint64(rep0) >= total || int(rep0) >= wsize {
			z.err = errLZMA
			break
		}
		var k int
		z.pending, wpos, k = z.copyMatch(int(n), wpos, limit-produced, rep0)
		produced += k
		total += uint64(k)
	}
	if ip > rc.limit {
		ended = true
	}
	if ended && !z.done && z.err == nil {
		wpos, produced, total = sw, sp, st
		z.pending = 0
		z.done = true
	}
	rc.rng, rc.code = rng, code
	rc.in, rc.ip = in, ip
	z.state = state
	z.rep0, z.rep1, z.rep2, z.rep3 = rep0, rep1, rep2, rep3
	z.wpos, z.total = wpos, total
	z.avail += produced
}

// copyMatch copies up to n bytes of the match at distance rep0+1 to the window at wpos, at
// most room bytes; it returns the bytes left to copy, the new write position and the bytes
// copied.
func (z *lzmaReader) copyMatch(n, wpos, room int, rep0 uint32) (int, int, int) {
	win := z.win
	wsize := len(win)
	dist := int(rep0) + 1
	copied := 0
	for n > 0 && copied < room {
		src := wpos - dist
		if src < 0 {
			src += wsize
		}
		k := min(n, room-copied, wsize-wpos, wsize-src)
		if dist >= k {
			copy(win[wpos:wpos+k], win[src:src+k])
		} else {
			// Overlapping (a run): byte by byte, each byte reading one just written.
			w := win[wpos : wpos+k]
			s := win[src : src+k]
			for i := range w {
				w[i] = s[i]
			}
		}
		wpos += k
		if wpos == wsize {
			wpos = 0
		}
		copied += k
		n -= k
	}
	return n, wpos, copied
}
