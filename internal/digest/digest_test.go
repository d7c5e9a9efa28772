package digest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	// FIPS 180-2 example: SHA-256("abc").
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got, err := File(p); err != nil || got != want {
		t.Errorf("File = %q, %v, want %q", got, err, want)
	}
	if got, n, err := Reader(strings.NewReader("abc")); err != nil || got != want || n != 3 {
		t.Errorf("Reader = %q, %d, %v, want %q, 3", got, n, err, want)
	}
	if _, err := File(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("File(missing) = nil error")
	}
}
