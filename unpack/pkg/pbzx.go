package pkg

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/xz"
)

// Limits for pbzx payloads.
const (
	// MaxPbzxChunk bounds one chunk's uncompressed size; Apple writes 16 MiB chunks.
	MaxPbzxChunk = 256 << 20
	// MaxXZDict bounds the dictionary an xz chunk may ask for (xz -9 uses 64 MiB).
	MaxXZDict = 64 << 20
)

var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0}

// pbzxReader decodes Apple's pbzx stream: "pbzx", a big-endian u64 chunk size, then chunks
// of (u64 flags, u64 length, data). The data is an xz stream, or stored when it does not
// start with the xz magic. Bit 24 of the flags says another chunk follows; the stream also
// ends cleanly at EOF on a chunk boundary.
type pbzxReader struct {
	r     io.Reader
	off   int64
	cur   io.Reader
	left  int64 // bytes the current chunk may still yield
	more  bool
	total int64
	err   error
}

// NewPbzxReader returns a reader of the decompressed content of the pbzx stream r.
func NewPbzxReader(r io.Reader) (io.Reader, error) {
	var h [12]byte
	if _, err := io.ReadFull(r, h[:]); err != nil || string(h[:4]) != "pbzx" {
		return nil, &unpack.FormatError{Format: "pbzx", Offset: 0, Msg: "not a pbzx stream"}
	}
	flags := binary.BigEndian.Uint64(h[4:])
	return &pbzxReader{r: r, off: 12, more: flags&(1<<24) != 0}, nil
}

func (p *pbzxReader) fail(off int64, format string, args ...any) error {
	p.err = &unpack.FormatError{Format: "pbzx", Offset: off, Msg: fmt.Sprintf(format, args...)}
	return p.err
}

func (p *pbzxReader) Read(b []byte) (int, error) {
	for {
		if p.err != nil {
			return 0, p.err
		}
		if p.cur == nil {
			if err := p.nextChunk(); err != nil {
				return 0, err
			}
			continue
		}
		if len(b) == 0 {
			return 0, nil
		}
		n, err := p.cur.Read(b)
		p.left -= int64(n)
		p.total += int64(n)
		if p.left < 0 {
			return 0, p.fail(p.off, "chunk yields more than its declared %d bytes", MaxPbzxChunk)
		}
		if p.total > unpack.MaxExpandedBytes {
			p.err = &unpack.FormatError{Format: "pbzx", Offset: p.off, Msg: "payload expands beyond the limit", Err: unpack.ErrLimit}
			return 0, p.err
		}
		if err == io.EOF {
			p.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err != nil {
			// Keep the xz error's sentinel (ErrLimit for a dictionary above the cap).
			p.err = fmt.Errorf("pbzx: xz chunk before 0x%x: %w", p.off, err)
			return n, p.err
		}
		return n, nil
	}
}

func (p *pbzxReader) nextChunk() error {
	var h [16]byte
	n, err := io.ReadFull(p.r, h[:])
	if n == 0 && err == io.EOF {
		if p.more {
			return p.fail(p.off, "stream ends where a chunk was announced")
		}
		p.err = io.EOF
		return io.EOF
	}
	if err != nil {
		return p.fail(p.off, "truncated chunk header")
	}
	if !p.more {
		return p.fail(p.off, "chunk after the last one")
	}
	flags := binary.BigEndian.Uint64(h[:])
	length := binary.BigEndian.Uint64(h[8:])
	p.more = flags&(1<<24) != 0
	if length == 0 || length > MaxPbzxChunk {
		return p.fail(p.off, "chunk of %d bytes", length)
	}
	p.off += 16
	body := &countReader{r: io.LimitReader(p.r, int64(length))}
	start := p.off
	p.off += int64(length)
	var magic [6]byte
	k, _ := io.ReadFull(body, magic[:])
	head := io.MultiReader(bytes.NewReader(magic[:k]), body)
	if k == 6 && bytes.Equal(magic[:], xzMagic) {
		zr, err := xz.NewReader(head, MaxXZDict)
		if err != nil {
			// The xz error keeps its sentinel (ErrLimit for a dictionary above the cap).
			p.err = fmt.Errorf("pbzx: xz chunk at 0x%x: %w", start, err)
			return p.err
		}
		p.cur = &drainOnEOF{r: zr, body: body, want: int64(length), at: start, p: p}
		p.left = MaxPbzxChunk
		return nil
	}
	p.cur = &drainOnEOF{r: head, body: body, want: int64(length), at: start, p: p}
	p.left = int64(length)
	return nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// drainOnEOF makes sure a chunk's bytes are consumed exactly: a decoder that stops early
// leaves padding, which is skipped; a body shorter than its length is an error.
type drainOnEOF struct {
	r    io.Reader
	body *countReader
	want int64
	at   int64
	p    *pbzxReader
}

func (d *drainOnEOF) Read(b []byte) (int, error) {
	n, err := d.r.Read(b)
	if err == io.EOF {
		io.Copy(io.Discard, d.body)
		if d.body.n != d.want {
			return n, d.p.fail(d.at, "chunk of %d bytes ends after %d", d.want, d.body.n)
		}
	}
	return n, err
}
