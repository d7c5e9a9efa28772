// Package iscabtest writes InstallShield cabinet sets (data1.hdr, data1.cab, data2.cab) for
// tests: the inverse of package iscab's reader, in unshield's layout, versions 5 and 6+.
package iscabtest

import (
	"bytes"
	"compress/flate"
	"crypto/md5"
	"encoding/binary"
	"testing/fstest"
	"unicode/utf16"
)

// File is one file of a set to write.
type File struct {
	Group, Dir, Name string
	Data             []byte
	Compress         bool // chunks of raw deflate
	Obfuscate        bool
	Vol              int  // 1 or 2 (0: 1)
	Split            int  // > 0: that many stored bytes end volume 1, the rest open volume 2
	LinkTo           int  // > 0: index+1 of the descriptor whose bytes this file shares (6+)
	Invalid          bool // flagged invalid, no data offset
}

// Set is a cabinet set to write. Files of one group must be adjacent; a split file must be
// the last file of volume 1.
type Set struct {
	Version uint32 // common header version word; 0: 0x01009500 (major 9), 0x01005000 when V5
	V5      bool   // version 5 layout: descriptors in the file table, 32-bit volume headers
	Unicode bool   // names in UTF-16LE (major version 17 and later)
	// SelfHeader writes no data1.hdr: data1.cab holds the header, its volume header in the
	// bytes the header leaves unused after the common header, its files' data after it.
	SelfHeader bool
	Files      []File
}

// Where the writer puts things.
const (
	CDO        = 0x200   // cabinet descriptor offset in the header
	FTO        = 0x300   // file table offset from the descriptor
	VolHeader6 = 20 + 64 // common and version 6+ volume header: where a volume's data starts
)

// Chunked compresses b as InstallShield does: chunks of at most 32 KiB, each a 16-bit length
// and a complete raw deflate stream.
func Chunked(b []byte) []byte {
	var out bytes.Buffer
	for len(b) > 0 {
		n := min(len(b), 32<<10)
		var c bytes.Buffer
		w, _ := flate.NewWriter(&c, flate.BestCompression)
		w.Write(b[:n])
		w.Close()
		binary.Write(&out, binary.LittleEndian, uint16(c.Len()))
		out.Write(c.Bytes())
		b = b[n:]
	}
	return out.Bytes()
}

// Obfuscated applies the inverse of the reader's deobfuscation over b.
func Obfuscated(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		x := c + byte(uint32(i)%0x47)
		x = x<<2 | x>>6
		out[i] = x ^ 0xd5
	}
	return out
}

type volHdr struct {
	first, last                  uint32
	firstOff, firstExp, firstLen uint64
	lastOff, lastExp, lastLen    uint64
	haveFirst                    bool
}

