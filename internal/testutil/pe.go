package testutil

import (
	"debug/pe"
	"io"
	"os"
	"testing"
)

// PEOverlay is where a PE file's overlay lies, read independently of rollgate's own parser
// (debug/pe): after its last section, up to its certificate table.
func PEOverlay(t testing.TB, p string) *io.SectionReader {
	t.Helper()
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fh.Close() })
	f, err := pe.NewFile(fh)
	if err != nil {
		t.Fatal(err)
	}
	var start int64
	for _, s := range f.Sections {
		start = max(start, int64(s.Offset)+int64(s.Size))
	}
	st, err := fh.Stat()
	if err != nil {
		t.Fatal(err)
	}
	stop := st.Size()
	var dd []pe.DataDirectory
	switch h := f.OptionalHeader.(type) {
	case *pe.OptionalHeader32:
		dd = h.DataDirectory[:h.NumberOfRvaAndSizes]
	case *pe.OptionalHeader64:
		dd = h.DataDirectory[:h.NumberOfRvaAndSizes]
	}
	if len(dd) > pe.IMAGE_DIRECTORY_ENTRY_SECURITY && dd[pe.IMAGE_DIRECTORY_ENTRY_SECURITY].Size > 0 {
		stop = int64(dd[pe.IMAGE_DIRECTORY_ENTRY_SECURITY].VirtualAddress)
	}
	return io.NewSectionReader(fh, start, stop-start)
}
