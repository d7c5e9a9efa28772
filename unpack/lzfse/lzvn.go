package lzfse

import "encoding/binary"

// LZVN opcodes, as described in Apple's reference decoder (lzvn_decode_base.c). The first
// byte selects one of:
//
//	sml_d  LLMMMDDD DDDDDDDD LIT          literal 0-3, match 3-10, distance < 2048
//	med_d  101LLMMM DDDDDDMM DDDDDDDD LIT literal 0-3, match 3-34, distance < 16384
//	lrg_d  LLMMM111 DDDDDDDD DDDDDDDD LIT literal 0-3, match 3-10, distance < 65536 (LE)
//	pre_d  LLMMM110 LIT                   literal 0-3, match 3-10, previous distance
//	sml_l  1110LLLL LIT                   literal 1-15
//	lrg_l  11100000 LLLLLLLL LIT          literal 16-271
//	sml_m  1111MMMM                       match 1-15, previous distance
//	lrg_m  11110000 MMMMMMMM              match 16-271, previous distance
//	eos    00000110 + 7 bytes             end of stream
//	nop    00001110, 00010110
//
// Everything else is undefined and an error.
const (
	opSmlD = iota
	opMedD
	opLrgD
	opPreD
	opSmlL
	opLrgL
	opSmlM
	opLrgM
	opEOS
	opNop
	opUdef
)

var lzvnOps = func() (t [256]uint8) {
	for i := range 256 {
		op := uint8(opSmlD)
		switch {
		case i == 0x06:
			op = opEOS
		case i == 0x0e || i == 0x16:
			op = opNop
		case i >= 0x70 && i <= 0x7f, i >= 0xd0 && i <= 0xdf:
			op = opUdef
		case i >= 0xa0 && i <= 0xbf:
			op = opMedD
		case i == 0xe0:
			op = opLrgL
		case i > 0xe0 && i <= 0xef:
			op = opSmlL
		case i == 0xf0:
			op = opLrgM
		case i > 0xf0:
			op = opSmlM
		case i&7 == 7:
			op = opLrgD
		case i&7 == 6 && i < 0x40:
			op = opUdef
		case i&7 == 6:
			op = opPreD
		}
		t[i] = op
	}
	return
}()

// lzvnBlock decodes an LZVN stream from src, appending to out (which already holds the
// output of earlier blocks: distances may reach into it). It stops at the end-of-stream
// opcode, at the end of src, or once out holds limit bytes. It returns the grown output,
// the source bytes consumed and whether the end-of-stream opcode was seen.
func lzvnBlock(out, src []byte, limit int, d *int) ([]byte, int, bool, error) {
	i := 0
	D := *d
	defer func() { *d = D }()
	for i < len(src) {
		opc := src[i]
		if op := lzvnOps[opc]; len(out) >= limit && op != opEOS && op != opNop {
			return out, i, false, nil
		}
		var L, M, n int
		newD := -1
		switch lzvnOps[opc] {
		case opSmlD:
			n, L, M = 2, int(opc>>6), int(opc>>3&7)+3
			if i+1 >= len(src) {
				return out, i, false, errTrunc(i)
			}
			newD = int(opc&7)<<8 | int(src[i+1])
		case opMedD:
			n, L = 3, int(opc>>3&3)
			if i+2 >= len(src) {
				return out, i, false, errTrunc(i)
			}
			v := int(binary.LittleEndian.Uint16(src[i+1:]))
			M = (int(opc&7)<<2 | v&3) + 3
			newD = v >> 2
		case opLrgD:
			n, L, M = 3, int(opc>>6), int(opc>>3&7)+3
			if i+2 >= len(src) {
				return out, i, false, errTrunc(i)
			}
			newD = int(binary.LittleEndian.Uint16(src[i+1:]))
		case opPreD:
			n, L, M = 1, int(opc>>6), int(opc>>3&7)+3
		case opSmlL:
			n, L = 1, int(opc&15)
		case opLrgL:
			if i+1 >= len(src) {
				return out, i, false, errTrunc(i)
			}
			n, L = 2, int(src[i+1])+16
		case opSmlM:
			n, M = 1, int(opc&15)
		case opLrgM:
			if i+1 >= len(src) {
				return out, i, false, errTrunc(i)
			}
			n, M = 2, int(src[i+1])+16
		case opEOS:
			if i+8 > len(src) {
				return out, len(src), true, nil
			}
			return out, i + 8, true, nil
		case opNop:
			i++
			continue
		default:
			return out, i, false, errFormat("lzvn", int64(i), "undefined opcode 0x%02x", opc)
		}
		if i+n+L > len(src) {
			return out, i, false, errTrunc(i)
		}
		i += n
		if L > 0 {
			if len(out)+L > limit {
				return out, i, false, errFormat("lzvn", int64(i), "literal overruns the %d-byte output", limit)
			}
			out = append(out, src[i:i+L]...)
			i += L
		}
		if newD >= 0 {
			D = newD
		}
		if M > 0 {
			if D == 0 || D > len(out) {
				return out, i, false, errFormat("lzvn", int64(i), "match distance %d with %d bytes of output", D, len(out))
			}
			if len(out)+M > limit {
				return out, i, false, errFormat("lzvn", int64(i), "match overruns the %d-byte output", limit)
			}
			out = copyMatch(out, D, M)
		}
	}
	return out, i, false, nil
}

// copyMatch appends m bytes copied from distance d back, byte-wise when they overlap.
func copyMatch(out []byte, d, m int) []byte {
	start := len(out) - d
	if d >= m {
		return append(out, out[start:start+m]...)
	}
	for k := 0; k < m; k++ {
		out = append(out, out[start+k])
	}
	return out
}

func errTrunc(i int) error { return errFormat("lzvn", int64(i), "truncated opcode") }

// DecodeLZVN decodes a bare LZVN stream (decmpfs types 7 and 8) producing at most limit
// bytes. The stream ends at its end-of-stream opcode or when limit bytes are produced.
func DecodeLZVN(src []byte, limit int) ([]byte, error) {
	d := 0
	out := make([]byte, 0, min(limit, 16*len(src)+64))
	out, _, eos, err := lzvnBlock(out, src, limit, &d)
	if err != nil {
		return out, err
	}
	if !eos && len(out) < limit {
		return out, errFormat("lzvn", int64(len(src)), "stream ends without an end-of-stream opcode")
	}
	return out, nil
}
