// Package lzx decodes LZX-compressed cabinet folders.
//
// API: NewReader(r io.Reader, windowBits int, size int64) (io.Reader, error), where r yields
// the concatenation of one folder's CFDATA payloads and size is the folder's total
// uncompressed size. The LZX bitstream realigns to 16 bits at every 32 KiB output frame
// and each CFDATA block carries exactly one frame, so the plain concatenation is a valid
// stream and no per-block API is needed. (The sibling package quantum does need block
// boundaries and adds NewDecoder(windowBits).Decode(dst, src) per CFDATA block; its
// NewReader wants each payload followed by a 0xFF delimiter. See its package comment.)
//
// The format follows Microsoft's cabinet LZX description and [MS-PATCH] "LZX DELTA
// Compression and Decompression" with the errata libmspack documents (lzxd.c), whose
// behaviour is the reference for what real cabinets contain:
//   - window 2^15..2^21 bytes, 30..50 position slots, 256+8*slots main-tree symbols,
//     a 249-symbol length tree, a 20-symbol pretree and an 8-symbol aligned-offset tree;
//   - a one-time header: 1 bit, then a 32-bit Intel E8 translation file size if set;
//   - block header: 3-bit type, 24-bit uncompressed size; verbatim (1), aligned (2) and
//     uncompressed (3) blocks; tree lengths are pretree-coded deltas (mod 17) from the
//     previous block's lengths; an uncompressed block drops 1..16 bits to a word
//     boundary, carries R0..R2 as three little-endian 32-bit values and is padded to an
//     even length;
//   - repeated offsets R0..R2 start at 1; blocks span frames but a match may not cross the
//     end of its block or frame (libmspack refuses those too);
//   - after each 32 KiB frame the bitstream realigns to 16 bits; E8 translation applies to
//     the first 32768 frames, each except its last 10 bytes, once an E8 literal was
//     possible (main tree with a length for 0xE8, or an uncompressed block);
//   - cabinets never reset the stream inside a folder (reset interval 0): state starts
//     afresh with each folder, that is, each NewReader.
//
// Input is hostile: Huffman tables are validated (over-subscribed or incomplete trees are
// errors), matches are checked against the bytes decoded so far, the window, the block and
// the frame, output never exceeds size, every loop consumes input or produces output, and
// memory is bounded by the window (at most 2 MiB) regardless of the claimed size. Errors
// are *unpack.FormatError values with Format "lzx" wrapping unpack.ErrFormat.
package lzx

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/rollgate/rollgate/unpack"
)

// Format constants from the LZX specification.
const (
	MinWindowBits = 15
	MaxWindowBits = 21
	// FrameSize is the output frame, in bytes; each CFDATA block holds one frame.
	FrameSize = 32768

	numChars          = 256
	numPrimaryLengths = 7
	numSecondaryLens  = 249
	minMatch          = 2
	pretreeSymbols    = 20
	alignedSymbols    = 8
	maxSlots          = 50
	maxMainSymbols    = numChars + maxSlots*8
	// lenSafety: a pretree run may write past the last symbol of a tree (libmspack keeps
	// the same slack); the overflow is kept because the next pass reads it as deltas.
	lenSafety = 64
	// e8Frames: E8 translation stops after this many frames (1 GiB of output).
	e8Frames = 32768

	mainTableBits    = 11
	lengthTableBits  = 10
	pretreeTableBits = 6
	alignedTableBits = 7

	blockVerbatim     = 1
	blockAligned      = 2
	blockUncompressed = 3
)

var slotsForWindow = [...]int{30, 32, 34, 36, 38, 42, 50} // index windowBits-15

var (
	extraBits    [maxSlots]uint8
	positionBase [maxSlots]uint32
)

func init() {
	for i := range maxSlots {
		switch {
		case i < 4:
			extraBits[i] = 0
		case i < 36:
			extraBits[i] = uint8(i/2 - 1)
		default:
			extraBits[i] = 17
		}
		if i > 0 {
			positionBase[i] = positionBase[i-1] + 1<<extraBits[i-1]
		}
	}
}

