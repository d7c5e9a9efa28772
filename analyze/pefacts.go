package analyze

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/saferwall/pe"
	pelog "github.com/saferwall/pe/log"

	"github.com/rollgate/rollgate/inventory"
)

// peFacts fills version, imports and machine of a PE entry from the spooled file at p.
// saferwall/pe memory-maps the file, so the bytes live in the page cache, not the heap.
func peFacts(e *inventory.Entry, p string) (err error) {
	f, err := pe.New(p, &pe.Options{
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
	vers, verr := f.ParseVersionResources()
	if verr == nil {
		e.Version = cleanVersion(vers["FileVersion"])
		e.ProductVersion = cleanVersion(vers["ProductVersion"])
		e.Company = vers["CompanyName"]
		e.OriginalName = vers["OriginalFilename"]
	}
	return nil
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
