package sandbox

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDockerClientStaysHere asserts the import graph: the shared types and the unpackers never
// pull in the Docker client (go-containerregistry's depcheck idea).
func TestDockerClientStaysHere(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	cmd := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}",
		"github.com/rollgate/rollgate/inventory", "github.com/rollgate/rollgate/unpack/...")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("go list: %v", err) // another package mid-edit must not fail this test
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/moby/") || strings.HasPrefix(p, "github.com/docker/") {
			t.Errorf("inventory or unpack depends on %s; the Docker client belongs in sandbox only", p)
		}
	}
}
