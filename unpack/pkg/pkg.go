// Package pkg reads macOS flat installer packages (.pkg) from hostile input as one fs.FS:
// the xar container, each component's Payload (a cpio archive, pbzx- or gzip-compressed)
// placed under its install location, each component's Scripts archive, and the package
// metadata (Distribution, PackageInfo, Bom, resources).
//
// Layout follows Apple's flat package format as productbuild and pkgbuild write it (and as
// `pkgutil --expand` shows it): a component package holds PackageInfo, Bom, Payload and
// optionally Scripts at the xar root; a product archive holds Distribution (and Resources)
// at the root and one "<name>.pkg/" directory per component.
//
// Paths exposed (the inventory's install paths):
//   - payload files: <install-location>/<payload path>, e.g. "Applications/Acme.app/Contents/
//     MacOS/Acme" for install-location "/Applications" (leading "/" dropped; "/" or none puts
//     the payload at the root);
//   - scripts: "(pkg)/<component dir>/Scripts/<name>", or "(pkg)/Scripts/<name>" for a
//     component package;
//   - every other xar file: "(pkg)/<xar path>", e.g. "(pkg)/Distribution",
//     "(pkg)/acme.pkg/PackageInfo", "(pkg)/acme.pkg/Bom".
//
// The "(pkg)" folder mirrors inventory.InstallerPath's "(installer)": no install path starts
// with a parenthesis in practice, and two files claiming one path is an error.
package pkg

import (
	"bufio"
	"compress/bzip2"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/cpio"
	"github.com/rollgate/rollgate/unpack/fstree"
	"github.com/rollgate/rollgate/unpack/xar"
	"github.com/rollgate/rollgate/unpack/xz"
)

// MetaDir is the folder holding the package's own files (metadata and scripts).
const MetaDir = "(pkg)"

// Limits.
const (
	// MaxMetaBytes bounds PackageInfo and Distribution documents.
	MaxMetaBytes = 4 << 20
	// MaxComponents bounds the component packages of a product archive.
	MaxComponents = 1024
	// MaxEntries bounds the entries exposed by one package.
	MaxEntries = unpack.MaxEntries
)

// Component is one component package.
type Component struct {
	// Dir is the component's xar directory ("" for a component package at the root).
	Dir             string
	ID              string
	Version         string
	InstallLocation string
	Bundles         []Bundle
	payload         string // xar path of Payload, "" when absent
	scripts         string // xar path of Scripts, "" when absent
	prefix          string // fs path the payload is placed under
}

// Bundle is a bundle PackageInfo declares.
type Bundle struct {
	Path         string `xml:"path,attr"`
	ID           string `xml:"id,attr"`
	ShortVersion string `xml:"CFBundleShortVersionString,attr"`
	Version      string `xml:"CFBundleVersion,attr"`
}

// Reader is an opened flat package. It implements fs.FS, fs.ReadDirFS, fs.StatFS and
// unpack.Walker.
type Reader struct {
	x          *xar.Reader
	comps      []*Component
	productID  string
	productVer string
	special    map[string]*Component // xar path of a Payload/Scripts → its component

	once   sync.Once
	tree   *fstree.Tree
	idxErr error
}

func errAt(entry string, format string, args ...any) error {
	return &unpack.FormatError{Format: "pkg", Entry: entry, Offset: -1, Msg: fmt.Sprintf(format, args...)}
}

// NewReader opens the flat package in r.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	x, err := xar.NewReader(r, size)
	if err != nil {
		return nil, err
	}
	return FromXar(x)
}

