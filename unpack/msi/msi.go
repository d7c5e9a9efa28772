// Package msi reads Windows Installer databases (.msi) from hostile input: the string pool,
// the tables, the summary information, and the files the package installs, exposed as an
// fs.FS over their install paths.
//
// The container is read by unpack/cfb. The database format is not published by Microsoft as a
// specification; this reader follows the layout documented by Wine's and msitools' libmsi
// (string pool with the 64 KiB long-string escape and 3-byte string references, column-major
// tables, stream name packing) and the Windows Installer SDK for table semantics (Directory
// DefaultDir "target:source" and "short|long" names, Media and File sequences, the summary
// information word count flags). Deviations handled: a table listed in !_Tables with no
// stream has no rows; column types flagged temporary are not stored.
//
// Install paths are the ones Windows writes: trailing dots and spaces of a name are dropped
// (Win32 path normalisation), a file is read from a cabinet only when its attributes or the
// summary say it is compressed, and cabinet entries no File row installs are exposed under
// "Cabinet/". Packages whose install paths Windows would read differently from this reader
// are refused rather than guessed at: two File rows on one path (compared case-insensitively),
// names holding separators, ':' (NTFS streams) or only dots, two root streams of one name,
// and a cabinet holding an installed key twice.
//
// Transforms (.mst, and the transform substorages of patches) are read and applied to a
// package's tables in memory (transform.go), following Wine's msi.dll, which the fixtures'
// oracle is.
package msi

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf16"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/cfb"
)

// Limits.
const (
	// MaxTableBytes bounds a table, string pool or string data stream read into memory.
	MaxTableBytes = 64 << 20
	// MaxTableCells bounds rows × columns of one decoded table.
	MaxTableCells = 1 << 22
	// MaxSummaryBytes bounds the summary information stream.
	MaxSummaryBytes = 1 << 20
)

const (
	streamStringPool = "!_StringPool"
	streamStringData = "!_StringData"
	streamSummary    = "\x05SummaryInformation"
)

var errNoTable = errors.New("no such table")

// Package is an open MSI database.
type Package struct {
	CFB     *cfb.Reader
	Summary Summary

	closers []io.Closer // external cabinets
	dir     fs.FS

	streams    map[string]*cfb.Entry // decoded root stream name → entry
	pool       *stringPool
	schema     map[string][]Column
	tableNames []string
	tables     map[string]*Table

	layout *layout // files, cabinets and the fs tree; built by NewReader

	// errEntry prefixes the entry of every FormatError (a transform's or patch's name);
	// foreign maps the streams a transform brought (Binary data, cabinets) to the compound
	// file that holds them; applied lists the transforms applied, in order.
	errEntry string
	foreign  map[*cfb.Entry]*cfb.Reader
	applied  []string
	// standalone: a patch read without its target (OpenPatchAlone); unplaced lists what it
	// changes that only the target defines.
	standalone bool
	unplaced   []string
	// unplacedFiles are the File rows the last layout could not place (buildLayout resets it).
	unplacedFiles []string
}

// Open opens the MSI at path; external cabinets and uncompressed source files are looked
// up in the folder that holds it. Close closes the package's cabinets and the file.
func Open(path string) (*unpack.ReadCloser[*Package], error) {
	dir := os.DirFS(filepath.Dir(path))
	return unpack.OpenFile(path, func(r io.ReaderAt, size int64) (*Package, error) {
		p, err := NewReader(r, size, dir)
		if err != nil {
			return nil, fmt.Errorf("opening %q: %w", path, err)
		}
		return p, nil
	})
}

