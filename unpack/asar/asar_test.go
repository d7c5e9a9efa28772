package asar

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
)

func openSample(t testing.TB, name string) (*Reader, error) {
	t.Helper()
	b, err := os.ReadFile(testutil.Sample(t, "asar/"+name))
	if err != nil {
		t.Fatal(err)
	}
	return NewReader(bytes.NewReader(b), int64(len(b)))
}

func TestSamples(t *testing.T) {
	tests := []struct {
		name     string
		files    []string // regular files Walk yields
		unpacked []string
		read     map[string]string
		links    map[string]string
	}{
		{"extractthis.asar", []string{"dir1/file1.txt", "dir2/file2.png", "dir2/file3.txt", "emptyfile.txt", "file0.txt"}, nil,
			map[string]string{"dir1/file1.txt": "file one.", "emptyfile.txt": ""}, nil},
		{"packthis.asar", nil, nil, nil, nil},
		{"extractthis-unpack.asar", []string{"dir1/file1.txt", "dir2/file3.txt", "emptyfile.txt", "file0.txt"}, []string{"dir2/file2.png"}, nil, nil},
		{"packthis-unicode-path.asar", []string{"dir1/file1.txt", "dir1/女の子.txt"}, nil, nil, nil},
		{"bad-symlink.asar", []string{"test/pwned"}, nil, nil, map[string]string{"Test": "../../../../../private/tmp"}},
	}
	for _, tt := range tests {
		r, err := openSample(t, tt.name)
		if err != nil {
			t.Fatalf("NewReader(%s) = %v", tt.name, err)
		}
		var got []string
		err = r.Walk(func(p string, size int64, rd io.Reader) error {
			n, err := io.Copy(io.Discard, rd)
			if err == nil && n != size {
				err = fmt.Errorf("%d bytes, size %d", n, size)
			}
			got = append(got, p)
			return err
		})
		if err != nil {
			t.Errorf("Walk(%s) = %v", tt.name, err)
		}
		slices.Sort(got)
		if tt.files != nil && !slices.Equal(got, tt.files) {
			t.Errorf("Walk(%s) = %q, want %q", tt.name, got, tt.files)
		}
		if !slices.Equal(r.Unpacked(), tt.unpacked) {
			t.Errorf("Unpacked(%s) = %q, want %q", tt.name, r.Unpacked(), tt.unpacked)
		}
		for p, want := range tt.read {
			b, err := fs.ReadFile(r, p)
			if err != nil || !strings.HasPrefix(string(b), want) {
				t.Errorf("ReadFile(%s %s) = %q, %v, want %q", tt.name, p, b, err, want)
			}
		}
		for p, want := range tt.links {
			info, err := fs.Stat(r, p)
			if err != nil || info.Mode()&fs.ModeSymlink == 0 {
				t.Errorf("Stat(%s %s) = %v, %v, want a symlink", tt.name, p, info, err)
			}
			b, _ := fs.ReadFile(r, p)
			if string(b) != want {
				t.Errorf("link %s = %q, want %q", p, b, want)
			}
		}
		if err := fstest.TestFS(r, got...); err != nil && len(tt.unpacked) == 0 {
			t.Errorf("TestFS(%s): %v", tt.name, err)
		}
	}
}

// build writes an asar around a JSON header and data.
func build(header string, data []byte) []byte {
	js := []byte(header)
	pad := (4 - len(js)%4) % 4
	payload := 4 + len(js) + pad
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, []uint32{4, uint32(payload + 4), uint32(payload), uint32(len(js))})
	b.Write(js)
	b.Write(make([]byte, pad))
	b.Write(data)
	return b.Bytes()
}

func integrity(data []byte, block int) string {
	h := sha256.Sum256(data)
	var blocks []string
	for i := 0; i < len(data) || i == 0; i += block {
		bh := sha256.Sum256(data[i:min(i+block, len(data))])
		blocks = append(blocks, `"`+hex.EncodeToString(bh[:])+`"`)
	}
	return fmt.Sprintf(`{"algorithm":"SHA256","hash":"%s","blockSize":%d,"blocks":[%s]}`, hex.EncodeToString(h[:]), block, strings.Join(blocks, ","))
}

