package analyze

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/saferwall/pe"
	pelog "github.com/saferwall/pe/log"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/burn"
	"github.com/rollgate/rollgate/unpack/cab"
	"github.com/rollgate/rollgate/unpack/inno"
	"github.com/rollgate/rollgate/unpack/ishield"
	"github.com/rollgate/rollgate/unpack/nsis"
)

// peFacts fills version, imports and machine of a PE entry from the spooled file at p.
// saferwall/pe memory-maps the file, so the bytes live in the page cache, not the heap.
func peFacts(e *inventory.Entry, p string) (err error) {
	// The overlay (a Burn, NSIS or Inno Setup payload) comes from rollgate's own reading of
	// the headers, so it is found even when saferwall/pe refuses the file.
	o, oerr := peOverlay(p)
	e.Overlay = o
	// saferwall/pe reads all 16 data directories whatever NumberOfRvaAndSizes says; in a PE
	// with fewer (Debian's EFI-stub kernels have 6) the rest are section-table bytes, and
	// parsing them fails. Directories the header does not declare are left unparsed.
	n := declaredDirectories(p)
	f, err := pe.New(p, &pe.Options{
		OmitImportDirectory:       n <= 1,
		OmitResourceDirectory:     n <= 2,
		OmitDelayImportDirectory:  n <= 13,
		OmitExportDirectory:       true,
		OmitExceptionDirectory:    true,
		OmitSecurityDirectory:     true, // verified separately, strictly
		OmitRelocDirectory:        true,
		OmitDebugDirectory:        true,
		OmitArchitectureDirectory: true,
		OmitGlobalPtrDirectory:    true,
		OmitTLSDirectory:          true,
		OmitLoadConfigDirectory:   true,
		OmitBoundImportDirectory:  true,
		OmitIATDirectory:          true,
		OmitCLRHeaderDirectory:    true,
		OmitCLRMetadata:           true,
		MaxCOFFSymbolsCount:       1,
		DisableCertValidation:     true,
		Logger:                    discardLogger{},
	})
	if err != nil {
		return errors.Join(fmt.Errorf("pe: %w", err), oerr)
	}
	defer f.Close()
	if err := f.Parse(); err != nil {
		return errors.Join(fmt.Errorf("pe: %w", err), oerr)
	}
	e.Machine = strings.ToLower(f.NtHeader.FileHeader.Machine.String())
	seen := map[string]bool{}
	for _, imp := range f.Imports {
		seen[strings.ToLower(imp.Name)] = true
	}
	for _, imp := range f.DelayImports {
		seen[strings.ToLower(imp.Name)] = true
	}
	e.Imports = e.Imports[:0]
	for n := range seen {
		if n != "" {
			e.Imports = append(e.Imports, n)
		}
	}
	sort.Strings(e.Imports)
	vers, verr := f.ParseVersionResources()
	if verr == nil {
		e.Version = cleanVersion(vers["FileVersion"])
		e.ProductVersion = cleanVersion(vers["ProductVersion"])
		e.Company = vers["CompanyName"]
		e.ProductName = vers["ProductName"]
		e.OriginalName = vers["OriginalFilename"]
	}
	return oerr
}

// cleanVersion keeps the dotted-number part of a VERSIONINFO string ("10.0.19041.1 (WinBuild...)"
// becomes "10.0.19041.1"), so a comment change in the string is not a version change.
func cleanVersion(v string) string {
	v = strings.TrimSpace(strings.TrimRight(v, "\x00"))
	if i := strings.IndexAny(v, " ("); i > 0 {
		v = v[:i]
	}
	return strings.ReplaceAll(v, ",", ".")
}

// MaxPESections bounds the section table walked for the overlay. The PE/COFF specification
// (Microsoft "PE Format", "COFF File Header") says 96, but Windows since Vista loads images
// with up to NumberOfSections' 16-bit maximum, so that is the bound: a stub with more
// sections still has its overlay found (at most 65535 40-byte headers, 2.6 MB, are read).
const MaxPESections = 1<<16 - 1

// coffSymbolSize is the size in bytes of one COFF symbol table record (PE Format, "COFF Symbol
// Table").
const coffSymbolSize = 18

