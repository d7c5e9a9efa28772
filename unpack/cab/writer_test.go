package cab

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
)

// A tiny cabinet writer for tests and benchmarks: one cabinet, one folder per entry of
// cabSpec.folders, stored or MSZIP, CFDATA checksums filled in.

type testFile struct {
	name    string
	data    []byte
	attribs uint16
}

type testFolder struct {
	method uint16 // compNone or compMSZIP
	files  []testFile
}

type cabSpec struct {
	folders     []testFolder
	reserve     [3]int // cbCFHeader, cbCFFolder, cbCFData
	noChecksum  bool
	blockSize   int // uncompressed bytes per CFDATA, default 32768
	mszipLevel  int // default flate.DefaultCompression
	corruptData func(folder, block int, data []byte) []byte
	// prev and next, when set, are written as szCabinetPrev / szCabinetNext (with empty disk
	// names) and flag the cabinet as part of set setID at position index. No file is
	// continued across cabinets: each cabinet of such a set reads on its own.
	prev, next   string
	setID, index uint16
}

type builtBlock struct {
	comp   []byte
	uncomp int
}

func buildCab(spec cabSpec) []byte {
	le := binary.LittleEndian
	bs := spec.blockSize
	if bs == 0 {
		bs = 32768
	}
	level := spec.mszipLevel
	if level == 0 {
		level = flate.DefaultCompression
	}
	var blocks [][]builtBlock
	for fi, fo := range spec.folders {
		var all []byte
		for _, f := range fo.files {
			all = append(all, f.data...)
		}
		var bl []builtBlock
		for off, bi := 0, 0; off < len(all); off, bi = off+bs, bi+1 {
			end := min(off+bs, len(all))
			chunk := all[off:end]
			var comp []byte
			switch fo.method {
			case compNone:
				comp = append([]byte(nil), chunk...)
			case compMSZIP:
				var buf bytes.Buffer
				buf.WriteString("CK")
				dict := all[max(0, off-32768):off]
				w, err := flate.NewWriterDict(&buf, level, dict)
				if err != nil {
					panic(err)
				}
				w.Write(chunk)
				w.Close()
				comp = buf.Bytes()
			}
			if spec.corruptData != nil {
				comp = spec.corruptData(fi, bi, comp)
			}
			bl = append(bl, builtBlock{comp: comp, uncomp: len(chunk)})
		}
		blocks = append(blocks, bl)
	}

	hdr := 36
	if spec.reserve != [3]int{} {
		hdr += 4 + spec.reserve[0]
	}
	var names []byte
	var flags uint16
	if spec.reserve != [3]int{} {
		flags |= flagReservePresent
	}
	if spec.prev != "" {
		flags |= flagPrevCabinet
		names = append(append(names, spec.prev...), 0, 0)
	}
	if spec.next != "" {
		flags |= flagNextCabinet
		names = append(append(names, spec.next...), 0, 0)
	}
	hdr += len(names)
	folderSize := 8 + spec.reserve[1]
	filesOff := hdr + len(spec.folders)*folderSize
	var filesTab []byte
	nfiles := 0
	for fi, fo := range spec.folders {
		var off uint32
		for _, f := range fo.files {
			var e [16]byte
			le.PutUint32(e[0:], uint32(len(f.data)))
			le.PutUint32(e[4:], off)
			le.PutUint16(e[8:], uint16(fi))
			le.PutUint16(e[10:], 0x5a21) // 2025-01-01
			le.PutUint16(e[12:], 0x6000) // 12:00:00
			le.PutUint16(e[14:], f.attribs)
			filesTab = append(filesTab, e[:]...)
			filesTab = append(filesTab, f.name...)
			filesTab = append(filesTab, 0)
			off += uint32(len(f.data))
			nfiles++
		}
	}
	dataOff := filesOff + len(filesTab)
	var data []byte
	folderTab := make([]byte, 0, len(spec.folders)*folderSize)
	for fi, fo := range spec.folders {
		var e [8]byte
		le.PutUint32(e[0:], uint32(dataOff+len(data)))
		le.PutUint16(e[4:], uint16(len(blocks[fi])))
		le.PutUint16(e[6:], fo.method)
		folderTab = append(folderTab, e[:]...)
		folderTab = append(folderTab, make([]byte, spec.reserve[1])...)
		for _, b := range blocks[fi] {
			var h [8]byte
			le.PutUint16(h[4:], uint16(len(b.comp)))
			le.PutUint16(h[6:], uint16(b.uncomp))
			if !spec.noChecksum {
				le.PutUint32(h[0:], checksum(h[4:8], checksum(b.comp, 0)))
			}
			data = append(data, h[:]...)
			data = append(data, make([]byte, spec.reserve[2])...)
			data = append(data, b.comp...)
		}
	}

	out := make([]byte, 36, dataOff+len(data))
	copy(out, "MSCF")
	le.PutUint32(out[8:], uint32(dataOff+len(data)))
	le.PutUint32(out[16:], uint32(filesOff))
	out[24], out[25] = 3, 1
	le.PutUint16(out[26:], uint16(len(spec.folders)))
	le.PutUint16(out[28:], uint16(nfiles))
	le.PutUint16(out[30:], flags)
	le.PutUint16(out[32:], spec.setID)
	le.PutUint16(out[34:], spec.index)
	if spec.reserve != [3]int{} {
		var r [4]byte
		le.PutUint16(r[0:], uint16(spec.reserve[0]))
		r[2], r[3] = byte(spec.reserve[1]), byte(spec.reserve[2])
		out = append(out, r[:]...)
		out = append(out, make([]byte, spec.reserve[0])...)
	}
	out = append(out, names...)
	out = append(out, folderTab...)
	out = append(out, filesTab...)
	out = append(out, data...)
	return out
}
