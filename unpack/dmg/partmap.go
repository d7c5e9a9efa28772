package dmg

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
)

// Partition maps inside a decoded disk, for images whose UDIF tables do not already split
// the disk (a single "whole disk" table, or a raw disk without a koly trailer).
// Followed: the Apple Partition Map (Inside Macintosh: Devices, "Partition Map entry"),
// the UEFI GPT (UEFI 2.x §5.3) and the classic MBR. Limits: MaxMapEntries entries.

// MaxMapEntries bounds partition map entries read.
const MaxMapEntries = 256

type mapEntry struct {
	typ          string // type name as 7-Zip prints it
	offset, size int64
}

// readPartitionMap returns the partitions of a disk, or nil when no map is recognised.
func readPartitionMap(r io.ReaderAt, size int64) []mapEntry {
	if size < 1024 {
		return nil
	}
	b := make([]byte, 1024)
	if _, err := r.ReadAt(b, 0); err != nil {
		return nil
	}
	if string(b[512:520]) == "EFI PART" {
		if m := readGPT(r, size, b[512:]); m != nil {
			return m
		}
	}
	if string(b[512:514]) == "PM" {
		if m := readAPM(r, size); m != nil {
			return m
		}
	}
	if b[510] == 0x55 && b[511] == 0xaa {
		return readMBR(b[:512], size)
	}
	return nil
}

func readAPM(r io.ReaderAt, size int64) []mapEntry {
	be := binary.BigEndian
	var out []mapEntry
	e := make([]byte, 512)
	n := 1
	for i := 1; i <= n && i <= MaxMapEntries; i++ {
		if _, err := r.ReadAt(e, int64(i)*512); err != nil || string(e[:2]) != "PM" {
			return out
		}
		if i == 1 {
			n = int(be.Uint32(e[4:]))
		}
		start := int64(be.Uint32(e[8:])) * 512
		count := int64(be.Uint32(e[12:])) * 512
		typ := cString(e[48:80])
		if start >= size || count <= 0 {
			continue
		}
		out = append(out, mapEntry{typ: typ, offset: start, size: min(count, size-start)})
	}
	return out
}

func readMBR(b []byte, size int64) []mapEntry {
	le := binary.LittleEndian
	var out []mapEntry
	for i := range 4 {
		e := b[446+16*i:]
		typ := e[4]
		start := int64(le.Uint32(e[8:])) * 512
		count := int64(le.Uint32(e[12:])) * 512
		if typ == 0 || count == 0 || start >= size {
			continue
		}
		out = append(out, mapEntry{typ: mbrTypeName(typ), offset: start, size: min(count, size-start)})
	}
	return out
}

func mbrTypeName(t byte) string {
	switch t {
	case 0x01:
		return "Windows_FAT_12"
	case 0x04, 0x06, 0x0e:
		return "Windows_FAT_16"
	case 0x0b, 0x0c:
		return "Windows_FAT_32"
	case 0x07:
		return "Windows_NTFS"
	case 0xaf:
		return "Apple_HFS"
	case 0xee:
		return "EFI"
	}
	return fmt.Sprintf("MBR_0x%02x", t)
}

var gptTypes = map[string]string{
	"48465300-0000-11aa-aa11-00306543ecac": "Apple_HFS",
	"7c3457ef-0000-11aa-aa11-00306543ecac": "Apple_APFS",
	"c12a7328-f81f-11d2-ba4b-00a0c93ec93b": "EFI",
	"ebd0a0a2-b9e5-4433-87c0-68b6b72699c7": "Microsoft_Basic_Data",
	"426f6f74-0000-11aa-aa11-00306543ecac": "Apple_Boot",
}

func readGPT(r io.ReaderAt, size int64, h []byte) []mapEntry {
	le := binary.LittleEndian
	first := int64(le.Uint64(h[72:]))
	n := int64(le.Uint32(h[80:]))
	esz := int64(le.Uint32(h[84:]))
	if esz < 128 || esz > 4096 || n <= 0 || first <= 0 || first > size/512 {
		return nil
	}
	n = min(n, MaxMapEntries)
	e := make([]byte, esz)
	var out []mapEntry
	for i := int64(0); i < n; i++ {
		if _, err := r.ReadAt(e, first*512+i*esz); err != nil {
			break
		}
		if bytes.Equal(e[:16], make([]byte, 16)) {
			continue
		}
		start := int64(le.Uint64(e[32:])) * 512
		end := (int64(le.Uint64(e[40:])) + 1) * 512
		if start <= 0 || start >= size || end <= start {
			continue
		}
		typ := gptTypes[guidString(e[:16])]
		if typ == "" {
			u := make([]uint16, 36)
			for k := range u {
				u[k] = le.Uint16(e[56+2*k:])
			}
			typ = strings.TrimRight(string(utf16.Decode(u)), "\x00")
			if typ == "" {
				typ = guidString(e[:16])
			}
		}
		out = append(out, mapEntry{typ: typ, offset: start, size: min(end, size) - start})
	}
	return out
}

func guidString(b []byte) string {
	le := binary.LittleEndian
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x", le.Uint32(b), le.Uint16(b[4:]), le.Uint16(b[6:]), b[8:10], b[10:16])
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
