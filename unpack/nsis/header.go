package nsis

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Header block indexes (fileform.h, NB_*).
const (
	nbPages = iota
	nbSections
	nbEntries
	nbStrings
	nbLangTables
	nbCtlColors
	nbBgFont
	nbData
	numBlocks
)

// Opcodes (fileform.h EW_*), in the layout NSIS 2 and 3 share up to EW_WRITEUNINSTALLER.
const (
	ewCreateDir        = 11
	ewExtractFile      = 20
	ewAssignVar        = 25
	ewPushPop          = 31
	ewShellExec        = 40
	ewExecute          = 41
	ewRegisterDLL      = 44
	ewWriteReg         = 51
	ewWriteUninstaller = 62
)

// Built-in variable numbers (NSIS 2.26+ and 3.x): $0-$9 are 0-9, $R0-$R9 10-19.
const (
	varInstDir    = 21
	varOutDir     = 22
	varExeDir     = 23
	varTemp       = 25
	varPluginsDir = 26
	varSpecOutDir = 31 // $_OUTDIR
	numBuiltin    = 32
)

var varNames = [...]string{"CMDLINE", "INSTDIR", "OUTDIR", "EXEDIR", "LANGUAGE", "TEMP", "PLUGINSDIR",
	"EXEPATH", "EXEFILE", "HWNDPARENT", "_CLICK", "_OUTDIR"}

// shellFolders names the CSIDL values as NSIS's constants do ($SMPROGRAMS for CSIDL_PROGRAMS
// and CSIDL_COMMON_PROGRAMS, …); the spelling follows 7-Zip's NSIS handler so that paths
// equal `7zz x`, except CSIDL_PROGRAM_FILES_COMMONX86, which 7-Zip cuts to
// "PROGRAM_FILES_COMMONX8". Empty entries have no NSIS name.
var shellFolders = [...]string{
	0x00: "DESKTOP", 0x01: "INTERNET", 0x02: "SMPROGRAMS", 0x03: "CONTROLS", 0x04: "PRINTERS",
	0x05: "DOCUMENTS", 0x06: "FAVORITES", 0x07: "SMSTARTUP", 0x08: "RECENT", 0x09: "SENDTO",
	0x0A: "BITBUCKET", 0x0B: "STARTMENU", 0x0D: "MUSIC", 0x0E: "VIDEOS", 0x10: "DESKTOP",
	0x11: "DRIVES", 0x12: "NETWORK", 0x13: "NETHOOD", 0x14: "FONTS", 0x15: "TEMPLATES",
	0x16: "STARTMENU", 0x17: "SMPROGRAMS", 0x18: "SMSTARTUP", 0x19: "DESKTOP", 0x1A: "APPDATA",
	0x1B: "PRINTHOOD", 0x1C: "LOCALAPPDATA", 0x1D: "ALTSTARTUP", 0x1E: "ALTSTARTUP",
	0x1F: "FAVORITES", 0x20: "INTERNET_CACHE", 0x21: "COOKIES", 0x22: "HISTORY", 0x23: "APPDATA",
	0x24: "WINDIR", 0x25: "SYSDIR", 0x26: "PROGRAM_FILES", 0x27: "PICTURES", 0x28: "PROFILE",
	0x29: "SYSTEMX86", 0x2A: "PROGRAM_FILESX86", 0x2B: "PROGRAM_FILES_COMMON",
	0x2C: "PROGRAM_FILES_COMMONX86", 0x2D: "TEMPLATES", 0x2E: "DOCUMENTS", 0x2F: "ADMINTOOLS",
	0x30: "ADMINTOOLS", 0x31: "CONNECTIONS", 0x35: "MUSIC", 0x36: "PICTURES", 0x37: "VIDEOS",
	0x38: "RESOURCES", 0x39: "RESOURCES_LOCALIZED", 0x3A: "COMMON_OEM_LINKS", 0x3B: "CDBURN_AREA",
	0x3D: "COMPUTERSNEARME",
}

