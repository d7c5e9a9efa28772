// Package ishieldtest writes InstallShield launcher payloads for tests and fixture
// generators: the inverse of package ishield's reader, in the two layouts it reads.
package ishieldtest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
)

// File is one file of a payload.
type File struct {
	Name string // the record's name (the obfuscation key of an encoded file)
	Path string // the extraction path of a plain record (Disk1\...)
	Data []byte
	// Flags of an encoded record: 4 obfuscates every 1024-byte block, 2 alone the whole file.
	Flags   uint32
	Deflate bool // store a zlib stream of Data
}

// Obfuscate stores b as a launcher does for a file named name: every byte XORed with the
// key (the name's bytes XOR 13 35 86 07), inverted, its nibbles swapped; the key restarts
// at every 1024-byte block when block is set.
func Obfuscate(b []byte, name string, block bool) []byte {
	magic := [4]byte{0x13, 0x35, 0x86, 0x07}
	k := []byte(name)
	for i := range k {
		k[i] ^= magic[i%4]
	}
	out := make([]byte, len(b))
	for i, c := range b {
		pos := i
		if block {
			pos %= 1024
		}
		x := k[pos%len(k)] ^ ^c
		out[i] = x<<4 | x>>4
	}
	return out
}

// Encoded builds an "InstallShield" payload after a CodeView NB10 record naming pdb.
func Encoded(pdb string, files ...File) []byte {
	var b bytes.Buffer
	b.WriteString("NB10")
	b.Write(make([]byte, 12))
	b.WriteString(pdb + "\x00")
	h := make([]byte, 46)
	copy(h, "InstallShield\x00")
	binary.LittleEndian.PutUint16(h[14:], uint16(len(files)))
	b.Write(h)
	for _, f := range files {
		data := f.Data
		if f.Deflate {
			var z bytes.Buffer
			w, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
			w.Write(data)
			w.Close()
			data = z.Bytes()
		}
		if f.Flags&6 != 0 {
			data = Obfuscate(data, f.Name, f.Flags&4 != 0)
		}
		rec := make([]byte, 312)
		copy(rec, f.Name)
		binary.LittleEndian.PutUint32(rec[260:], f.Flags)
		binary.LittleEndian.PutUint32(rec[268:], uint32(len(data)))
		if f.Deflate {
			binary.LittleEndian.PutUint16(rec[280:], 1)
		}
		b.Write(rec)
		b.Write(data)
	}
	return b.Bytes()
}

// Plain builds a plain payload: name, extraction path, version 1.0.0.0 and length per file,
// then its bytes.
func Plain(files ...File) []byte {
	var b bytes.Buffer
	for _, f := range files {
		fmt.Fprintf(&b, "%s\x00%s\x001.0.0.0\x00%d\x00", f.Name, f.Path, len(f.Data))
		b.Write(f.Data)
	}
	return b.Bytes()
}

// UTF16 encodes s as UTF-16LE with a byte-order mark, as launchers store setup.ini.
func UTF16(s string) []byte {
	b := []byte{0xff, 0xfe}
	for _, r := range s {
		if r > 0xffff {
			r = '?'
		}
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}
