// Package quantum decodes Quantum-compressed cabinet folders.
//
// API (block-oriented, because cabinet framing forces it):
//
//	NewDecoder(windowBits int) *Decoder
//	(*Decoder).Decode(dst, src []byte) error  // one CFDATA block: src = payload, len(dst) = cbUncomp
//
// and, for callers that already concatenate payloads,
//
//	NewReader(r io.Reader, windowBits int, size int64) (io.Reader, error)
//
// where r must yield each CFDATA payload followed by one 0xFF byte. The delimiter is the
// reason for the block API: at the end of every 32 KiB frame the decoder realigns to a byte
// and skips to the end of the block, and a block may end with 0 to 4 padding bytes that
// cannot be told apart from the next block's data. libmspack (qtmd.c, the reference the
// format is known from; Quantum was designed by David Stafford and researched by Matthew
// Russotto) inserts a 0xFF after each block and skips to it; this package does the same.
//
// The format: an adaptive arithmetic coder (16-bit H/L/C registers, restarted at every
// frame) over nine models: a 7-symbol selector, four 64-symbol literal models, fixed-length
// 3- and 4-byte match position models, and a variable-length match with its own length
// model; symbol frequencies grow by 8 and are halved (or rebuilt and resorted every 50th
// time) when the total passes 3800. Window 2^10..2^21 bytes; the compression level in the
// CFFOLDER typeCompress does not affect decoding.
//
// Input is hostile: every loop consumes input or produces output, a match may not run past
// its frame or reach before the first decoded byte, the window is the only allocation that
// grows with the parameters (at most 2 MiB), and errors are *unpack.FormatError values
// with Format "quantum" wrapping unpack.ErrFormat.
package quantum

import (
	"fmt"
	"io"

	"github.com/rollgate/rollgate/unpack"
)

const (
	MinWindowBits = 10
	MaxWindowBits = 21
	// FrameSize is the output frame, in bytes; each CFDATA block holds one frame.
	FrameSize = 32768

	// maxFake is how many zero bytes the decoder may read past the end of its input
	// (libmspack supplies 2 at the very end; the bit reader here reads byte by byte).
	maxFake = 4
	// maxPending bounds the compressed bytes queued but not yet consumed in block mode.
	maxPending = 1 << 20
	// maxMatch is the longest match: length_base[26] + 5.
	maxMatch = 259
	// trailerScan bounds the bytes skipped looking for a frame's 0xFF delimiter.
	trailerScan = 1 << 17
)

var (
	positionBase [42]uint32
	extraBits    [42]uint8
	lengthBase   [27]uint16
	lengthExtra  [27]uint8
)

func init() {
	off := uint32(0)
	for i := range 42 {
		positionBase[i] = off
		if i >= 2 {
			extraBits[i] = uint8((i - 2) >> 1)
		}
		off += 1 << extraBits[i]
	}
	o := uint16(0)
	for i := range 26 {
		lengthBase[i] = o
		if i >= 2 {
			lengthExtra[i] = uint8((i - 2) >> 2)
		}
		o += 1 << lengthExtra[i]
	}
	lengthBase[26] = 254
	lengthExtra[26] = 0
}

type modelSym struct {
	sym, cumfreq uint16
}

// model is an adaptive frequency model; syms[entries] is a sentinel with cumfreq 0.
type model struct {
	shiftsLeft int
	entries    int
	syms       []modelSym
}

func newModel(start, n int) *model {
	m := &model{shiftsLeft: 4, entries: n, syms: make([]modelSym, n+1)}
	for i := range m.syms {
		m.syms[i] = modelSym{sym: uint16(start + i), cumfreq: uint16(n - i)}
	}
	return m
}