// FromXar reads the package structure of an opened xar archive.
func FromXar(x *xar.Reader) (*Reader, error) {
	p := &Reader{x: x, special: map[string]*Component{}}
	dirs := map[string]bool{}
	for _, f := range x.Files() {
		dir, base := path.Split(f)
		dir = strings.TrimSuffix(dir, "/")
		if strings.Contains(dir, "/") {
			continue // deeper than a component directory: metadata only
		}
		switch base {
		case "PackageInfo", "Payload", "Scripts":
			dirs[dir] = true
		}
	}
	if len(dirs) > MaxComponents {
		return nil, &unpack.FormatError{Format: "pkg", Offset: -1, Msg: fmt.Sprintf("%d components", len(dirs)), Err: unpack.ErrLimit}
	}
	var names []string
	for d := range dirs {
		names = append(names, d)
	}
	sort.Strings(names)
	for _, d := range names {
		c := &Component{Dir: d}
		join := func(b string) string {
			if d == "" {
				return b
			}
			return d + "/" + b
		}
		if info, err := fs.Stat(x, join("PackageInfo")); err == nil && info.Mode().IsRegular() {
			if err := p.readPackageInfo(c, join("PackageInfo")); err != nil {
				return nil, err
			}
		}
		if info, err := fs.Stat(x, join("Payload")); err == nil && info.Mode().IsRegular() {
			c.payload = join("Payload")
			p.special[c.payload] = c
		}
		if info, err := fs.Stat(x, join("Scripts")); err == nil && info.Mode().IsRegular() {
			c.scripts = join("Scripts")
			p.special[c.scripts] = c
		}
		loc := strings.TrimSpace(c.InstallLocation)
		if loc == "" {
			loc = "/"
		}
		prefix, err := fstree.Clean(loc)
		if err != nil {
			return nil, &unpack.FormatError{Format: "pkg", Entry: join("PackageInfo"), Offset: -1, Msg: "install-location " + loc, Err: unpack.ErrInsecurePath}
		}
		if prefix == "." {
			prefix = ""
		}
		if strings.HasPrefix(prefix, MetaDir) {
			return nil, errAt(join("PackageInfo"), "install-location %q collides with %s", loc, MetaDir)
		}
		c.prefix = prefix
		p.comps = append(p.comps, c)
	}
	if info, err := fs.Stat(x, "Distribution"); err == nil && info.Mode().IsRegular() {
		if err := p.readDistribution(); err != nil {
			return nil, err
		}
	}
	if p.productID == "" {
		for _, c := range p.comps {
			if c.ID != "" {
				p.productID, p.productVer = c.ID, c.Version
				break
			}
		}
	}
	return p, nil
}

func (p *Reader) readMeta(name string) ([]byte, error) {
	f, err := p.x.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxMetaBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", name, err)
	}
	if len(b) > MaxMetaBytes {
		return nil, &unpack.FormatError{Format: "pkg", Entry: name, Offset: -1, Msg: fmt.Sprintf("larger than %d bytes", MaxMetaBytes), Err: unpack.ErrLimit}
	}
	return b, nil
}

func (p *Reader) readPackageInfo(c *Component, name string) error {
	b, err := p.readMeta(name)
	if err != nil {
		return err
	}
	var pi struct {
		ID       string   `xml:"identifier,attr"`
		Version  string   `xml:"version,attr"`
		Location string   `xml:"install-location,attr"`
		Bundles  []Bundle `xml:"bundle"`
	}
	if err := xml.Unmarshal(b, &pi); err != nil {
		return errAt(name, "PackageInfo XML: %v", err)
	}
	c.ID, c.Version, c.InstallLocation, c.Bundles = pi.ID, pi.Version, pi.Location, pi.Bundles
	return nil
}

func (p *Reader) readDistribution() error {
	b, err := p.readMeta("Distribution")
	if err != nil {
		return err
	}
	var d struct {
		Product struct {
			ID      string `xml:"id,attr"`
			Version string `xml:"version,attr"`
		} `xml:"product"`
	}
	if err := xml.Unmarshal(b, &d); err != nil {
		return errAt("Distribution", "Distribution XML: %v", err)
	}
	p.productID, p.productVer = d.Product.ID, d.Product.Version
	return nil
}

// Components returns the component packages, sorted by directory.
func (p *Reader) Components() []*Component { return p.comps }

// Identity is the product identity for baselines: "pkg:<id>" from the Distribution's
// <product id>, else the first component's PackageInfo identifier; empty when neither exists.
func (p *Reader) Identity() string {
	if p.productID == "" {
		return ""
	}
	return "pkg:" + p.productID
}