// String codes.
const (
	ns2Skip, ns2Var, ns2Shell, ns2Lang     = 252, 253, 254, 255
	ns3Lang, ns3Shell, ns3Var, ns3Skip     = 1, 2, 3, 4
	parkSkip, parkVar, parkShell, parkLang = 0xE000, 0xE001, 0xE002, 0xE003
)

// header is the parsed common header.
type header struct {
	data       []byte
	blocks     [numBlocks]struct{ off, num uint32 }
	strOff     uint32 // byte offset of the string table
	strChars   uint32 // string table length in characters
	unicode    bool
	nsis3      bool
	park       bool
	langOff    uint32
	langSize   uint32
	entriesOff uint32
	numEntries uint32
	spent      int // bytes str has expanded, bounded by MaxScriptBytes
}

func parseHeader(d []byte, r *Reader) (*header, error) {
	h := &header{data: d}
	if len(d) < 4+12*numBlocks {
		r.Is64 = false
	} else {
		r.Is64 = true
		for k := 0; k < numBlocks; k++ {
			if binary.LittleEndian.Uint32(d[4+12*k+4:]) != 0 {
				r.Is64 = false
				break
			}
		}
	}
	bho := 8
	if r.Is64 {
		bho = 12
	}
	if len(d) < 4+bho*numBlocks+36 {
		return nil, errAt("header", -1, "header of %d bytes is too short", len(d))
	}
	for k := 0; k < numBlocks; k++ {
		p := d[4+bho*k:]
		h.blocks[k].off = binary.LittleEndian.Uint32(p)
		h.blocks[k].num = binary.LittleEndian.Uint32(p[bho-4:])
	}
	h.langSize = binary.LittleEndian.Uint32(d[4+bho*numBlocks+32:])
	size := uint32(len(d))
	strs, langs, ents := h.blocks[nbStrings], h.blocks[nbLangTables], h.blocks[nbEntries]
	if strs.off > size || langs.off > size || ents.off > size || langs.off < strs.off {
		return nil, errAt("header", -1, "block offsets (strings 0x%x, language tables 0x%x, entries 0x%x) outside the %d-byte header", strs.off, langs.off, ents.off, size)
	}
	tab := d[strs.off:langs.off]
	if len(tab) < 2 || tab[len(tab)-1] != 0 {
		return nil, errAt("strings", int64(strs.off), "string table of %d bytes is not NUL-terminated", len(tab))
	}
	h.strOff = strs.off
	h.unicode = tab[0] == 0 && tab[1] == 0
	h.strChars = uint32(len(tab))
	if h.unicode {
		if len(tab)%2 != 0 || tab[len(tab)-2] != 0 {
			return nil, errAt("strings", int64(strs.off), "UTF-16 string table of %d bytes", len(tab))
		}
		h.strChars /= 2
	}
	if ents.num > MaxEntries {
		return nil, errLimit("entries", int64(ents.off), "%d instructions (limit %d)", ents.num, MaxEntries)
	}
	if uint64(ents.num)*entrySize > uint64(size-ents.off) {
		return nil, errAt("entries", int64(ents.off), "%d instructions beyond the %d-byte header", ents.num, size)
	}
	h.entriesOff, h.numEntries = ents.off, ents.num
	h.langOff = langs.off
	h.detectType()
	r.Unicode, r.NSIS3 = h.unicode, h.nsis3
	return h, nil
}