var (
	errEmptyTree      = errors.New("empty Huffman tree")
	errOversubscribed = errors.New("over-subscribed Huffman tree")
	errIncomplete     = errors.New("incomplete Huffman tree")
	errBadCode        = errors.New("invalid Huffman code")
)

// NewReader returns a reader of the size decompressed bytes of an LZX stream as stored in
// a cabinet folder. windowBits (15..21) comes from the CFFOLDER typeCompress.
func NewReader(r io.Reader, windowBits int, size int64) (io.Reader, error) {
	if windowBits < MinWindowBits || windowBits > MaxWindowBits {
		return nil, &unpack.FormatError{Format: "lzx", Offset: -1, Msg: fmt.Sprintf("window size 2^%d outside 2^15..2^21", windowBits)}
	}
	if size < 0 {
		return nil, &unpack.FormatError{Format: "lzx", Offset: -1, Msg: fmt.Sprintf("negative uncompressed size %d", size)}
	}
	return &reader{d: newDecoder(r, windowBits, size)}, nil
}

type reader struct {
	d       *decoder
	pending []byte
	err     error
}

func (r *reader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.d.out >= r.d.size {
			r.err = io.EOF
			continue
		}
		frame, err := r.d.frame()
		if err != nil {
			r.err = err
			return 0, err
		}
		r.pending = frame
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// WriteTo lets io.Copy skip an intermediate buffer.
func (r *reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(r.pending) == 0 {
			if r.err != nil {
				if r.err == io.EOF {
					return total, nil
				}
				return total, r.err
			}
			if r.d.out >= r.d.size {
				r.err = io.EOF
				continue
			}
			frame, err := r.d.frame()
			if err != nil {
				r.err = err
				return total, err
			}
			r.pending = frame
		}
		n, err := w.Write(r.pending)
		total += int64(n)
		r.pending = r.pending[n:]
		if err != nil {
			return total, err
		}
	}
}

type decoder struct {
	br      *bitReader
	winBits int
	winSize int // logical window size, 1<<winBits
	window  []byte
	slots   int
	size    int64 // total output
	out     int64 // bytes handed out (whole frames so far)
	frames  uint64

	wpos       int // write position in window
	frameStart int // window position of the current frame

	headerRead    bool
	intelFileSize int32
	intelStarted  bool

	blockType      int
	blockLength    int
	blockRemaining int
	r0, r1, r2     uint32

	mainLens   [maxMainSymbols + lenSafety]uint8
	lengthLens [numSecondaryLens + lenSafety]uint8
	pretreeLen [pretreeSymbols]uint8
	alignedLen [alignedSymbols]uint8

	main, length, pretree, aligned *huffman

	e8buf []byte
}

func newDecoder(r io.Reader, windowBits int, size int64) *decoder {
	d := &decoder{
		br:      newBitReader(r),
		winBits: windowBits,
		winSize: 1 << windowBits,
		slots:   slotsForWindow[windowBits-MinWindowBits],
		size:    size,
		r0:      1, r1: 1, r2: 1,
		main:    newHuffman(mainTableBits, maxMainSymbols),
		length:  newHuffman(lengthTableBits, numSecondaryLens),
		pretree: newHuffman(pretreeTableBits, pretreeSymbols),
		aligned: newHuffman(alignedTableBits, alignedSymbols),
	}
	d.length.empty = true
	// A folder smaller than the window never wraps it, so allocate only what the output
	// can fill (rounded up to whole frames).
	alloc := int64(d.winSize)
	if need := (size + FrameSize - 1) / FrameSize * FrameSize; need < alloc {
		alloc = need
	}
	d.window = make([]byte, alloc)
	return d
}

func (d *decoder) errorf(format string, args ...any) error {
	return &unpack.FormatError{Format: "lzx", Offset: d.br.offset(), Msg: fmt.Sprintf(format, args...)}
}

