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

// rangeDec is the range decoder; its methods are small enough to inline.
type rangeDec struct {
	rng, code uint32
	in        []byte // buffered input, in[ip:] unread
	ip        int
	src       io.Reader
	buf       []byte
	eof       bool
	ended     bool // a byte past the end of the input was asked for
}

func (r *rangeDec) next() byte {
	if r.ip < len(r.in) {
		b := r.in[r.ip]
		r.ip++
		return b
	}
	return r.refill()
}

func (r *rangeDec) refill() byte {
	if !r.eof {
		n, err := io.ReadAtLeast(r.src, r.buf, 1)
		if n > 0 {
			r.in, r.ip = r.buf[:n], 1
			return r.in[0]
		}
		if err != nil {
			r.eof = true
		}
	}
	r.ended = true
	return 0
}

func (r *rangeDec) norm() {
	r.rng <<= 8
	r.code = r.code<<8 | uint32(r.next())
}

func (r *rangeDec) bit(p *uint16) uint32 {
	if r.rng < 1<<24 {
		r.norm()
	}
	v := uint32(*p)
	bound := (r.rng >> 11) * v
	if r.code < bound {
		r.rng = bound
		*p = uint16(v + (2048-v)>>5)
		return 0
	}
	r.rng -= bound
	r.code -= bound
	*p = uint16(v - v>>5)
	return 1
}

func (r *rangeDec) tree(probs []uint16, bits uint) uint32 {
	m := uint32(1)
	for i := uint(0); i < bits; i++ {
		m = m<<1 | r.bit(&probs[m])
	}
	return m - 1<<bits
}

func (r *rangeDec) reverse(probs []uint16, bits uint) uint32 {
	m, sym := uint32(1), uint32(0)
	for i := uint(0); i < bits; i++ {
		b := r.bit(&probs[m])
		m = m<<1 | b
		sym |= b << i
	}
	return sym
}

func (r *rangeDec) direct(bits uint) uint32 {
	var v uint32
	for i := uint(0); i < bits; i++ {
		if r.rng < 1<<24 {
			r.norm()
		}
		r.rng >>= 1
		v <<= 1
		if r.code >= r.rng {
			r.code -= r.rng
			v |= 1
		}
	}
	return v
}

func (r *rangeDec) length(l *lzLen, posState uint32) uint32 {
	if r.bit(&l.choice) == 0 {
		return 2 + r.tree(l.low[posState&(1<<lzPosBitsMax-1)][:], 3)
	}
	if r.bit(&l.choice2) == 0 {
		return 10 + r.tree(l.mid[posState&(1<<lzPosBitsMax-1)][:], 3)
	}
	return 18 + r.tree(l.high[:], 8)
}

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
}

