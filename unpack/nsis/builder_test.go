package nsis

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
	"github.com/rollgate/rollgate/unpack"
)

// synth describes a synthetic, non-solid, stored installer: the layouts makensis 3 cannot
// produce (NSIS 2 string codes) and hostile headers.
type synth struct {
	unicode bool
	nsis2   bool
	strs    [][]byte // raw string table entries (codes included), without the NUL
	entries [][7]uint32
	data    [][]byte // data blocks, stored
	// overrides
	numEntries *uint32
	noNUL      bool
}

// str encodes a string with variables: "\x00V21" style markers are avoided; instead the
// parts are given explicitly by the helpers below.
type part struct {
	text  string
	v     int // variable number, or -1
	shell [2]byte
}

func lit(s string) part       { return part{text: s, v: -1} }
func variable(n int) part     { return part{v: n} }
func shell(cu, all byte) part { return part{v: -2, shell: [2]byte{cu, all}} }
func codeShort(n int) [2]byte { return [2]byte{byte(n&0x7F) | 0x80, byte(n>>7&0x7F) | 0x80} }
func (s *synth) codes() [4]int { // skip, var, shell, lang
	if s.nsis2 {
		return [4]int{ns2Skip, ns2Var, ns2Shell, ns2Lang}
	}
	return [4]int{ns3Skip, ns3Var, ns3Shell, ns3Lang}
}

// add appends a string and returns its index in characters.
func (s *synth) add(parts ...part) uint32 {
	var off int
	for _, e := range s.strs {
		off += s.chars(e) + 1
	}
	if len(s.strs) == 0 {
		s.strs = append(s.strs, nil) // the empty string at 0
		off = 1
	}
	c := s.codes()
	var b []byte
	put := func(u uint16) {
		if s.unicode {
			b = binary.LittleEndian.AppendUint16(b, u)
		} else {
			b = append(b, byte(u))
		}
	}
	for _, p := range parts {
		switch p.v {
		case -1:
			if s.unicode {
				for _, u := range utf16.Encode([]rune(p.text)) {
					put(u)
				}
			} else {
				b = append(b, p.text...)
			}
		case -2:
			put(uint16(c[2]))
			if s.unicode {
				put(uint16(p.shell[0]) | uint16(p.shell[1])<<8)
			} else {
				b = append(b, p.shell[0], p.shell[1])
			}
		default:
			cs := codeShort(p.v)
			put(uint16(c[1]))
			if s.unicode {
				put(uint16(cs[0]) | uint16(cs[1])<<8)
			} else {
				b = append(b, cs[0], cs[1])
			}
		}
	}
	s.strs = append(s.strs, b)
	return uint32(off)
}

func (s *synth) chars(b []byte) int {
	if s.unicode {
		return len(b) / 2
	}
	return len(b)
}

func (s *synth) build() []byte {
	const fixed = 300
	var ents []byte
	for _, e := range s.entries {
		for _, v := range e {
			ents = binary.LittleEndian.AppendUint32(ents, v)
		}
	}
	var strs []byte
	for _, e := range s.strs {
		strs = append(strs, e...)
		strs = append(strs, 0)
		if s.unicode {
			strs = append(strs, 0)
		}
	}
	if s.noNUL {
		strs = append(strs, 'x')
	}
	lang := make([]byte, 10)
	binary.LittleEndian.PutUint16(lang, 0x409)
	h := make([]byte, fixed)
	n := uint32(len(s.entries))
	if s.numEntries != nil {
		n = *s.numEntries
	}
	blocks := [numBlocks][2]uint32{
		nbEntries:    {fixed, n},
		nbStrings:    {fixed + uint32(len(ents)), uint32(len(s.strs))},
		nbLangTables: {fixed + uint32(len(ents)+len(strs)), 1},
	}
	for k, bl := range blocks {
		binary.LittleEndian.PutUint32(h[4+8*k:], bl[0])
		binary.LittleEndian.PutUint32(h[4+8*k+4:], bl[1])
	}
	binary.LittleEndian.PutUint32(h[4+8*numBlocks+32:], uint32(len(lang)))
	h = append(append(append(h, ents...), strs...), lang...)

	var arc bytes.Buffer
	arc.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(h))))
	arc.Write(h)
	for _, d := range s.data {
		arc.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(d))))
		arc.Write(d)
	}
	out := make([]byte, 512)
	copy(out, "MZ")
	binary.LittleEndian.PutUint32(out[0x3c:], 0x40)
	copy(out[0x40:], "PE\x00\x00")
	fh := binary.LittleEndian.AppendUint32(nil, fhNoCRC)
	fh = append(fh, signature...)
	fh = binary.LittleEndian.AppendUint32(fh, uint32(len(h)))
	fh = binary.LittleEndian.AppendUint32(fh, uint32(firstHeaderSize+arc.Len()))
	return append(append(out, fh...), arc.Bytes()...)
}

