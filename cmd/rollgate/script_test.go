package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/rollgate/rollgate/sandbox"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"rollgate":   func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		"jsonfields": jsonFields,
	})
}

// TestScript runs the CLI end to end over the scripts in testdata/script. $FIXTURES is the
// repository's testdata/fixtures folder; `exits N cmd args...` runs a command and asserts its
// exit code exactly (testscript's `! exec` only knows zero and non-zero, and the exit codes
// are a contract).
func TestScript(t *testing.T) {
	fixtures, err := filepath.Abs(filepath.Join("..", "..", "testdata", "fixtures"))
	if err != nil {
		t.Fatal(err)
	}
	// $SAMPLES: the shared conformance samples (../shared/samples beside the repository, or
	// $ROLLGATE_SAMPLES); scripts that read them check the [samples] condition.
	samples := os.Getenv("ROLLGATE_SAMPLES")
	if samples == "" {
		samples, _ = filepath.Abs(filepath.Join("..", "..", "..", "shared", "samples"))
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("FIXTURES", fixtures)
			env.Setenv("SAMPLES", samples)
			if p := staticBinary(t); p != "" {
				env.Setenv(sandbox.SinkholeBinaryEnv, p)
			}
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "samples" {
				_, err := os.Stat(filepath.Join(samples, "SOURCES.md"))
				if err != nil && os.Getenv("CI") == "true" {
					return false, fmt.Errorf("CI=true but the conformance samples are missing: %v", err)
				}
				return err == nil, nil
			}
			if cond != "docker" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			err := sandbox.Available(context.Background())
			if err != nil && os.Getenv("CI") == "true" {
				return false, fmt.Errorf("CI=true but %v (scripts/test starts dockerd)", err)
			}
			return err == nil, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits": cmdExits,
		},
	})
}

// jsonFields prints the contract fields of a report file, one per line, so a script can
// compare them without depending on hashes or ordering of info findings.
func jsonFields() {
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var r struct {
		Schema    string `json:"schema"`
		Verdict   string `json:"verdict"`
		Installer struct{ Format, Product, Version string }
		Baseline  *struct{ Product, Version string }
		Findings  []struct{ Rule, Severity, Path string }
		Sandbox   *struct{ Ran bool }
	}
	if err := json.Unmarshal(data, &r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("schema=%s\nverdict=%s\n", r.Schema, r.Verdict)
	fmt.Printf("installer.format=%s\ninstaller.product=%s\ninstaller.version=%s\n", r.Installer.Format, r.Installer.Product, r.Installer.Version)
	if r.Baseline != nil {
		fmt.Printf("baseline.product=%s\nbaseline.version=%s\n", r.Baseline.Product, r.Baseline.Version)
	}
	for _, f := range r.Findings {
		if f.Severity != "info" {
			fmt.Printf("finding=%s %s %s\n", f.Rule, f.Severity, f.Path)
		}
	}
	if r.Sandbox != nil {
		fmt.Printf("sandbox.ran=%v\n", r.Sandbox.Ran)
	}
}

var (
	staticOnce sync.Once
	staticPath string
)

// staticBinary builds a statically linked rollgate once for the sinkhole image: the test
// binary that runs the scripts links the C resolver and cannot serve as one.
func staticBinary(t *testing.T) string {
	staticOnce.Do(func() {
		if sandbox.Available(context.Background()) != nil {
			return
		}
		dir, err := os.MkdirTemp("", "rollgate-static-")
		if err != nil {
			t.Logf("static build: %v", err)
			return
		}
		p := filepath.Join(dir, "rollgate")
		cmd := exec.Command("go", "build", "-o", p, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("static build: %v\n%s", err, out)
			return
		}
		staticPath = p
	})
	return staticPath
}

func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	path, err := exec.LookPath(args[1])
	if err != nil {
		ts.Fatalf("exits: %v", err)
	}
	cmd := exec.Command(path, args[2:]...)
	cmd.Dir = ts.MkAbs(".")
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "WORK", "FIXTURES", "CI", "DOCKER_HOST", "ROLLGATE_SAMPLES", "NO_COLOR", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", sandbox.SinkholeBinaryEnv} {
		if v := ts.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("exits: %v", err)
	}
	ts.Stdout().Write(stdout.Bytes())
	ts.Stderr().Write(stderr.Bytes())
	if got != want {
		ts.Logf("stdout:\n%s\nstderr:\n%s", stdout.Bytes(), stderr.Bytes())
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}