// FS returns the set as data1.hdr, data1.cab and data2.cab (when a file lands in volume 2)
// in a folder named Disk1.
func (s Set) FS() fstest.MapFS {
	le := binary.LittleEndian
	version := s.Version
	switch {
	case version != 0:
	case s.V5:
		version = 0x01005000
	default:
		version = 0x01009500
	}
	volH := VolHeader6
	if s.V5 {
		volH = 20 + 40
	}
	vol1Start := volH
	if s.SelfHeader {
		plain := s
		plain.SelfHeader = false
		vol1Start = len(plain.FS()["Disk1/data1.hdr"].Data) // its length does not depend on offsets
	}
	vols := [3]*bytes.Buffer{nil, bytes.NewBuffer(make([]byte, vol1Start)), bytes.NewBuffer(make([]byte, volH))}
	var vh [3]volHdr
	type placed struct {
		raw []byte
		off uint64
		vol int
	}
	pl := make([]placed, len(s.Files))
	touch := func(v int, i int) {
		if !vh[v].haveFirst {
			vh[v].first, vh[v].haveFirst = uint32(i), true
		}
		vh[v].last = uint32(i)
	}
	for i, f := range s.Files {
		if f.LinkTo > 0 || f.Invalid {
			continue
		}
		raw := f.Data
		if f.Compress {
			raw = Chunked(raw)
		}
		if f.Obfuscate {
			raw = Obfuscated(raw)
		}
		v := max(f.Vol, 1)
		pl[i] = placed{raw: raw, off: uint64(vols[v].Len()), vol: v}
		if f.Split > 0 {
			vh[1].lastOff, vh[1].lastLen, vh[1].lastExp = uint64(vols[1].Len()), uint64(f.Split), uint64(f.Split)
			vols[1].Write(raw[:f.Split])
			touch(1, i)
			vh[2].firstOff, vh[2].firstLen, vh[2].firstExp = uint64(vols[2].Len()), uint64(len(raw)-f.Split), uint64(len(raw)-f.Split)
			vols[2].Write(raw[f.Split:])
			touch(2, i)
			continue
		}
		vols[v].Write(raw)
		touch(v, i)
	}
	// Header: descriptor at CDO, file table at CDO+FTO, everything after it.
	body := make([]byte, FTO) // from the descriptor
	put := func(b []byte) uint32 { off := len(body); body = append(body, b...); return uint32(off) }
	cstr := func(x string) []byte {
		if !s.Unicode {
			return append([]byte(x), 0)
		}
		var b []byte
		for _, c := range utf16.Encode([]rune(x)) {
			b = le.AppendUint16(b, c)
		}
		return append(b, 0, 0)
	}
	// directories
	var dirs []string
	dirIdx := map[string]int{}
	for _, f := range s.Files {
		if _, ok := dirIdx[f.Dir]; !ok {
			dirIdx[f.Dir] = len(dirs)
			dirs = append(dirs, f.Dir)
		}
	}
	nTable := len(dirs)
	if s.V5 {
		nTable += len(s.Files)
	}
	put(make([]byte, 4*nTable))
	for i, d := range dirs {
		off := put(cstr(d)) - FTO
		le.PutUint32(body[FTO+4*i:], off)
	}
	nameOffs := make([]uint32, len(s.Files))
	for i, f := range s.Files {
		nameOffs[i] = put(cstr(f.Name)) - FTO
	}
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	fto2 := uint32(len(body)) - FTO
	for i, f := range s.Files {
		if s.V5 {
			d := make([]byte, 0x3a)
			var flags uint16
			if f.Compress {
				flags |= 4
			}
			if f.Obfuscate {
				flags |= 2
			}
			if f.Invalid {
				flags |= 8
			}
			le.PutUint32(d, nameOffs[i])
			le.PutUint32(d[4:], uint32(dirIdx[f.Dir]))
			le.PutUint16(d[8:], flags)
			le.PutUint32(d[0xa:], uint32(len(f.Data)))
			le.PutUint32(d[0xe:], uint32(len(pl[i].raw)))
			if !f.Invalid {
				le.PutUint32(d[0x26:], uint32(pl[i].off))
			}
			sum := md5.Sum(f.Data)
			copy(d[0x2a:], sum[:])
			off := put(d) - FTO
			le.PutUint32(body[FTO+4*(len(dirs)+i):], off)
			continue
		}
		d := make([]byte, 0x57)
		src := i
		if f.LinkTo > 0 {
			src = f.LinkTo - 1
			d[0x54] = 1
			le.PutUint32(d[0x4c:], uint32(src))
		}
		sf := s.Files[src]
		var flags uint16
		if sf.Compress {
			flags |= 4
		}
		if sf.Obfuscate {
			flags |= 2
		}
		if sf.Split > 0 {
			flags |= 1
		}
		if f.Invalid {
			flags |= 8
		}
		le.PutUint16(d, flags)
		le.PutUint64(d[2:], uint64(len(f.Data)))
		le.PutUint64(d[0xa:], uint64(len(pl[src].raw)))
		le.PutUint64(d[0x12:], pl[src].off)
		if f.Invalid {
			le.PutUint64(d[0x12:], 0)
		}
		sum := md5.Sum(f.Data)
		copy(d[0x1a:], sum[:])
		le.PutUint32(d[0x3a:], nameOffs[i])
		le.PutUint16(d[0x3e:], uint16(dirIdx[f.Dir]))
		le.PutUint16(d[0x55:], uint16(max(pl[src].vol, 1)))
		put(d)
	}
	// file groups: one list entry and descriptor per run of files sharing a group name.
	slot := 0
	for i := 0; i < len(s.Files); {
		j := i
		for j < len(s.Files) && s.Files[j].Group == s.Files[i].Group {
			j++
		}
		if g := s.Files[i].Group; g != "" {
			name := put(cstr(g))
			desc := make([]byte, 0x54)
			le.PutUint32(desc, name)
			r := 0x16
			if s.V5 {
				r = 0x4c
			}
			le.PutUint32(desc[r:], uint32(i))
			le.PutUint32(desc[r+4:], uint32(j-1))
			dOff := put(desc)
			entry := make([]byte, 12)
			le.PutUint32(entry[4:], dOff)
			eOff := put(entry) // before indexing body, which put may move
			le.PutUint32(body[0x3e+4*slot:], eOff)
			slot++
		}
		i = j
	}
	le.PutUint32(body[0x0c:], FTO)
	le.PutUint32(body[0x14:], uint32(len(body)-FTO))
	le.PutUint32(body[0x18:], uint32(len(body)-FTO))
	le.PutUint32(body[0x1c:], uint32(len(dirs)))
	le.PutUint32(body[0x28:], uint32(len(s.Files)))
	le.PutUint32(body[0x2c:], fto2)
	common := func(descSize uint32) []byte {
		c := make([]byte, 20)
		copy(c, "ISc(")
		le.PutUint32(c[4:], version)
		le.PutUint32(c[12:], CDO)
		le.PutUint32(c[16:], descSize)
		return c
	}
	hdr := make([]byte, CDO, CDO+len(body))
	copy(hdr, common(0x276))
	hdr = append(hdr, body...)
	out := fstest.MapFS{}
	if !s.SelfHeader {
		out["Disk1/data1.hdr"] = &fstest.MapFile{Data: hdr}
	}
	for v := 1; v <= 2; v++ {
		if v == 2 && vols[2].Len() == volH {
			continue
		}
		b := vols[v].Bytes()
		copy(b, common(0))
		if v == 1 && s.SelfHeader {
			copy(b, hdr)
		}
		h := b[20:]
		if s.V5 {
			for i, x := range []uint64{0, 0, uint64(vh[v].first), uint64(vh[v].last), vh[v].firstOff, vh[v].firstExp, vh[v].firstLen, vh[v].lastOff, vh[v].lastExp, vh[v].lastLen} {
				le.PutUint32(h[4*i:], uint32(x))
			}
			out["Disk1/data"+string(rune('0'+v))+".cab"] = &fstest.MapFile{Data: b}
			continue
		}
		le.PutUint32(h[8:], vh[v].first)
		le.PutUint32(h[12:], vh[v].last)
		le.PutUint64(h[16:], vh[v].firstOff)
		le.PutUint64(h[24:], vh[v].firstExp)
		le.PutUint64(h[32:], vh[v].firstLen)
		le.PutUint64(h[40:], vh[v].lastOff)
		le.PutUint64(h[48:], vh[v].lastExp)
		le.PutUint64(h[56:], vh[v].lastLen)
		out["Disk1/data"+string(rune('0'+v))+".cab"] = &fstest.MapFile{Data: b}
	}
	return out
}
