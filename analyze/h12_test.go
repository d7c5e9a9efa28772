package analyze

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
)

// TestExpansionBomb: large-files-cab.cab is 26 KiB and nests a cabinet of three 2 GiB files;
// inventorying it decodes 6 GiB (19 s on the CI box). A run-wide expansion budget must refuse
// it as a limit (inconclusive) within seconds.
func TestExpansionBomb(t *testing.T) {
	p := testutil.Sample(t, "cab/libmspack/good/large-files-cab.cab")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := unsafeAnalyzer(t).Installer(ctx, p)
	if !errors.Is(err, unpack.ErrLimit) {
		t.Errorf("Installer(large-files-cab.cab) = %v, want an inconclusive limit error", err)
	}
}