// detectType tells NSIS 3 string codes from NSIS 2 (ANSI) or Jim Park's fork (Unicode): an
// NSIS 3 table has a string that starts with a variable code followed by a coded number,
// whose bytes have their top bits set (CODE_SHORT). 7-Zip uses the same test.
func (h *header) detectType() {
	tab := h.data[h.strOff : h.strOff+h.strChars*h.charSize()]
	if h.unicode {
		for i := 0; i+6 <= len(tab); i += 2 {
			if binary.LittleEndian.Uint16(tab[i:]) == 0 && binary.LittleEndian.Uint16(tab[i+2:]) == ns3Var &&
				binary.LittleEndian.Uint16(tab[i+4:])&0x8080 == 0x8080 {
				h.nsis3 = true
				return
			}
		}
		for i := 0; i+2 <= len(tab); i += 2 {
			if c := binary.LittleEndian.Uint16(tab[i:]); c >= parkSkip && c <= parkLang {
				h.park = true
				return
			}
		}
		h.nsis3 = true // no coded string at all: the codes do not matter
		return
	}
	for i := 0; i+3 <= len(tab); i++ {
		if tab[i] == 0 && tab[i+1] == ns3Var && tab[i+2]&0x80 != 0 {
			h.nsis3 = true
			return
		}
	}
}

func (h *header) charSize() uint32 {
	if h.unicode {
		return 2
	}
	return 1
}

// char returns the string table character at index i (0 past the end).
func (h *header) char(i uint32) uint32 {
	if i >= h.strChars {
		return 0
	}
	if h.unicode {
		return uint32(binary.LittleEndian.Uint16(h.data[h.strOff+2*i:]))
	}
	return uint32(h.data[h.strOff+i])
}

// resolve maps a string parameter to a string table index: negative values name language
// strings, looked up in the first language table.
func (h *header) resolve(param uint32) (uint32, bool) {
	v := int32(param)
	if v >= 0 {
		return param, param < h.strChars
	}
	id := uint64(-(int64(v) + 1))
	off := uint64(h.langOff) + 10 + 4*id
	if h.langSize < 10 || 10+4*id+4 > uint64(h.langSize) || off+4 > uint64(len(h.data)) {
		return 0, false
	}
	idx := binary.LittleEndian.Uint32(h.data[off:])
	return idx, int32(idx) >= 0 && idx < h.strChars
}

// str expands the string parameter param: variables become $NAME, shell folders $NAME,
// language strings their text (up to a depth of 2) or $(LSTR_n).
func (h *header) str(param uint32) string {
	return h.strDepth(param, 0)
}