// ProductID and ProductVersion return the product's identifier and version.
func (p *Reader) ProductID() string      { return p.productID }
func (p *Reader) ProductVersion() string { return p.productVer }

// Xar returns the underlying xar archive (for its signature).
func (p *Reader) Xar() *xar.Reader { return p.x }

// metaPath is where a plain xar file appears.
func metaPath(xarPath string) string { return MetaDir + "/" + xarPath }

// scriptsPath is where a component's script named name appears.
func (c *Component) scriptsPath(name string) string {
	if c.Dir == "" {
		return MetaDir + "/Scripts/" + name
	}
	return MetaDir + "/" + c.Dir + "/Scripts/" + name
}

func (c *Component) payloadPath(name string) string {
	if c.prefix == "" {
		return name
	}
	return c.prefix + "/" + name
}

// decode returns a reader of the cpio archive inside a Payload or Scripts stream.
func decode(r io.Reader, name string) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(6)
	s := string(head)
	switch {
	case strings.HasPrefix(s, "pbzx"):
		pr, err := NewPbzxReader(br)
		return pr, func() {}, err
	case strings.HasPrefix(s, "\x1f\x8b"):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, errAt(name, "gzip: %v", err)
		}
		zr.Multistream(false)
		return zr, func() { zr.Close() }, nil
	case strings.HasPrefix(s, "BZh"):
		return bzip2.NewReader(br), func() {}, nil
	case s == string(xzMagic):
		zr, err := xz.NewReader(br, MaxXZDict)
		if err != nil {
			// The xz error keeps its sentinel (ErrLimit for a dictionary above the cap).
			return nil, nil, fmt.Errorf("decompressing %q: %w", name, err)
		}
		return zr, func() {}, nil
	case s == "070707" || s == "070701" || s == "070702":
		return br, func() {}, nil
	}
	return nil, nil, &unpack.FormatError{Format: "pkg", Entry: name, Offset: 0, Msg: fmt.Sprintf("payload encoding %q", head), Err: unpack.ErrUnsupported}
}

// archive streams the cpio entries of one Payload or Scripts file.
func (p *Reader) archive(xarPath string, fn func(h *cpio.Header, r io.Reader) error) error {
	f, err := p.x.Open(xarPath)
	if err != nil {
		return err
	}
	defer f.Close()
	r, done, err := decode(f, xarPath)
	if err != nil {
		return err
	}
	defer done()
	s := cpio.NewStream(r)
	for {
		h, data, err := s.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("in %q: %w", xarPath, err)
		}
		if h.Name == "." {
			continue
		}
		if err := fn(h, data); err != nil {
			return err
		}
	}
}

// entryPath is where a cpio entry of a component's Payload or Scripts appears.
func (p *Reader) entryPath(xarPath string, name string) string {
	c := p.special[xarPath]
	if xarPath == c.scripts {
		return c.scriptsPath(name)
	}
	return c.payloadPath(name)
}

