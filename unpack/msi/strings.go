package msi

import (
	"encoding/binary"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// decodeStreamName undoes MSI's stream name packing: code units from U+3800 to U+47FF each
// hold two characters of the 64-character alphabet [0-9A-Za-z._], U+4800 to U+483F hold one,
// and a leading U+4840 marks a table stream (written here as '!', so the string pool is
// "!_StringPool"). Other code units are kept.
func decodeStreamName(raw []uint16) string {
	out := make([]uint16, 0, 2*len(raw))
	for i, c := range raw {
		switch {
		case i == 0 && c == 0x4840:
			out = append(out, '!')
		case c >= 0x3800 && c < 0x4800:
			c -= 0x3800
			out = append(out, mimeChar(c&0x3f), mimeChar(c>>6&0x3f))
		case c >= 0x4800 && c < 0x4840:
			out = append(out, mimeChar(c-0x4800))
		default:
			out = append(out, c)
		}
	}
	return string(utf16.Decode(out))
}

func mimeChar(x uint16) uint16 {
	switch {
	case x < 10:
		return '0' + x
	case x < 36:
		return 'A' + x - 10
	case x < 62:
		return 'a' + x - 36
	case x == 62:
		return '.'
	}
	return '_'
}

// codepageDecoder returns the decoder for an MSI or summary-information code page; nil means
// the bytes are UTF-8 (65001) and need only be made valid. Unknown code pages fall back to
// Windows-1252, the code page of neutral databases.
func codepageDecoder(cp int) *encoding.Decoder {
	var e encoding.Encoding
	switch cp {
	case 65001:
		return nil
	case 874:
		e = charmap.Windows874
	case 932:
		e = japanese.ShiftJIS
	case 936:
		e = simplifiedchinese.GBK
	case 949:
		e = korean.EUCKR
	case 950:
		e = traditionalchinese.Big5
	case 1250:
		e = charmap.Windows1250
	case 1251:
		e = charmap.Windows1251
	case 1253:
		e = charmap.Windows1253
	case 1254:
		e = charmap.Windows1254
	case 1255:
		e = charmap.Windows1255
	case 1256:
		e = charmap.Windows1256
	case 1257:
		e = charmap.Windows1257
	case 1258:
		e = charmap.Windows1258
	default:
		e = charmap.Windows1252
	}
	return e.NewDecoder()
}

// decodeString converts b from the code page to valid UTF-8. ASCII needs no conversion.
func decodeString(dec *encoding.Decoder, b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	if dec != nil {
		if s, err := dec.Bytes(b); err == nil {
			return strings.ToValidUTF8(string(s), "\uFFFD")
		}
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// stringPool is the database's shared string table: id 0 is the null string.
type stringPool struct {
	strings  []string
	refBytes int // 2, or 3 with long string references
	codepage int
}

// loadStringPool parses !_StringPool (a code page word, then a length and a reference count
// per string) against !_StringData (the concatenated bytes). A zero-length entry with a
// non-zero reference count escapes a string of 64 KiB or more: the next entry's two words
// hold the low and high words of its length.
func (p *Package) loadStringPool() error {
	pool, err := p.readStream(streamStringPool, MaxTableBytes)
	if err != nil {
		return err
	}
	data, err := p.readStream(streamStringData, MaxTableBytes)
	if err != nil {
		return err
	}
	p.pool, err = p.parseStringPool(pool, data)
	return err
}

func (p *Package) parseStringPool(pool, data []byte) (*stringPool, error) {
	sp := &stringPool{refBytes: 2, strings: []string{""}}
	if len(pool)%4 != 0 {
		return nil, p.formatErr(streamStringPool, int64(len(pool)), "size %d is not a multiple of 4", len(pool))
	}
	le := binary.LittleEndian
	if len(pool) >= 4 {
		hi := le.Uint16(pool[2:])
		if hi&0x8000 != 0 {
			sp.refBytes = 3
		}
		sp.codepage = int(le.Uint16(pool)) | int(hi&^0x8000)<<16
	}
	dec := codepageDecoder(sp.codepage)
	count := len(pool) / 4
	off := 0
	for i := 1; i < count; {
		length := int(le.Uint16(pool[4*i:]))
		refs := le.Uint16(pool[4*i+2:])
		switch {
		case length == 0 && refs == 0:
			sp.strings = append(sp.strings, "")
			i++
			continue
		case length == 0:
			if i+1 >= count {
				return nil, p.formatErr(streamStringPool, int64(4*i), "long string entry %d has no length entry", len(sp.strings))
			}
			length = int(le.Uint16(pool[4*i+4:])) | int(le.Uint16(pool[4*i+6:]))<<16
			i += 2
		default:
			i++
		}
		if length > len(data)-off {
			return nil, p.formatErr(streamStringData, int64(off), "string %d of %d bytes overruns the string data (%d bytes)", len(sp.strings), length, len(data))
		}
		sp.strings = append(sp.strings, decodeString(dec, data[off:off+length]))
		off += length
	}
	return sp, nil
}

// str returns string id; 0 is the null string.
func (sp *stringPool) str(id uint32) (string, bool) {
	if int64(id) >= int64(len(sp.strings)) {
		return "", false
	}
	return sp.strings[id], true
}
