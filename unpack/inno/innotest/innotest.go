// Package innotest builds small synthetic Inno Setup 6.1.0 (Unicode) installers for tests,
// written from the layout innoextract reads (see package unpack/inno): the loader table
// reached through the "Inno" pointer at 0x30 of a stub's DOS header, setup-0 (version
// string, two header blocks, stored or LZMA1) and setup-1 (stored and zlib chunks, the CALL
// filter), in the installer or cut into slice files (disk spanning). They exercise the reader's decoding paths, hostile-input handling and analyze's
// glue; conformance is checked on real installers against innoextract, never on these.
package innotest

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"hash/crc32"
	"unicode/utf16"

	"github.com/ulikunitz/xz/lzma"
)

const (
	blockChunk  = 4096
	filterBlock = 0x10000
	winverBytes = 20
)

// File is one file the installer carries.
type File struct {
	Dest     string // destination as the script spells it
	Data     []byte
	Chunk    int  // chunk index
	Location int  // data entry; -1: a new one
	Filter   bool // stored through the CALL filter
	Temp     bool // deleteafterinstall
}

// Synth describes an installer.
type Synth struct {
	Version    string // the 64-byte version string
	AppID      string
	AppVersion string
	Files      []File
	Compressed bool // header blocks LZMA-compressed
	Encrypted  bool // chunk 0 marked encrypted
	ChunkZlib  []bool
	CorruptSum int // data entry whose checksum is wrong (-1: none)
	NoData     bool
	Registry   [][4]string // hive, key, name, value
	Runs       [][2]string // filename, parameters
	Icons      [][2]string // name, filename
	// LoaderRevision is the loader table's revision (0: 1, what 5.1.5 to 6.4 write).
	LoaderRevision uint32
	// V67 lays the installer out as Inno Setup 6.7 does (data version 6.7.0: loader table
	// revision 2, an encryption header, 64-bit block sizes, SHA-256 checksums; see
	// unpack/inno/v67.go); Version is then ignored.
	V67 bool
	// SliceSize, when set, puts the chunks in slice files of at most that many bytes
	// instead of the installer (DiskSpanning=yes); BuildSpanned returns them.
	SliceSize int
	// SlicesPerDisk is the header's value (0 is written as is, except that a spanned
	// installer gets 1).
	SlicesPerDisk uint32
	// BaseFilename is the header's (OutputBaseFilename; empty: "acme-setup").
	BaseFilename string
}

type wbuf struct{ bytes.Buffer }

func (w *wbuf) u8(v uint8)   { w.WriteByte(v) }
func (w *wbuf) u16(v uint16) { w.Write(binary.LittleEndian.AppendUint16(nil, v)) }
func (w *wbuf) u32(v uint32) { w.Write(binary.LittleEndian.AppendUint32(nil, v)) }
func (w *wbuf) u64(v uint64) { w.Write(binary.LittleEndian.AppendUint64(nil, v)) }
func (w *wbuf) zeros(n int)  { w.Write(make([]byte, n)) }
func (w *wbuf) bin(b []byte) { w.u32(uint32(len(b))); w.Write(b) }
func (w *wbuf) str(s string) { w.bin(utf16le(s)) }

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// block encodes a header block: stored or LZMA1 (Inno's 5-byte properties, end marker).
func block(content []byte, compress, size64 bool) ([]byte, error) {
	stored := content
	if compress {
		var out bytes.Buffer
		lw, err := lzma.WriterConfig{DictCap: 1 << 16, Size: -1, EOSMarker: true}.NewWriter(&out)
		if err != nil {
			return nil, err
		}
		lw.Write(content)
		if err := lw.Close(); err != nil {
			return nil, err
		}
		b := out.Bytes()
		stored = append(append([]byte{}, b[:5]...), b[13:]...)
	}
	var chunks []byte
	for len(stored) > 0 {
		n := min(len(stored), blockChunk)
		chunks = binary.LittleEndian.AppendUint32(chunks, crc32.ChecksumIEEE(stored[:n]))
		chunks = append(chunks, stored[:n]...)
		stored = stored[n:]
	}
	var h wbuf
	if size64 {
		h.u64(uint64(len(chunks)))
	} else {
		h.u32(uint32(len(chunks)))
	}
	if compress {
		h.u8(1)
	} else {
		h.u8(0)
	}
	out := binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(h.Bytes()))
	out = append(out, h.Bytes()...)
	return append(out, chunks...), nil
}