// sample builds the synthetic installer used by TestSynthetic.
func sample(unicode, nsis2 bool) *synth {
	s := &synth{unicode: unicode, nsis2: nsis2}
	outdir := s.add(variable(varInstDir), lit(`\sub`))
	a := s.add(lit("a.txt"))
	sys := s.add(shell(0x25, 0x25), lit(`\drv.dll`))
	key := s.add(lit(`Software\Microsoft\Windows\CurrentVersion\Run`))
	name := s.add(lit("Synth"))
	val := s.add(variable(varInstDir), lit(`\sub\a.exe é`))
	s.data = [][]byte{[]byte("alpha"), []byte("MZ driver")}
	s.entries = [][7]uint32{
		{ewCreateDir, outdir, 1},
		{ewExtractFile, 0, a, 0, 0, 0},
		{ewExtractFile, 0, sys, 9, 0, 0},
		{ewWriteReg, 0x80000002, key, name, val, 1, 1},
		{ewExecute, val, 0, 1},
	}
	return s
}

func TestSynthetic(t *testing.T) {
	for _, tt := range []struct {
		name           string
		unicode, nsis2 bool
	}{
		{"NSIS 2 ANSI", false, true},
		{"NSIS 3 ANSI", false, false},
		{"NSIS 3 Unicode", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := sample(tt.unicode, tt.nsis2).build()
			r, err := NewReader(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatalf("NewReader = %v", err)
			}
			if r.Unicode != tt.unicode || r.NSIS3 == tt.nsis2 || r.Method != Stored || r.Solid {
				t.Errorf("unicode %v nsis3 %v method %v solid %v", r.Unicode, r.NSIS3, r.Method, r.Solid)
			}
			got := map[string]string{}
			err = r.Walk(func(p string, size int64, rd io.Reader) error {
				b, err := io.ReadAll(rd)
				got[p] = string(b)
				return err
			})
			if err != nil {
				t.Fatalf("Walk = %v", err)
			}
			want := map[string]string{"INSTDIR/sub/a.txt": "alpha", "SYSDIR/drv.dll": "MZ driver"}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("Walk (-want +got)\n%s", d)
			}
			wantScript := &Script{
				Registry: []RegWrite{{Root: "HKLM", Key: `Software\Microsoft\Windows\CurrentVersion\Run`, Name: "Synth",
					Type: "REG_SZ", Value: `$INSTDIR\sub\a.exe é`, Entry: 3}},
				Execs: []Exec{{Kind: "ExecWait", Command: `$INSTDIR\sub\a.exe é`, Entry: 4}},
			}
			if tt.nsis2 || !tt.unicode {
				// ANSI strings are read as ISO 8859-1: "é" was written as UTF-8 bytes.
				wantScript.Registry[0].Value = "$INSTDIR\\sub\\a.exe \u00c3\u00a9"
				wantScript.Execs[0].Command = wantScript.Registry[0].Value
			}
			if d := cmp.Diff(wantScript, r.Script()); d != "" {
				t.Errorf("Script() (-want +got)\n%s", d)
			}
		})
	}
}

func TestSyntheticHostile(t *testing.T) {
	big := uint32(MaxEntries + 1)
	tooMany := uint32(1000)
	tests := []struct {
		name string
		mod  func(s *synth)
		want error // nil: opens, and reads without panic
	}{
		{"entry count over the limit", func(s *synth) { s.numEntries = &big }, unpack.ErrLimit},
		{"entries beyond the header", func(s *synth) { s.numEntries = &tooMany }, unpack.ErrFormat},
		{"string table without NUL", func(s *synth) { s.noNUL = true }, unpack.ErrFormat},
		{"string offsets out of range", func(s *synth) {
			s.entries = append(s.entries, [7]uint32{ewExtractFile, 0, 1 << 30, 0}, [7]uint32{ewWriteReg, 1, 0xFFFFFFF0, 1 << 31, 7, 1, 1})
		}, nil},
		{"data position out of range", func(s *synth) {
			s.entries = append(s.entries, [7]uint32{ewExtractFile, 0, 1, 1 << 30})
		}, unpack.ErrFormat},
		{"string expansion bomb", func(s *synth) {
			long := s.add(lit(string(bytes.Repeat([]byte("A"), 60000))))
			s.entries = nil
			for i := 0; i < 200; i++ {
				s.entries = append(s.entries, [7]uint32{ewWriteReg, 0x80000002, long, long, long, 1, 1})
			}
		}, unpack.ErrLimit},
		{"path climbing out", func(s *synth) {
			s.entries = append(s.entries, [7]uint32{ewExtractFile, 0, s.add(lit(`..\..\..\evil.dll`)), 0})
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sample(false, false)
			tt.mod(s)
			data := s.build()
			err := readAll(t, data)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("read = %v, want %v", err, tt.want)
			}
		})
	}
	s := sample(false, false)
	s.entries = append(s.entries, [7]uint32{ewExtractFile, 0, s.add(lit(`..\..\..\evil.dll`)), 0})
	data := s.build()
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(r, "INSTDIR/sub/evil.dll"); err != nil {
		t.Errorf(`..\..\..\evil.dll under $INSTDIR\sub: %v, want INSTDIR/sub/evil.dll`, err)
	}
}
