package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The GitHub action and workflows are not run here; this keeps them valid YAML of the right
// shape, and free of script injection (no ${{ }} expansion inside a run: script).

type ghStep struct {
	ID   string            `yaml:"id"`
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	If   string            `yaml:"if"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

type ghAction struct {
	Name   string `yaml:"name"`
	Inputs map[string]struct {
		Description string `yaml:"description"`
		Required    bool   `yaml:"required"`
		Default     string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string   `yaml:"using"`
		Steps []ghStep `yaml:"steps"`
	} `yaml:"runs"`
}

type ghWorkflow struct {
	Name string    `yaml:"name"`
	On   yaml.Node `yaml:"on"`
	Jobs map[string]struct {
		RunsOn string   `yaml:"runs-on"`
		Steps  []ghStep `yaml:"steps"`
	} `yaml:"jobs"`
}

func readYAML(t *testing.T, p string, v any) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("yaml.Unmarshal(%s): %v", p, err)
	}
	return data
}

func checkSteps(t *testing.T, where string, steps []ghStep) {
	t.Helper()
	if len(steps) == 0 {
		t.Errorf("%s: no steps", where)
	}
	for i, s := range steps {
		if (s.Uses == "") == (s.Run == "") {
			t.Errorf("%s step %d (%s): want exactly one of uses and run", where, i, s.Name)
		}
		if strings.Contains(s.Run, "${{") {
			t.Errorf("%s step %d (%s): ${{ }} inside run: pass it through env instead", where, i, s.Name)
		}
	}
}

var (
	inputRef  = regexp.MustCompile(`inputs\.([a-z0-9-]+)`)
	stepOut   = regexp.MustCompile(`steps\.([a-z0-9_-]+)\.outputs\.([a-z0-9_-]+)`)
	outputKey = regexp.MustCompile(`echo "([a-z0-9-]+)=`)
)

func TestActionYAML(t *testing.T) {
	var a ghAction
	data := readYAML(t, filepath.Join("..", "..", "action.yml"), &a)
	if a.Runs.Using != "composite" {
		t.Errorf("runs.using = %q, want composite", a.Runs.Using)
	}
	for _, in := range []string{"installer", "baseline", "sandbox", "fail-on", "policy", "trust-roots"} {
		if _, ok := a.Inputs[in]; !ok {
			t.Errorf("input %q missing", in)
		}
	}
	for _, m := range inputRef.FindAllStringSubmatch(string(data), -1) {
		if _, ok := a.Inputs[m[1]]; !ok {
			t.Errorf("inputs.%s used but not declared", m[1])
		}
	}
	checkSteps(t, "action.yml", a.Runs.Steps)
	ids := map[string]ghStep{}
	for _, s := range a.Runs.Steps {
		if s.ID != "" {
			ids[s.ID] = s
		}
	}
	for _, m := range stepOut.FindAllStringSubmatch(string(data), -1) {
		s, ok := ids[m[1]]
		if !ok {
			t.Errorf("steps.%s referenced but no step has that id", m[1])
			continue
		}
		found := false
		for _, k := range outputKey.FindAllStringSubmatch(s.Run, -1) {
			found = found || k[1] == m[2]
		}
		if !found {
			t.Errorf("steps.%s.outputs.%s is never written", m[1], m[2])
		}
	}
	var uploads, builds bool
	for _, s := range a.Runs.Steps {
		uploads = uploads || strings.HasPrefix(s.Uses, "github/codeql-action/upload-sarif@")
		builds = builds || strings.Contains(s.Run, "go install") && s.Env["ACTION_PATH"] == "${{ github.action_path }}"
	}
	if !uploads || !builds {
		t.Errorf("action: uploads SARIF %v, builds at the action's ref %v; want both", uploads, builds)
	}
}

func TestWorkflowsYAML(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", ".github", "workflows", "*.yml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("workflows = %v, %v; want ci.yml and nightly-regression.yml", files, err)
	}
	for _, f := range files {
		var w ghWorkflow
		readYAML(t, f, &w)
		if w.Name == "" || w.On.Kind == 0 || len(w.Jobs) == 0 {
			t.Errorf("%s: want name, on and jobs", f)
		}
		for name, j := range w.Jobs {
			if j.RunsOn == "" {
				t.Errorf("%s job %s: no runs-on", f, name)
			}
			checkSteps(t, f+" job "+name, j.Steps)
		}
	}
}
