package analyze

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack/burn"
	"github.com/rollgate/rollgate/unpack/cab"
)

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
	cabs := [][]byte{testutil.StoredCab(ux...), testutil.StoredCab(att...)}
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