// NewReader reads the MSI database held by r (size bytes). dir is where external cabinets
// and uncompressed source files live; it may be nil, and then files stored outside the MSI
// are reported as unavailable.
func NewReader(r io.ReaderAt, size int64, dir fs.FS) (*Package, error) {
	c, err := cfb.NewReader(r, size)
	if err != nil {
		return nil, err
	}
	p := &Package{CFB: c, dir: dir, streams: map[string]*cfb.Entry{}, tables: map[string]*Table{}}
	if err := p.indexStreams(c.Root().Children); err != nil {
		return nil, err
	}
	if _, ok := p.streams[streamSummary]; ok {
		b, err := p.readStream(streamSummary, MaxSummaryBytes)
		if err != nil {
			return nil, err
		}
		if err := p.parseSummary(b); err != nil {
			return nil, err
		}
	}
	if _, ok := p.streams[streamStringPool]; !ok {
		return nil, p.formatErr(streamStringPool, -1, "missing: not an MSI database")
	}
	if err := p.loadStringPool(); err != nil {
		return nil, err
	}
	if err := p.loadSchema(); err != nil {
		return nil, err
	}
	if err := p.buildLayout(); err != nil {
		return nil, err
	}
	return p, nil
}

// indexStreams maps the decoded names of a storage's streams to their entries.
func (p *Package) indexStreams(children []*cfb.Entry) error {
	// [MS-CFB] 2.6.4 compares names case-insensitively and Windows opens whichever copy its
	// tree search meets first; two root entries of one name leave it open which copy is the
	// table or cabinet that gets installed, so the package is refused.
	names := map[string]bool{}
	for _, e := range children {
		k := strings.ToUpper(string(utf16.Decode(e.RawName)))
		if names[k] {
			return p.formatErr(decodeStreamName(e.RawName), -1, "two root entries share this name; which one Windows reads is undefined")
		}
		names[k] = true
		if e.Type != cfb.TypeStream {
			continue
		}
		// A packed and a plain name can decode alike; Windows packs the name it looks up.
		n := decodeStreamName(e.RawName)
		if _, dup := p.streams[n]; dup {
			return p.formatErr(n, -1, "two root streams decode to this name; which one Windows reads is undefined")
		}
		p.streams[n] = e
	}
	return nil
}

// openEntry opens a stream of the package, or one a transform brought.
func (p *Package) openEntry(e *cfb.Entry) (*cfb.Stream, error) {
	if r, ok := p.foreign[e]; ok {
		return r.OpenStream(e)
	}
	return p.CFB.OpenStream(e)
}

// Close closes the external cabinets the package opened (Open's ReadCloser closes the file).
func (p *Package) Close() error {
	var errs []error
	for _, c := range p.closers {
		errs = append(errs, c.Close())
	}
	p.closers = nil
	return errors.Join(errs...)
}

var _ unpack.Walker = (*Package)(nil)