// Walk implements unpack.Walker: xar files in heap order, with Payload and Scripts archives
// streamed entry by entry (each decompressed once).
func (p *Reader) Walk(fn func(path string, size int64, r io.Reader) error) error {
	for _, f := range p.x.Files() {
		if p.special[f] != nil {
			err := p.archive(f, func(h *cpio.Header, r io.Reader) error {
				if !h.Mode.IsRegular() {
					return nil
				}
				return fn(p.entryPath(f, h.Name), h.Size, r)
			})
			if err != nil {
				return err
			}
			continue
		}
		info, err := fs.Stat(p.x, f)
		if err != nil {
			return err
		}
		rc, err := p.x.Open(f)
		if err != nil {
			return fmt.Errorf("opening %q: %w", f, err)
		}
		err = fn(metaPath(f), info.Size(), rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// ref is a tree node's handle: a plain xar file, or a cpio entry of a Payload/Scripts.
type ref struct {
	xarPath string
	hdr     *cpio.Header // nil for a plain xar file
}

// index builds the tree on first use (decompressing every payload once).
func (p *Reader) index() error {
	p.once.Do(func() {
		t := fstree.New(MaxEntries)
		add := func(pth string, mode fs.FileMode, size int64, r *ref, link string) error {
			n, err := t.Add(pth, mode, size, r.modTime(), r)
			if err != nil {
				if errors.Is(err, unpack.ErrLimit) || errors.Is(err, unpack.ErrInsecurePath) {
					return err
				}
				return errAt(pth, "%v", err)
			}
			n.Link = link
			return nil
		}
		for _, f := range p.x.Files() {
			if p.special[f] != nil {
				err := p.archive(f, func(h *cpio.Header, _ io.Reader) error {
					size := h.Size
					if !h.Mode.IsRegular() {
						size = 0
						if h.Mode&fs.ModeSymlink != 0 {
							size = int64(len(h.Link))
						}
					}
					return add(p.entryPath(f, h.Name), h.Mode, size, &ref{xarPath: f, hdr: h}, h.Link)
				})
				if err != nil {
					p.idxErr = err
					return
				}
				continue
			}
			info, err := fs.Stat(p.x, f)
			if err != nil {
				p.idxErr = err
				return
			}
			if err := add(metaPath(f), info.Mode(), info.Size(), &ref{xarPath: f}, ""); err != nil {
				p.idxErr = err
				return
			}
		}
		p.tree = t
	})
	return p.idxErr
}

func (r *ref) modTime() (t time.Time) {
	if r.hdr != nil {
		return r.hdr.ModTime
	}
	return t
}

func (p *Reader) open(n *fstree.Node) (io.ReadCloser, error) {
	r := n.Data.(*ref)
	if n.Mode&fs.ModeSymlink != 0 {
		return io.NopCloser(strings.NewReader(n.Link)), nil
	}
	if r.hdr == nil {
		return p.x.Open(r.xarPath)
	}
	if !n.Mode.IsRegular() {
		return io.NopCloser(strings.NewReader("")), nil
	}
	// Decode the archive from its start up to this entry: payloads are solid streams.
	f, err := p.x.Open(r.xarPath)
	if err != nil {
		return nil, err
	}
	rd, done, err := decode(f, r.xarPath)
	if err != nil {
		f.Close()
		return nil, err
	}
	s := cpio.NewStream(rd)
	for {
		h, data, err := s.Next()
		if err != nil {
			done()
			f.Close()
			if err == io.EOF {
				err = errAt(n.Path, "entry vanished on a second read")
			}
			return nil, err
		}
		if h.Offset == r.hdr.Offset {
			return &entryReader{Reader: fstree.ExactReader(data, r.hdr.Size, "pkg", n.Path), close: func() error { done(); return f.Close() }}, nil
		}
	}
}

type entryReader struct {
	io.Reader
	close func() error
}

func (e *entryReader) Close() error { return e.close() }

// Open implements fs.FS.
func (p *Reader) Open(name string) (fs.File, error) {
	if err := p.index(); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return p.tree.OpenFile(name, p.open)
}

// Stat implements fs.StatFS.
func (p *Reader) Stat(name string) (fs.FileInfo, error) {
	if err := p.index(); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return p.tree.Stat(name)
}

// ReadDir implements fs.ReadDirFS.
func (p *Reader) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := p.index(); err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return p.tree.ReadDir(name)
}

// Index builds the file tree now and returns what went wrong, so a caller can tell a
// malformed payload apart before using the fs.FS.
func (p *Reader) Index() error { return p.index() }

// Open opens the flat installer package in the named file; Close closes it.
func Open(name string) (*unpack.ReadCloser[*Reader], error) { return unpack.OpenFile(name, NewReader) }

// The reader contract every format keeps.
var (
	_ fs.ReadDirFS  = (*Reader)(nil)
	_ fs.StatFS     = (*Reader)(nil)
	_ unpack.Walker = (*Reader)(nil)
)
