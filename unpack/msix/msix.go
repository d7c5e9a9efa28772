// Package msix reads MSIX and AppX packages (.msix, .appx) and bundles (.msixbundle,
// .appxbundle) from hostile input as an fs.FS of the files they install.
//
// A package is a ZIP archive (PKWARE APPNOTE 6.3, read with archive/zip) laid out as an Open
// Packaging Convention container (ECMA-376 Part 2): part names are percent-encoded in the
// ZIP, "[Content_Types].xml" maps them to media types. Microsoft's "App package format"
// documentation names the footprint files: AppxManifest.xml (the package identity),
// AppxBlockMap.xml (the SHA-256 of every 64 KiB block of every other file, schema
// http://schemas.microsoft.com/appx/2010/blockmap), AppxSignature.p7x (the Authenticode
// signature, checked by verify/authenticode VerifyAppx) and AppxMetadata/CodeIntegrity.cat.
// A bundle holds AppxMetadata/AppxBundleManifest.xml and the inner packages as plain files.
//
// Rollgate's choices: the fs.FS holds the payload only (the files a package installs, inner
// packages of a bundle included); the footprint files are listed by Footprint. Part names are
// percent-decoded; names that would leave the root are refused. The block map is checked on
// request (BlockMapErrors) so that a tampered package is a finding, not an unreadable file.
package msix

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/fstree"
)

// Limits.
const (
	// MaxEntries bounds the ZIP entries of one package.
	MaxEntries = 1 << 16
	// MaxXMLBytes bounds one footprint XML file (the manifest, the block map): a block map
	// lists about 100 bytes per 64 KiB block, so 64 MiB covers a 40 GiB package.
	MaxXMLBytes = 64 << 20
	// MaxXMLDepth bounds element nesting in the footprint XML.
	MaxXMLDepth = 64
	// MaxExpandedBytes bounds the declared uncompressed size of all entries together.
	MaxExpandedBytes = unpack.MaxExpandedBytes
	// BlockSize is the block map's block: 64 KiB of uncompressed content.
	BlockSize = 64 << 10
)

// Footprint file names (OPC part names as stored).
const (
	NameManifest       = "AppxManifest.xml"
	NameBlockMap       = "AppxBlockMap.xml"
	NameSignature      = "AppxSignature.p7x"
	NameContentTypes   = "[Content_Types].xml"
	NameCodeIntegrity  = "AppxMetadata/CodeIntegrity.cat"
	NameBundleManifest = "AppxMetadata/AppxBundleManifest.xml"
)

var errs = unpack.Errs("msix")

// Identity is the package identity from AppxManifest.xml (or, for a bundle, from
// AppxBundleManifest.xml; ProcessorArchitecture is then empty).
type Identity struct {
	Name                  string
	Publisher             string
	Version               string
	ProcessorArchitecture string
}

// FootprintFile is a footprint file present in the package.
type FootprintFile struct {
	Name string // part name as stored in the ZIP
	Size int64  // uncompressed
}

// Reader is an opened package. It implements fs.FS, fs.ReadDirFS, fs.StatFS and
// unpack.Walker over the payload.
type Reader struct {
	r         io.ReaderAt
	zr        *zip.Reader
	tree      *fstree.Tree
	files     []*fstree.Node // payload in storage order
	footprint []FootprintFile
	byName    map[string]*zip.File // by stored name
	offsets   map[*zip.File]int64  // local header offsets
	identity  Identity
	bundle    bool
	packages  []string

	checkOnce sync.Once
	bmErrs    []BlockMapError
	bmErr     error
}

