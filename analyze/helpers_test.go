package analyze

import (
	"errors"
	"testing"
)

// unsafeAnalyzer reads every format without verifiers: the format tests judge readers, not
// signatures.
func unsafeAnalyzer(tb testing.TB) *Analyzer {
	tb.Helper()
	a, err := New(Options{SkipSignaturesUnsafe: true, Formats: DefaultFormats()})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func TestNewRefusesNoVerifier(t *testing.T) {
	if _, err := New(Options{Formats: DefaultFormats()}); !errors.Is(err, ErrNoVerifier) {
		t.Errorf("New(no verifiers) = %v, want ErrNoVerifier", err)
	}
}
