package cfb

import (
	"testing"

	"github.com/rollgate/rollgate/internal/testutil"
)

// TestFuzzCorpus keeps the committed seed corpus under testdata/fuzz in step with the
// hand-made seeds the fuzzers start from, so `go test -fuzz` and a plain `go test` run them
// even where the generators change. ROLLGATE_WRITE_FUZZ_CORPUS=1 writes missing files.
func TestFuzzCorpus(t *testing.T) {
	var seeds [][]any
	for _, b := range cfbSeeds() {
		seeds = append(seeds, []any{b})
	}
	testutil.CheckFuzzCorpus(t, "FuzzCFB", seeds...)
}