func (m *model) update() {
	s := m.syms
	m.shiftsLeft--
	if m.shiftsLeft != 0 {
		for i := m.entries - 1; i >= 0; i-- {
			s[i].cumfreq >>= 1
			if s[i].cumfreq <= s[i+1].cumfreq {
				s[i].cumfreq = s[i+1].cumfreq + 1
			}
		}
		return
	}
	m.shiftsLeft = 50
	for i := 0; i < m.entries; i++ {
		s[i].cumfreq -= s[i+1].cumfreq
		s[i].cumfreq++
		s[i].cumfreq >>= 1
	}
	// A selection sort by decreasing frequency: the encoder's exact (in)stability matters.
	for i := 0; i < m.entries-1; i++ {
		for j := i + 1; j < m.entries; j++ {
			if s[i].cumfreq < s[j].cumfreq {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	for i := m.entries - 1; i >= 0; i-- {
		s[i].cumfreq += s[i+1].cumfreq
	}
}

// Decoder decodes one folder's Quantum stream block by block.
type Decoder struct {
	winBits int
	winSize int
	window  []byte
	wpos    int
	total   int64 // bytes decoded so far
	err     error

	frameTodo  int
	headerRead bool
	h, l, c    uint16

	// input: in[pos:] is unread; r is the stream source (nil in block mode).
	in       []byte
	pos      int
	r        io.Reader
	eof      bool
	fake     int
	consumed int64 // compressed bytes before in[0], for error offsets
	bitbuf   uint64
	bitn     uint

	pending    []byte // decoded bytes not yet delivered (a match may overshoot a request)
	pendingBuf [maxMatch]byte

	literal                           [4]*model
	model4, model5, model6, model6len *model
	selector                          *model
}

// NewDecoder returns a decoder for one folder; windowBits (10..21) comes from the
// CFFOLDER typeCompress. An out-of-range window makes every Decode fail.
func NewDecoder(windowBits int) *Decoder {
	d := &Decoder{winBits: windowBits, frameTodo: FrameSize}
	if windowBits < MinWindowBits || windowBits > MaxWindowBits {
		d.err = &unpack.FormatError{Format: "quantum", Offset: -1, Msg: fmt.Sprintf("window size 2^%d outside 2^10..2^21", windowBits)}
		return d
	}
	d.winSize = 1 << windowBits
	d.window = make([]byte, d.winSize)
	i := windowBits * 2
	for k := range d.literal {
		d.literal[k] = newModel(64*k, 64)
	}
	d.model4 = newModel(0, min(i, 24))
	d.model5 = newModel(0, min(i, 36))
	d.model6 = newModel(0, i)
	d.model6len = newModel(0, 27)
	d.selector = newModel(0, 7)
	return d
}

// Decode decodes one CFDATA block: src is its payload and dst receives its cbUncomp
// decompressed bytes. Blocks must be passed in folder order. After an error the decoder
// stays failed.
func (d *Decoder) Decode(dst, src []byte) error {
	if d.err != nil {
		return d.err
	}
	if len(d.in)-d.pos+len(src) > maxPending {
		d.err = &unpack.FormatError{Format: "quantum", Offset: d.offset(), Msg: "compressed data left unconsumed across blocks", Err: unpack.ErrLimit}
		return d.err
	}
	// Queue src and its delimiter behind what the previous block left unread.
	rest := len(d.in) - d.pos
	d.consumed += int64(d.pos)
	buf := d.in[:0]
	if need := rest + len(src) + 1; cap(buf) < need {
		buf = make([]byte, 0, max(need, 32<<10))
	}
	buf = buf[:copy(buf[:rest], d.in[d.pos:])]
	buf = append(append(buf, src...), 0xFF)
	d.in, d.pos, d.fake = buf, 0, 0
	if err := d.produce(dst); err != nil {
		d.err = err
		return err
	}
	return nil
}

func (d *Decoder) offset() int64 { return d.consumed + int64(d.pos) }

func (d *Decoder) errorf(format string, args ...any) error {
	return &unpack.FormatError{Format: "quantum", Offset: d.offset(), Msg: fmt.Sprintf(format, args...)}
}

// nextByte returns the next compressed byte, refilling from r in stream mode and handing
// out up to maxFake zero bytes once the input is exhausted.
func (d *Decoder) nextByte() (byte, error) {
	if d.pos < len(d.in) {
		b := d.in[d.pos]
		d.pos++
		return b, nil
	}
	if d.r != nil && !d.eof {
		d.consumed += int64(len(d.in))
		if cap(d.in) == 0 {
			d.in = make([]byte, 0, 32<<10)
		}
		d.in, d.pos = d.in[:0], 0
		for tries := 0; tries < 100; tries++ {
			n, err := d.r.Read(d.in[:cap(d.in)])
			if n > 0 {
				d.in = d.in[:n]
				d.pos = 1
				return d.in[0], nil
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, fmt.Errorf("quantum: reading compressed data: %w", err)
			}
		}
		d.eof = true
	}
	if d.fake < maxFake {
		d.fake++
		return 0, nil
	}
	return 0, d.errorf("unexpected end of compressed data")
}

func (d *Decoder) bits(n uint) (uint32, error) {
	for d.bitn < n {
		b, err := d.nextByte()
		if err != nil {
			return 0, err
		}
		d.bitbuf |= uint64(b) << (56 - d.bitn)
		d.bitn += 8
	}
	v := uint32(d.bitbuf >> (64 - n))
	if n == 0 {
		v = 0
	}
	d.bitbuf <<= n
	d.bitn -= n
	return v, nil
}

// symbol decodes one symbol of m with the arithmetic decoder and adapts m.
func (d *Decoder) symbol(m *model) (int, error) {
	s := m.syms
	// 32-bit unsigned arithmetic, as in the reference decoder (its range is unsigned).
	h, l, c := uint32(d.h), uint32(d.l), uint32(d.c)
	rng := ((h - l) & 0xFFFF) + 1
	total := uint32(s[0].cumfreq)
	symf := (((c-l+1)*total - 1) / rng) & 0xFFFF
	i := 1
	for ; i < m.entries; i++ {
		if uint32(s[i].cumfreq) <= symf {
			break
		}
	}
	sym := int(s[i-1].sym)
	rng = h - l + 1
	h = l + (uint32(s[i-1].cumfreq)*rng)/total - 1
	l = l + (uint32(s[i].cumfreq)*rng)/total
	for k := 0; k < i; k++ {
		s[k].cumfreq += 8
	}
	if s[0].cumfreq > 3800 {
		m.update()
	}
	hh, ll, cc := uint16(h), uint16(l), uint16(c)
	for {
		if ll&0x8000 != hh&0x8000 {
			if ll&0x4000 != 0 && hh&0x4000 == 0 {
				// Underflow: the range straddles the midpoint.
				cc ^= 0x4000
				ll &= 0x3FFF
				hh |= 0x4000
			} else {
				break
			}
		}
		ll <<= 1
		hh = hh<<1 | 1
		b, err := d.bits(1)
		if err != nil {
			return 0, err
		}
		cc = cc<<1 | uint16(b)
	}
	d.h, d.l, d.c = hh, ll, cc
	return sym, nil
}

// produce fills dst with decoded bytes.
func (d *Decoder) produce(dst []byte) error {
	n := copy(dst, d.pending)
	d.pending = d.pending[n:]
	mask := d.winSize - 1
	for n < len(dst) {
		if !d.headerRead {
			c, err := d.bits(16)
			if err != nil {
				return err
			}
			d.h, d.l, d.c = 0xFFFF, 0, uint16(c)
			d.headerRead = true
		}
		start := d.wpos
		sel, err := d.symbol(d.selector)
		if err != nil {
			return err
		}
		var length int
		if sel < 4 {
			sym, err := d.symbol(d.literal[sel])
			if err != nil {
				return err
			}
			d.window[d.wpos] = byte(sym)
			d.wpos = (d.wpos + 1) & mask
			length = 1
		} else {
			var off uint32
			var m *model
			switch sel {
			case 4:
				m, length = d.model4, 3
			case 5:
				m, length = d.model5, 4
			case 6:
				sym, err := d.symbol(d.model6len)
				if err != nil {
					return err
				}
				extra, err := d.bits(uint(lengthExtra[sym]))
				if err != nil {
					return err
				}
				length = int(lengthBase[sym]) + int(extra) + 5
				m = d.model6
			default:
				return d.errorf("selector %d", sel)
			}
			sym, err := d.symbol(m)
			if err != nil {
				return err
			}
			extra, err := d.bits(uint(extraBits[sym]))
			if err != nil {
				return err
			}
			off = positionBase[sym] + extra + 1
			if length > d.frameTodo {
				return d.errorf("match of %d bytes runs past the end of its frame", length)
			}
			if int64(off) > d.total || int(off) > d.winSize {
				return d.errorf("match offset %d beyond the decoded data", off)
			}
			src := d.wpos - int(off)
			for k := range length {
				d.window[(d.wpos+k)&mask] = d.window[(src+k)&mask]
			}
			d.wpos = (d.wpos + length) & mask
		}
		d.total += int64(length)
		d.frameTodo -= length
		// Deliver the new bytes; what dst cannot take waits in pending.
		for k := range length {
			b := d.window[(start+k)&mask]
			if n < len(dst) {
				dst[n] = b
				n++
			} else {
				if len(d.pending) == 0 {
					d.pending = d.pendingBuf[:0]
				}
				d.pending = append(d.pending, b)
			}
		}
		if d.frameTodo == 0 {
			if err := d.trailer(); err != nil {
				return err
			}
		}
	}
	return nil
}

// trailer ends a frame: realign to a byte and skip to the 0xFF block delimiter.
func (d *Decoder) trailer() error {
	d.bitbuf <<= d.bitn & 7
	d.bitn -= d.bitn & 7
	for i := 0; ; i++ {
		if i >= trailerScan {
			return d.errorf("no block delimiter after frame")
		}
		b, err := d.bits(8)
		if err != nil {
			return err
		}
		if b == 0xFF {
			break
		}
	}
	d.headerRead = false
	d.frameTodo = FrameSize
	return nil
}

// NewReader returns a reader of the size decompressed bytes of a Quantum folder. r must
// yield the folder's CFDATA payloads, each followed by one 0xFF delimiter byte (see the
// package documentation); prefer the block API, which adds the delimiters itself.
func NewReader(r io.Reader, windowBits int, size int64) (io.Reader, error) {
	d := NewDecoder(windowBits)
	if d.err != nil {
		return nil, d.err
	}
	if size < 0 {
		return nil, &unpack.FormatError{Format: "quantum", Offset: -1, Msg: fmt.Sprintf("negative uncompressed size %d", size)}
	}
	d.r = r
	return &reader{d: d, left: size}, nil
}

type reader struct {
	d    *Decoder
	left int64
}

func (r *reader) Read(p []byte) (int, error) {
	if r.d.err != nil {
		return 0, r.d.err
	}
	if r.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	if len(p) > FrameSize {
		p = p[:FrameSize]
	}
	if err := r.d.produce(p); err != nil {
		r.d.err = err
		return 0, err
	}
	r.left -= int64(len(p))
	return len(p), nil
}
