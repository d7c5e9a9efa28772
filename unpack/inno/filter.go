package inno

import "io"

// callFilter undoes Inno Setup's x86 CALL/JMP address filter of versions 5.2.0 and later
// (innoextract src/stream/exefilter.hpp, inno_exe_decoder_5200; flip is the 5.3.9 variant
// that also flips the high byte): after an E8/E9 opcode that does not straddle a 64 KiB
// block boundary, a 4-byte operand whose high byte is 00 or FF holds an absolute 24-bit
// address; the original relative one is that minus the offset after the operand.
type callFilter struct {
	src    io.Reader
	flip   bool
	buf    []byte
	r, w   int // buf[r:w] is filtered and not yet returned
	end    int // buf[w:end] is read and not yet filtered
	offset uint32
	eof    bool
	err    error
}

const filterBlock = 0x10000

func newCallFilter(src io.Reader, flip bool) *callFilter {
	return &callFilter{src: src, flip: flip, buf: make([]byte, 64<<10)}
}

func (f *callFilter) Read(p []byte) (int, error) {
	for f.r == f.w {
		if f.eof && f.w == f.end {
			if f.err != nil {
				return 0, f.err
			}
			return 0, io.EOF
		}
		f.fill()
	}
	n := copy(p, f.buf[f.r:f.w])
	f.r += n
	return n, nil
}

// fill reads more input and filters as much of it as can be decided.
func (f *callFilter) fill() {
	rest := copy(f.buf, f.buf[f.w:f.end])
	f.r, f.w, f.end = 0, 0, rest
	if !f.eof {
		n, err := f.src.Read(f.buf[f.end:])
		f.end += n
		if err != nil {
			f.eof = true
			if err != io.EOF {
				f.err = err
			}
		}
	}
	i := 0
	for i < f.end {
		c := f.buf[i]
		if c != 0xe8 && c != 0xe9 {
			i++
			f.offset++
			continue
		}
		if !f.eof && i+5 > f.end {
			break // the operand is not read yet
		}
		f.offset++
		if filterBlock-(f.offset-1)%filterBlock < 5 {
			i++
			continue
		}
		if i+5 > f.end { // truncated operand at the end: kept as is
			f.offset += uint32(f.end - i - 1)
			i = f.end
			break
		}
		f.offset += 4
		op := f.buf[i+1 : i+5]
		if op[3] == 0 || op[3] == 0xff {
			addr := f.offset & 0xffffff
			rel := uint32(op[0]) | uint32(op[1])<<8 | uint32(op[2])<<16
			rel -= addr
			op[0], op[1], op[2] = byte(rel), byte(rel>>8), byte(rel>>16)
			if f.flip && rel&0x800000 != 0 {
				op[3] = ^op[3]
			}
		}
		i += 5
	}
	f.w = i
}