// EncodeCalls applies Inno's CALL filter, the inverse of unpack/inno's decoder: the 5309
// variant (5.3.9 and later) when flip is set, the 5200 variant otherwise.
func EncodeCalls(in []byte, flip bool) []byte {
	b := bytes.Clone(in)
	var offset uint32
	for i := 0; i < len(b); {
		c := b[i]
		i++
		offset++
		if c != 0xe8 && c != 0xe9 {
			continue
		}
		if filterBlock-(offset-1)%filterBlock < 5 || i+4 > len(b) {
			continue
		}
		offset += 4
		op := b[i : i+4]
		i += 4
		if op[3] != 0 && op[3] != 0xff {
			continue
		}
		rel := uint32(op[0]) | uint32(op[1])<<8 | uint32(op[2])<<16
		abs := rel + offset&0xffffff
		if flip && rel&0x800000 != 0 {
			op[3] = ^op[3]
		}
		op[0], op[1], op[2] = byte(abs), byte(abs>>8), byte(abs>>16)
	}
	return b
}

// Acme returns the installer the tests share: Acme Softphone 5.2.0 with a CALL-filtered
// program and a readme in a solid zlib chunk, a DLL for {sys} in a stored chunk, a temporary
// file sharing the program's data, a destination that climbs out of {app}, a Run key, an
// HKA value, a [Run] entry and shortcuts in the Startup folder and the program group.
func Acme() *Synth {
	exe := append([]byte("MZ fake program "), bytes.Repeat([]byte{0xe8, 0x10, 0x20, 0x00, 0x00, 0x90, 0xe9, 0xf0, 0xff, 0xff, 0xff}, 300)...)
	return &Synth{
		Version:    "Inno Setup Setup Data (6.1.0) (u)",
		AppID:      "{{6F1C7A52-0000-4000-8000-ACME00000001}",
		AppVersion: "5.2.0",
		Files: []File{
			{Dest: `{app}\bin\acme.exe`, Data: exe, Chunk: 0, Location: -1, Filter: true},
			{Dest: `{app}\readme.txt`, Data: []byte("Acme Softphone\r\n"), Chunk: 0, Location: -1},
			{Dest: `{sys}\acmehook.dll`, Data: []byte("MZ hook"), Chunk: 1, Location: -1},
			{Dest: `{tmp}\helper.exe`, Chunk: 0, Location: 0, Temp: true},
			{Dest: `{app}\..\..\evil.txt`, Data: []byte("climb"), Chunk: 1, Location: -1},
		},
		ChunkZlib:  []bool{true, false},
		CorruptSum: -1,
		Registry: [][4]string{{"HKCU", `Software\Microsoft\Windows\CurrentVersion\Run`, "Acme", `"{app}\bin\acme.exe" --tray`},
			{"HKA", `Software\Acme`, "Path", `{app}`}},
		Runs:  [][2]string{{`{app}\bin\acme.exe`, "--first-run"}},
		Icons: [][2]string{{`{userstartup}\Acme`, `{app}\bin\acme.exe`}, {`{group}\Acme`, `{app}\bin\acme.exe`}},
	}
}

// location is one data entry: where a file's bytes are in which chunk.
type location struct {
	chunk       int
	offset      int
	size        int
	sum         []byte
	filter      bool
	compressed  bool
	encrypted   bool
	chunkOffset int
	chunkSize   int
	first, last int // slices
}

// Build lays out the installer after stub (a PE whose DOS header gets the "Inno" pointer at
// 0x30; nil: a bare DOS header): the loader table, setup-0 and setup-1.
func (s *Synth) Build(stub []byte) ([]byte, error) {
	exe, _, err := s.BuildSpanned(stub)
	return exe, err
}