// peOverlay finds data after the end of the last section's raw data (PE Format: a section's
// bytes are PointerToRawData..+SizeOfRawData), skipping a COFF symbol and string table that
// starts there and stopping at the certificate table, which belongs to the signature. It
// returns nil when there is none or the headers do not allow a decision, and an error when the
// sections' raw data runs past the end of the file (a truncated image: part of the code was
// never seen). The section table is read here, not taken from saferwall/pe, whose list stops
// at a section header it finds too anomalous: a crafted header before .wixburn would hide a
// Burn bundle, and a short list would move the overlay of an NSIS or Inno Setup stub.
func peOverlay(p string) (*inventory.Overlay, error) {
	fh, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if burn.HasSection(fh, size) {
		return burnOverlay(fh, size)
	}
	h, ok := readSectionTable(fh, size)
	if !ok {
		return nil, nil
	}
	var end int64
	for _, s := range h.sections {
		if s[1] == 0 {
			continue
		}
		end = max(end, s[0]+s[1])
	}
	if end > size {
		return nil, fmt.Errorf("pe: section data ends at offset %d, past the end of the %d-byte file (truncated image)", end, size)
	}
	if sym := h.symbolTable; sym != 0 && sym >= end && sym < size {
		strtab := sym + h.symbols*coffSymbolSize
		var n [4]byte
		if strtab+4 <= size {
			if _, err := fh.ReadAt(n[:], strtab); err == nil {
				end = max(end, strtab+int64(binary.LittleEndian.Uint32(n[:])))
			}
		}
	}
	stop := size
	if rng, ok := certTableRange(fh, size); ok {
		stop = rng[0]
	}
	var o *inventory.Overlay
	if end > 0 && end < stop {
		o = &inventory.Overlay{Offset: end, Size: stop - end}
		var head [20]byte
		if n, _ := fh.ReadAt(head[:], end); n >= 8 {
			o.Format = overlayFormat(head[:n])
		}
		if o.Format == "" && inno.IsInstaller(fh, size) {
			// An Inno Setup stub: its overlay (the compressed setup program, setup-0,
			// setup-1) opens with no magic; the loader table in its resources says where.
			o.Format = "inno"
		}
		if o.Format == "" {
			head := make([]byte, min(o.Size, 2048))
			if n, _ := fh.ReadAt(head, o.Offset); ishield.Detect(head[:n]) {
				o.Format = "ishield" // an InstallShield launcher's files, before any cabinet search
			}
		}
	}
	if o == nil || o.Format == "" {
		// NSIS's stub looks for its firstheader at every 512-byte boundary of its own file,
		// not only where the sections end: padding before it, or data placed inside a
		// section, would otherwise leave an NSIS installer read as a bare PE.
		if off, ok := nsis.FindFirstHeader(fh, size); ok {
			if o == nil || off < o.Offset {
				o = &inventory.Overlay{Offset: off, Size: max(stop-off, 0)}
			}
			o.Format = "nsis"
		}
	}
	if o != nil && o.Format == "" {
		// A self-extracting cabinet whose cabinet does not start the overlay (a
		// configuration block before it, several cabinets): found as cabextract finds
		// them. A search over its bound (cab.MaxSearchBytes) leaves the overlay unnamed.
		if found, err := cab.Search(io.NewSectionReader(fh, o.Offset, o.Size), o.Size); err == nil && len(found) > 0 {
			o.Format = "cab"
		}
	}
	if o != nil && o.Format != "" {
		// The stub without the container it carries: what the launcher runs. Its version
		// resource names the stub (an InstallShield setup.exe keeps the engine's version
		// from release to release), so the same-version rule compares this, not the file.
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(fh, 0, o.Offset)); err != nil {
			return nil, err
		}
		o.StubSHA256 = hex.EncodeToString(h.Sum(nil))
	}
	return o, nil
}

// peHeaders is what peOverlay needs of the COFF header and section table.
type peHeaders struct {
	sections    [][2]int64 // PointerToRawData, SizeOfRawData of every section header
	symbolTable int64      // PointerToSymbolTable
	symbols     int64      // NumberOfSymbols
}

// readSectionTable reads the COFF file header and all NumberOfSections section headers (PE
// Format: e_lfanew at 0x3c, "PE\0\0", the 20-byte COFF header, the optional header of
// SizeOfOptionalHeader bytes, 40-byte section headers). It reports false when they cannot be
// read or there are no sections or more than MaxPESections.
func readSectionTable(r io.ReaderAt, size int64) (peHeaders, bool) {
	var dos [0x40]byte
	if _, err := r.ReadAt(dos[:], 0); err != nil || dos[0] != 'M' || dos[1] != 'Z' {
		return peHeaders{}, false
	}
	ntOff := int64(binary.LittleEndian.Uint32(dos[0x3c:]))
	var nt [24]byte
	if ntOff+int64(len(nt)) > size {
		return peHeaders{}, false
	}
	if _, err := r.ReadAt(nt[:], ntOff); err != nil || string(nt[:4]) != "PE\x00\x00" {
		return peHeaders{}, false
	}
	le := binary.LittleEndian
	nsec := int64(le.Uint16(nt[6:]))
	if nsec == 0 || nsec > MaxPESections {
		return peHeaders{}, false
	}
	tab := ntOff + 24 + int64(le.Uint16(nt[20:]))
	if tab+nsec*40 > size {
		return peHeaders{}, false
	}
	b := make([]byte, nsec*40)
	if _, err := r.ReadAt(b, tab); err != nil {
		return peHeaders{}, false
	}
	h := peHeaders{symbolTable: int64(le.Uint32(nt[12:])), symbols: int64(le.Uint32(nt[16:]))}
	for i := int64(0); i < nsec; i++ {
		s := b[i*40 : i*40+40]
		h.sections = append(h.sections, [2]int64{int64(le.Uint32(s[20:])), int64(le.Uint32(s[16:]))})
	}
	return h, true
}

