// Package burn reads WiX Burn bundles (the setup.exe that WiX 3, 4 and 5 build from a
// <Bundle>) over hostile input and exposes the payloads they carry as an fs.FS and an
// unpack.Walker, plus the bundle manifest's identity and package chain (Reader.Manifest).
//
// It follows the Burn engine's own layout (WiX src/burn/engine/section.cpp, container.cpp,
// payload.cpp, package.cpp, registration.cpp; the same in WiX 3 and 4): the bundle is a PE
// stub with a section named ".wixburn" holding the header
//
//	magic 0x00f14300, version 2, bundle id (GUID), stub size, original checksum,
//	original signature offset, original signature size, container format (1: cabinet),
//	container count, then one 32-bit size per container.
//
// Container 0, the UX container, starts right after the stub (at the stub size); the attached
// containers start after the whole engine, each after the previous one. The engine ends after
// the original signature when the header records one (a bundle whose engine was signed before
// the containers were reattached), else after the certificate table the PE names, else after
// the UX container. A container whose bytes lie past the end of the file is absent (its
// payloads are reported missing). Every container is a cabinet, read by unpack/cab on a view
// of the file.
//
// The UX container holds the bundle manifest as the file named "0" (XML <BurnManifest>) and
// the bootstrapper application's payloads (<UX><Payload SourcePath="u…">); the attached
// containers hold the package payloads (<Payload Packaging="embedded" Container="…"
// SourcePath="a…">, <Container Id AttachedIndex>). Payloads are exposed at install-relevant
// names taken from the manifest's FilePath (backslashes read as separators, trailing periods
// and spaces trimmed as Win32 trims them, unpack.WinComponents):
//
//	(ux)/(manifest)       the manifest itself
//	(ux)/<FilePath>       a bootstrapper application payload
//	<FilePath>            a package payload (an MSI, MSP, MSU or EXE the chain runs)
//	(unlisted)/<n>/<name> a file of container n the manifest names no payload for
//
// Payloads the file does not carry (Packaging external or download, a detached container,
// an attached container cut off the file) are listed by Reader.Missing, never silently
// dropped. A payload's content is checked against the manifest's FileSize and Hash (as the
// engine checks it before running a package) when it is read to its end; a mismatch is
// unpack.ErrFormat. Two payloads with one FilePath keep it for the first in manifest order and
// "<FilePath>~N" for the N-th. Every count, size and offset is bounded by the limits below.
package burn

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/cab"
	"github.com/rollgate/rollgate/unpack/fstree"
)

// Limits. They bound what a hostile bundle can make the reader allocate or decode.
const (
	// MaxSectionBytes bounds the .wixburn section read (WiX writes 56 bytes; a bundle with
	// many attached containers a few hundred).
	MaxSectionBytes = 64 << 10
	// MaxContainers bounds the containers one bundle declares.
	MaxContainers = 1 << 10
	// MaxManifestBytes bounds the bundle manifest (real manifests: a few KiB to 1 MiB).
	MaxManifestBytes = 16 << 20
	// MaxManifestElements bounds the XML elements of the manifest (vc_redist: about 300).
	MaxManifestElements = 1 << 18
	// MaxPayloads bounds the payloads, packages and containers the manifest lists.
	MaxPayloads = 1 << 16
	// MaxFiles bounds the files one bundle exposes.
	MaxFiles = unpack.MaxEntries
	// MaxPESections bounds the section headers walked for .wixburn: NumberOfSections is 16
	// bits, and the engine (section.cpp) walks as many as it says (Windows since Vista loads
	// images with more than the PE Format's 96).
	MaxPESections = 1<<16 - 1
	// sectionChunk is how many 40-byte section headers are read at a time.
	sectionChunk = 64
)

// Magic and version of the .wixburn header (WiX burn/engine/section.cpp).
const (
	SectionMagic   = 0x00f14300
	SectionVersion = 2
	// FormatCabinet is the only container format Burn writes.
	FormatCabinet = 1
)