// BuildSpanned is Build that also returns the slice files when SliceSize is set: slice i is
// the file unpack/inno looks for as NAME-(i+1).bin (one slice per disk).
func (s *Synth) BuildSpanned(stub []byte) ([]byte, [][]byte, error) {
	// Data entries and chunks.
	var locs []*location
	raw := make([][]byte, len(s.ChunkZlib))
	fileLoc := make([]int, len(s.Files))
	for i, f := range s.Files {
		if f.Location >= 0 {
			fileLoc[i] = f.Location
			continue
		}
		var sum []byte
		if s.V67 {
			h := sha256.Sum256(f.Data)
			sum = h[:]
		} else {
			h := sha1.Sum(f.Data)
			sum = h[:]
		}
		stored := f.Data
		if f.Filter {
			stored = EncodeCalls(f.Data, true)
		}
		l := &location{chunk: f.Chunk, offset: len(raw[f.Chunk]), size: len(f.Data), sum: sum, filter: f.Filter,
			compressed: s.ChunkZlib[f.Chunk], encrypted: s.Encrypted && f.Chunk == 0}
		raw[f.Chunk] = append(raw[f.Chunk], stored...)
		fileLoc[i] = len(locs)
		locs = append(locs, l)
	}
	var setup1 wbuf
	chunkAt := make([]int, len(raw))
	chunkLen := make([]int, len(raw))
	for c, data := range raw {
		chunkAt[c] = setup1.Len()
		setup1.WriteString("zlb\x1a")
		body := data
		if s.ChunkZlib[c] {
			var z bytes.Buffer
			zw := zlib.NewWriter(&z)
			zw.Write(data)
			zw.Close()
			body = z.Bytes()
		}
		chunkLen[c] = len(body)
		setup1.Write(body)
	}
	var slices [][]byte
	chunkFirst := make([]int, len(raw))
	chunkLast := make([]int, len(raw))
	if s.SliceSize > 0 {
		slices = s.slice(setup1.Bytes(), chunkAt, chunkLen, chunkFirst, chunkLast)
	}
	for i, l := range locs {
		l.chunkOffset, l.chunkSize = chunkAt[l.chunk], chunkLen[l.chunk]
		l.first, l.last = chunkFirst[l.chunk], chunkLast[l.chunk]
		if i == s.CorruptSum {
			l.sum = bytes.Repeat([]byte{0xAA}, len(l.sum))
		}
	}

	// The header blocks.
	var h, d wbuf
	if s.V67 {
		s.blocks67(&h, &d, fileLoc, locs)
	} else {
		for _, v := range []string{"Acme Softphone", "Acme Softphone " + s.AppVersion, s.AppID, "(c) Acme", "Acme Corp",
			"https://acme.test/", "", "", "", s.AppVersion, `{autopf}\Acme`, "Acme", s.baseFilename(), `{app}`, "unins"} {
			h.str(v)
		}
		for i := 0; i < 10+1+1+1+2+3+1; i++ {
			h.bin(nil)
		}
		counts := []int{1, 0, 0, 0, 0, 0, 0, len(s.Files), len(locs), len(s.Icons), 0, len(s.Registry), 0, 0, len(s.Runs), 0}
		for _, n := range counts {
			h.u32(uint32(n))
		}
		h.zeros(winverBytes)
		h.zeros(8)     // back colours
		h.zeros(1 + 8) // wizard style, resize
		h.zeros(1)     // alpha
		h.zeros(20 + 8)
		h.zeros(8)
		h.u32(s.slicesPerDisk())
		h.zeros(2)
		h.u8(2) // admin
		h.zeros(1)
		h.zeros(2)
		h.u8(1) // zlib
		h.zeros(2)
		h.zeros(2)
		h.zeros(8)
		var flags [6]byte // 48 header flags in 6.1.0 Unicode
		if s.Encrypted {
			flags[36/8] |= 1 << (36 % 8)
		}
		h.Write(flags[:])
		// One language.
		for i := 0; i < 10; i++ {
			h.bin(nil)
		}
		h.u32(0x409)
		h.zeros(16 + 1)
		for i, f := range s.Files {
			h.bin([]byte("src")) // source (UTF-16 not required for an unread field)
			h.str(f.Dest)
			h.bin(nil)
			h.bin(nil)
			for k := 0; k < 6; k++ {
				h.bin(nil)
			}
			h.zeros(winverBytes)
			h.u32(uint32(fileLoc[i]))
			h.zeros(4 + 8 + 2)
			var ff uint32
			if f.Temp {
				ff |= 1 << 3
			}
			h.u32(ff)
			h.u8(0)
		}
		for _, ic := range s.Icons {
			h.str(ic[0])
			h.str(ic[1])
			for k := 0; k < 4+6+1; k++ {
				h.bin(nil)
			}
			h.zeros(16 + winverBytes + 4 + 4 + 1 + 2 + 1)
		}
		hives := map[string]uint32{"HKCR": 0x80000000, "HKCU": 0x80000001, "HKLM": 0x80000002, "HKA": 1}
		for _, r := range s.Registry {
			h.str(r[1])
			h.str(r[2])
			h.bin(utf16le(r[3]))
			for k := 0; k < 6; k++ {
				h.bin(nil)
			}
			h.zeros(winverBytes)
			h.u32(hives[r[0]])
			h.zeros(2)
			h.u8(1) // string
			h.zeros(2)
		}
		for _, r := range s.Runs {
			h.str(r[0])
			h.str(r[1])
			for k := 0; k < 5+6; k++ {
				h.bin(nil)
			}
			h.zeros(winverBytes + 4 + 1)
			h.u16(1 << 2) // postinstall
		}
		h.u32(0) // wizard images
		h.u32(0) // small wizard images
		h.bin(nil)
		if s.Encrypted {
			h.bin(nil) // decryption DLL
		}

		// Second block: data entries.
		for _, l := range locs {
			d.u32(uint32(l.first))
			d.u32(uint32(l.last))
			d.u32(uint32(l.chunkOffset))
			d.u64(uint64(l.offset))
			d.u64(uint64(l.size))
			d.u64(uint64(l.chunkSize))
			d.Write(l.sum)
			d.u64(133000000000000000) // 2022
			d.u64(0)
			var fl uint16
			if l.filter {
				fl |= 1 << 4
			}
			if l.encrypted {
				fl |= 1 << 6
			}
			if l.compressed {
				fl |= 1 << 7
			}
			d.u16(fl)
		}

	}

	var setup0 wbuf
	var ver [64]byte
	if s.V67 {
		copy(ver[:], "Inno Setup Setup Data (6.7.0)")
	} else {
		copy(ver[:], s.Version)
	}
	setup0.Write(ver[:])
	if s.V67 {
		eh := make([]byte, 49) // no encryption
		if s.Encrypted {
			eh[0] = 1 // files only
		}
		setup0.Write(binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(eh)))
		setup0.Write(eh)
	}
	for _, b := range [][]byte{h.Bytes(), d.Bytes()} {
		blk, err := block(b, s.Compressed, s.V67)
		if err != nil {
			return nil, nil, err
		}
		setup0.Write(blk)
	}

	if stub == nil {
		stub = make([]byte, 0x40)
		copy(stub, "MZ")
	}
	tableAt := len(stub)
	setup0At := tableAt + 0x40
	setup1At := setup0At + setup0.Len()
	if s.NoData || s.SliceSize > 0 {
		setup1At = 0
	}
	out := make([]byte, setup0At)
	copy(out, stub)
	copy(out[0x30:], "Inno")
	binary.LittleEndian.PutUint32(out[0x34:], uint32(tableAt))
	binary.LittleEndian.PutUint32(out[0x38:], ^uint32(tableAt))
	tab := []byte("rDlPtS\xcd\xe6\xd7{\x0b*")
	rev := s.LoaderRevision
	switch {
	case rev == 0 && s.V67:
		rev = 2
	case rev == 0:
		rev = 1
	}
	if s.V67 {
		tab = binary.LittleEndian.AppendUint32(tab, rev)
		for _, v := range []uint64{0, 0} { // total size, setup.e32 offset
			tab = binary.LittleEndian.AppendUint64(tab, v)
		}
		tab = binary.LittleEndian.AppendUint64(tab, 0) // setup.e32 size and CRC32
		tab = binary.LittleEndian.AppendUint64(tab, uint64(setup0At))
		tab = binary.LittleEndian.AppendUint64(tab, uint64(setup1At))
		tab = binary.LittleEndian.AppendUint32(tab, 0) // padding
	} else {
		for _, v := range []uint32{rev, 0, 0, 0, 0, uint32(setup0At), uint32(setup1At)} {
			tab = binary.LittleEndian.AppendUint32(tab, v)
		}
	}
	tab = binary.LittleEndian.AppendUint32(tab, crc32.ChecksumIEEE(tab))
	copy(out[tableAt:], tab)
	out = append(out, setup0.Bytes()...)
	if !s.NoData && s.SliceSize == 0 {
		out = append(out, setup1.Bytes()...)
	}
	return out, slices, nil
}

