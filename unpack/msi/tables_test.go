package msi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
)

// tableFixtures are built by testdata/gen/win/gen-msitables.sh.
const tableFixtures = "../../testdata/fixtures/win/msitables"

const acmeDir = "ProgramFiles64Folder/Acme Softphone"

func openTableFixture(t *testing.T, name string) *Package {
	t.Helper()
	rc, err := Open(filepath.Join(tableFixtures, name))
	if err != nil {
		t.Fatalf("Open(%q) = %v", name, err)
	}
	t.Cleanup(func() { rc.Close() })
	return rc.Reader
}

func TestTableFixtures(t *testing.T) {
	tests := []struct {
		file   string
		want   *inventory.MSITables
		extra  []string // fs.FS paths besides the four Acme files
		orphan []Binary
	}{
		{
			file: "acme-1.1-runkey.msi",
			want: &inventory.MSITables{Registry: []inventory.RegistryRow{{
				ID: "AcmeRun", Root: 2, Key: `Software\Microsoft\Windows\CurrentVersion\Run`, Name: "AcmeUpdater",
				Value: `"` + acmeDir + `/AcmePhone.exe" --background`, Component: "AcmePhone"}}},
		},
		{
			file: "acme-1.1-service.msi",
			want: &inventory.MSITables{
				Services: []inventory.Service{{ID: "AcmeUpdateSvc", Name: "AcmeUpdateSvc", DisplayName: "Acme Update Service",
					ServiceType: 0x10, StartType: 2, ErrorControl: 1, Account: "LocalSystem", Arguments: "--service",
					Component: "AcmePhone", Binary: acmeDir + "/AcmePhone.exe"}},
				ServiceControls: []inventory.ServiceControl{{ID: "AcmeUpdateSvc", Name: "AcmeUpdateSvc", Event: 1 | 2 | 32 | 128, Component: "AcmePhone"}},
			},
		},
		{
			file: "acme-1.1-duplicate.msi",
			want: &inventory.MSITables{FileCopies: []inventory.FileCopy{{Table: "DuplicateFile", ID: "EvilCopy",
				Source: acmeDir + "/plugins/evil.dll", Destination: acmeDir + "/version.dll", Component: "EvilPlugin"}}},
			extra: []string{acmeDir + "/plugins/evil.dll"},
		},
		{
			file:   "acme-1.1-orphan.msi",
			want:   &inventory.MSITables{OrphanStreams: []string{OrphanRoot + "/AcmeUpdate.dat"}},
			extra:  []string{OrphanRoot + "/AcmeUpdate.dat"},
			orphan: []Binary{{Name: "AcmeUpdate.dat", Path: OrphanRoot + "/AcmeUpdate.dat", Size: 4608}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p := openTableFixture(t, tt.file)
			got, err := p.MSITables()
			if err != nil {
				t.Fatalf("MSITables() = %v", err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("MSITables() (-want +got)\n%s", d)
			}
			if d := cmp.Diff(tt.orphan, p.Orphans(), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("Orphans() (-want +got)\n%s", d)
			}
			paths := []string{acmeDir + "/AcmePhone.exe", acmeDir + "/core.dll", acmeDir + "/ffmpeg.dll", acmeDir + "/d3dcompiler_47.dll"}
			paths = append(paths, tt.extra...)
			if err := fstest.TestFS(p, paths...); err != nil {
				t.Errorf("TestFS: %v", err)
			}
			walked := map[string]string{}
			if err := p.Walk(func(name string, size int64, r io.Reader) error {
				h := sha256.New()
				_, err := io.Copy(h, r)
				walked[name] = hex.EncodeToString(h.Sum(nil))
				return err
			}); err != nil {
				t.Fatalf("Walk = %v", err)
			}
			for _, want := range paths {
				if _, ok := walked[want]; !ok {
					t.Errorf("Walk did not yield %q", want)
				}
			}
		})
	}
}

// TestOrphanContent: the orphan stream is the DLL gen-msitables.sh put there, read through
// both Walk and Open.
func TestOrphanContent(t *testing.T) {
	p := openTableFixture(t, "acme-1.1-orphan.msi")
	want, err := os.ReadFile("../../testdata/fixtures/win/pe/helper.dll")
	if err != nil {
		t.Fatal(err)
	}
	got, err := fs.ReadFile(p, OrphanRoot+"/AcmeUpdate.dat")
	if err != nil || string(got) != string(want) {
		t.Errorf("ReadFile(orphan) = %d bytes, %v; want the %d bytes of pe/helper.dll", len(got), err, len(want))
	}
}

// TestNoOrphansInBenign: wixl's output references every stream it writes; a signed package's
// signature streams are not orphans.
func TestNoOrphansInBenign(t *testing.T) {
	for _, f := range []string{"../../testdata/fixtures/win/acme-1.0.msi", "../../testdata/fixtures/win/acme-1.1.msi", fixtures[0]} {
		p, err := Open(f)
		if err != nil {
			t.Fatal(err)
		}
		if o := p.Reader.Orphans(); len(o) != 0 {
			t.Errorf("Orphans(%s) = %+v, want none", f, o)
		}
		p.Close()
	}
}

func TestExpandBounded(t *testing.T) {
	l := &layout{dirs: map[string]string{"D": strings.Repeat("d", 1000)}, byKey: map[string]*fileSrc{}}
	tests := []struct {
		in     string
		max    int
		want   string
		wantOK bool
	}{
		{"[D]x", 2000, strings.Repeat("d", 1000) + "/x", true},
		{"[D][D]", 1500, "", false},
		{"abc", 2, "", false},
		{"[UNKNOWN]", 100, "[UNKNOWN]", true},
	}
	for _, tt := range tests {
		got, ok := l.expandN(tt.in, tt.max)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("expandN(%q, %d) = %q, %v; want %q, %v", tt.in, tt.max, got, ok, tt.want, tt.wantOK)
		}
	}
	// format keeps a value whose expansion is over MaxValueBytes as written.
	s := strings.Repeat("[D]", MaxValueBytes/1000+1)
	if got := l.format(s); got != s {
		t.Errorf("format(%d references to a 1000-byte folder) = %d bytes, want the raw %d", MaxValueBytes/1000+1, len(got), len(s))
	}
	if got := l.format(strings.Repeat("x", MaxValueBytes+1)); len(got) != MaxValueBytes+len(clipMarker) {
		t.Errorf("format(long) = %d bytes, want clipped to %d", len(got), MaxValueBytes+len(clipMarker))
	}
}

