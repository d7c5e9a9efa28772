package analyze

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/saferwall/pe"
	pelog "github.com/saferwall/pe/log"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/cab"
)

// peFacts fills version, imports and machine of a PE entry from the spooled file at p.
// saferwall/pe memory-maps the file, so the bytes live in the page cache, not the heap.
func peFacts(e *inventory.Entry, p string) (err error) {
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
		return fmt.Errorf("pe: %w", err)
	}
	defer f.Close()
	if err := f.Parse(); err != nil {
		return fmt.Errorf("pe: %w", err)
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
	o, oerr := peOverlay(p, f)
	e.Overlay = o
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

// MaxPESections bounds the section table walked for the overlay: the PE/COFF specification
// (Microsoft "PE Format", "COFF File Header") limits NumberOfSections to 96.
const MaxPESections = 96

// coffSymbolSize is the size in bytes of one COFF symbol table record (PE Format, "COFF Symbol
// Table").
const coffSymbolSize = 18

// peOverlay finds data after the end of the last section's raw data (PE Format: a section's
// bytes are PointerToRawData..+SizeOfRawData), skipping a COFF symbol and string table that
// starts there and stopping at the certificate table, which belongs to the signature. It
// returns nil when there is none or the headers do not allow a decision, and an error when the
// sections' raw data runs past the end of the file (a truncated image: part of the code was
// never seen).
func peOverlay(p string, f *pe.File) (*inventory.Overlay, error) {
	if len(f.Sections) == 0 || len(f.Sections) > MaxPESections {
		return nil, nil
	}
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
	var end int64
	for _, s := range f.Sections {
		if s.Header.SizeOfRawData == 0 {
			continue
		}
		end = max(end, int64(s.Header.PointerToRawData)+int64(s.Header.SizeOfRawData))
	}
	if end > size {
		return nil, fmt.Errorf("pe: section data ends at offset %d, past the end of the %d-byte file (truncated image)", end, size)
	}
	if sym := int64(f.NtHeader.FileHeader.PointerToSymbolTable); sym != 0 && sym >= end && sym < size {
		strtab := sym + int64(f.NtHeader.FileHeader.NumberOfSymbols)*coffSymbolSize
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
	if end <= 0 || end >= stop {
		return nil, nil
	}
	o := &inventory.Overlay{Offset: end, Size: stop - end}
	var head [20]byte
	if n, _ := fh.ReadAt(head[:], end); n >= 8 {
		o.Format = overlayFormat(head[:n])
	}
	if o.Format == "" {
		// A self-extracting cabinet whose cabinet does not start the overlay (a
		// configuration block before it, several cabinets): found as cabextract finds
		// them. A search over its bound (cab.MaxSearchBytes) leaves the overlay unnamed.
		if found, err := cab.Search(io.NewSectionReader(fh, o.Offset, o.Size), o.Size); err == nil && len(found) > 0 {
			o.Format = "cab"
		}
	}
	return o, nil
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