func newLZMA(src io.Reader, props [5]byte) (*lzmaReader, error) {
	d := uint(props[0])
	if d >= 9*5*5 {
		return nil, fmt.Errorf("lzma properties byte 0x%x: %w", d, errLZMA)
	}
	z := &lzmaReader{rc: rangeDec{src: src, buf: make([]byte, 64<<10)}}
	z.lc, d = d%9, d/9
	z.lp, z.pb = d%5, d/5
	dict := uint32(props[1]) | uint32(props[2])<<8 | uint32(props[3])<<16 | uint32(props[4])<<24
	dict = max(dict, lzMinDict)
	z.win = make([]byte, dict)
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
	if !z.initialized {
		z.initialized = true
		if z.rc.next() != 0 {
			z.err = errLZMA
			return
		}
		for i := 0; i < 4; i++ {
			z.rc.code = z.rc.code<<8 | uint32(z.rc.next())
		}
		z.rc.rng = 0xFFFFFFFF
		if z.rc.ended {
			z.done = true // empty input: no data
			return
		}
	}
	win := z.win
	wsize := len(win)
	rc := z.rc
	state := z.state
	rep0, rep1, rep2, rep3 := z.rep0, z.rep1, z.rep2, z.rep3
	wpos := z.wpos
	produced := 0
	pbMask := uint32(1)<<z.pb - 1
	lpMask := uint32(1)<<z.lp - 1
	lc := z.lc

	put := func(b byte) {
		win[wpos] = b
		wpos++
		if wpos == wsize {
			wpos = 0
		}
	}
	at := func(dist uint32) byte { // byte dist+1 back
		i := wpos - int(dist) - 1
		if i < 0 {
			i += wsize
		}
		return win[i]
	}
	copyMatch := func(n int) {
		for n > 0 && produced < limit {
			src := wpos - int(rep0) - 1
			if src < 0 {
				src += wsize
			}
			k := min(n, limit-produced, wsize-wpos, wsize-src, int(rep0)+1)
			copy(win[wpos:wpos+k], win[src:src+k])
			wpos += k
			if wpos == wsize {
				wpos = 0
			}
			produced += k
			n -= k
		}
		z.pending = n
	}
	total := z.total
	if z.pending > 0 {
		p0 := produced
		copyMatch(z.pending)
		total += uint64(produced - p0)
	}
	// A stream without an end marker ends where its input does: the symbol that asked for
	// a byte past the end is dropped (a truncated stream is then caught by the length the
	// caller expects).
	sw, sp, st := wpos, produced, total
	for produced < limit && z.pending == 0 {
		if rc.ended {
			break
		}
		sw, sp, st = wpos, produced, total
		posState := uint32(total) & pbMask
		if rc.rng < 1<<24 {
			rc.norm()
		}
		pm := &z.isMatch[(state<<lzPosBitsMax+posState)%uint32(len(z.isMatch))]
		vm := uint32(*pm)
		if bound := (rc.rng >> 11) * vm; rc.code < bound {
			rc.rng = bound
			*pm = uint16(vm + (2048-vm)>>5)
			prev := uint32(0)
			if total > 0 {
				prev = uint32(at(0))
			}
			probs := z.lit[0x300*((uint32(total)&lpMask)<<lc+prev>>(8-lc)):][:0x300]
			sym := uint32(1)
			rng, code := rc.rng, rc.code
			if state >= 7 {
				match := uint32(at(rep0))
				for sym < 0x100 {
					mb := match >> 7 & 1
					match <<= 1
					if rng < 1<<24 {
						rng <<= 8
						if rc.ip < len(rc.in) {
							code = code<<8 | uint32(rc.in[rc.ip])
							rc.ip++
						} else {
							code = code<<8 | uint32(rc.refill())
						}
					}
					p := &probs[(1+mb)<<8+sym]
					v := uint32(*p)
					bound := (rng >> 11) * v
					var b uint32
					if code < bound {
						rng = bound
						*p = uint16(v + (2048-v)>>5)
					} else {
						rng -= bound
						code -= bound
						*p = uint16(v - v>>5)
						b = 1
					}
					sym = sym<<1 | b
					if b != mb {
						break
					}
				}
			}
			for sym < 0x100 {
				if rng < 1<<24 {
					rng <<= 8
					if rc.ip < len(rc.in) {
						code = code<<8 | uint32(rc.in[rc.ip])
						rc.ip++
					} else {
						code = code<<8 | uint32(rc.refill())
					}
				}
				p := &probs[sym]
				v := uint32(*p)
				bound := (rng >> 11) * v
				if code < bound {
					rng = bound
					*p = uint16(v + (2048-v)>>5)
					sym <<= 1
				} else {
					rng -= bound
					code -= bound
					*p = uint16(v - v>>5)
					sym = sym<<1 | 1
				}
			}
			rc.rng, rc.code = rng, code
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
		} else {
			rc.rng -= bound
			rc.code -= bound
			*pm = uint16(vm - vm>>5)
		}
		var n uint32
		if rc.bit(&z.isRep[state]) != 0 {
			if total == 0 {
				z.err = errLZMA
				break
			}
			if rc.bit(&z.isRepG0[state]) == 0 {
				if rc.bit(&z.isRep0Long[state<<lzPosBitsMax+posState]) == 0 {
					if state < 7 {
						state = 9
					} else {
						state = 11
					}
					put(at(rep0))
					produced++
					total++
					continue
				}
			} else {
				var dist uint32
				if rc.bit(&z.isRepG1[state]) == 0 {
					dist = rep1
				} else {
					if rc.bit(&z.isRepG2[state]) == 0 {
						dist = rep2
					} else {
						dist, rep3 = rep3, rep2
					}
					rep2 = rep1
				}
				rep1, rep0 = rep0, dist
			}
			n = rc.length(&z.repLenDec, posState)
			if state < 7 {
				state = 8
			} else {
				state = 11
			}
		} else {
			rep3, rep2, rep1 = rep2, rep1, rep0
			n = rc.length(&z.lenDec, posState)
			if state < 7 {
				state = 7
			} else {
				state = 10
			}
			lenState := min(n-2, 3)
			slot := rc.tree(z.posSlot[lenState][:], 6)
			if slot < 4 {
				rep0 = slot
			} else {
				direct := uint(slot>>1) - 1
				dist := (2 | slot&1) << direct
				if slot < 14 {
					dist += rc.reverse(z.posDec[dist-slot:], direct)
				} else {
					dist += rc.direct(direct-4)<<4 + rc.reverse(z.align[:], 4)
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
		p0 := produced
		copyMatch(int(n))
		total += uint64(produced - p0)
	}
	if rc.ended && !z.done && z.err == nil {
		wpos, produced, total = sw, sp, st
		z.pending = 0
		z.done = true
	}
	z.rc = rc
	z.state = state
	z.rep0, z.rep1, z.rep2, z.rep3 = rep0, rep1, rep2, rep3
	z.wpos, z.total = wpos, total
	z.avail += produced
}