// Prefixes of the exposed paths that are not install paths.
const (
	UXRoot       = "(ux)"
	ManifestPath = UXRoot + "/(manifest)"
	UnlistedRoot = "(unlisted)"
)

var errs = unpack.Errs("burn")

// Section is the parsed .wixburn header.
type Section struct {
	Offset                  int64  // file offset of the section's raw data
	Version                 uint32 // 2
	BundleID                string // the GUID, "{XXXXXXXX-...}" upper case
	StubSize                uint32
	OriginalChecksum        uint32
	OriginalSignatureOffset uint32
	OriginalSignatureSize   uint32
	Format                  uint32 // 1: cabinet
	// Containers are the declared containers, 0 the UX container.
	Containers []Container
	// EngineSize is where the engine (stub, UX container, original signature) ends and the
	// attached containers begin.
	EngineSize int64
}

// Container is one container the .wixburn header declares.
type Container struct {
	Index   int
	Offset  int64
	Size    int64
	Present bool // the file holds all its bytes
}

// Missing is a payload or container the bundle names but the file does not carry: the
// engine takes it from beside the bundle or downloads it. Nothing of it is inventoried.
type Missing struct {
	Payload   string // payload or container id
	FilePath  string
	Packaging string // "external", "download", "detached container", "absent container"
	URL       string // DownloadUrl, when the manifest gives one
	// LayoutOnly: the manifest says LayoutOnly="yes" (exactly, as the engine reads it) and no
	// chain package references it, so the engine only copies it in a /layout run and never
	// installs it.
	LayoutOnly bool
}

// File is one exposed payload.
type File struct {
	Path      string
	PayloadID string // empty for the manifest and unlisted files
	Container int    // 0 the UX container
	Source    string // the name in the container's cabinet
	Size      int64
	// Hash is the manifest's hex digest of the payload (WiX 3: SHA-1, WiX 4: SHA-512),
	// checked when the content is read to its end; empty when the manifest gives none.
	Hash string

	cf *cab.File
}

// Reader is an opened Burn bundle. It implements fs.FS, fs.ReadDirFS, fs.StatFS and
// unpack.Walker.
type Reader struct {
	Section  Section
	Manifest *Manifest
	// Missing lists payloads and containers the bundle names but does not carry.
	Missing []Missing

	cabs  []*cab.Reader // by container index; nil when absent
	files []*File
	byCab []map[string]*File // per container: cab file name → exposed file
	tree  *fstree.Tree
}

// Open opens the named bundle; Close closes it.
func Open(name string) (*unpack.ReadCloser[*Reader], error) { return unpack.OpenFile(name, NewReader) }

// Close releases the container readers.
func (r *Reader) Close() error {
	for _, c := range r.cabs {
		if c != nil {
			c.Close()
		}
	}
	return nil
}

// NewReader reads the bundle r of size bytes: the .wixburn header, the UX container and its
// manifest, and the attached containers' directories. A PE without a .wixburn section is
// unpack.ErrFormat.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	sec, err := readSection(r, size)
	if err != nil {
		return nil, err
	}
	br := &Reader{Section: *sec}
	br.cabs = make([]*cab.Reader, len(sec.Containers))
	br.byCab = make([]map[string]*File, len(sec.Containers))
	for _, c := range sec.Containers {
		if !c.Present {
			continue
		}
		cr, err := cab.NewReader(io.NewSectionReader(r, c.Offset, c.Size), c.Size)
		if err != nil {
			br.Close()
			return nil, fmt.Errorf("burn: container %d at 0x%x: %w", c.Index, c.Offset, err)
		}
		br.cabs[c.Index] = cr
	}
	if br.cabs[0] == nil {
		return nil, errs.Format("UX container", sec.Offset, "the UX container (%d bytes at 0x%x) is not inside the %d-byte file",
			sec.Containers[0].Size, sec.Containers[0].Offset, size)
	}
	if err := br.readManifest(); err != nil {
		br.Close()
		return nil, err
	}
	if err := br.place(); err != nil {
		br.Close()
		return nil, err
	}
	return br, nil
}

