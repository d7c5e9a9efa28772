package testutil

import (
	"os"
	"strings"
	"testing"
)

// ReadTSV reads a golden listing a reference tool's script wrote: one row per line, fields
// separated by tabs, lines starting with "#" skipped. A row with another number of fields,
// or a listing with no rows, fails the test: an empty golden would make every comparison
// pass.
func ReadTSV(t testing.TB, path string, fields int) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != fields {
			t.Fatalf("%s: line %q has %d fields, want %d", path, line, len(f), fields)
		}
		rows = append(rows, f)
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no rows", path)
	}
	return rows
}