// NewReader reads the ZIP directory and the manifest of the package in r.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, zipErr("", err)
	}
	if len(zr.File) > MaxEntries {
		return nil, errs.Limit("", -1, "%d ZIP entries (limit %d)", len(zr.File), MaxEntries)
	}
	dir, err := ReadDirectory(r, size)
	if err != nil {
		return nil, err
	}
	if len(dir.Records) != len(zr.File) {
		return nil, errs.Format("", dir.CDOffset, "%d central directory records, archive/zip read %d", len(dir.Records), len(zr.File))
	}
	m := &Reader{r: r, zr: zr, tree: fstree.New(MaxEntries), byName: map[string]*zip.File{}, offsets: map[*zip.File]int64{}}
	files := append([]*zip.File(nil), zr.File...)
	for i, f := range files {
		if dir.Records[i].Name != f.Name {
			return nil, errs.Format(f.Name, dir.Records[i].CDOffset, "central directory record names %q", dir.Records[i].Name)
		}
		m.offsets[f] = dir.Records[i].HeaderOffset
	}
	sort.SliceStable(files, func(i, j int) bool { return m.offsets[files[i]] < m.offsets[files[j]] })
	var total uint64
	folded := map[string]string{}
	for _, f := range files {
		if _, dup := m.byName[f.Name]; dup {
			return nil, errs.Format(f.Name, m.offsets[f], "two ZIP entries share this name")
		}
		m.byName[f.Name] = f
		if total += f.UncompressedSize64; total > MaxExpandedBytes || f.UncompressedSize64 > MaxExpandedBytes {
			return nil, errs.Limit(f.Name, m.offsets[f], "more than %d uncompressed bytes", int64(MaxExpandedBytes))
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return nil, errs.Unsupported(f.Name, m.offsets[f], "compression method %d", f.Method)
		}
		if f.Flags&0x1 != 0 {
			return nil, errs.Unsupported(f.Name, m.offsets[f], "encrypted entry")
		}
		if isFootprint(f.Name) {
			m.footprint = append(m.footprint, FootprintFile{Name: f.Name, Size: int64(f.UncompressedSize64)})
			continue
		}
		if strings.HasSuffix(f.Name, "/") {
			// OPC has no directory parts; a directory entry carries nothing to install.
			continue
		}
		p, err := partPath(f.Name)
		if err != nil {
			return nil, &unpack.FormatError{Format: "msix", Entry: f.Name, Offset: m.offsets[f], Msg: "part name leaves the package root", Err: unpack.ErrInsecurePath}
		}
		// Windows installs onto a case-insensitive file system: two parts that differ only
		// in case would land on one file, and the inventory could not say which.
		if other, dup := folded[strings.ToLower(p)]; dup {
			return nil, errs.Format(f.Name, m.offsets[f], "differs only in case from %q", other)
		}
		folded[strings.ToLower(p)] = f.Name
		n, err := m.tree.Add(p, f.Mode().Perm()|0o444, int64(f.UncompressedSize64), f.Modified, f)
		if err != nil {
			sentinel := unpack.ErrFormat
			if errors.Is(err, unpack.ErrLimit) {
				sentinel = unpack.ErrLimit
			}
			return nil, &unpack.FormatError{Format: "msix", Entry: f.Name, Offset: m.offsets[f], Msg: err.Error(), Err: sentinel}
		}
		m.files = append(m.files, n)
	}
	sort.Slice(m.footprint, func(i, j int) bool { return m.footprint[i].Name < m.footprint[j].Name })
	if f := m.byName[NameBundleManifest]; f != nil {
		m.bundle = true
		if m.identity, err = m.readIdentity(f, "Bundle"); err != nil {
			return nil, err
		}
		for _, n := range m.files {
			switch strings.ToLower(path.Ext(n.Path)) {
			case ".appx", ".msix":
				m.packages = append(m.packages, n.Path)
			}
		}
		sort.Strings(m.packages)
	} else if f := m.byName[NameManifest]; f != nil {
		if m.identity, err = m.readIdentity(f, "Package"); err != nil {
			return nil, err
		}
	} else {
		return nil, errs.Format("", -1, "neither %s nor %s: not an MSIX/AppX package", NameManifest, NameBundleManifest)
	}
	return m, nil
}

// isFootprint reports whether a stored name is a footprint file. AppxManifest.xml is both:
// Windows installs it and the block map covers it, but it describes rather than carries code.
func isFootprint(name string) bool {
	switch name {
	case NameManifest, NameBlockMap, NameSignature, NameContentTypes, NameCodeIntegrity, NameBundleManifest:
		return true
	}
	return false
}

// blockMapped reports whether the block map must list the stored name: every part except
// the block map itself, the signature, the content types and the code integrity catalog.
func blockMapped(name string) bool {
	switch name {
	case NameBlockMap, NameSignature, NameContentTypes, NameCodeIntegrity:
		return false
	}
	return !strings.HasSuffix(name, "/")
}

// partPath turns a stored part name into an fs.FS path: percent-decoded, checked local.
func partPath(name string) (string, error) {
	dec, err := url.PathUnescape(name)
	if err != nil {
		return "", err
	}
	if dec == "" || strings.HasPrefix(dec, "/") {
		return "", unpack.ErrInsecurePath
	}
	p, err := fstree.Clean(dec)
	if err != nil || p == "." || p != dec {
		return "", unpack.ErrInsecurePath
	}
	return p, nil
}