// burnOverlay is the container area of a WiX Burn bundle: everything after the stub, whose
// size the .wixburn header gives (the engine reads the UX container there whatever the
// sections say, and the attached containers after the engine's signature). A .wixburn
// section whose header cannot be read is an error, never a plain PE: the engine would still
// look for containers the inventory would then not list.
func burnOverlay(r io.ReaderAt, size int64) (*inventory.Overlay, error) {
	sec, err := burn.ReadSection(r, size)
	if err != nil {
		return nil, fmt.Errorf("pe: a .wixburn section (a WiX Burn bundle) whose header cannot be read: %w", err)
	}
	if sec.StubSize == 0 || int64(sec.StubSize) >= size {
		return nil, fmt.Errorf("pe: a WiX Burn bundle whose stub (%d bytes) leaves no room for its containers in the %d-byte file: %w",
			sec.StubSize, size, unpack.ErrFormat)
	}
	return &inventory.Overlay{Offset: int64(sec.StubSize), Size: size - int64(sec.StubSize), Format: "burn"}, nil
}

// overlayFormat names the container an overlay starts with, by its magic number: compound
// file (MS-CFB; an MSI database), cabinet (MS-CAB), ZIP local file header (APPNOTE 4.3.7),
// 7z signature header.
func overlayFormat(head []byte) string {
	switch {
	case len(head) >= 20 && string(head[4:20]) == "\xef\xbe\xad\xdeNullsoftInst":
		return "nsis" // NSIS firstheader: flags, 0xDEADBEEF, "NullsoftInst"
	case bytes.HasPrefix(head, []byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}):
		return "msi"
	case bytes.HasPrefix(head, []byte("MSCF\x00\x00\x00\x00")):
		return "cab"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "zip"
	case bytes.HasPrefix(head, []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}):
		return "7z"
	}
	return ""
}

// certTableRange returns the file range of a PE's certificate table (data directory 4), or
// false when there is none. Only the headers are read.
func certTableRange(r io.ReaderAt, size int64) ([2]int64, bool) {
	var hdr [0x40]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil || hdr[0] != 'M' || hdr[1] != 'Z' {
		return [2]int64{}, false
	}
	peOff := int64(binary.LittleEndian.Uint32(hdr[0x3c:]))
	var nt [4 + 20 + 2]byte
	if peOff+int64(len(nt)) > size {
		return [2]int64{}, false
	}
	if _, err := r.ReadAt(nt[:], peOff); err != nil || string(nt[:4]) != "PE\x00\x00" {
		return [2]int64{}, false
	}
	opt := peOff + 24
	var dirOff int64
	switch binary.LittleEndian.Uint16(nt[24:]) {
	case 0x10b:
		dirOff = opt + 128
	case 0x20b:
		dirOff = opt + 144
	default:
		return [2]int64{}, false
	}
	var dd [8]byte
	if dirOff+8 > size {
		return [2]int64{}, false
	}
	if _, err := r.ReadAt(dd[:], dirOff); err != nil {
		return [2]int64{}, false
	}
	off := int64(binary.LittleEndian.Uint32(dd[:]))
	n := int64(binary.LittleEndian.Uint32(dd[4:]))
	if off == 0 || n == 0 || off > size {
		return [2]int64{}, false
	}
	// Everything from the table to the end of the file belongs to the signature or hides
	// behind it; neither is the code's own endpoints.
	return [2]int64{off, size}, true
}

// discardLogger silences saferwall/pe, whose warnings about hostile files are not ours to print.
type discardLogger struct{}

func (discardLogger) Log(level pelog.Level, keyvals ...interface{}) error { return nil }

// declaredDirectories returns the PE's NumberOfRvaAndSizes (at most 16), or 16 when the
// header cannot be read (saferwall then reports what is wrong).
func declaredDirectories(p string) int {
	f, err := os.Open(p)
	if err != nil {
		return 16
	}
	defer f.Close()
	var hdr [0x40]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil || hdr[0] != 'M' || hdr[1] != 'Z' {
		return 16
	}
	opt := int64(binary.LittleEndian.Uint32(hdr[0x3c:])) + 24
	var b [2]byte
	if _, err := f.ReadAt(b[:], opt); err != nil {
		return 16
	}
	off := opt + 92 // PE32: NumberOfRvaAndSizes at 92, PE32+ at 108
	if binary.LittleEndian.Uint16(b[:]) == 0x20b {
		off = opt + 108
	}
	var nb [4]byte
	if _, err := f.ReadAt(nb[:], off); err != nil {
		return 16
	}
	return int(min(binary.LittleEndian.Uint32(nb[:]), 16))
}