func (h *header) strDepth(param uint32, depth int) string {
	if int32(param) < 0 && depth > 1 {
		return "$(LSTR_" + strconv.FormatUint(uint64(-(int64(int32(param))+1)), 10) + ")"
	}
	i, ok := h.resolve(param)
	if !ok {
		return ""
	}
	var b strings.Builder
	var units []uint16
	flush := func() {
		if len(units) > 0 {
			b.WriteString(string(utf16.Decode(units)))
			units = units[:0]
		}
	}
	for b.Len()+2*len(units) < MaxStringBytes {
		c := h.char(i)
		i++
		if c == 0 {
			break
		}
		code, isCode := h.code(c)
		if !isCode {
			if h.unicode {
				units = append(units, uint16(c))
			} else {
				b.WriteRune(rune(c)) // ANSI bytes as ISO 8859-1
			}
			continue
		}
		flush()
		var c0, c1 uint32
		if h.unicode {
			n := h.char(i)
			i++
			if n == 0 {
				break
			}
			c0, c1 = n&0xFF, n>>8
		} else {
			c0 = h.char(i)
			i++
			if c0 == 0 {
				break
			}
			if code != ns3Skip {
				c1 = h.char(i)
				i++
				if c1 == 0 {
					break
				}
			}
		}
		switch code {
		case ns3Skip:
			if h.unicode {
				units = append(units, uint16(c0|c1<<8))
			} else {
				b.WriteRune(rune(c0))
			}
		case ns3Shell:
			b.WriteString(h.shell(c0, c1))
		case ns3Var:
			b.WriteString("$" + varName(h.number(c0, c1)))
		case ns3Lang:
			n := h.number(c0, c1)
			if depth < 1 {
				b.WriteString(h.strDepth(uint32(-int32(n)-1), depth+1))
			} else {
				fmt.Fprintf(&b, "$(LSTR_%d)", n)
			}
		}
	}
	flush()
	h.spent += b.Len() + 1
	s := b.String()
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// code maps a string character to its NSIS 3 code (1–4) when it is one.
func (h *header) code(c uint32) (uint32, bool) {
	switch {
	case h.park:
		if c >= parkSkip && c <= parkLang {
			return [...]uint32{ns3Skip, ns3Var, ns3Shell, ns3Lang}[c-parkSkip], true
		}
	case h.nsis3:
		if c >= 1 && c <= ns3Skip {
			return c, true
		}
	default:
		if c >= ns2Skip && c <= ns2Lang {
			return [...]uint32{ns3Skip, ns3Var, ns3Shell, ns3Lang}[c-ns2Skip], true
		}
	}
	return 0, false
}

// number decodes CODE_SHORT: two 7-bit halves (Park: 15 bits as stored).
func (h *header) number(c0, c1 uint32) uint32 {
	if h.park {
		return (c0 | c1<<8) & 0x7FFF
	}
	return c0&0x7F | (c1&0x7F)<<7
}

func varName(n uint32) string {
	switch {
	case n < 10:
		return strconv.Itoa(int(n))
	case n < 20:
		return "R" + strconv.Itoa(int(n-10))
	case n < numBuiltin:
		return varNames[n-20]
	}
	return "_" + strconv.Itoa(int(n-numBuiltin)) + "_"
}

// shell names a shell folder code: two CSIDLs (current user, all users), or a value under
// HKLM\Software\Microsoft\Windows\CurrentVersion when the first has its top bit set.
func (h *header) shell(c0, c1 uint32) string {
	if c0&0x80 != 0 {
		off := c0 & 0x3F
		var name strings.Builder
		for i := off; i < h.strChars && name.Len() < 64; i++ {
			c := h.char(i)
			if c == 0 {
				break
			}
			name.WriteRune(rune(c))
		}
		s := "$_ERROR_UNSUPPORTED_VALUE_REGISTRY_"
		switch name.String() {
		case "ProgramFilesDir":
			s = "$PROGRAMFILES"
		case "CommonFilesDir":
			s = "$COMMONFILES"
		}
		if c0&0x40 != 0 {
			s += "64"
		}
		return s
	}
	if c0 < uint32(len(shellFolders)) && shellFolders[c0] != "" {
		return "$" + shellFolders[c0]
	}
	if c1 < uint32(len(shellFolders)) && shellFolders[c1] != "" {
		return "$" + shellFolders[c1]
	}
	return fmt.Sprintf("$_ERROR_UNSUPPORTED_SHELL_[%d,%d]", c0, c1)
}

// leadingVar returns the variable a string parameter starts with and the character index
// after its code, or ok false.
func (h *header) leadingVar(param uint32) (v uint32, after uint32, ok bool) {
	i, ok := h.resolve(param)
	if !ok {
		return 0, 0, false
	}
	code, isCode := h.code(h.char(i))
	if !isCode || code != ns3Var {
		return 0, 0, false
	}
	if h.unicode {
		n := h.char(i + 1)
		if n == 0 {
			return 0, 0, false
		}
		return h.number(n&0xFF, n>>8), i + 2, true
	}
	c0, c1 := h.char(i+1), h.char(i+2)
	if c0 == 0 || c1 == 0 {
		return 0, 0, false
	}
	return h.number(c0, c1), i + 3, true
}

// leadingShell reports whether a string parameter starts with a shell folder code.
func (h *header) leadingShell(param uint32) bool {
	i, ok := h.resolve(param)
	if !ok {
		return false
	}
	code, isCode := h.code(h.char(i))
	return isCode && code == ns3Shell
}

// entry returns instruction k: its opcode and six parameters.
func (h *header) entry(k uint32) (uint32, [6]uint32) {
	p := h.data[h.entriesOff+k*entrySize:]
	var params [6]uint32
	for i := range params {
		params[i] = binary.LittleEndian.Uint32(p[4+4*i:])
	}
	return binary.LittleEndian.Uint32(p), params
}