// wrapErr turns a table or bit-reader error into a positioned FormatError.
func (d *decoder) wrapErr(what string, err error) error {
	var fe *unpack.FormatError
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, errEmptyTree) || errors.Is(err, errOversubscribed) || errors.Is(err, errIncomplete) || errors.Is(err, errBadCode) {
		return d.errorf("%s: %v", what, err)
	}
	return err
}

// frame decodes the next output frame and returns it (valid until the next call).
func (d *decoder) frame() ([]byte, error) {
	br := d.br
	if !d.headerRead {
		v, err := br.bits(1)
		if err != nil {
			return nil, err
		}
		if v == 1 {
			hi, err := br.bits(16)
			if err != nil {
				return nil, err
			}
			lo, err := br.bits(16)
			if err != nil {
				return nil, err
			}
			d.intelFileSize = int32(hi<<16 | lo)
		}
		d.headerRead = true
	}
	fsize := FrameSize
	if rem := d.size - d.out; rem < int64(fsize) {
		fsize = int(rem)
	}
	if d.frameStart+fsize > len(d.window) {
		// Cannot happen: the window is a whole number of frames covering size.
		return nil, d.errorf("frame beyond window")
	}
	frameEnd := d.frameStart + fsize
	for d.wpos < frameEnd {
		if d.blockRemaining == 0 {
			if err := d.readBlockHeader(); err != nil {
				return nil, d.wrapErr("block header", err)
			}
			continue
		}
		run := min(d.blockRemaining, frameEnd-d.wpos)
		switch d.blockType {
		case blockVerbatim, blockAligned:
			if err := d.decodeRun(d.wpos + run); err != nil {
				return nil, d.wrapErr("block data", err)
			}
		case blockUncompressed:
			if err := br.readBytes(d.window[d.wpos : d.wpos+run]); err != nil {
				return nil, err
			}
			d.wpos += run
		}
		d.blockRemaining -= run
	}
	// Realign the bitstream to 16 bits at the end of every frame.
	br.alignWord()

	data := d.window[d.frameStart:frameEnd]
	if d.intelStarted && d.intelFileSize != 0 && d.frames < e8Frames && fsize > 10 {
		if d.e8buf == nil {
			d.e8buf = make([]byte, FrameSize)
		}
		buf := d.e8buf[:fsize]
		copy(buf, data)
		e8Translate(buf, int32(d.out), d.intelFileSize)
		data = buf
	}
	d.out += int64(fsize)
	d.frames++
	d.frameStart = frameEnd
	if d.frameStart == d.winSize {
		d.frameStart = 0
	}
	if d.wpos == d.winSize {
		d.wpos = 0
	}
	return data, nil
}

// e8Translate undoes the encoder's conversion of x86 CALL targets (E8 xx xx xx xx) from
// relative to absolute, for one frame starting at output offset curpos.
func e8Translate(buf []byte, curpos, fileSize int32) {
	end := len(buf) - 10
	for i := 0; i < end; {
		j := bytes.IndexByte(buf[i:end], 0xE8)
		if j < 0 {
			return
		}
		i += j
		pos := curpos + int32(i)
		abs := int32(uint32(buf[i+1]) | uint32(buf[i+2])<<8 | uint32(buf[i+3])<<16 | uint32(buf[i+4])<<24)
		if abs >= -pos && abs < fileSize {
			var rel int32
			if abs >= 0 {
				rel = abs - pos
			} else {
				rel = abs + fileSize
			}
			buf[i+1] = byte(rel)
			buf[i+2] = byte(rel >> 8)
			buf[i+3] = byte(rel >> 16)
			buf[i+4] = byte(rel >> 24)
		}
		i += 5
	}
}