func (s *Synth) baseFilename() string {
	if s.BaseFilename == "" {
		return "acme-setup"
	}
	return s.BaseFilename
}

func (s *Synth) slicesPerDisk() uint32 {
	if s.SlicesPerDisk == 0 && s.SliceSize > 0 {
		return 1
	}
	return s.SlicesPerDisk
}

// slice cuts setup-1 (the chunks at chunkAt, chunkLen bytes after their magic each) into
// slice files as Inno's compiler writes them: a header ("idska32\x1a" and a 32-bit total
// size; "idskb32\x1a" and 64 bits for 6.7), a chunk starting only where its magic and one
// byte fit, its bytes running on into the next slices. It sets each chunk's first and last
// slice and rewrites chunkAt to the offset in the first slice.
func (s *Synth) slice(setup1 []byte, chunkAt, chunkLen, first, last []int) [][]byte {
	magic, hl := "idska32\x1a", 12
	if s.V67 {
		magic, hl = "idskb32\x1a", 16
	}
	var out [][]byte
	next := func() {
		b := make([]byte, hl, s.SliceSize)
		copy(b, magic)
		out = append(out, b)
	}
	next()
	room := func() int { return s.SliceSize - len(out[len(out)-1]) }
	for c := range chunkAt {
		if room() < 5 {
			next()
		}
		first[c] = len(out) - 1
		data := setup1[chunkAt[c] : chunkAt[c]+4+chunkLen[c]]
		chunkAt[c] = len(out[len(out)-1])
		for len(data) > 0 {
			if room() == 0 {
				next()
			}
			n := min(room(), len(data))
			out[len(out)-1] = append(out[len(out)-1], data[:n]...)
			data = data[n:]
		}
		last[c] = len(out) - 1
	}
	for _, b := range out {
		if s.V67 {
			binary.LittleEndian.PutUint64(b[8:], uint64(len(b)))
		} else {
			binary.LittleEndian.PutUint32(b[8:], uint32(len(b)))
		}
	}
	return out
}

