package iscab_test

import (
	"bytes"
	"compress/flate"
	"crypto/md5"
	"encoding/binary"
	"testing/fstest"
	"unicode/utf16"
)

// This file writes version 6+ InstallShield cabinet sets for the tests: the inverse of the
// reader, in unshield's layout (see the package documentation).

// wfile is one file of a set to write.
type wfile struct {
	group, dir, name string
	data             []byte
	compress         bool
	obfuscate        bool
	vol              int // 1 or 2
	split            int // > 0: that many stored bytes end volume 1, the rest open volume 2
	linkTo           int // > 0: index+1 of the descriptor whose bytes this file shares
	invalid          bool
}

// wset is a cabinet set to write.
type wset struct {
	version uint32 // common header version word; 0: 0x01009500 (major 9), 0x01005000 when v5
	v5      bool   // version 5 layout: descriptors in the file table, 32-bit volume headers
	unicode bool   // names in UTF-16LE (major version 17 and later)
	files   []wfile
}

const (
	wCDO  = 0x200 // cabinet descriptor offset
	wFTO  = 0x300 // file table offset from the descriptor
	wVolH = 20 + 64
)

// chunked compresses b as InstallShield does: chunks of at most 32 KiB, each a 16-bit length
// and a complete raw deflate stream.
func chunked(b []byte) []byte {
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

// obfuscated applies the inverse of the reader's deobfuscation over b.
func obfuscated(b []byte) []byte {
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

// fs returns the set as data1.hdr, data1.cab and data2.cab (when a file lands in volume 2)
// in a folder named Disk1.
func (s wset) fs() fstest.MapFS {
	le := binary.LittleEndian
	version := s.version
	switch {
	case version != 0:
	case s.v5:
		version = 0x01005000
	default:
		version = 0x01009500
	}
	volH := wVolH
	if s.v5 {
		volH = 20 + 40
	}
	vols := [3]*bytes.Buffer{nil, bytes.NewBuffer(make([]byte, volH)), bytes.NewBuffer(make([]byte, volH))}
	var vh [3]volHdr
	type placed struct {
		raw []byte
		off uint64
		vol int
	}
	pl := make([]placed, len(s.files))
	touch := func(v int, i int) {
		if !vh[v].haveFirst {
			vh[v].first, vh[v].haveFirst = uint32(i), true
		}
		vh[v].last = uint32(i)
	}
	for i, f := range s.files {
		if f.linkTo > 0 || f.invalid {
			continue
		}
		raw := f.data
		if f.compress {
			raw = chunked(raw)
		}
		if f.obfuscate {
			raw = obfuscated(raw)
		}
		v := max(f.vol, 1)
		pl[i] = placed{raw: raw, off: uint64(vols[v].Len()), vol: v}
		if f.split > 0 {
			vh[1].lastOff, vh[1].lastLen, vh[1].lastExp = uint64(vols[1].Len()), uint64(f.split), uint64(f.split)
			vols[1].Write(raw[:f.split])
			touch(1, i)
			vh[2].firstOff, vh[2].firstLen, vh[2].firstExp = uint64(vols[2].Len()), uint64(len(raw)-f.split), uint64(len(raw)-f.split)
			vols[2].Write(raw[f.split:])
			touch(2, i)
			continue
		}
		vols[v].Write(raw)
		touch(v, i)
	}
	// Header: descriptor at wCDO, file table at wCDO+wFTO, everything after it.
	body := make([]byte, wFTO) // from the descriptor
	put := func(b []byte) uint32 { off := len(body); body = append(body, b...); return uint32(off) }
	cstr := func(x string) []byte {
		if !s.unicode {
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
	for _, f := range s.files {
		if _, ok := dirIdx[f.dir]; !ok {
			dirIdx[f.dir] = len(dirs)
			dirs = append(dirs, f.dir)
		}
	}
	nTable := len(dirs)
	if s.v5 {
		nTable += len(s.files)
	}
	put(make([]byte, 4*nTable))
	for i, d := range dirs {
		off := put(cstr(d)) - wFTO
		le.PutUint32(body[wFTO+4*i:], off)
	}
	nameOffs := make([]uint32, len(s.files))
	for i, f := range s.files {
		nameOffs[i] = put(cstr(f.name)) - wFTO
	}
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	fto2 := uint32(len(body)) - wFTO
	for i, f := range s.files {
		if s.v5 {
			d := make([]byte, 0x3a)
			var flags uint16
			if f.compress {
				flags |= 4
			}
			if f.obfuscate {
				flags |= 2
			}
			if f.invalid {
				flags |= 8
			}
			le.PutUint32(d, nameOffs[i])
			le.PutUint32(d[4:], uint32(dirIdx[f.dir]))
			le.PutUint16(d[8:], flags)
			le.PutUint32(d[0xa:], uint32(len(f.data)))
			le.PutUint32(d[0xe:], uint32(len(pl[i].raw)))
			if !f.invalid {
				le.PutUint32(d[0x26:], uint32(pl[i].off))
			}
			sum := md5.Sum(f.data)
			copy(d[0x2a:], sum[:])
			off := put(d) - wFTO
			le.PutUint32(body[wFTO+4*(len(dirs)+i):], off)
			continue
		}
		d := make([]byte, 0x57)
		src := i
		if f.linkTo > 0 {
			src = f.linkTo - 1
			d[0x54] = 1
			le.PutUint32(d[0x4c:], uint32(src))
		}
		sf := s.files[src]
		var flags uint16
		if sf.compress {
			flags |= 4
		}
		if sf.obfuscate {
			flags |= 2
		}
		if sf.split > 0 {
			flags |= 1
		}
		if f.invalid {
			flags |= 8
		}
		le.PutUint16(d, flags)
		le.PutUint64(d[2:], uint64(len(f.data)))
		le.PutUint64(d[0xa:], uint64(len(pl[src].raw)))
		le.PutUint64(d[0x12:], pl[src].off)
		if f.invalid {
			le.PutUint64(d[0x12:], 0)
		}
		sum := md5.Sum(f.data)
		copy(d[0x1a:], sum[:])
		le.PutUint32(d[0x3a:], nameOffs[i])
		le.PutUint16(d[0x3e:], uint16(dirIdx[f.dir]))
		le.PutUint16(d[0x55:], uint16(max(pl[src].vol, 1)))
		put(d)
	}
	// file groups: one list entry and descriptor per run of files sharing a group name.
	slot := 0
	for i := 0; i < len(s.files); {
		j := i
		for j < len(s.files) && s.files[j].group == s.files[i].group {
			j++
		}
		if g := s.files[i].group; g != "" {
			name := put(cstr(g))
			desc := make([]byte, 0x54)
			le.PutUint32(desc, name)
			r := 0x16
			if s.v5 {
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
	le.PutUint32(body[0x0c:], wFTO)
	le.PutUint32(body[0x14:], uint32(len(body)-wFTO))
	le.PutUint32(body[0x18:], uint32(len(body)-wFTO))
	le.PutUint32(body[0x1c:], uint32(len(dirs)))
	le.PutUint32(body[0x28:], uint32(len(s.files)))
	le.PutUint32(body[0x2c:], fto2)
	common := func(descSize uint32) []byte {
		c := make([]byte, 20)
		copy(c, "ISc(")
		le.PutUint32(c[4:], version)
		le.PutUint32(c[12:], wCDO)
		le.PutUint32(c[16:], descSize)
		return c
	}
	hdr := make([]byte, wCDO, wCDO+len(body))
	copy(hdr, common(0x276))
	hdr = append(hdr, body...)
	out := fstest.MapFS{"Disk1/data1.hdr": {Data: hdr}}
	for v := 1; v <= 2; v++ {
		if v == 2 && vols[2].Len() == volH {
			continue
		}
		b := vols[v].Bytes()
		copy(b, common(0))
		h := b[20:]
		if s.v5 {
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
