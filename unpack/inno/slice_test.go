package inno

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/inno/innotest"
)

// spanned builds s with its chunks in slices of size bytes and returns a folder holding the
// installer as exe and the slices under base-N.bin (innotest names no files itself).
func spanned(t testing.TB, s *innotest.Synth, size int, exe, base string) fstest.MapFS {
	t.Helper()
	s.SliceSize = size
	b, sl, err := s.BuildSpanned(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sl) < 3 {
		t.Fatalf("%d slices, the tests want a chunk across three", len(sl))
	}
	dir := fstest.MapFS{exe: {Data: b}}
	per := s.SlicesPerDisk
	if per == 0 {
		per = 1
	}
	for i, d := range sl {
		dir[sliceName(base, uint32(i), per)] = &fstest.MapFile{Data: d}
	}
	return dir
}

func openIn(t testing.TB, dir fs.FS, exe string) (*Reader, error) {
	t.Helper()
	b, err := fs.ReadFile(dir, exe)
	if err != nil {
		t.Fatal(err)
	}
	return NewReaderFS(bytes.NewReader(b), int64(len(b)), dir, exe)
}

// TestSpanned: the files of a disk-spanning installer read from its slices equal those of
// the same installer carrying its data, whichever name the slices are found by, for the
// 32-bit slice header (6.1.0) and the 64-bit one (6.7.0), through Walk and fs.FS
// (fstest.TestFS opens them in every order, so slices are evicted and opened again).
func TestSpanned(t *testing.T) {
	tests := []struct {
		name    string
		exe     string
		base    string // the slices' base name
		perDisk uint32
	}{
		{name: "installer name", exe: "acme.exe", base: "acme"},
		{name: "letters", exe: "acme.exe", base: "acme", perDisk: 3},
		{name: "BaseFilename", exe: "renamed.exe", base: "acme-setup"},
		{name: "case", exe: "Acme.EXE", base: "ACME"},
		{name: "no extension", exe: "acme", base: "acme"},
	}
	for i, vt := range variants {
		want, err := walkAll(t, mustOpen(t, build(t, variant(i))))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range tests {
			t.Run(vt.name+"/"+tc.name, func(t *testing.T) {
				s := variant(i)
				s.SlicesPerDisk = tc.perDisk
				dir := spanned(t, s, 100, tc.exe, tc.base)
				r, err := openIn(t, dir, tc.exe)
				if err != nil {
					t.Fatalf("NewReaderFS = %v", err)
				}
				defer r.Close()
				if r.DataOffset != 0 {
					t.Fatalf("DataOffset = %d, want 0 (data in slices)", r.DataOffset)
				}
				got, err := walkAll(t, r)
				if err != nil {
					t.Fatalf("Walk = %v", err)
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("Walk (-want +got)\n%s", d)
				}
				opened := map[string]string{}
				for p := range want {
					b, err := fs.ReadFile(r, p)
					if err != nil {
						t.Fatalf("ReadFile(%q) = %v", p, err)
					}
					opened[p] = sum(b)
				}
				if d := cmp.Diff(want, opened); d != "" {
					t.Errorf("ReadFile (-want +got)\n%s", d)
				}
				names := make([]string, 0, len(want))
				for p := range want {
					names = append(names, p)
				}
				sort.Strings(names)
				if err := fstest.TestFS(r, names...); err != nil {
					t.Errorf("fstest.TestFS: %v", err)
				}
				if len(r.slices.open) > maxOpenSlices {
					t.Errorf("%d slices open, at most %d", len(r.slices.open), maxOpenSlices)
				}
				if err := r.Close(); err != nil || len(r.slices.open) != 0 {
					t.Errorf("Close = %v, %d slices left open", err, len(r.slices.open))
				}
			})
		}
	}
}