// TestCheckCopies: a copy that lands on an installed file, on another copy, or inside the
// stream namespaces is refused: which bytes end up there is not decidable statically.
func TestCheckCopies(t *testing.T) {
	p := &Package{layout: &layout{files: []*fileSrc{{File: File{Key: "core", InstallPath: "PF/Acme/core.dll"}}}}}
	tests := []struct {
		name   string
		copies []inventory.FileCopy
		want   error
	}{
		{"fresh", []inventory.FileCopy{{ID: "a", Destination: "PF/Acme/version.dll"}}, nil},
		{"unresolved", []inventory.FileCopy{{ID: "a"}, {ID: "b"}}, nil},
		{"over a file", []inventory.FileCopy{{ID: "a", Destination: "pf/ACME/Core.dll"}}, unpack.ErrUnsupported},
		{"two copies", []inventory.FileCopy{{ID: "a", Destination: "PF/x.dll"}, {ID: "b", Destination: "PF/X.DLL"}}, unpack.ErrUnsupported},
		{"stream namespace", []inventory.FileCopy{{ID: "a", Destination: OrphanRoot + "/x"}}, unpack.ErrUnsupported},
		{"binary namespace", []inventory.FileCopy{{ID: "a", Destination: "binary/x"}}, unpack.ErrUnsupported},
	}
	for _, tt := range tests {
		err := p.checkCopies(tt.copies)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: checkCopies = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestMatchFiles(t *testing.T) {
	l := &layout{dirs: map[string]string{"INSTALLDIR": "PF/Acme", "OTHER": "PF/Other"}}
	for _, k := range []string{"PF/Acme/a.dll", "PF/Acme/B.DLL", "PF/Acme/c.exe", "PF/Acme/sub/d.dll"} {
		l.files = append(l.files, &fileSrc{File: File{InstallPath: k}})
	}
	tests := []struct {
		dir, pat string
		want     []string
	}{
		{"INSTALLDIR", "*.dll", []string{"PF/Acme/a.dll", "PF/Acme/B.DLL"}},
		{"INSTALLDIR", "C.EXE", []string{"PF/Acme/c.exe"}},
		{"INSTALLDIR", "[a].dll", nil},
		{"OTHER", "*", nil},
		{"NOPROP", "*", nil},
	}
	for _, tt := range tests {
		var got []string
		fs, ok := l.matchFiles(tt.dir, tt.pat)
		if !ok {
			t.Fatalf("matchFiles(%q, %q) over its budget", tt.dir, tt.pat)
		}
		for _, f := range fs {
			got = append(got, f.InstallPath)
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("matchFiles(%q, %q) (-want +got)\n%s", tt.dir, tt.pat, d)
		}
	}
}

// withTables is a Package whose decoded-table cache holds the given tables (schema from
// their columns), for table readers over rows no fixture can carry.
func withTables(l *layout, tables ...*Table) *Package {
	p := &Package{schema: map[string][]Column{}, tables: map[string]*Table{}, layout: l}
	for _, t := range tables {
		p.schema[t.Name] = t.Columns
		p.tables[t.Name] = t
	}
	return p
}

func strCols(names ...string) []Column {
	var cs []Column
	for _, n := range names {
		cs = append(cs, Column{n, colString | colValid | 255})
	}
	return cs
}

// TestTableReaderLimits: every reader refuses a table over MaxTableRows with ErrLimit.
func TestTableReaderLimits(t *testing.T) {
	readers := map[string]func(*Package) error{
		"Registry":       func(p *Package) error { _, err := p.Registry(); return err },
		"ServiceInstall": func(p *Package) error { _, err := p.Services(); return err },
		"ServiceControl": func(p *Package) error { _, err := p.ServiceControls(); return err },
		"DuplicateFile":  func(p *Package) error { _, err := p.FileCopies(); return err },
		"MoveFile":       func(p *Package) error { _, err := p.FileCopies(); return err },
		"IniFile":        func(p *Package) error { _, err := p.IniFiles(); return err },
		"RemoveFile":     func(p *Package) error { _, err := p.RemoveFiles(); return err },
		"SelfReg":        func(p *Package) error { _, err := p.SelfRegs(); return err },
		"Class":          func(p *Package) error { _, err := p.COMServers(); return err },
		"TypeLib":        func(p *Package) error { _, err := p.COMServers(); return err },
		"AppId":          func(p *Package) error { _, err := p.COMServers(); return err },
		"Environment":    func(p *Package) error { _, err := p.Environment(); return err },
		"Font":           func(p *Package) error { _, err := p.Fonts(); return err },
		"ODBCDriver":     func(p *Package) error { _, err := p.ODBCDrivers(); return err },
	}
	for name, read := range readers {
		rows := make([][]Value, MaxTableRows+1)
		for i := range rows {
			rows[i] = []Value{"x"}
		}
		p := withTables(&layout{}, &Table{Name: name, Columns: strCols("Key"), Rows: rows})
		if err := read(p); !errors.Is(err, unpack.ErrLimit) {
			t.Errorf("%s with %d rows: %v, want ErrLimit", name, MaxTableRows+1, err)
		}
	}
}

// TestFileCopyNames: a DestName that is not one path element is refused as an insecure path;
// a MoveFile of a file not in the package keeps the row as written.
func TestFileCopyNames(t *testing.T) {
	l := &layout{dirs: map[string]string{"INSTALLDIR": "PF/Acme"}, byKey: map[string]*fileSrc{}}
	f := &fileSrc{File: File{Key: "evil", InstallPath: "PF/Acme/plugins/evil.dll"}}
	l.files, l.byKey["evil"] = []*fileSrc{f}, f
	dup := func(dest string) *Table {
		return &Table{Name: "DuplicateFile", Columns: strCols("FileKey", "Component_", "File_", "DestName", "DestFolder"),
			Rows: [][]Value{{"c1", "comp", "evil", dest, "INSTALLDIR"}}}
	}
	if _, err := withTables(l, dup(`..\version.dll`)).FileCopies(); !errors.Is(err, unpack.ErrInsecurePath) {
		t.Errorf(`FileCopies(DestName ..\version.dll) = %v, want ErrInsecurePath`, err)
	}
	got, err := withTables(l, dup("")).FileCopies()
	want := []inventory.FileCopy{{Table: "DuplicateFile", ID: "c1", Source: "PF/Acme/plugins/evil.dll", Destination: "PF/Acme/evil.dll", Component: "comp"}}
	if d := cmp.Diff(want, got); err != nil || d != "" {
		t.Errorf("FileCopies(no DestName): %v (-want +got)\n%s", err, d)
	}
	move := &Table{Name: "MoveFile", Columns: append(strCols("FileKey", "Component_", "SourceName", "DestName", "SourceFolder", "DestFolder"), Column{"Options", colValid | 2}),
		Rows: [][]Value{{"m1", "comp", "*.dll", nil, "INSTALLDIR", "SYSDIR", int32(1)}, {"m2", "comp", "hosts", "hosts.bak", "ETCDIR", "ETCDIR", int32(0)}}}
	got, err = withTables(l, move).FileCopies()
	// m1's wildcard matches no file of the package in INSTALLDIR: kept as written, with no
	// destination (it names none); m2 moves a file of the machine.
	m2 := inventory.FileCopy{Table: "MoveFile", ID: "m2", Source: "[ETCDIR]hosts", Destination: "ETCDIR/hosts.bak", Component: "comp"}
	want = []inventory.FileCopy{{Table: "MoveFile", ID: "m1", Source: "[INSTALLDIR]*.dll", Move: true, Component: "comp"}, m2}
	if d := cmp.Diff(want, got); err != nil || d != "" {
		t.Errorf("FileCopies(MoveFile) %v (-want +got)\n%s", err, d)
	}
	l.dirs["PLUG"] = "PF/Acme/plugins"
	move.Rows[0][4] = "PLUG"
	got, err = withTables(l, move).FileCopies()
	want = []inventory.FileCopy{{Table: "MoveFile", ID: "m1", Source: "PF/Acme/plugins/evil.dll", Destination: "SYSDIR/evil.dll", Move: true, Component: "comp"}, m2}
	if d := cmp.Diff(want, got); err != nil || d != "" {
		t.Errorf("FileCopies(MoveFile of a package file) %v (-want +got)\n%s", err, d)
	}
}

// TestTableTextBudget: one long pool string referenced from many rows is refused once the
// readers' output passes MaxTablesText, instead of being copied per row.
func TestTableTextBudget(t *testing.T) {
	long := strings.Repeat("x", MaxValueBytes)
	rows := make([][]Value, MaxTablesText/MaxValueBytes+1)
	for i := range rows {
		rows[i] = []Value{"r", int32(2), runKeyForTest, "n", long, "c"}
	}
	cols := []Column{{"Registry", colString | colValid | 72}, {"Root", colValid | 2}, {"Key", colString | colValid | 255},
		{"Name", colString | colValid | 255}, {"Value", colString | colValid}, {"Component_", colString | colValid | 72}}
	p := withTables(&layout{}, &Table{Name: "Registry", Columns: cols, Rows: rows})
	if _, err := p.Registry(); !errors.Is(err, unpack.ErrLimit) {
		t.Errorf("Registry() with %d rows of %d bytes = %v, want ErrLimit", len(rows), MaxValueBytes, err)
	}
	p = withTables(&layout{}, &Table{Name: "Registry", Columns: cols, Rows: rows[:10]})
	if got, err := p.Registry(); err != nil || len(got) != 10 {
		t.Errorf("Registry() with 10 rows = %d rows, %v", len(got), err)
	}
}

const runKeyForTest = `Software\Microsoft\Windows\CurrentVersion\Run`

// TestMoveFileMatchBudget: wildcard rows over a folder of many files stop at MaxMatchSteps.
func TestMoveFileMatchBudget(t *testing.T) {
	l := &layout{dirs: map[string]string{"INSTALLDIR": "PF/A"}, byKey: map[string]*fileSrc{}}
	for i := range MaxFiles {
		l.files = append(l.files, &fileSrc{File: File{InstallPath: "PF/A/f" + strconv.Itoa(i)}})
	}
	rows := make([][]Value, MaxMatchSteps/MaxFiles+1)
	for i := range rows {
		rows[i] = []Value{"m" + strconv.Itoa(i), "c", "nomatch*", nil, "INSTALLDIR", "INSTALLDIR", int32(0)}
	}
	move := &Table{Name: "MoveFile", Columns: append(strCols("FileKey", "Component_", "SourceName", "DestName", "SourceFolder", "DestFolder"), Column{"Options", colValid | 2}), Rows: rows}
	if _, err := withTables(l, move).FileCopies(); !errors.Is(err, unpack.ErrLimit) {
		t.Errorf("FileCopies(%d wildcard rows over %d files) = %v, want ErrLimit", len(rows), MaxFiles, err)
	}
}

// TestStartupFolders: the Startup folders stay roots named by their ids, so a shortcut placed
// there is recognisable in the inventory.
func TestStartupFolders(t *testing.T) {
	rows := []dirRow{{"TARGETDIR", "", "SourceDir"}, {"StartupFolder", "TARGETDIR", "."}, {"CommonStartupFolder", "TARGETDIR", "Startup"},
		{"Sub", "StartupFolder", "Acme"}}
	dirs, _, err := resolveDirectories(rows, false, &pathBudget{}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"TARGETDIR": "", "StartupFolder": "StartupFolder", "CommonStartupFolder": "CommonStartupFolder", "Sub": "StartupFolder/Acme"}
	if d := cmp.Diff(want, dirs); d != "" {
		t.Errorf("resolveDirectories (-want +got)\n%s", d)
	}
}
