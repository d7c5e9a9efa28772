package inno

import (
	"encoding/binary"
	"io"
)

// PE resource lookup for the loader's offset table, following Microsoft's "PE Format"
// (COFF header, optional header data directory 2, section table, ".rsrc" resource
// directory tables: a type level, a name level, a language level, then a data entry).

const (
	maxSections        = 96   // PE Format: NumberOfSections limit
	maxResourceEntries = 4096 // entries looked at in one resource directory table
)

// findResource returns the file offset of the first language's data of resource typ/id.
func findResource(r io.ReaderAt, size int64, typ, id uint32) (int64, error) {
	notPE := errs.Format("", -1, "not an Inno Setup installer: no setup loader table")
	var mz [64]byte
	if _, err := r.ReadAt(mz[:], 0); err != nil || mz[0] != 'M' || mz[1] != 'Z' {
		return 0, notPE
	}
	peOff := int64(binary.LittleEndian.Uint32(mz[0x3c:]))
	var coff [24]byte
	if peOff <= 0 || peOff+24 > size {
		return 0, notPE
	}
	if _, err := r.ReadAt(coff[:], peOff); err != nil || string(coff[:4]) != "PE\x00\x00" {
		return 0, notPE
	}
	nsec := int(binary.LittleEndian.Uint16(coff[6:]))
	optSize := int64(binary.LittleEndian.Uint16(coff[20:]))
	opt := peOff + 24
	var magic [2]byte
	if _, err := r.ReadAt(magic[:], opt); err != nil {
		return 0, notPE
	}
	var dd int64
	switch binary.LittleEndian.Uint16(magic[:]) {
	case 0x10b:
		dd = opt + 96
	case 0x20b:
		dd = opt + 112
	default:
		return 0, notPE
	}
	var rsrc [8]byte
	if dd+24 > opt+optSize {
		return 0, notPE
	}
	if _, err := r.ReadAt(rsrc[:], dd+2*8); err != nil {
		return 0, notPE
	}
	rva := binary.LittleEndian.Uint32(rsrc[:])
	if rva == 0 || nsec == 0 || nsec > maxSections {
		return 0, notPE
	}
	secs := make([]byte, 40*nsec)
	if _, err := r.ReadAt(secs, opt+optSize); err != nil {
		return 0, notPE
	}
	toFile := func(v uint32) (int64, bool) {
		for i := 0; i < nsec; i++ {
			s := secs[40*i:]
			vsize := binary.LittleEndian.Uint32(s[8:])
			va := binary.LittleEndian.Uint32(s[12:])
			raw := binary.LittleEndian.Uint32(s[16:])
			ptr := binary.LittleEndian.Uint32(s[20:])
			if v >= va && uint64(v) < uint64(va)+uint64(max(vsize, raw)) {
				off := int64(ptr) + int64(v-va)
				return off, off < size
			}
		}
		return 0, false
	}
	base, ok := toFile(rva)
	if !ok {
		return 0, notPE
	}
	// Walk three levels: type, name, language (the first language).
	dir := int64(0)
	for level, want := range []int64{int64(typ), int64(id), -1} {
		var h [16]byte
		if _, err := r.ReadAt(h[:], base+dir); err != nil {
			return 0, notPE
		}
		n := int(binary.LittleEndian.Uint16(h[12:])) + int(binary.LittleEndian.Uint16(h[14:]))
		n = min(n, maxResourceEntries)
		found := false
		for i := 0; i < n; i++ {
			var e [8]byte
			if _, err := r.ReadAt(e[:], base+dir+16+int64(8*i)); err != nil {
				return 0, notPE
			}
			name := binary.LittleEndian.Uint32(e[:])
			if want >= 0 && (name&(1<<31) != 0 || int64(name) != want) {
				continue
			}
			next := binary.LittleEndian.Uint32(e[4:])
			isDir := next&(1<<31) != 0
			next &^= 1 << 31
			if isDir != (level < 2) || int64(next) <= dir && level < 2 {
				return 0, notPE // directories only point forward: no loops
			}
			dir = int64(next)
			found = true
			break
		}
		if !found {
			return 0, notPE
		}
	}
	var de [8]byte
	if _, err := r.ReadAt(de[:], base+dir); err != nil {
		return 0, notPE
	}
	off, ok := toFile(binary.LittleEndian.Uint32(de[:]))
	if !ok {
		return 0, notPE
	}
	return off, nil
}