// pe is what the reader needs of the PE headers.
type pe struct {
	sectionOff int64 // raw data of .wixburn
	sectionLen int64
	certOff    int64 // certificate table (data directory 4), 0 when none
	certLen    int64
}

// readPE finds the .wixburn section and the certificate table as the engine does
// (section.cpp SectionInitialize; PE Format: DOS header e_lfanew at 0x3c, "PE\0\0", COFF
// header, optional header, section table). The engine reads data directory 4 at the fixed
// offset its own IMAGE_NT_HEADERS gives, whatever SizeOfOptionalHeader says, and walks the
// section headers after SizeOfOptionalHeader bytes up to NumberOfSections (at least one).
func readPE(r io.ReaderAt, size int64) (*pe, error) {
	var dos [0x40]byte
	if size < int64(len(dos)) {
		return nil, errs.Format("", 0, "too short for a PE (%d bytes)", size)
	}
	if _, err := r.ReadAt(dos[:], 0); err != nil {
		return nil, errs.Format("", 0, "reading the DOS header: %v", err)
	}
	if dos[0] != 'M' || dos[1] != 'Z' {
		return nil, errs.Format("", 0, "not a PE (no MZ signature)")
	}
	ntOff := int64(binary.LittleEndian.Uint32(dos[0x3c:]))
	var nt [24 + 2]byte // signature, COFF file header, optional header magic
	if ntOff+int64(len(nt)) > size {
		return nil, errs.Format("", 0x3c, "NT header offset 0x%x is past the end", ntOff)
	}
	if _, err := r.ReadAt(nt[:], ntOff); err != nil || string(nt[:4]) != "PE\x00\x00" {
		return nil, errs.Format("", ntOff, "no PE signature")
	}
	nsec := max(1, int64(binary.LittleEndian.Uint16(nt[6:])))
	optLen := int64(binary.LittleEndian.Uint16(nt[20:]))
	p := &pe{}
	optOff := ntOff + 24
	// The certificate table is data directory 4: at 128 (PE32) or 144 (PE32+) into the
	// optional header, the engine's IMAGE_NT_HEADERS being the stub's own format.
	var dirOff int64
	switch binary.LittleEndian.Uint16(nt[24:]) {
	case 0x10b:
		dirOff = 128
	case 0x20b:
		dirOff = 144
	}
	if dirOff != 0 && optOff+dirOff+8 <= size {
		var dd [8]byte
		if _, err := r.ReadAt(dd[:], optOff+dirOff); err == nil {
			p.certOff = int64(binary.LittleEndian.Uint32(dd[:]))
			p.certLen = int64(binary.LittleEndian.Uint32(dd[4:]))
		}
	}
	tab := optOff + optLen
	hdrs := make([]byte, sectionChunk*40)
	for i := int64(0); i < nsec && i < MaxPESections; i += sectionChunk {
		n := min(sectionChunk, nsec-i)
		at := tab + i*40
		if at+n*40 > size {
			return nil, errs.Format("", at, "the section table runs past the end")
		}
		if _, err := r.ReadAt(hdrs[:n*40], at); err != nil {
			return nil, errs.Format("", at, "reading the section table: %v", err)
		}
		for j := int64(0); j < n; j++ {
			h := hdrs[j*40 : j*40+40]
			if string(h[:8]) != ".wixburn" {
				continue
			}
			p.sectionLen = int64(binary.LittleEndian.Uint32(h[16:]))
			p.sectionOff = int64(binary.LittleEndian.Uint32(h[20:]))
			return p, nil
		}
	}
	return nil, errs.Format("", tab, "no .wixburn section: not a Burn bundle")
}

// HasSection reports whether r (size bytes) is a PE whose section table names a .wixburn
// section, by this package's own reading of the headers (as the engine's section.cpp finds
// it), whatever else its section headers hold. It does not read the section.
func HasSection(r io.ReaderAt, size int64) bool {
	_, err := readPE(r, size)
	return err == nil
}

