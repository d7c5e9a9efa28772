package msi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"testing"
	"testing/fstest"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/cfb"
)

// TestInstallPathAliases opens packages (testdata/alias, built by gen.sh with wixl) in which
// the File table names one install path twice, or names a path Windows stores differently from
// how it is written. Each would let a file hide from the baseline diff: the reader must refuse
// it, or inventory the path Windows really writes.
func TestInstallPathAliases(t *testing.T) {
	tests := []struct {
		msi     string
		wantErr error  // nil: opens
		want    string // the single file's install path when it opens
	}{
		{"dup.msi", unpack.ErrUnsupported, ""},                 // two rows, one name
		{"dupcase.msi", unpack.ErrUnsupported, ""},             // core.dll and CORE.DLL
		{"dupdot.msi", unpack.ErrUnsupported, ""},              // core.dll and "Core.dll. "
		{"binary.msi", unpack.ErrUnsupported, ""},              // installs under Binary/, the Binary table's namespace
		{"ads.msi", unpack.ErrInsecurePath, ""},                // core.dll::DATA, an NTFS stream name
		{"backslash.msi", unpack.ErrInsecurePath, ""},          // ..\..\Windows\version.dll
		{"dot.msi", nil, "ProgramFilesFolder/App/version.dll"}, // "version.dll." is stored as version.dll
	}
	for _, tt := range tests {
		t.Run(tt.msi, func(t *testing.T) {
			prc, err := Open("testdata/alias/" + tt.msi)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Open(%q) = %v, want %v", tt.msi, err, tt.wantErr)
				}
				var fe *unpack.FormatError
				if !errors.As(err, &fe) {
					t.Errorf("Open(%q) = %v, want a *unpack.FormatError", tt.msi, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q) = %v", tt.msi, err)
			}
			defer prc.Close()
			files, _ := prc.Reader.Files()
			if len(files) != 1 || files[0].InstallPath != tt.want {
				t.Errorf("Open(%q).Files() = %+v, want one file at %q", tt.msi, files, tt.want)
			}
		})
	}
}

func TestSanitizeWin32(t *testing.T) {
	tests := []struct{ in, want string }{
		{"version.dll.", "version.dll"},
		{"version.dll . .", "version.dll"},
		{"Acme ", "Acme"},
		{"..", "_.."},
		{".", "_."},
		{"...", "_"},
		{" ", "_"},
		{"a:b", "a_b"},
		{"", "_"},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in); got != tt.want {
			t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestNoncompressedFromSource: a File row marked Noncompressed is installed from the source
// layout even when a cabinet holds a copy under its key (testdata/alias/noncompressed.msi);
// the inventory must judge the bytes Windows installs.
func TestNoncompressedFromSource(t *testing.T) {
	b, err := os.ReadFile("testdata/alias/noncompressed.msi")
	if err != nil {
		t.Fatal(err)
	}
	const src = "MZ the copy in the source layout\n"
	read := func(dir fs.FS) (map[string]string, error) {
		p, err := newReader(b, dir)
		if err != nil {
			return nil, err
		}
		got := map[string]string{}
		err = p.Walk(func(name string, size int64, r io.Reader) error {
			c, err := io.ReadAll(r)
			got[name] = string(c)
			return err
		})
		return got, err
	}
	got, err := read(fstest.MapFS{"Acme Corp/App/app.exe": {Data: []byte(src)}})
	if err != nil {
		t.Fatalf("Walk = %v", err)
	}
	if f := got["ProgramFiles64Folder/Acme Corp/App/app.exe"]; f != src {
		t.Errorf("Walk: app.exe = %q, want the source layout's %q", f, src)
	}
	if _, err := read(nil); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("Walk without a source folder = %v, want ErrFormat (app.exe is in no cabinet Windows reads)", err)
	}
}

// TestDuplicateRootStreams: two root entries of one name leave it to the CFB tree search
// which copy Windows reads (a table, a cabinet); the reader must refuse the package rather
// than inventory one copy while Windows installs the other.
func TestDuplicateRootStreams(t *testing.T) {
	orig, err := os.ReadFile("testdata/fixture/fixture.msi")
	if err != nil {
		t.Fatal(err)
	}
	p, err := newReader(orig, nil)
	if err != nil {
		t.Fatal(err)
	}
	byLen := map[int][]uint16{}
	var a, b []uint16
	for _, e := range p.CFB.Root().Children {
		if other, ok := byLen[len(e.RawName)]; ok && e.Type == cfb.TypeStream {
			a, b = other, e.RawName
			break
		}
		if e.Type == cfb.TypeStream {
			byLen[len(e.RawName)] = e.RawName
		}
	}
	if a == nil {
		t.Fatal("no two root streams with names of one length")
	}
	mut := bytes.Clone(orig)
	off := entryOffset(t, mut, b)
	for i, u := range a {
		binary.LittleEndian.PutUint16(mut[off+2*i:], u)
	}
	_, err = newReader(mut, nil)
	t.Logf("NewReader = %v", err)
	if !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("NewReader(two root streams named %q) = %v, want ErrFormat", decodeStreamName(a), err)
	}
}

// TestHiddenCabinetEntries: a cabinet entry no File row installs is still shipped (a custom
// action can unpack it); it is walked and exposed at Cabinet/<Media Cabinet>/<name>. A key
// stored twice in its cabinet is refused: Windows installs the last copy.
func TestHiddenCabinetEntries(t *testing.T) {
	prc, err := Open("testdata/alias/hidden.msi")
	if err != nil {
		t.Fatal(err)
	}
	defer prc.Close()
	p := prc.Reader
	const hidden = "Cabinet/#fixture.cab/payload.dll"
	walked := map[string]string{}
	err = p.Walk(func(name string, size int64, r io.Reader) error {
		b, err := io.ReadAll(r)
		walked[name] = string(b)
		return err
	})
	if err != nil || walked[hidden] != "MZ hidden payload\n" || walked["ProgramFiles64Folder/Acme Corp/App/app.exe"] != "MZ fake app\n" {
		t.Errorf("Walk = %q, %v; want %s among the files", walked, err, hidden)
	}
	if b, err := fs.ReadFile(p, hidden); err != nil || string(b) != "MZ hidden payload\n" {
		t.Errorf("ReadFile(%q) = %q, %v", hidden, b, err)
	}
	if err := fstest.TestFS(p, hidden, "ProgramFiles64Folder/Acme Corp/App/app.exe"); err != nil {
		t.Error(err)
	}

	if _, err := Open("testdata/alias/dupentry.msi"); !errors.Is(err, unpack.ErrUnsupported) {
		t.Errorf("Open(dupentry.msi) = %v, want ErrUnsupported", err)
	}
}

func TestCheckElem(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"core.dll", true}, {"Read Me.txt", true}, {"", true}, {".", true}, {"a.b.c", true},
		{"..", false}, {"...", false}, {". .", false}, {`a\b`, false}, {"a/b", false},
		{"core.dll::$DATA", false}, {"core.dll:ads", false}, {"version.dll\x00x", false},
	}
	for _, tt := range tests {
		err := checkElem("File", "k", tt.name)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, unpack.ErrInsecurePath)) {
			t.Errorf("checkElem(%q) = %v, want ok=%v or ErrInsecurePath", tt.name, err, tt.ok)
		}
	}
}
