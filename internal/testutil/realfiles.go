package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// RealFiles returns the real-file corpus folder (files/ of the scripts/fetch-realfiles cache:
// $ROLLGATE_REALFILES, else ~/.cache/rollgate/realfiles). When it is missing the test is
// skipped, except under CI=true, where scripts/test has fetched it and a missing folder is a
// failure.
func RealFiles(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("ROLLGATE_REALFILES")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "rollgate", "realfiles")
	}
	dir = filepath.Join(dir, "files")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real-file corpus missing at %s (CI=true); run scripts/fetch-realfiles: %v", dir, err)
		}
		t.Skipf("real-file corpus not found at %s; run scripts/fetch-realfiles", dir)
	}
	return dir
}

// RealFile returns the path of one corpus file, by its path in testdata/realfiles/manifest.json
// (and scripts/fetch-realfiles). A corpus without it fails the test: the corpus is fetched
// whole.
func RealFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(RealFiles(t), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("real file %s: %v (run scripts/fetch-realfiles)", rel, err)
	}
	return p
}
