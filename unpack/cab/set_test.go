package cab

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/unpack"
)

// setCab is one stored cabinet of set 7 holding one file, naming its neighbours.
func setCab(index uint16, file, prev, next string) []byte {
	return buildCab(cabSpec{
		folders: []testFolder{{method: compNone, files: []testFile{{name: file, data: []byte("data of " + file)}}}},
		prev:    prev, next: next, setID: 7, index: index,
	})
}

func part(t *testing.T, fsys fstest.MapFS, name string) Part {
	t.Helper()
	b := fsys[name].Data
	return Part{R: bytes.NewReader(b), Size: int64(len(b)), Name: name}
}

func setNames(t *testing.T, r *Reader) []string {
	t.Helper()
	var got []string
	err := r.Walk(func(p string, size int64, rd io.Reader) error {
		got = append(got, p)
		_, err := io.Copy(io.Discard, rd)
		return err
	})
	if err != nil {
		t.Fatalf("Walk = %v", err)
	}
	return got
}

func TestOpenSetFS(t *testing.T) {
	three := fstest.MapFS{
		"a.cab": {Data: setCab(0, "one.txt", "", "B.CAB")}, // the name differs in case, as set tools write it
		"b.cab": {Data: setCab(1, "two.txt", "A.CAB", "c.cab")},
		"c.cab": {Data: setCab(2, "three.txt", "b.cab", "")},
	}
	tests := []struct {
		name        string
		fsys        fstest.MapFS
		first       string
		want        []string
		wantMissing []string
	}{
		{"first part", three, "a.cab", []string{"one.txt", "two.txt", "three.txt"}, nil},
		{"middle part", three, "b.cab", []string{"one.txt", "two.txt", "three.txt"}, nil},
		{"last part", three, "c.cab", []string{"one.txt", "two.txt", "three.txt"}, nil},
		{"next absent", fstest.MapFS{"a.cab": three["a.cab"]}, "a.cab", []string{"one.txt"}, []string{"B.CAB"}},
		// A set naming a cabinet already read ends the walk: each cabinet is read once.
		{"loop", fstest.MapFS{
			"a.cab": {Data: setCab(0, "a", "", "b.cab")},
			"b.cab": {Data: setCab(1, "b", "a.cab", "A.cab")},
		}, "a.cab", []string{"a", "b"}, nil},
		{"no set", fstest.MapFS{"x.cab": {Data: setCab(0, "x.txt", "", "")}}, "x.cab", []string{"x.txt"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, missing, err := OpenSetFS(tt.fsys, part(t, tt.fsys, tt.first))
			if err != nil {
				t.Fatalf("OpenSetFS(%s) = %v", tt.first, err)
			}
			defer r.Close()
			if d := cmp.Diff(tt.want, setNames(t, r)); d != "" {
				t.Errorf("files (-want +got)\n%s", d)
			}
			if d := cmp.Diff(tt.wantMissing, missing); d != "" {
				t.Errorf("missing (-want +got)\n%s", d)
			}
		})
	}
}

func TestOpenSetFSRefuses(t *testing.T) {
	long := fstest.MapFS{}
	for i := 0; i <= MaxSetParts; i++ {
		long[fmt.Sprintf("p%d.cab", i)] = &fstest.MapFile{Data: setCab(uint16(i), fmt.Sprintf("f%d", i), "", fmt.Sprintf("p%d.cab", i+1))}
	}
	tests := []struct {
		name  string
		fsys  fstest.MapFS
		first string
		want  error
	}{
		{"next climbs out", fstest.MapFS{"a.cab": {Data: setCab(0, "a", "", "../b.cab")}}, "a.cab", unpack.ErrInsecurePath},
		{"next is a path", fstest.MapFS{"a.cab": {Data: setCab(0, "a", "", `sub\b.cab`)}}, "a.cab", unpack.ErrInsecurePath},
		{"next is absolute", fstest.MapFS{"a.cab": {Data: setCab(0, "a", "", "/etc/b.cab")}}, "a.cab", unpack.ErrInsecurePath},
		{"next has a drive", fstest.MapFS{"a.cab": {Data: setCab(0, "a", "", "C:b.cab")}}, "a.cab", unpack.ErrInsecurePath},
		{"prev is dot-dot", fstest.MapFS{"a.cab": {Data: setCab(1, "a", "..", "")}}, "a.cab", unpack.ErrInsecurePath},
		{"endless set", long, "p0.cab", unpack.ErrLimit},
		{"ambiguous case", fstest.MapFS{
			"a.cab": {Data: setCab(0, "a", "", "B.cab")},
			"b.cab": {Data: setCab(1, "b", "a.cab", "")},
			"b.CAB": {Data: setCab(1, "b", "a.cab", "")},
		}, "a.cab", unpack.ErrUnsupported},
		{"other set", fstest.MapFS{
			"a.cab": {Data: setCab(0, "a", "", "b.cab")},
			"b.cab": {Data: buildCab(cabSpec{folders: []testFolder{{method: compNone, files: []testFile{{name: "b", data: []byte("b")}}}}, prev: "a.cab", setID: 8, index: 1})},
		}, "a.cab", unpack.ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _, err := OpenSetFS(tt.fsys, part(t, tt.fsys, tt.first))
			if !errors.Is(err, tt.want) {
				if r != nil {
					r.Close()
				}
				t.Errorf("OpenSetFS(%s) = %v, want %v", tt.first, err, tt.want)
			}
		})
	}
}

// FuzzOpenSetFS reads arbitrary bytes as every cabinet of a folder whose names are the ones
// set tools write: the sibling walk must end, never panic, and refuse only with the package's
// errors (ErrInsecurePath among them for names that leave the folder).
func FuzzOpenSetFS(f *testing.F) {
	f.Add(setCab(0, "one", "", "b.cab"), setCab(1, "two", "a.cab", ""))
	f.Add(setCab(0, "one", "", "../b.cab"), setCab(1, "two", "a.cab", "a.cab"))
	f.Add(setCab(1, "one", "B.CAB", "b.cab"), setCab(0, "two", "", "a.cab"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		fsys := fstest.MapFS{"a.cab": {Data: a}, "b.cab": {Data: b}}
		r, _, err := OpenSetFS(fsys, part(t, fsys, "a.cab"))
		if err != nil {
			if !refused(err) && !errors.Is(err, unpack.ErrInsecurePath) {
				t.Fatalf("OpenSetFS = %v, want nil or a package error", err)
			}
			return
		}
		defer r.Close()
		r.Walk(func(p string, size int64, rd io.Reader) error {
			_, err := io.Copy(io.Discard, rd)
			return err
		})
	})
}