// blocks67 writes the two header blocks of data version 6.7.0: each record's Strings, its
// AnsiStrings, then its packed remainder (unpack/inno/v67.go lists the sizes).
func (s *Synth) blocks67(h, d *wbuf, fileLoc []int, locs []*location) {
	strs := func(v ...string) {
		for _, x := range v {
			h.str(x)
		}
	}
	strs("Acme Softphone", "Acme Softphone "+s.AppVersion, s.AppID, "(c) Acme", "Acme Corp",
		"https://acme.test/", "", "", "", s.AppVersion, `{autopf}\Acme`, "Acme", s.baseFilename(), `{app}`, "unins")
	for i := 15; i < 39+4; i++ {
		h.bin(nil)
	}
	counts := []int{1, 0, 0, 0, 0, 0, 0, 0, len(s.Files), len(locs), len(s.Icons), 0, len(s.Registry), 0, 0, len(s.Runs), 0}
	for _, n := range counts {
		h.u32(uint32(n))
	}
	h.zeros(71 - 6)
	h.u32(s.slicesPerDisk())
	h.zeros(2)
	h.u8(2) // admin
	h.zeros(3)
	h.u8(1) // zlib
	h.zeros(2 + 8 + 8)
	for i := 0; i < 4+4; i++ { // one language
		h.bin(nil)
	}
	h.zeros(19)
	for i, f := range s.Files {
		strs("src", f.Dest)
		for k := 2; k < 15+1; k++ {
			h.bin(nil)
		}
		h.zeros(33 + winverBytes)
		h.u32(uint32(fileLoc[i]))
		h.zeros(4 + 8 + 2)
		var ff uint64
		if f.Temp {
			ff |= 1 << 3
		}
		h.u64(ff)
		h.u8(0)
	}
	for _, ic := range s.Icons {
		strs(ic[0], ic[1])
		for k := 2; k < 13; k++ {
			h.bin(nil)
		}
		h.zeros(48)
	}
	hives := map[string]uint32{"HKCR": 0x80000000, "HKCU": 0x80000001, "HKLM": 0x80000002, "HKA": 1}
	for _, r := range s.Registry {
		strs(r[1], r[2], r[3])
		for k := 3; k < 9; k++ {
			h.bin(nil)
		}
		h.zeros(winverBytes)
		h.u32(hives[r[0]])
		h.zeros(2)
		h.u8(1) // string
		h.zeros(2)
	}
	for _, r := range s.Runs {
		strs(r[0], r[1])
		for k := 2; k < 13; k++ {
			h.bin(nil)
		}
		h.zeros(winverBytes + 4 + 1)
		h.u16(1 << 2) // postinstall
	}
	for k := 0; k < 6; k++ {
		if k < 3 {
			h.u32(0) // no images
		} else {
			h.u32(0xffffffff) // dynamic-dark images: the same as the regular ones
		}
	}
	h.bin(nil) // decompressor DLL (zlib)
	for _, l := range locs {
		d.u32(uint32(l.first))
		d.u32(uint32(l.last))
		d.u64(uint64(l.chunkOffset))
		d.u64(uint64(l.offset))
		d.u64(uint64(l.size))
		d.u64(uint64(l.chunkSize))
		d.Write(l.sum)
		d.u64(133000000000000000)
		d.u64(0)
		var fl uint8
		if l.filter {
			fl |= 1 << 2
		}
		if l.encrypted {
			fl |= 1 << 3
		}
		if l.compressed {
			fl |= 1 << 4
		}
		d.u8(fl)
	}
}
