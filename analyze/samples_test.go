package analyze

import (
	"context"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/inventory"
)

// TestSamplesHostile runs the whole pipeline over every conformance sample, the hostile ones
// included: each must be inventoried or refused as inconclusive, within seconds and bounded
// memory, never panic, and never yield a path that leaves the archive root.
func TestSamplesHostile(t *testing.T) {
	dir := testutil.Samples(t)
	var files []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasSuffix(p, ".md") && !strings.HasSuffix(p, "SHA256SUMS") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 40 {
		t.Fatalf("found %d samples in %s, want the whole set", len(files), dir)
	}
	a := unsafeAnalyzer(t)
	for _, p := range files {
		rel, _ := filepath.Rel(dir, p)
		t.Run(rel, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			inv, err := a.Installer(ctx, p)
			took := time.Since(start)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if took > 10*time.Second {
				t.Errorf("Installer(%s) took %v", rel, took)
			}
			if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 256<<20 {
				t.Errorf("Installer(%s) grew the heap by %d MiB", rel, grew>>20)
			}
			if err != nil {
				if !IsInconclusive(err) && !strings.Contains(err.Error(), "not an installer") {
					t.Errorf("Installer(%s) = %v, want an inconclusive (format/unsupported/limit) error", rel, err)
				}
				if strings.Contains(rel, "/good/") {
					t.Logf("good sample refused: %v", err)
				}
				return
			}
			if strings.Contains(rel, "libmspack/bad/dirwalk") && len(inv.Entries) == 0 {
				t.Errorf("dirwalk: nothing inventoried")
			}
			for _, e := range inv.Entries {
				if e.Path != inventory.InstallerPath && !fs.ValidPath(e.Path) {
					t.Errorf("Installer(%s): entry path %q leaves the root", rel, e.Path)
				}
				if len(e.SHA256) != 64 {
					t.Errorf("Installer(%s): entry %q has no hash", rel, e.Path)
				}
			}
		})
	}
}