// blockMapName is how the block map writes a stored part name: percent-decoded, with
// backslashes.
func blockMapName(name string) string {
	dec, err := url.PathUnescape(name)
	if err != nil {
		dec = name
	}
	return strings.ReplaceAll(dec, "/", `\`)
}

// Identity returns the package identity from the manifest.
func (m *Reader) Identity() Identity { return m.identity }

// IsBundle reports whether this is a bundle (.msixbundle, .appxbundle).
func (m *Reader) IsBundle() bool { return m.bundle }

// Packages lists, for a bundle, the fs.FS paths of the inner packages (.appx, .msix); the
// caller opens them as packages of their own.
func (m *Reader) Packages() []string { return m.packages }

// Footprint lists the footprint files present, by stored name, sorted.
func (m *Reader) Footprint() []FootprintFile { return m.footprint }

// Open implements fs.FS.
func (m *Reader) Open(name string) (fs.File, error) { return m.tree.OpenFile(name, m.open) }

// Stat implements fs.StatFS.
func (m *Reader) Stat(name string) (fs.FileInfo, error) { return m.tree.Stat(name) }

// ReadDir implements fs.ReadDirFS.
func (m *Reader) ReadDir(name string) ([]fs.DirEntry, error) { return m.tree.ReadDir(name) }

// Walk implements unpack.Walker: the payload in storage order.
func (m *Reader) Walk(fn func(path string, size int64, r io.Reader) error) error {
	return fstree.Walk(m.files, m.open, fn)
}

func (m *Reader) open(n *fstree.Node) (io.ReadCloser, error) {
	return m.openEntry(n.Data.(*zip.File))
}

// openEntry opens a ZIP entry's uncompressed content, reading exactly its declared size.
func (m *Reader) openEntry(f *zip.File) (io.ReadCloser, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, zipErr(f.Name, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{&zipErrReader{fstree.ExactReader(rc, int64(f.UncompressedSize64), "msix", f.Name), f}, rc}, nil
}

// zipErrReader turns archive/zip's errors (bad CRC, bad data) into positioned errors.
type zipErrReader struct {
	r io.Reader
	f *zip.File
}

func (z *zipErrReader) Read(b []byte) (int, error) {
	n, err := z.r.Read(b)
	if err != nil && err != io.EOF {
		var fe *unpack.FormatError
		if !errors.As(err, &fe) {
			err = zipErr(z.f.Name, err)
		}
	}
	return n, err
}

func zipErr(entry string, err error) error {
	var fe *unpack.FormatError
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, zip.ErrFormat) || errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrAlgorithm) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errs.Format(entry, -1, "%v", err)
	}
	if errors.Is(err, zip.ErrInsecurePath) {
		return &unpack.FormatError{Format: "msix", Entry: entry, Offset: -1, Msg: err.Error(), Err: unpack.ErrInsecurePath}
	}
	var corrupt flate.CorruptInputError
	if errors.As(err, &corrupt) {
		return errs.Format(entry, -1, "%v", err)
	}
	return err
}

// readXML reads a footprint XML file, at most MaxXMLBytes.
func (m *Reader) readXML(f *zip.File) ([]byte, error) {
	if f.UncompressedSize64 > MaxXMLBytes {
		return nil, errs.Limit(f.Name, m.offsets[f], "%d bytes of XML (limit %d)", f.UncompressedSize64, MaxXMLBytes)
	}
	rc, err := m.openEntry(f)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// readIdentity reads the Identity element that is a child of the root element (named root).
func (m *Reader) readIdentity(f *zip.File, root string) (Identity, error) {
	data, err := m.readXML(f)
	if err != nil {
		return Identity{}, err
	}
	var id Identity
	found := false
	err = walkXML(data, func(stack []string, e xml.StartElement) error {
		if len(stack) == 1 && stack[0] != root {
			return fmt.Errorf("root element <%s>, want <%s>", stack[0], root)
		}
		if len(stack) != 2 || e.Name.Local != "Identity" {
			return nil
		}
		if found {
			return errors.New("more than one Identity element")
		}
		found = true
		for _, a := range e.Attr {
			if a.Name.Space != "" {
				continue
			}
			switch a.Name.Local {
			case "Name":
				id.Name = a.Value
			case "Publisher":
				id.Publisher = a.Value
			case "Version":
				id.Version = a.Value
			case "ProcessorArchitecture":
				id.ProcessorArchitecture = a.Value
			}
		}
		return nil
	})
	if err != nil {
		return Identity{}, errs.Format(f.Name, -1, "%v", err)
	}
	if !found || id.Name == "" || id.Publisher == "" || id.Version == "" {
		return Identity{}, errs.Format(f.Name, -1, "no Identity with Name, Publisher and Version")
	}
	return id, nil
}

// walkXML calls fn for every start element with the local names of the open elements
// (the element itself last), bounding the depth.
func walkXML(data []byte, fn func(stack []string, e xml.StartElement) error) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var stack []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if len(stack) != 0 {
				return errors.New("unexpected end of XML")
			}
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= MaxXMLDepth {
				return fmt.Errorf("elements nested deeper than %d", MaxXMLDepth)
			}
			stack = append(stack, t.Name.Local)
			if err := fn(stack, t); err != nil {
				return err
			}
		case xml.EndElement:
			if len(stack) == 0 {
				return errors.New("unbalanced end element")
			}
			stack = stack[:len(stack)-1]
		case xml.Directive:
			// A DOCTYPE could declare entities; the footprint schemas have none.
			return errors.New("XML directive (DOCTYPE) not allowed")
		}
	}
}

// Open opens the package in the named file; Close closes it.
func Open(name string) (*unpack.ReadCloser[*Reader], error) { return unpack.OpenFile(name, NewReader) }

// The reader contract every format keeps.
var (
	_ fs.ReadDirFS  = (*Reader)(nil)
	_ fs.StatFS     = (*Reader)(nil)
	_ unpack.Walker = (*Reader)(nil)
)
