// Package cabtest is test support for the cabinet codecs (lzx, quantum): a cabinet reader
// with just enough of CFHEADER, CFFOLDER, CFFILE and CFDATA (MS-CAB) to hand one folder's
// payloads to a decoder, and the reader of the 7-Zip golden listings. It trusts its input
// only as far as a test does: it never panics on a short cabinet but checks nothing else.
// The real reader lives in unpack/cab. Only tests import this package.
package cabtest

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

// Folder is one CFFOLDER with its CFDATA payloads.
type Folder struct {
	TypeCompress uint16
	Blocks       [][]byte // CFDATA payloads
	Uncomp       []int    // their cbUncomp
}

// File is one CFFILE.
type File struct {
	Name   string
	Size   int64
	Offset int64 // in the folder's uncompressed data
	Folder int
}

// Cab is a parsed cabinet.
type Cab struct {
	Folders []Folder
	Files   []File
}

// Method is the folder's compression method (tcompMASK_TYPE).
func (f *Folder) Method() int { return int(f.TypeCompress & 0xf) }

// WindowBits is the LZX or Quantum window size, log2.
func (f *Folder) WindowBits() int { return int(f.TypeCompress>>8) & 0x1f }

// Payload is the folder's CFDATA payloads concatenated.
func (f *Folder) Payload() []byte { return bytes.Join(f.Blocks, nil) }

// Size is the folder's uncompressed size.
func (f *Folder) Size() int64 {
	var n int64
	for _, u := range f.Uncomp {
		n += int64(u)
	}
	return n
}

// Parse reads a cabinet. On a broken file list it returns the folders read so far with
// the error, so a test can still decode hostile folders.
func Parse(b []byte) (*Cab, error) {
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
	c := &Cab{}
	for i := range nFolders {
		if len(b) < p+8 {
			return nil, fmt.Errorf("folder %d truncated", i)
		}
		f := Folder{TypeCompress: le.Uint16(b[p+6:])}
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
			f.Blocks = append(f.Blocks, b[q:q+n])
			f.Uncomp = append(f.Uncomp, u)
			q += n
		}
		c.Folders = append(c.Folders, f)
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
		c.Files = append(c.Files, File{
			Size:   int64(le.Uint32(b[p:])),
			Offset: int64(le.Uint32(b[p+4:])),
			Folder: int(le.Uint16(b[p+8:])),
			Name:   strings.ReplaceAll(string(b[p+16:p+16+j]), `\`, "/"),
		})
		p += 16 + j + 1
	}
	return c, nil
}

// Golden is one line of a golden listing: a file extracted from a sample by 7-Zip.
type Golden struct {
	Sample, Path string
	N            int64
	SHA256       string
}

// ReadGolden reads a golden listing (sample, path, size, sha256, tab-separated), as
// written by unpack/cab/lzx/testdata/golden.sh from `7zz x`.
func ReadGolden(t testing.TB, name string) []Golden {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Golden
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != 4 {
			t.Fatalf("%s: bad line %q", name, sc.Text())
		}
		n, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil {
			t.Fatalf("%s: bad line %q", name, sc.Text())
		}
		out = append(out, Golden{parts[0], parts[1], n, parts[3]})
	}
	return out
}
