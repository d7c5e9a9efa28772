package burn

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/internal/testutil"
)

// listing is what testdata/oracle/oracle.sh prints for a bundle: "<sha256> <size> <path>"
// sorted by path, then "missing <payload id> <why>" in manifest order.
func listing(t *testing.T, r *Reader) []string {
	t.Helper()
	var out []string
	for _, e := range walk(t, r) {
		out = append(out, fmt.Sprintf("%s %d %s", e.SHA256, e.Size, e.Path))
	}
	sort.Slice(out, func(i, j int) bool { return pathOf(out[i]) < pathOf(out[j]) })
	for _, m := range r.Missing {
		why := m.Packaging
		if strings.HasPrefix(why, "detached container") {
			why = "detached container"
		}
		out = append(out, "missing "+m.Payload+" "+why)
	}
	return out
}

func pathOf(line string) string { return strings.SplitN(line, " ", 3)[2] }

func readLines(t *testing.T, p string) []string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		out = append(out, s.Text())
	}
	return out
}

// TestOracle holds the reader to the payload lists oracle.sh wrote with cabextract and
// Python's XML parser for the generated bundles (gen.sh writes both).
func TestOracle(t *testing.T) {
	goldens, _ := filepath.Glob(filepath.Join("testdata", "oracle", "*.golden"))
	if len(goldens) == 0 {
		t.Fatal("no golden file in testdata/oracle")
	}
	for _, g := range goldens {
		name := strings.TrimSuffix(filepath.Base(g), ".golden") + ".exe"
		t.Run(name, func(t *testing.T) {
			r := testutil.Open(t, filepath.Join("testdata", name), NewReader)
			if d := cmp.Diff(readLines(t, g), listing(t, r)); d != "" {
				t.Errorf("payloads (-oracle.sh +burn)\n%s", d)
			}
		})
	}
}
