//go:build unix

package msi

import (
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rollgate/rollgate/unpack"
)

// TestSourceFolderFIFO: an external cabinet or a source file that is a FIFO (an extracted
// archive can hold one) must be refused, not opened: opening it blocks until a writer comes.
func TestSourceFolderFIFO(t *testing.T) {
	tests := []struct{ msi, fifo string }{
		{"testdata/fixture/external/fixture-external.msi", "fixture.cab"},
		{"testdata/fixture/uncompressed/fixture-uncompressed.msi", "Acme Corp/App/app.exe"},
	}
	for _, tt := range tests {
		t.Run(path.Base(tt.msi), func(t *testing.T) {
			dir := t.TempDir()
			b, err := os.ReadFile(tt.msi)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "x.msi"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			fifo := filepath.Join(dir, filepath.FromSlash(tt.fifo))
			os.MkdirAll(filepath.Dir(fifo), 0o755)
			if err := syscall.Mkfifo(fifo, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			done := make(chan error, 1)
			go func() {
				p, err := Open(filepath.Join(dir, "x.msi"))
				if err == nil {
					err = p.Reader.Walk(func(string, int64, io.Reader) error { return nil })
					p.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, unpack.ErrFormat) {
					t.Errorf("Open+Walk with %s a FIFO = %v, want ErrFormat", tt.fifo, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("Open+Walk with %s a FIFO still blocked after 5 s", tt.fifo)
			}
		})
	}
}
