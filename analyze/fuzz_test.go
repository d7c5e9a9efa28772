package analyze

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/inventory"
)

// maxFuzzSeed keeps very large samples (multi-megabyte cabinets) out of the seed corpus: the
// fuzzer mutates small inputs far more usefully than it copies big ones.
const maxFuzzSeed = 1 << 20

// fuzzGrace is how long FuzzInstaller waits for Installer, whose context expires after 10 s.
const fuzzGrace = 20 * time.Second

// FuzzInstaller runs the whole pipeline (format detection, MSI, cabinets, nested containers,
// PE facts, endpoint scan) over arbitrary bytes: it must not panic, must finish within the
// context, and must yield either an inventory whose every path stays inside the root or an
// inconclusive error. It is the slow end-to-end target on purpose (a temporary file, the
// analyzer's goroutines and every post-pass per input: about 170 executions a second on this
// 2-core machine under load, against thousands for the parsers): each format's own fuzzer
// (cfb.FuzzCFB, msi.FuzzMSI, cab.FuzzCAB, apple.FuzzSuperBlob, ...) is where hours of
// fuzzing should go.
func FuzzInstaller(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "testdata", "fixtures", "win", "*.msi"))
	// The MSI reader's own fixtures: aliasing install paths, hidden cabinet entries.
	more, _ := filepath.Glob(filepath.Join("..", "unpack", "msi", "testdata", "*", "*.msi"))
	seeds = append(seeds, more...)
	// A self-extracting cabinet: a PE stub whose overlay is a cabinet.
	sfx, _ := filepath.Glob(filepath.Join("..", "testdata", "fixtures", "win", "sfx", "*.exe"))
	seeds = append(seeds, sfx...)
	// WiX Burn bundles: a PE stub whose .wixburn header places cabinet containers.
	seeds = append(seeds, filepath.Join("..", "unpack", "burn", "testdata", "acme-bundle-1.1-exepackage.exe"),
		filepath.Join("..", "unpack", "burn", "testdata", "acme-bundle-1.1-external.exe"))
	if dir := testutil.Samples(f); dir != "" {
		for _, sub := range []string{"msi", "cab", "macho"} {
			filepath.WalkDir(filepath.Join(dir, sub), func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					seeds = append(seeds, p)
				}
				return nil
			})
		}
	}
	for _, p := range seeds {
		st, err := os.Stat(p)
		if err != nil || st.Size() > maxFuzzSeed || filepath.Base(p) == "large-files-cab.cab" {
			// large-files-cab.cab nests a cabinet of two 2 GiB LZX files: minutes of
			// decoding from 26 KiB, a known resource finding, not a seed to mutate.
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Cabinets after other bytes: the SFX fixture with a block between stub and cabinet, and
	// that cabinet twice after text (cab.Search, as libmspack's search.cab).
	if sfx, err := os.ReadFile(filepath.Join("..", "testdata", "fixtures", "win", "sfx", "acme-sfx.exe")); err == nil && len(sfx) > 15872 {
		stub, cabinet := sfx[:15872], sfx[15872:]
		f.Add(concat(stub, []byte("[SFX] MSCF\x00\x00\x00\x00 config"), cabinet))
		f.Add(concat([]byte("hello\n"), cabinet, cabinet))
	}
	a := unsafeAnalyzer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "input")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var (
			inv  *inventory.Inventory
			err  error
			done = make(chan struct{})
		)
		go func() {
			defer close(done)
			inv, err = a.Installer(ctx, p)
		}()
		select {
		case <-done:
		case <-time.After(fuzzGrace):
			// A hang is a finding too: report where every goroutine is stuck.
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("Installer(%d bytes) still running %v after its 10 s context expired:\n%s", len(data), fuzzGrace-10*time.Second, buf)
		}
		if err != nil {
			if !IsInconclusive(err) {
				t.Fatalf("Installer(%d bytes) = %v, want an inventory or an inconclusive error", len(data), err)
			}
			return
		}
		for _, e := range inv.Entries {
			if e.Path != inventory.InstallerPath && !fs.ValidPath(e.Path) {
				t.Errorf("Installer(%d bytes): entry path %q is not a valid fs path", len(data), e.Path)
			}
		}
	})
}