func (p *Package) formatErr(entry string, off int64, format string, args ...any) error {
	return &unpack.FormatError{Format: "msi", Entry: p.errEntry + entry, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func (p *Package) limitErr(entry string, format string, args ...any) error {
	return &unpack.FormatError{Format: "msi", Entry: p.errEntry + entry, Offset: -1, Msg: fmt.Sprintf(format, args...), Err: unpack.ErrLimit}
}

// readStream reads a whole (small) stream by decoded name; a missing stream reads empty.
func (p *Package) readStream(name string, limit int64) ([]byte, error) {
	e, ok := p.streams[name]
	if !ok {
		return nil, nil
	}
	if e.Size > limit {
		return nil, p.limitErr(name, "stream of %d bytes exceeds the limit of %d", e.Size, limit)
	}
	s, err := p.openEntry(e)
	if err != nil {
		return nil, nameErr(err, e, name)
	}
	b := make([]byte, e.Size)
	if _, err := io.ReadFull(s, b); err != nil {
		if errors.Is(err, unpack.ErrFormat) {
			return nil, nameErr(err, e, name)
		}
		return nil, fmt.Errorf("msi: reading stream %q: %w", name, err)
	}
	return b, nil
}

// nameErr replaces the packed stream name in a cfb FormatError with the decoded one, so
// messages read "!_StringData" rather than CJK code points.
func nameErr(err error, e *cfb.Entry, decoded string) error {
	var fe *unpack.FormatError
	if errors.As(err, &fe) && fe.Entry == e.Name {
		fe.Entry = decoded
	}
	return err
}

// Streams lists the decoded names of the root streams, sorted.
func (p *Package) Streams() []string {
	out := make([]string, 0, len(p.streams))
	for n := range p.streams {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Property returns the Property table's value for name, "" if absent.
func (p *Package) Property(name string) string {
	t, err := p.Table("Property")
	if err != nil {
		return ""
	}
	for i := range t.Rows {
		if t.Str(i, "Property") == name {
			return t.Str(i, "Value")
		}
	}
	return ""
}

// File is a File table row joined with its Component and Directory.
type File struct {
	Key         string // File table key (also its name inside the cabinet)
	InstallPath string // e.g. "ProgramFiles64Folder/Acme/core.dll"
	Size        int64  // FileSize column
	Version     string // Version column (a version, or a companion file key)
	Language    string
	Attributes  int32
	Component   string
	Sequence    int32
}

// Files returns the File table rows with their install paths, in File table order.
func (p *Package) Files() ([]File, error) {
	out := make([]File, len(p.layout.files))
	for i, f := range p.layout.files {
		out[i] = f.File
	}
	return out, nil
}

// CustomActions returns the CustomAction table rows.
func (p *Package) CustomActions() ([]inventory.CustomAction, error) {
	if !p.hasTable("CustomAction") {
		return nil, nil
	}
	t, err := p.Table("CustomAction")
	if err != nil {
		return nil, err
	}
	out := make([]inventory.CustomAction, 0, len(t.Rows))
	for i := range t.Rows {
		typ, _ := t.Int(i, "Type")
		out = append(out, inventory.CustomAction{
			Action: t.Str(i, "Action"),
			Type:   int(typ),
			Source: t.Str(i, "Source"),
			Target: t.Str(i, "Target"),
		})
	}
	return out, nil
}

// Shortcuts returns the Shortcut table rows with Directory and Target resolved to install
// paths. An advertised shortcut's Target is a Feature key: it is resolved to the key path
// file of the shortcut's Component. A formatted Target ("[#File]", "[DIR]name.exe") is
// expanded where it names a file or a directory; anything else is kept as written.
func (p *Package) Shortcuts() ([]inventory.Shortcut, error) {
	if !p.hasTable("Shortcut") {
		return nil, nil
	}
	t, err := p.Table("Shortcut")
	if err != nil {
		return nil, err
	}
	l := p.layout
	features := map[string]bool{}
	if p.hasTable("Feature") {
		ft, err := p.Table("Feature")
		if err != nil {
			return nil, err
		}
		for i := range ft.Rows {
			features[ft.Str(i, "Feature")] = true
		}
	}
	out := make([]inventory.Shortcut, 0, len(t.Rows))
	for i := range t.Rows {
		sc := inventory.Shortcut{
			Name:      longName(t.Str(i, "Name")),
			Directory: l.dirs[t.Str(i, "Directory_")],
			Arguments: t.Str(i, "Arguments"),
		}
		target := t.Str(i, "Target")
		switch {
		case features[target] && !strings.Contains(target, "["):
			comp := t.Str(i, "Component_")
			if f, ok := l.byKey[l.keyPath[comp]]; ok {
				sc.Target = f.InstallPath
			} else {
				sc.Target = target
			}
		default:
			sc.Target = l.expand(target)
		}
		out = append(out, sc)
	}
	return out, nil
}

// Binary is one row of the Binary table (custom action DLLs and scripts).
type Binary struct {
	Name string // Binary table key
	Path string // fs.FS path: "Binary/<Name>"
	Size int64
}

// Binaries returns the Binary table rows that have a stream.
func (p *Package) Binaries() ([]Binary, error) {
	out := make([]Binary, 0, len(p.layout.binaries))
	for _, b := range p.layout.binaries {
		out = append(out, Binary{Name: b.key, Path: b.path, Size: b.size})
	}
	return out, nil
}