func mustOpen(t testing.TB, b []byte) *Reader {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSliceErrors: a slice that is absent, cut short, not a slice, or named outside the
// installer's folder makes the walk fail with the sentinel, naming the slice file; without a
// folder the data is unsupported. The installer itself always opens.
func TestSliceErrors(t *testing.T) {
	tests := []struct {
		name     string
		exe      string // default acme.exe
		synth    func(s *innotest.Synth)
		mutate   func(dir fstest.MapFS)
		noDir    bool
		sentinel error
		entry    string // the error's Entry, when it names one
	}{
		{name: "missing", mutate: func(dir fstest.MapFS) { delete(dir, "acme-2.bin") }, sentinel: unpack.ErrFormat, entry: "acme-2.bin"},
		{name: "missing first", mutate: func(dir fstest.MapFS) { delete(dir, "acme-1.bin") }, sentinel: unpack.ErrFormat, entry: "acme-1.bin"},
		{name: "truncated", mutate: func(dir fstest.MapFS) {
			d := dir["acme-2.bin"].Data
			dir["acme-2.bin"].Data = d[:len(d)-10]
		}, sentinel: unpack.ErrFormat, entry: "acme-2.bin"},
		{name: "shorter than its header", mutate: func(dir fstest.MapFS) {
			dir["acme-2.bin"].Data = dir["acme-2.bin"].Data[:7]
		}, sentinel: unpack.ErrFormat, entry: "acme-2.bin"},
		{name: "bad magic", mutate: func(dir fstest.MapFS) { dir["acme-2.bin"].Data[3] = 'X' }, sentinel: unpack.ErrFormat, entry: "acme-2.bin"},
		{name: "64-bit header in a 32-bit installer", mutate: func(dir fstest.MapFS) { copy(dir["acme-1.bin"].Data, "idskb32\x1a") }, sentinel: unpack.ErrFormat, entry: "acme-1.bin"},
		{name: "size over the limit", synth: func(s *innotest.Synth) { s.V67 = true }, mutate: func(dir fstest.MapFS) {
			binary.LittleEndian.PutUint64(dir["acme-2.bin"].Data[8:], MaxSliceBytes+1)
		}, sentinel: unpack.ErrLimit, entry: "acme-2.bin"},
		{name: "size under its header", mutate: func(dir fstest.MapFS) {
			binary.LittleEndian.PutUint32(dir["acme-2.bin"].Data[8:], 3)
		}, sentinel: unpack.ErrFormat, entry: "acme-2.bin"},
		{name: "not a regular file", mutate: func(dir fstest.MapFS) { dir["acme-2.bin"].Mode = fs.ModeNamedPipe }, sentinel: unpack.ErrFormat, entry: "acme-2.bin"},
		{name: "hostile BaseFilename", exe: "setup.exe", synth: func(s *innotest.Synth) { s.BaseFilename = `..\..\Windows\evil` },
			sentinel: unpack.ErrInsecurePath, entry: `..\..\Windows\evil-1.bin`},
		{name: "BaseFilename with a slash", exe: "setup.exe", synth: func(s *innotest.Synth) { s.BaseFilename = "../acme" },
			sentinel: unpack.ErrInsecurePath, entry: "../acme-1.bin"},
		{name: "BaseFilename with a drive", exe: "setup.exe", synth: func(s *innotest.Synth) { s.BaseFilename = "C:acme" },
			sentinel: unpack.ErrInsecurePath, entry: "C:acme-1.bin"},
		{name: "27 slices per disk", synth: func(s *innotest.Synth) { s.SlicesPerDisk = 27 }, sentinel: unpack.ErrFormat, entry: "setup header"},
		{name: "no folder", noDir: true, sentinel: unpack.ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := innotest.Acme()
			if tc.synth != nil {
				tc.synth(s)
			}
			exe := tc.exe
			if exe == "" {
				exe = "acme.exe"
			}
			dir := spanned(t, s, 100, exe, "acme")
			if tc.mutate != nil {
				tc.mutate(dir)
			}
			var fsys fs.FS = dir
			if tc.noDir {
				fsys = nil
			}
			b := dir[exe].Data
			r, err := NewReaderFS(bytes.NewReader(b), int64(len(b)), fsys, exe)
			if err != nil {
				t.Fatalf("NewReaderFS = %v, want success (the slices are read with the files)", err)
			}
			defer r.Close()
			_, err = walkAll(t, r)
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("Walk = %v, want %v", err, tc.sentinel)
			}
			var fe *unpack.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Walk error %v is not a FormatError", err)
			}
			if tc.entry != "" && fe.Entry != tc.entry {
				t.Errorf("error names %q, want %q (%v)", fe.Entry, tc.entry, err)
			}
			if _, err := fs.ReadFile(r, "app/readme.txt"); !errors.Is(err, tc.sentinel) {
				t.Errorf("ReadFile = %v, want %v", err, tc.sentinel)
			}
		})
	}
}