// ReadSection reads the .wixburn header of the bundle r (size bytes) and places its
// containers, without opening them.
func ReadSection(r io.ReaderAt, size int64) (*Section, error) { return readSection(r, size) }

// headerLen is the fixed part of the .wixburn header, before the container sizes.
const headerLen = 48

func readSection(r io.ReaderAt, size int64) (*Section, error) {
	p, err := readPE(r, size)
	if err != nil {
		return nil, err
	}
	if p.sectionLen < headerLen+4 {
		return nil, errs.Format(".wixburn", p.sectionOff, "section of %d bytes is shorter than the %d-byte header", p.sectionLen, headerLen+4)
	}
	n := min(p.sectionLen, MaxSectionBytes)
	if p.sectionOff+n > size {
		return nil, errs.Format(".wixburn", p.sectionOff, "section data (%d bytes) runs past the end", n)
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, p.sectionOff); err != nil {
		return nil, errs.Format(".wixburn", p.sectionOff, "reading: %v", err)
	}
	le := binary.LittleEndian
	if m := le.Uint32(b); m != SectionMagic {
		return nil, errs.Format(".wixburn", p.sectionOff, "magic 0x%08x, want 0x%08x", m, SectionMagic)
	}
	s := &Section{
		Offset:                  p.sectionOff,
		Version:                 le.Uint32(b[4:]),
		BundleID:                guid(b[8:24]),
		StubSize:                le.Uint32(b[24:]),
		OriginalChecksum:        le.Uint32(b[28:]),
		OriginalSignatureOffset: le.Uint32(b[32:]),
		OriginalSignatureSize:   le.Uint32(b[36:]),
		Format:                  le.Uint32(b[40:]),
	}
	if s.Version != SectionVersion {
		return nil, errs.Unsupported(".wixburn", p.sectionOff+4, "header version %d (rollgate reads %d)", s.Version, SectionVersion)
	}
	if s.Format != FormatCabinet {
		return nil, errs.Unsupported(".wixburn", p.sectionOff+40, "container format %d (rollgate reads 1, cabinet)", s.Format)
	}
	count := le.Uint32(b[44:])
	if count == 0 {
		return nil, errs.Format(".wixburn", p.sectionOff+44, "no container (the UX container is required)")
	}
	if count > MaxContainers {
		return nil, errs.Limit(".wixburn", p.sectionOff+44, "%d containers (limit %d)", count, MaxContainers)
	}
	if int64(headerLen)+int64(count)*4 > n {
		return nil, errs.Format(".wixburn", p.sectionOff+44, "%d container sizes do not fit the %d-byte section", count, n)
	}
	sizes := make([]int64, count)
	for i := range sizes {
		sizes[i] = int64(le.Uint32(b[headerLen+4*i:]))
	}
	// The engine's cbEngineSize is a 32-bit DWORD: these sums wrap there, and so here.
	switch {
	case s.OriginalSignatureOffset != 0:
		s.EngineSize = int64(s.OriginalSignatureOffset + s.OriginalSignatureSize)
	case p.certOff != 0:
		s.EngineSize = int64(uint32(p.certOff) + uint32(p.certLen))
	default:
		s.EngineSize = int64(s.StubSize + uint32(sizes[0]))
	}
	off := s.EngineSize
	for i, n := range sizes {
		c := Container{Index: i, Offset: off, Size: n}
		if i == 0 {
			c.Offset = int64(s.StubSize)
		} else {
			off += n
		}
		c.Present = c.Offset+c.Size <= size && c.Size > 0
		s.Containers = append(s.Containers, c)
	}
	return s, nil
}

// guid formats a little-endian GUID as the registry spells it.
func guid(b []byte) string {
	le := binary.LittleEndian
	return fmt.Sprintf("{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
		le.Uint32(b), le.Uint16(b[4:]), le.Uint16(b[6:]), b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
}
