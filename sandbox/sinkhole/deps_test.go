package sinkhole

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoDockerClient keeps the Engine client out of the sinkhole: it runs inside the sandbox
// and has no business talking to the daemon (STYLE.md, "Keep the Docker client out").
func TestNoDockerClient(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/moby/") || strings.HasPrefix(p, "github.com/docker/") {
			t.Errorf("sandbox/sinkhole depends on %s", p)
		}
	}
}