// TestSliceNames: the names Inno gives slice files.
func TestSliceNames(t *testing.T) {
	tests := []struct {
		base       string
		i, perDisk uint32
		want       string
	}{
		{"setup", 0, 1, "setup-1.bin"},
		{"setup", 1, 1, "setup-2.bin"},
		{"setup", 0, 2, "setup-1a.bin"},
		{"setup", 1, 2, "setup-1b.bin"},
		{"setup", 2, 2, "setup-2a.bin"},
		{"mygame", 27, 26, "mygame-2b.bin"},
	}
	for _, tc := range tests {
		if got := sliceName(tc.base, tc.i, tc.perDisk); got != tc.want {
			t.Errorf("sliceName(%q, %d, %d) = %q, want %q", tc.base, tc.i, tc.perDisk, got, tc.want)
		}
	}
}

// TestSpannedRealSlices: the committed disk-spanning installers made by Inno Setup's
// compiler (testdata/iscc/gen-span.sh) fail as the synthetic ones do when a slice is absent,
// cut short or has a bad magic (conformance_test.go reads them whole).
func TestSpannedRealSlices(t *testing.T) {
	exes, err := filepath.Glob("testdata/iscc/span-*.exe")
	if err != nil || len(exes) == 0 {
		t.Fatalf("no disk-spanning fixtures: %v", err)
	}
	for _, exe := range exes {
		base := filepath.Base(exe)
		slices, err := filepath.Glob(exe[:len(exe)-len(".exe")] + "-*.bin")
		if err != nil || len(slices) < 2 {
			t.Fatalf("%s: slices %v: %v", exe, slices, err)
		}
		last := filepath.Base(slices[len(slices)-1])
		for _, tc := range []struct {
			name     string
			mutate   func(dir fstest.MapFS)
			sentinel error
		}{
			{"missing", func(dir fstest.MapFS) { delete(dir, last) }, unpack.ErrFormat},
			{"truncated", func(dir fstest.MapFS) { dir[last].Data = dir[last].Data[:len(dir[last].Data)/2] }, unpack.ErrFormat},
			{"bad magic", func(dir fstest.MapFS) { dir[last].Data[0] = 'I' }, unpack.ErrFormat},
		} {
			t.Run(base+"/"+tc.name, func(t *testing.T) {
				dir := fstest.MapFS{}
				for _, p := range append([]string{exe}, slices...) {
					b, err := os.ReadFile(p)
					if err != nil {
						t.Fatal(err)
					}
					dir[filepath.Base(p)] = &fstest.MapFile{Data: b}
				}
				tc.mutate(dir)
				r, err := openIn(t, dir, base)
				if err != nil {
					t.Fatalf("NewReaderFS = %v", err)
				}
				defer r.Close()
				err = r.Walk(func(string, int64, io.Reader) error { return nil })
				var fe *unpack.FormatError
				if !errors.Is(err, tc.sentinel) || !errors.As(err, &fe) || fe.Entry != last {
					t.Errorf("Walk = %v, want %v naming %q", err, tc.sentinel, last)
				}
			})
		}
	}
}

