// Package testutil finds the shared conformance samples for tests.
package testutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Samples returns the conformance sample folder (../shared/samples from the repository root,
// or $ROLLGATE_SAMPLES). When it is missing the test is skipped, except under CI=true where
// the samples are always present and a missing folder is a failure.
func Samples(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("ROLLGATE_SAMPLES")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir = filepath.Join(root, "..", "shared", "samples")
	}
	if _, err := os.Stat(filepath.Join(dir, "SOURCES.md")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("conformance samples missing at %s (CI=true): %v", dir, err)
		}
		t.Skipf("conformance samples not found at %s; set ROLLGATE_SAMPLES", dir)
	}
	return dir
}

// Sample returns the path of one sample, relative to the samples folder.
func Sample(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Samples(t), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("sample %s: %v", rel, err)
	}
	return p
}

// ReadSample returns the bytes of one sample.
func ReadSample(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(Sample(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
