package analyze

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
)

// TestPEOverlay: data after the last section is recorded with the container it starts with;
// a signed PE's certificate table is not an overlay; a truncated image is an error.
func TestPEOverlay(t *testing.T) {
	const dir = "../testdata/fixtures/win/pe/"
	tests := []struct {
		file    string
		want    *inventory.Overlay
		wantErr bool
	}{
		{file: "AcmeUpdate-msi-overlay.exe", want: &inventory.Overlay{Offset: 15872, Size: 44544, Format: "msi"}},
		{file: "AcmeUpdate-blob-overlay.exe", want: &inventory.Overlay{Offset: 15872, Size: 4096}},
		{file: "AcmePhone-1.1.exe"},         // signed: the certificate table ends the file
		{file: "core-1.1.unsigned.dll"},     // nothing appended
		{file: "d3dcompiler_47.padded.dll"}, // data inside/after the table is sig.padding's
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var e inventory.Entry
			err := peFacts(&e, dir+tt.file)
			if (err != nil) != tt.wantErr {
				t.Fatalf("peFacts error = %v, want error %v", err, tt.wantErr)
			}
			if w := tt.want; w != nil && w.Format != "" {
				// A container overlay records the stub before it: the file's first Offset bytes.
				b, err := os.ReadFile(dir + tt.file)
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(b[:w.Offset])
				w.StubSHA256 = hex.EncodeToString(sum[:])
			}
			if d := cmp.Diff(tt.want, e.Overlay); d != "" {
				t.Errorf("overlay (-want +got)\n%s", d)
			}
		})
	}
}

func TestOverlayFormat(t *testing.T) {
	tests := []struct {
		head []byte
		want string
	}{
		{[]byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}, "msi"},
		{[]byte("MSCF\x00\x00\x00\x00"), "cab"},
		{[]byte("PK\x03\x04\x14\x00\x00\x00"), "zip"},
		{[]byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c, 0, 4}, "7z"},
		{[]byte("NullsoftInst"), ""},
	}
	for _, tt := range tests {
		if got := overlayFormat(tt.head); got != tt.want {
			t.Errorf("overlayFormat(%q) = %q, want %q", tt.head, got, tt.want)
		}
	}
}

// TestPETruncated: a PE whose sections run past the end of the file was not seen whole.
func TestPETruncated(t *testing.T) {
	b, err := os.ReadFile("../testdata/fixtures/win/pe/core-1.1.unsigned.dll")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "trunc.dll")
	if err := os.WriteFile(p, b[:3000], 0o600); err != nil {
		t.Fatal(err)
	}
	var e inventory.Entry
	if err := peFacts(&e, p); err == nil {
		t.Errorf("peFacts(truncated PE) = nil error, want one")
	}
}

// FuzzPEFacts: PE facts and the overlay walk never panic on hostile bytes, and an overlay
// found lies inside the file.
func FuzzPEFacts(f *testing.F) {
	// A few small fixtures, not all 32 (most are the same generated DLL, signed or not):
	// unsigned and signed DLLs and an EXE with a data overlay. Inputs over 64 KiB are skipped.
	for _, s := range []string{"helper.dll", "acmeplugin.unsigned.dll", "acmeplugin.dll", "cryptbase.dll", "AcmeUpdate-blob-overlay.exe"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "fixtures", "win", "pe", s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64<<10 {
			return
		}
		p := filepath.Join(dir, "f.exe")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		var e inventory.Entry
		_ = peFacts(&e, p)
		if o := e.Overlay; o != nil && (o.Offset <= 0 || o.Size <= 0 || o.Offset+o.Size > int64(len(b))) {
			t.Errorf("overlay %+v outside the %d-byte file", *o, len(b))
		}
	})
}
