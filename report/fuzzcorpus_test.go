package report

import (
	"testing"

	"github.com/rollgate/rollgate/internal/testutil"
)

// TestFuzzCorpus keeps the committed seed corpus under testdata/fuzz in step with the
// hand-made seeds the fuzzers start from, so `go test -fuzz` and a plain `go test` run them
// even where the generators change. ROLLGATE_WRITE_FUZZ_CORPUS=1 writes missing files.
func TestFuzzCorpus(t *testing.T) {
	var seeds [][]any
	for _, s := range encoderSeeds {
		seeds = append(seeds, []any{s[0], s[1], s[2]})
	}
	testutil.CheckFuzzCorpus(t, "FuzzEncoders", seeds...)
	testutil.CheckFuzzCorpus(t, "FuzzSchemaEncoders", seeds...)
}
