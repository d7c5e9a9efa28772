package analyze

import (
	"context"
	"testing"
	"time"

	"github.com/rollgate/rollgate/internal/testutil"
)

// TestExpansionBomb: large-files-cab.cab is 26 KiB and nests a cabinet of three 2 GiB files;
// inventorying it decodes 6 GiB (19 s on the CI box). A run-wide expansion budget must refuse
// it as a limit (inconclusive) within seconds.
func TestExpansionBomb(t *testing.T) {
	p := testutil.Sample(t, "cab/libmspack/good/large-files-cab.cab")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err := New(Options{}).Installer(ctx, p)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Installer(large-files-cab.cab) took %v, want < 5 s", took)
	}
	if !IsInconclusive(err) {
		t.Errorf("Installer(large-files-cab.cab) = %v, want an inconclusive limit error", err)
	}
}
