package lzx

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// A test-only cabinet reader: just enough of CFHEADER, CFFOLDER, CFFILE and CFDATA to
// hand one folder's payloads to the decoder. The real reader lives in unpack/cab.

type testFolder struct {
	typeCompress uint16
	blocks       [][]byte // CFDATA payloads
	uncomp       []int    // their cbUncomp
}

type testFile struct {
	name   string
	size   int64
	offset int64 // in the folder's uncompressed data
	folder int
}

type testCab struct {
	folders []testFolder
	files   []testFile
}

func (f *testFolder) method() int     { return int(f.typeCompress & 0xf) }
func (f *testFolder) windowBits() int { return int(f.typeCompress>>8) & 0x1f }

func (f *testFolder) payload() []byte { return bytes.Join(f.blocks, nil) }

func (f *testFolder) size() int64 {
	var n int64
	for _, u := range f.uncomp {
		n += int64(u)
	}
	return n
}

func parseTestCab(b []byte) (*testCab, error) {
	le := binary.LittleEndian
	if len(b) < 36 || string(b[:4]) != "MSCF" {
		return nil, errors.New("not a cabinet")
	}
	coffFiles := int(le.Uint32(b[16:]))
	nFolders := int(le.Uint16(b[26:]))
	nFiles := int(le.Uint16(b[28:]))
	flags := le.Uint16(b[30:])
	p := 36
	var cbFolder, cbData int
	if flags&4 != 0 {
		if len(b) < p+4 {
			return nil, errors.New("short reserve header")
		}
		cbHeader := int(le.Uint16(b[p:]))
		cbFolder = int(b[p+2])
		cbData = int(b[p+3])
		p += 4 + cbHeader
	}
	for i := 0; i < 4 && flags&3 != 0; i++ {
		if (i < 2 && flags&1 == 0) || (i >= 2 && flags&2 == 0) {
			continue
		}
		j := bytes.IndexByte(b[min(p, len(b)):], 0)
		if j < 0 {
			return nil, errors.New("unterminated cabinet name")
		}
		p += j + 1
	}
	c := &testCab{}
	for i := range nFolders {
		if len(b) < p+8 {
			return nil, fmt.Errorf("folder %d truncated", i)
		}
		f := testFolder{typeCompress: le.Uint16(b[p+6:])}
		q := int(le.Uint32(b[p:]))
		for range int(le.Uint16(b[p+4:])) {
			if q < 0 || len(b) < q+8+cbData {
				return nil, fmt.Errorf("folder %d: CFDATA beyond end", i)
			}
			n := int(le.Uint16(b[q+4:]))
			u := int(le.Uint16(b[q+6:]))
			q += 8 + cbData
			if len(b) < q+n {
				return nil, fmt.Errorf("folder %d: CFDATA payload beyond end", i)
			}
			f.blocks = append(f.blocks, b[q:q+n])
			f.uncomp = append(f.uncomp, u)
			q += n
		}
		c.folders = append(c.folders, f)
		p += 8 + cbFolder
	}
	p = coffFiles
	for i := range nFiles {
		if p < 0 || len(b) < p+16 {
			return c, fmt.Errorf("file %d truncated", i)
		}
		j := bytes.IndexByte(b[p+16:], 0)
		if j < 0 {
			return c, fmt.Errorf("file %d: unterminated name", i)
		}
		c.files = append(c.files, testFile{
			size:   int64(le.Uint32(b[p:])),
			offset: int64(le.Uint32(b[p+4:])),
			folder: int(le.Uint16(b[p+8:])),
			name:   strings.ReplaceAll(string(b[p+16:p+16+j]), `\`, "/"),
		})
		p += 16 + j + 1
	}
	return c, nil
}

type goldenLine struct {
	sample, path string
	n            int64
	sha256       string
}

// readGolden reads testdata/golden.txt, written by testdata/golden.sh from `7zz x`.
func readGolden(t testing.TB) []goldenLine {
	t.Helper()
	f, err := os.Open("testdata/golden.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []goldenLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != 4 {
			t.Fatalf("golden.txt: bad line %q", sc.Text())
		}
		n, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil {
			t.Fatalf("golden.txt: bad line %q", sc.Text())
		}
		out = append(out, goldenLine{parts[0], parts[1], n, parts[3]})
	}
	return out
}
