// Package adc decodes Apple Data Compression (ADC), the LZ77 variant of old UDIF images
// (chunk type 0x80000004). The format, as described by macdisk.com's "DMG format" notes and
// implemented by 7-Zip and libdmg-hfsplus, is a byte stream of three op kinds:
//
//	1xxxxxxx                       literal run of (x+1) bytes follows
//	01xxxxxx hhhhhhhh llllllll     copy (x+4) bytes from distance (h<<8|l)+1
//	00xxxxyy dddddddd              copy (x+3) bytes from distance (y<<8|d)+1
//
// Distances reach back at most 65536 bytes, so the decoder keeps a 64 KiB window.
package adc

import (
	"bufio"
	"errors"
	"io"

	"github.com/rollgate/rollgate/unpack"
)

const window = 1 << 16

// Reader decodes an ADC stream.
type Reader struct {
	r    *bufio.Reader
	hist []byte // ring of the last window bytes
	pos  int64  // bytes produced
	run  int    // pending copy length
	lit  bool   // pending run is a literal
	dist int
	err  error
	in   int64 // input bytes consumed
}

// NewReader returns a decoder reading compressed bytes from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReader(r), hist: make([]byte, window)}
}

func (z *Reader) byte() (byte, error) {
	b, err := z.r.ReadByte()
	if err == nil {
		z.in++
	}
	return b, err
}

func (z *Reader) fail(msg string) error {
	z.err = &unpack.FormatError{Format: "adc", Offset: z.in, Msg: msg}
	return z.err
}

// Read implements io.Reader.
func (z *Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if z.err != nil {
			break
		}
		if z.run == 0 {
			op, err := z.byte()
			if err != nil {
				if err == io.EOF {
					z.err = io.EOF
				} else {
					z.err = err
				}
				break
			}
			switch {
			case op&0x80 != 0:
				z.run, z.lit = int(op&0x7f)+1, true
			case op&0x40 != 0:
				h, err1 := z.byte()
				l, err2 := z.byte()
				if err1 != nil || err2 != nil {
					z.fail("truncated three-byte op")
					break
				}
				z.run, z.lit, z.dist = int(op&0x3f)+4, false, int(h)<<8|int(l)+1
			default:
				d, err := z.byte()
				if err != nil {
					z.fail("truncated two-byte op")
					break
				}
				z.run, z.lit, z.dist = int(op>>2&0xf)+3, false, int(op&3)<<8|int(d)+1
			}
			if !z.lit && int64(z.dist) > z.pos && z.err == nil {
				z.err = &unpack.FormatError{Format: "adc", Offset: z.in, Msg: "back-reference before the start of the output"}
			}
			continue
		}
		k := min(z.run, len(p)-n)
		if z.lit {
			m, err := io.ReadFull(z.r, p[n:n+k])
			z.in += int64(m)
			z.remember(p[n : n+m])
			z.run -= m
			n += m
			if err != nil {
				z.fail("truncated literal run")
				break
			}
			continue
		}
		for j := 0; j < k; j++ {
			b := z.hist[(z.pos-int64(z.dist))&(window-1)]
			z.hist[z.pos&(window-1)] = b
			z.pos++
			p[n+j] = b
		}
		z.run -= k
		n += k
	}
	if n > 0 {
		return n, nil
	}
	return 0, z.err
}

// remember appends literal bytes to the history ring.
func (z *Reader) remember(b []byte) {
	for len(b) > 0 {
		at := int(z.pos & (window - 1))
		c := copy(z.hist[at:], b)
		z.pos += int64(c)
		b = b[c:]
	}
}

// Decode decodes src completely, producing at most max bytes.
func Decode(src []byte, max int) ([]byte, error) {
	r := NewReader(bytesReader(src))
	out := make([]byte, 0, min(max, 4*len(src)))
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if len(out)+n > max {
			return out, &unpack.FormatError{Format: "adc", Offset: r.in, Msg: "output exceeds the expected size", Err: unpack.ErrLimit}
		}
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

type sliceReader struct{ b []byte }

func bytesReader(b []byte) *sliceReader { return &sliceReader{b} }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}