func (d *decoder) readBlockHeader() error {
	br := d.br
	if d.blockType == blockUncompressed && d.blockLength&1 == 1 {
		if err := br.skipPad(); err != nil {
			return err
		}
		d.blockType = 0 // pad consumed; a zero-length block must not skip again
	}
	t, err := br.bits(3)
	if err != nil {
		return err
	}
	hi, err := br.bits(16)
	if err != nil {
		return err
	}
	lo, err := br.bits(8)
	if err != nil {
		return err
	}
	d.blockType = int(t)
	d.blockLength = int(hi<<8 | lo)
	d.blockRemaining = d.blockLength
	switch t {
	case blockAligned:
		for i := range d.alignedLen {
			v, err := br.bits(3)
			if err != nil {
				return err
			}
			d.alignedLen[i] = uint8(v)
		}
		if err := d.aligned.build(d.alignedLen[:]); err != nil {
			return fmt.Errorf("aligned-offset tree: %w", err)
		}
		fallthrough
	case blockVerbatim:
		mainSyms := numChars + d.slots*8
		if err := d.readLengths(d.mainLens[:], 0, numChars); err != nil {
			return err
		}
		if err := d.readLengths(d.mainLens[:], numChars, mainSyms); err != nil {
			return err
		}
		if err := d.main.build(d.mainLens[:mainSyms]); err != nil {
			return fmt.Errorf("main tree: %w", err)
		}
		if d.mainLens[0xE8] != 0 {
			d.intelStarted = true
		}
		if err := d.readLengths(d.lengthLens[:], 0, numSecondaryLens); err != nil {
			return err
		}
		if err := d.length.build(d.lengthLens[:numSecondaryLens]); err != nil && !errors.Is(err, errEmptyTree) {
			return fmt.Errorf("length tree: %w", err)
		}
	case blockUncompressed:
		d.intelStarted = true
		if err := br.toBytes(); err != nil {
			return err
		}
		var rs [12]byte
		if err := br.readBytes(rs[:]); err != nil {
			return err
		}
		d.r0 = le32(rs[0:])
		d.r1 = le32(rs[4:])
		d.r2 = le32(rs[8:])
	default:
		return d.errorf("invalid block type %d", t)
	}
	return nil
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// readLengths reads the pretree and then the code lengths of symbols first..last-1 as
// deltas against their previous values.
func (d *decoder) readLengths(lens []uint8, first, last int) error {
	br := d.br
	for i := range d.pretreeLen {
		v, err := br.bits(4)
		if err != nil {
			return err
		}
		d.pretreeLen[i] = uint8(v)
	}
	if err := d.pretree.build(d.pretreeLen[:]); err != nil {
		return fmt.Errorf("pretree: %w", err)
	}
	for x := first; x < last; {
		z, err := d.pretree.decode(br)
		if err != nil {
			return err
		}
		var run int
		var val uint8
		switch z {
		case 17:
			v, err := br.bits(4)
			if err != nil {
				return err
			}
			run = int(v) + 4
		case 18:
			v, err := br.bits(5)
			if err != nil {
				return err
			}
			run = int(v) + 20
		case 19:
			v, err := br.bits(1)
			if err != nil {
				return err
			}
			run = int(v) + 4
			z, err = d.pretree.decode(br)
			if err != nil {
				return err
			}
			if z > 16 {
				return d.errorf("pretree run of code %d", z)
			}
			val = delta(lens[x], z)
		default:
			run = 1
			val = delta(lens[x], z)
		}
		if x+run > len(lens) {
			return d.errorf("code length run overflows the table")
		}
		for i := range run {
			lens[x+i] = val
		}
		x += run
	}
	return nil
}

func delta(old uint8, z int) uint8 {
	v := int(old) - z
	if v < 0 {
		v += 17
	}
	return uint8(v)
}

// decodeRun decodes verbatim or aligned-offset symbols until the window reaches end,
// which is the end of the block or of the frame, whichever comes first.
func (d *decoder) decodeRun(end int) error {
	br := d.br
	buf, n := br.buf, br.n
	in, pos := br.in, br.pos
	win := d.window
	wpos := d.wpos
	mask := d.winSize - 1
	mainT, mainH := d.main.table, d.main
	lenH := d.length
	alignH := d.aligned
	isAligned := d.blockType == blockAligned
	r0, r1, r2 := d.r0, d.r1, d.r2
	// decoded is the absolute output position of window[wpos], to refuse matches that
	// reach before the start of the stream.
	base := d.out - int64(d.frameStart)

	var err error
	for wpos < end {
		if n <= 48 {
			if pos+6 <= len(in) {
				for n <= 48 {
					buf |= uint64(in[pos+1])<<(56-n) | uint64(in[pos])<<(48-n)
					n += 16
					pos += 2
				}
			} else {
				br.buf, br.n, br.pos = buf, n, pos
				if err = br.fill(); err != nil {
					break
				}
				buf, n, in, pos = br.buf, br.n, br.in, br.pos
			}
		}
		var sym int
		e := mainT[buf>>(64-mainTableBits)]
		if l := uint(e & 31); l != 0 {
			sym = int(e >> 5)
			buf <<= l
			n -= l
		} else {
			s, l := mainH.slow(buf)
			if l == 0 {
				err = errBadCode
				break
			}
			sym = s
			buf <<= l
			n -= l
		}
		if sym < numChars {
			win[wpos] = byte(sym)
			wpos++
			continue
		}
		sym -= numChars
		mlen := sym & numPrimaryLengths
		if mlen == numPrimaryLengths {
			if lenH.empty {
				err = d.errorf("match length needs the empty length tree")
				break
			}
			e := lenH.table[buf>>(64-lengthTableBits)]
			if l := uint(e & 31); l != 0 {
				mlen += int(e >> 5)
				buf <<= l
				n -= l
			} else {
				s, l := lenH.slow(buf)
				if l == 0 {
					err = errBadCode
					break
				}
				mlen += s
				buf <<= l
				n -= l
			}
		}
		mlen += minMatch
		var off uint32
		switch slot := sym >> 3; slot {
		case 0:
			off = r0
		case 1:
			off = r1
			r1 = r0
			r0 = off
		case 2:
			off = r2
			r2 = r0
			r0 = off
		default:
			// Up to 17 extra bits, or 14 verbatim bits plus a 7-bit aligned code.
			if n <= 48 {
				if pos+6 <= len(in) {
					for n <= 48 {
						buf |= uint64(in[pos+1])<<(56-n) | uint64(in[pos])<<(48-n)
						n += 16
						pos += 2
					}
				} else {
					br.buf, br.n, br.pos = buf, n, pos
					if err = br.fill(); err != nil {
						break
					}
					buf, n, in, pos = br.buf, br.n, br.in, br.pos
				}
			}
			extra := uint(extraBits[slot])
			off = positionBase[slot] - 2
			if isAligned && extra >= 3 {
				if extra > 3 {
					k := extra - 3
					off += uint32(buf>>(64-k)) << 3
					buf <<= k
					n -= k
				}
				e := alignH.table[buf>>(64-alignedTableBits)]
				l := uint(e & 31)
				// The aligned tree's codes are at most 7 bits, so the table holds them all.
				off += uint32(e >> 5)
				buf <<= l
				n -= l
			} else if extra > 0 {
				off += uint32(buf >> (64 - extra))
				buf <<= extra
				n -= extra
			}
			r2 = r1
			r1 = r0
			r0 = off
		}
		if err != nil {
			break
		}
		if mlen > end-wpos {
			err = d.errorf("match of %d bytes runs past the end of its block or frame", mlen)
			break
		}
		if off == 0 || int64(off) > base+int64(wpos) || int(off) > d.winSize {
			err = d.errorf("match offset %d beyond the decoded data", off)
			break
		}
		dst := win[wpos : wpos+mlen]
		if src := wpos - int(off); src >= 0 {
			if int(off) >= mlen {
				copy(dst, win[src:src+mlen])
			} else {
				// Overlapping: the last off bytes repeat; copy in doubling runs.
				k := copy(dst, win[src:wpos])
				for k < mlen {
					k += copy(dst[k:], dst[:k])
				}
			}
		} else {
			// The source wraps around the window end.
			src += d.winSize
			for i := range dst {
				dst[i] = win[(src+i)&mask]
			}
		}
		wpos += mlen
	}
	br.buf, br.n, br.pos = buf, n, pos
	d.wpos = wpos
	d.r0, d.r1, d.r2 = r0, r1, r2
	return err
}
