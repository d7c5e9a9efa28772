package lzx

import (
	"errors"
	"fmt"
	"io"

	"github.com/rollgate/rollgate/unpack"
)

const (
	// inputChunk is how much compressed input is buffered at once, in bytes.
	inputChunk = 32 << 10
	// keepBytes is how many already-consumed bytes survive a buffer refill so that the
	// whole 16-bit words still held in the bit buffer can be handed back (unread) when an
	// uncompressed block switches the stream to byte mode. The bit buffer holds at most 64
	// bits, so 8 bytes is enough.
	keepBytes = 8
	// fakeBytes zero bytes are appended once the input ends: the bit buffer reads ahead of
	// the decoder, and libmspack likewise lets a decoder run 16 bits past the end. A refill
	// that needs more than these fails, so decoding always stops when the input is gone.
	fakeBytes = 8
)

// bitReader reads the LZX bitstream: 16-bit little-endian words, each consumed from its
// most significant bit. buf holds n valid bits aligned at bit 63.
type bitReader struct {
	buf uint64
	n   uint
	in  []byte // buffered input; in[pos:] is not yet in buf
	pos int
	r   io.Reader
	// base is the stream offset of in[0], for error messages.
	base int64
	// real is len(in) minus the fake zero bytes appended at the end of input.
	real int
	eof  bool
	err  error // sticky read error
}

func newBitReader(r io.Reader) *bitReader {
	return &bitReader{r: r, in: make([]byte, 0, inputChunk+keepBytes+fakeBytes)}
}

// offset returns the stream offset of the next unconsumed bit's word, approximately: the
// bytes loaded into the bit buffer but not yet consumed are subtracted.
func (b *bitReader) offset() int64 {
	return b.base + int64(b.pos) - int64(b.n/8)
}

// more makes at least one more byte available in in[pos:], or appends the fake zero
// bytes at the end of input, or fails.
func (b *bitReader) more() error {
	if b.err != nil {
		return b.err
	}
	if b.eof {
		b.err = &unpack.FormatError{Format: "lzx", Offset: b.base + int64(b.real), Msg: "unexpected end of compressed data"}
		return b.err
	}
	// Slide: keep the unconsumed tail and keepBytes bytes before it.
	keep := min(b.pos, keepBytes)
	start := b.pos - keep
	m := copy(b.in[:cap(b.in)], b.in[start:])
	b.base += int64(start)
	b.pos = keep
	b.in = b.in[:m]
	for tries := 0; ; tries++ {
		k, err := b.r.Read(b.in[len(b.in) : cap(b.in)-fakeBytes])
		b.in = b.in[:len(b.in)+k]
		if k > 0 {
			b.real = len(b.in)
			return nil
		}
		if err == io.EOF || (err == nil && tries >= 100) {
			break
		}
		if err != nil {
			b.err = fmt.Errorf("lzx: reading compressed data: %w", err)
			return b.err
		}
	}
	b.eof = true
	b.real = len(b.in)
	for range fakeBytes {
		b.in = append(b.in, 0)
	}
	return nil
}

// fill loads whole words until more than 48 bits are buffered.
func (b *bitReader) fill() error {
	for b.n <= 48 {
		if b.pos+2 > len(b.in) {
			if err := b.more(); err != nil {
				return err
			}
			continue
		}
		b.buf |= uint64(b.in[b.pos+1])<<(56-b.n) | uint64(b.in[b.pos])<<(48-b.n)
		b.n += 16
		b.pos += 2
	}
	return nil
}

// bits reads k ≤ 32 bits.
func (b *bitReader) bits(k uint) (uint32, error) {
	if k == 0 {
		return 0, nil
	}
	if b.n < k {
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	v := uint32(b.buf >> (64 - k))
	b.buf <<= k
	b.n -= k
	return v, nil
}

// alignWord drops the rest of a partially consumed 16-bit word.
func (b *bitReader) alignWord() {
	r := b.n & 15
	b.buf <<= r
	b.n -= r
}

// toBytes switches to byte mode for an uncompressed block: it discards 1 to 16 bits to
// reach a word boundary (a whole word when already aligned, as the format requires) and
// hands the whole words left in the bit buffer back to the byte input.
func (b *bitReader) toBytes() error {
	if b.n&15 == 0 {
		if b.n == 0 {
			if err := b.fill(); err != nil {
				return err
			}
		}
		b.buf <<= 16
		b.n -= 16
	} else {
		b.alignWord()
	}
	b.pos -= int(b.n / 8)
	b.buf, b.n = 0, 0
	if b.pos < 0 {
		// Cannot happen: keepBytes covers the bit buffer.
		return errors.New("lzx: internal error: unread past buffer")
	}
	return nil
}

// readBytes copies len(p) raw bytes from the input in byte mode.
func (b *bitReader) readBytes(p []byte) error {
	for len(p) > 0 {
		end := len(b.in)
		if b.eof {
			end = b.real
		}
		if b.pos < end {
			k := copy(p, b.in[b.pos:end])
			b.pos += k
			p = p[k:]
			continue
		}
		if b.eof {
			return &unpack.FormatError{Format: "lzx", Offset: b.base + int64(b.real), Msg: "unexpected end of uncompressed block"}
		}
		if err := b.more(); err != nil {
			return err
		}
	}
	return nil
}

// skipPad skips the padding byte after an odd-sized uncompressed block. A missing pad at
// the very end of the input is tolerated, as libmspack does.
func (b *bitReader) skipPad() error {
	if b.pos >= len(b.in) && !b.eof {
		if err := b.more(); err != nil {
			return err
		}
	}
	if b.pos < len(b.in) {
		b.pos++
	}
	return nil
}
