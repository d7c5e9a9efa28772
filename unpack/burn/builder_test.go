package burn

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// storedCab writes a one-folder cabinet with stored (uncompressed) data in 32 KiB CFDATA
// blocks ([MS-CAB]).
func storedCab(files ...[2]string) []byte {
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

// stub returns the PE stub of the committed fixtures (everything before the UX container)
// with its .wixburn header cleared of container sizes.
func stub(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "acme-bundle-1.1.exe"))
	if err != nil {
		t.Fatal(err)
	}
	sec, err := readSection(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), b[:sec.StubSize]...)
}

// assemble lays out an unsigned bundle as BurnWriter does: stub, UX container, attached
// containers, the sizes in the .wixburn header.
func assemble(t testing.TB, stubBytes []byte, containers ...[]byte) []byte {
	t.Helper()
	out := append([]byte(nil), stubBytes...)
	p, err := readPE(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	s := p.sectionOff
	le.PutUint32(out[s+24:], uint32(len(stubBytes)))
	le.PutUint32(out[s+44:], uint32(len(containers)))
	for i, c := range containers {
		le.PutUint32(out[s+48+4*int64(i):], uint32(len(c)))
	}
	for _, c := range containers {
		out = append(out, c...)
	}
	return out
}

// manifest wraps payload and chain XML in a BurnManifest with one attached container.
func manifest(body string) string {
	return `<?xml version="1.0" encoding="utf-8"?><BurnManifest xmlns="http://schemas.microsoft.com/wix/2008/Burn">` +
		`<RelatedBundle Id="{5b1c2d4e-7a8f-4c3b-9e1d-0a2b3c4d5e6f}" Action="Upgrade"/>` +
		`<Container Id="WixAttachedContainer" FilePath="b.exe" AttachedIndex="1" Attached="yes" Primary="yes"/>` +
		body + `</BurnManifest>`
}
