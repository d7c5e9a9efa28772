package analyze

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rollgate/rollgate/unpack/burn"
	"github.com/rollgate/rollgate/unpack/cab"
)

// storedCab writes a one-folder cabinet of stored (uncompressed) 32 KiB CFDATA blocks
// ([MS-CAB]), each file a {name, content} pair.
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

// cabContents returns the files of the cabinet at [off, off+size) of b, in order.
func cabContents(t *testing.T, b []byte, off, size int64) [][2]string {
	t.Helper()
	c, err := cab.NewReader(bytes.NewReader(b[off:off+size]), size)
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for _, f := range c.Files() {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]string{f.RawName, string(data)})
	}
	return out
}

// rebundle rebuilds the unsigned fixture bundle with its manifest (UX file "0") edited by
// edit and extra files added to its attached container, and returns the new file's path.
func rebundle(t *testing.T, fixture string, edit func(string) string, extra ...[2]string) string {
	t.Helper()
	b, err := os.ReadFile(burnFix + fixture)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := burn.ReadSection(bytes.NewReader(b), int64(len(b)))
	if err != nil || len(sec.Containers) != 2 {
		t.Fatalf("ReadSection = %+v, %v; want two containers", sec, err)
	}
	ux := cabContents(t, b, sec.Containers[0].Offset, sec.Containers[0].Size)
	edited := false
	for i := range ux {
		if ux[i][0] == "0" {
			m := edit(ux[i][1])
			edited = m != ux[i][1]
			ux[i][1] = m
		}
	}
	if !edited {
		t.Fatal("the edit changed nothing in the manifest")
	}
	att := append(cabContents(t, b, sec.Containers[1].Offset, sec.Containers[1].Size), extra...)
	cabs := [][]byte{storedCab(ux...), storedCab(att...)}
	out := append([]byte(nil), b[:sec.StubSize]...)
	le := binary.LittleEndian
	le.PutUint32(out[sec.Offset+48:], uint32(len(cabs[0])))
	le.PutUint32(out[sec.Offset+52:], uint32(len(cabs[1])))
	out = append(append(out, cabs[0]...), cabs[1]...)
	p := filepath.Join(t.TempDir(), strings.TrimSuffix(fixture, ".exe")+"-edited.exe")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