// FuzzSlices reads a spanned synthetic installer whose three slices the fuzzer replaces:
// slice headers, chunk bytes across slice ends. It must never panic, and whatever it reads
// is checked by each file's checksum.
func FuzzSlices(f *testing.F) {
	for _, v67 := range []bool{false, true} {
		s := innotest.Acme()
		s.V67 = v67
		s.SliceSize = 100
		exe, sl, err := s.BuildSpanned(nil)
		if err != nil {
			f.Fatal(err)
		}
		for len(sl) < 4 {
			sl = append(sl, nil)
		}
		f.Add(exe, sl[0], sl[1], sl[2], sl[3])
	}
	// The real 5.5.9 one (two slices per disk: -1a.bin, -1b.bin).
	if exe, err := os.ReadFile("testdata/iscc/span-innosetup-compiler-5.5.9.exe"); err == nil {
		s0, _ := os.ReadFile("testdata/iscc/span-innosetup-compiler-5.5.9-1a.bin")
		s1, _ := os.ReadFile("testdata/iscc/span-innosetup-compiler-5.5.9-1b.bin")
		f.Add(exe, s0, s1, []byte(nil), []byte(nil))
	}
	f.Fuzz(func(t *testing.T, exe, s0, s1, s2, s3 []byte) {
		dir := fstest.MapFS{"acme.exe": {Data: exe}}
		r, err := NewReaderFS(bytes.NewReader(exe), int64(len(exe)), dir, "acme.exe")
		if err != nil {
			return
		}
		defer r.Close()
		// The folder is read only with the files: the slices go in under the names the
		// header's SlicesPerDisk gives them.
		per := r.Header.SlicesPerDisk
		if per == 0 || per > maxSlicesPerDisk {
			per = 1
		}
		for i, d := range [][]byte{s0, s1, s2, s3} {
			dir[sliceName("acme", uint32(i), per)] = &fstest.MapFile{Data: d}
		}
		r.Walk(func(_ string, _ int64, rd io.Reader) error {
			_, err := io.Copy(io.Discard, rd)
			return err
		})
	})
}

// FuzzSliceHeader: a slice header of any bytes either parses to a data end within the file
// and past the header, or fails with a FormatError.
func FuzzSliceHeader(f *testing.F) {
	f.Add([]byte("idska32\x1a\x00\x01\x00\x00"), false, int64(256))
	f.Add([]byte("idskb32\x1a\x00\x01\x00\x00\x00\x00\x00\x00"), true, int64(256))
	f.Add([]byte("idska16\x1a\x0c\x00\x00\x00"), false, int64(12))
	f.Fuzz(func(t *testing.T, b []byte, wide bool, size int64) {
		end, err := parseSliceHeader("x-1.bin", b, wide, size)
		if err != nil {
			var fe *unpack.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FormatError", err)
			}
			return
		}
		if end < sliceHeaderLen(wide) || end > size || end > MaxSliceBytes {
			t.Fatalf("parseSliceHeader = %d for a %d-byte file", end, size)
		}
	})
}

// TestSpanPastLastSlice: a chunk whose bytes run past the last slice its data entry names is
// malformed (Setup: "Already on last slice"), even when a further slice file exists; an empty
// slice in the middle is passed over.
func TestSpanPastLastSlice(t *testing.T) {
	slice := func(data string) *fstest.MapFile {
		b := binary.LittleEndian.AppendUint32([]byte("idska32\x1a"), uint32(12+len(data)))
		return &fstest.MapFile{Data: append(b, data...)}
	}
	dir := fstest.MapFS{"s-1.bin": slice("zlb\x1aab"), "s-2.bin": slice(""), "s-3.bin": slice("cd"), "s-4.bin": slice("ef")}
	s := &slices{dir: dir, bases: []string{"s"}, perDisk: 1, names: map[uint32]string{}}
	tests := []struct {
		last     uint32
		want     string
		sentinel error
	}{
		{last: 3, want: "abcdef"},
		{last: 2, want: "abcd", sentinel: unpack.ErrFormat},
	}
	for _, tc := range tests {
		sp := &span{s: s, cur: 0, last: tc.last, pos: 12 + 4, left: 6, what: "x"}
		got, err := io.ReadAll(sp)
		if string(got) != tc.want || !errors.Is(err, tc.sentinel) {
			t.Errorf("last slice %d: read %q, %v; want %q, %v", tc.last, got, err, tc.want, tc.sentinel)
		}
	}
	s.close()
}
