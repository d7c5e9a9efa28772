package cpio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/rollgate/rollgate/unpack"
)

type ent struct {
	name string
	mode uint32
	data string
}

func odc(es []ent, trailer bool) []byte {
	var b bytes.Buffer
	for i, e := range es {
		fmt.Fprintf(&b, "070707%06o%06o%06o%06o%06o%06o%06o%011o%06o%011o", 0, i+1, e.mode, 0, 0, 1, 0, 1700000000, len(e.name)+1, len(e.data))
		b.WriteString(e.name + "\x00" + e.data)
	}
	if trailer {
		fmt.Fprintf(&b, "070707%06o%06o%06o%06o%06o%06o%06o%011o%06o%011o", 0, 0, 0, 0, 0, 1, 0, 0, 11, 0)
		b.WriteString("TRAILER!!!\x00")
	}
	return b.Bytes()
}

func newc(es []ent) []byte {
	var b bytes.Buffer
	pad := func() {
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	for i, e := range append(es, ent{name: "TRAILER!!!"}) {
		fmt.Fprintf(&b, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x", i+1, e.mode, 0, 0, 1, 1700000000, len(e.data), 0, 0, 0, 0, len(e.name)+1, 0)
		b.WriteString(e.name + "\x00")
		pad()
		b.WriteString(e.data)
		pad()
	}
	return b.Bytes()
}

var sample = []ent{
	{".", 0o40755, ""},
	{"./bin", 0o40755, ""},
	{"./bin/tool", 0o100755, "#!/bin/sh\necho hi\n"},
	{"./bin/link", 0o120777, "tool"},
	{"./etc/conf", 0o100644, "a=1\n"}, // parent not listed
	{"./empty", 0o100644, ""},
}

func TestFormats(t *testing.T) {
	for _, tt := range []struct {
		name string
		b    []byte
	}{{"odc", odc(sample, true)}, {"newc", newc(sample)}} {
		r, err := NewReader(bytes.NewReader(tt.b), int64(len(tt.b)))
		if err != nil {
			t.Fatalf("NewReader(%s) = %v", tt.name, err)
		}
		if err := fstest.TestFS(r, "bin/tool", "bin/link", "etc/conf", "empty"); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		got, err := fs.ReadFile(r, "bin/tool")
		if err != nil || string(got) != sample[2].data {
			t.Errorf("ReadFile(%s bin/tool) = %q, %v", tt.name, got, err)
		}
		var walked []string
		r.Walk(func(p string, size int64, rd io.Reader) error {
			walked = append(walked, p)
			return nil
		})
		if fmt.Sprint(walked) != "[bin/tool etc/conf empty]" {
			t.Errorf("Walk(%s) = %v", tt.name, walked)
		}
		if info, err := fs.Stat(r, "bin/link"); err != nil || info.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("Stat(%s bin/link) = %v, %v, want a symlink", tt.name, info, err)
		}
	}
}

func TestStream(t *testing.T) {
	s := NewStream(bytes.NewReader(odc(sample, true)))
	var names []string
	for {
		h, r, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next = %v", err)
		}
		n, _ := io.Copy(io.Discard, r)
		if h.Mode.IsRegular() && n != h.Size {
			t.Errorf("entry %q yields %d, size %d", h.Name, n, h.Size)
		}
		names = append(names, h.Name)
	}
	if fmt.Sprint(names) != "[. bin bin/tool bin/link etc/conf empty]" {
		t.Errorf("Next names = %v", names)
	}
}

func TestHostile(t *testing.T) {
	good := odc(sample, true)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"climb out", odc([]ent{{"../../etc/passwd", 0o100644, "x"}}, true), unpack.ErrInsecurePath},
		{"climb inside", odc([]ent{{"a/../../b", 0o100644, "x"}}, true), unpack.ErrInsecurePath},
		{"backslash", odc([]ent{{"..\\x", 0o100644, "x"}}, true), unpack.ErrInsecurePath},
		{"no trailer", odc(sample, false), unpack.ErrFormat},
		{"truncated data", good[:200], unpack.ErrFormat},
		{"bad magic", []byte("0707x7" + string(good[6:])), unpack.ErrFormat},
		{"not octal", append([]byte("070707zz"), good[8:]...), unpack.ErrFormat},
		{"huge name", []byte(fmt.Sprintf("070707%06o%06o%06o%06o%06o%06o%06o%011o%06o%011o", 0, 1, 0o100644, 0, 0, 1, 0, 0, 0o777777, 0)), unpack.ErrLimit},
		{"zero name", []byte(fmt.Sprintf("070707%06o%06o%06o%06o%06o%06o%06o%011o%06o%011o", 0, 1, 0o100644, 0, 0, 1, 0, 0, 0, 0)), unpack.ErrFormat},
		{"duplicate", odc([]ent{{"a", 0o100644, "1"}, {"./a", 0o100644, "2"}}, true), unpack.ErrFormat},
		{"file then dir child", odc([]ent{{"a", 0o100644, "1"}, {"a/b", 0o100644, "2"}}, true), unpack.ErrFormat},
		{"huge link", odc([]ent{{"l", 0o120777, string(make([]byte, MaxLinkBytes+1))}}, true), unpack.ErrLimit},
	}
	for _, tt := range tests {
		_, err := NewReader(bytes.NewReader(tt.b), int64(len(tt.b)))
		if !errors.Is(err, tt.want) {
			t.Errorf("NewReader(%s) = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func FuzzCpio(f *testing.F) {
	f.Add(odc(sample, true))
	f.Add(newc(sample))
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
			if !d.IsDir() {
				fs.ReadFile(r, p)
			}
			return nil
		})
		r.Walk(func(_ string, _ int64, rd io.Reader) error { io.Copy(io.Discard, rd); return nil })
	})
}
