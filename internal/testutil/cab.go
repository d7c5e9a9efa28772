package testutil

import (
	"bytes"
	"encoding/binary"
)

// StoredCab writes a one-folder cabinet ([MS-CAB]) holding files, each a {name, content}
// pair, as stored (uncompressed) 32 KiB CFDATA blocks without checksums: test input for the
// readers that take cabinets (Burn containers, self-extracting stubs).
func StoredCab(files ...[2]string) []byte {
	le := binary.LittleEndian
	var data []byte
	filesLen := 0
	for _, f := range files {
		data = append(data, f[1]...)
		filesLen += 16 + len(f[0]) + 1
	}
	dataStart := 36 + 8 + filesLen
	nblocks := max(1, (len(data)+32767)/32768)
	var out bytes.Buffer
	h := make([]byte, 36)
	copy(h, "MSCF")
	le.PutUint32(h[8:], uint32(dataStart+8*nblocks+len(data)))
	le.PutUint32(h[16:], 36+8)
	h[24], h[25] = 3, 1
	le.PutUint16(h[26:], 1)
	le.PutUint16(h[28:], uint16(len(files)))
	out.Write(h)
	fo := make([]byte, 8)
	le.PutUint32(fo, uint32(dataStart))
	le.PutUint16(fo[4:], uint16(nblocks))
	out.Write(fo)
	off := 0
	for _, f := range files {
		e := make([]byte, 16)
		le.PutUint32(e, uint32(len(f[1])))
		le.PutUint32(e[4:], uint32(off))
		out.Write(e)
		out.WriteString(f[0])
		out.WriteByte(0)
		off += len(f[1])
	}
	for i := 0; i < nblocks; i++ {
		chunk := data[min(i*32768, len(data)):min((i+1)*32768, len(data))]
		d := make([]byte, 8)
		le.PutUint16(d[4:], uint16(len(chunk)))
		le.PutUint16(d[6:], uint16(len(chunk)))
		out.Write(d)
		out.Write(chunk)
	}
	return out.Bytes()
}