func TestIntegrity(t *testing.T) {
	data := []byte("0123456789abcdef0123")
	hdr := `{"files":{"f":{"size":20,"offset":"0","integrity":` + integrity(data, 8) + `}}}`
	good := build(hdr, data)
	r, err := NewReader(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := fs.ReadFile(r, "f"); err != nil || !bytes.Equal(b, data) {
		t.Errorf("ReadFile(f) = %q, %v", b, err)
	}
	bad := bytes.Clone(good)
	bad[len(bad)-5] ^= 1
	r, err = NewReader(bytes.NewReader(bad), int64(len(bad)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.ReadFile(r, "f"); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("ReadFile(tampered) = %v, want ErrFormat", err)
	}
}

func TestHostile(t *testing.T) {
	deep := strings.Repeat(`{"files":{"d":`, MaxDepth+2) + `{"files":{}}` + strings.Repeat(`}}`, MaxDepth+2)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, unpack.ErrFormat},
		{"dot-dot name", build(`{"files":{"..":{"size":1,"offset":"0"}}}`, []byte("x")), unpack.ErrInsecurePath},
		{"slash name", build(`{"files":{"a/../../b":{"size":1,"offset":"0"}}}`, []byte("x")), unpack.ErrInsecurePath},
		{"backslash name", build(`{"files":{"..\\x":{"size":1,"offset":"0"}}}`, []byte("x")), unpack.ErrInsecurePath},
		{"offset beyond", build(`{"files":{"a":{"size":1,"offset":"99"}}}`, []byte("x")), unpack.ErrFormat},
		{"size beyond", build(`{"files":{"a":{"size":99,"offset":"0"}}}`, []byte("x")), unpack.ErrFormat},
		{"negative size", build(`{"files":{"a":{"size":-1,"offset":"0"}}}`, []byte("x")), unpack.ErrFormat},
		{"huge offset", build(`{"files":{"a":{"size":1,"offset":"18446744073709551615"}}}`, []byte("x")), unpack.ErrFormat},
		{"no offset", build(`{"files":{"a":{"size":1}}}`, []byte("x")), unpack.ErrFormat},
		{"bad json", build(`{"files":{`, nil), unpack.ErrFormat},
		{"too deep", build(deep, nil), unpack.ErrLimit},
		{"header too large", []byte{4, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0}, unpack.ErrLimit},
		{"header beyond file", []byte{4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, unpack.ErrFormat},
		{"block count", build(`{"files":{"a":{"size":1,"offset":"0","integrity":{"algorithm":"SHA256","hash":"`+strings.Repeat("0", 64)+`","blockSize":4,"blocks":[]}}}}`, []byte("x")), unpack.ErrFormat},
		{"algorithm", build(`{"files":{"a":{"size":1,"offset":"0","integrity":{"algorithm":"MD5","hash":"","blockSize":4,"blocks":[]}}}}`, []byte("x")), unpack.ErrUnsupported},
	}
	for _, tt := range tests {
		_, err := NewReader(bytes.NewReader(tt.b), int64(len(tt.b)))
		if !errors.Is(err, tt.want) {
			t.Errorf("NewReader(%s) = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func FuzzAsar(f *testing.F) {
	matches, _ := filepath.Glob(filepath.Join(testutil.Samples(f), "asar", "*.asar"))
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(build(`{"files":{"f":{"size":3,"offset":"0","integrity":`+integrity([]byte("abc"), 2)+`},"l":{"link":"f"},"u":{"size":5,"unpacked":true}}}`, []byte("abc")))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if !fs.ValidPath(p) {
				t.Fatalf("invalid path %q", p)
			}
			if d.Type().IsRegular() {
				fs.ReadFile(r, p)
			}
			return nil
		})
		r.Walk(func(_ string, _ int64, rd io.Reader) error { io.Copy(io.Discard, rd); return nil })
	})
}
