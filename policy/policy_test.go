package policy

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/rules"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		line       int
	}{
		{"no reason", "allow:\n  - rule: sig.untrusted\n    path: a\n", 2},
		{"blank reason", "allow:\n  - rule: sig.untrusted\n    path: a\n    reason: '  '\n", 2},
		{"unknown rule", "allow:\n  - rule: sig.nope\n    path: a\n    reason: x\n", 2},
		{"no scope", "allow:\n  - rule: sig.untrusted\n    reason: x\n", 2},
		{"bad date", "allow:\n  - rule: sig.untrusted\n    path: a\n    reason: x\n    expires: next week\n", 5},
		{"typo key", "fail_on: high\n", 1},
		{"bad severity", "severity:\n  sig.untrusted: severe\n", 2},
		{"severity of unknown rule", "severity:\n  sig.nope: high\n", 2},
		{"bad fail-on", "fail-on: never\n", 1},
		{"list where a value goes", "allow:\n  - rule: sig.untrusted\n    path: [a, b]\n    reason: x\n", 3},
		{"mapping where a value goes", "fail-on:\n  high: 1\n", 2},
		{"allow not a list", "allow:\n  rule: sig.untrusted\n", 2},
		{"entry not a mapping", "allow:\n  - sig.untrusted\n", 2},
		{"short sha256", "allow:\n  - rule: file.changed\n    sha256: abc\n    reason: x\n", 3},
		{"duplicate key", "allow:\n  - rule: file.changed\n    path: a\n    path: b\n    reason: x\n", 4},
		{"yaml syntax", "allow:\n  - rule: [\n", 2},
		{"two documents", "fail-on: high\n---\nfail-on: low\n", 2},
		{"not a mapping", "- a\n", 1},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.yaml))
		var pe *Error
		if !errors.Is(err, ErrConfig) || !errors.As(err, &pe) {
			t.Errorf("%s: Parse(%q) = %v, want a *policy.Error wrapping ErrConfig", tt.name, tt.yaml, err)
			continue
		}
		if pe.File != FileName || pe.Line != tt.line {
			t.Errorf("%s: Parse(%q) at %s:%d, want %s:%d (%v)", tt.name, tt.yaml, pe.File, pe.Line, FileName, tt.line, err)
		}
		if strings.Contains(pe.Msg, "policy.") || strings.Contains(pe.Msg, "!!") || strings.Contains(pe.Msg, "unmarshal") {
			t.Errorf("%s: message in Go or YAML terms: %v", tt.name, err)
		}
	}
}

// TestParseErrorText pins the wording users see for the commonest mistake (issue 14).
func TestParseErrorText(t *testing.T) {
	data := "fail-on: high\nseverity:\n  sig.untrusted: high\nallow:\n  - rule: sig.untrusted\n    reason: private CA\n    paht: a/**\n"
	_, err := ParseFile("rollgate.yaml", []byte(data))
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("Parse = %v, want *Error", err)
	}
	want := &Error{File: "rollgate.yaml", Line: 7, Msg: `unknown key "paht" in allow entry 1 (did you mean path?)`}
	if d := cmp.Diff(want, pe); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	if got, want := pe.Error(), `rollgate.yaml:7: unknown key "paht" in allow entry 1 (did you mean path?)`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct{ in, want string }{
		{"paht", " (did you mean path?)"},
		{"resaon", " (did you mean reason?)"},
		{"sha-256", " (did you mean sha256?)"},
		{"expiry", " (did you mean expires?)"},
		{"ticket-id", ""},
		{"zzzzzz", ""},
		{"sig.untrustd", " (did you mean sig.untrusted?)"},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, append(allowKeys, ruleIDs()...)); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWarnings(t *testing.T) {
	p, err := Parse([]byte(`allow:
  - rule: sig.untrusted
    path: "a/**"
    reason: used
  - rule: sig.untrusted
    path: "never/**"
    reason: matches nothing
  - rule: file.changed
    path: "a/**"
    reason: expired
    expires: 2026-01-01
  - rule: sig.untrusted
    sha256: 0000000000000000000000000000000000000000000000000000000000000000
    reason: sig.untrusted findings carry no hash
  - rule: file.added
    domain: example.test
    reason: file findings name no host
`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	p.Apply([]rules.Finding{{Rule: rules.SigUntrusted, Severity: rules.Medium, Path: "a/x.dll"}}, now)
	want := []string{
		"rollgate.yaml:5: allow entry for sig.untrusted (never/**) matched no finding; remove it or fix its scope",
		"rollgate.yaml:8: allow entry for file.changed (a/**) expired on 2026-01-01; renew it after review or remove it",
		"rollgate.yaml:12: allow entry for sig.untrusted: sha256 cannot apply (sig.untrusted findings carry no file hash); the entry matches nothing",
		"rollgate.yaml:15: allow entry for file.added: domain cannot apply (only sandbox.network and strings.endpoint-added findings name hosts); the entry matches nothing",
	}
	if d := cmp.Diff(want, p.Warnings(now)); d != "" {
		t.Errorf("Warnings (-want +got)\n%s", d)
	}
}

func TestDomainOnEndpoints(t *testing.T) {
	p, err := Parse([]byte("allow:\n  - rule: strings.endpoint-added\n    domain: \"*.acme.test\"\n    reason: vendor CDN\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		endpoints any
		allowed   bool
	}{
		{"all under the domain", []string{"https://cdn.acme.test/x.ico", "api.acme.test:443", "updates.acme.test"}, true},
		{"read back from JSON", []any{"https://cdn.acme.test/x"}, true},
		{"one elsewhere", []string{"https://cdn.acme.test/x", "https://cdn.mallory.invalid/x.ico"}, false},
		{"look-alike", []string{"https://acme.test.mallory.invalid/"}, false},
		{"userinfo trick", []string{"https://cdn.acme.test@mallory.invalid/"}, false},
		{"none", []string{}, false},
		{"malformed evidence", []any{"https://cdn.acme.test/", 7}, false},
	}
	for _, tt := range tests {
		f := rules.Finding{Rule: rules.StringsEndpointAdded, Severity: rules.Medium, Path: "a.dll", Evidence: map[string]any{"endpoints": tt.endpoints}}
		_, sup, _ := p.Apply([]rules.Finding{f}, time.Unix(0, 0))
		if got := len(sup) == 1; got != tt.allowed {
			t.Errorf("%s: suppressed = %v, want %v", tt.name, got, tt.allowed)
		}
	}
}

func TestApply(t *testing.T) {
	p, err := Parse([]byte(`
fail-on: medium
severity:
  strings.endpoint-added: low
allow:
  - rule: sig.untrusted
    path: "ProgramFiles64Folder/Acme/**"
    reason: private CA, reviewed
    ticket: SEC-1
  - rule: content.changed-same-version
    path: "*/Acme/ffmpeg.dll"
    sha256: ABCDEF0000000000000000000000000000000000000000000000000000000000
    reason: vendor rebuild without version bump, confirmed with vendor
    expires: 2026-06-30
  - rule: sandbox.network
    domain: "*.acme.test"
    reason: telemetry
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.FailOn(rules.High) != rules.Medium {
		t.Errorf("FailOn = %v, want medium", p.FailOn(rules.High))
	}
	fs := []rules.Finding{
		{Rule: rules.SigUntrusted, Severity: rules.Medium, Path: "ProgramFiles64Folder/Acme/bin/core.dll"},
		{Rule: rules.SigUntrusted, Severity: rules.Medium, Path: "ProgramFiles64Folder/Other/core.dll"},
		{Rule: rules.ContentChangedSameVer, Severity: rules.High, Path: "ProgramFiles64Folder/Acme/ffmpeg.dll", Evidence: map[string]any{"sha256": "abcdef0000000000000000000000000000000000000000000000000000000000"}},
		{Rule: rules.ContentChangedSameVer, Severity: rules.High, Path: "ProgramFiles64Folder/Acme/ffmpeg.dll", Evidence: map[string]any{"sha256": "012345"}},
		{Rule: rules.StringsEndpointAdded, Severity: rules.Medium, Path: "x"},
		{Rule: rules.SandboxNetwork, Severity: rules.High, Path: "sandbox:network/dns:api.acme.test", Evidence: map[string]any{"name": "api.acme.test"}},
		{Rule: rules.SandboxNetwork, Severity: rules.High, Path: "sandbox:network/dns:acme.test.evil.invalid", Evidence: map[string]any{"name": "acme.test.evil.invalid"}},
		// a raw address whose program claims an allowed name (Host, SNI) stays a finding
		{Rule: rules.SandboxNetwork, Severity: rules.High, Path: "sandbox:network/tcp:203.0.113.9:443", Evidence: map[string]any{"addr": "203.0.113.9", "sni": "api.acme.test", "host": "api.acme.test"}},
	}
	before := time.Date(2026, 6, 30, 23, 0, 0, 0, time.UTC)
	kept, sup, warn := p.Apply(fs, before)
	if len(sup) != 3 || len(kept) != 5 || len(warn) != 0 {
		t.Fatalf("Apply(before expiry): kept %d, suppressed %d, warnings %v; want 5, 3, none", len(kept), len(sup), warn)
	}
	for _, f := range kept {
		if f.Rule == rules.StringsEndpointAdded && f.Severity != rules.Low {
			t.Errorf("severity override not applied: %+v", f)
		}
	}
	after := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	kept, sup, warn = p.Apply(fs, after)
	if len(sup) != 2 || len(kept) != 6 || len(warn) != 1 {
		t.Fatalf("Apply(after expiry): kept %d, suppressed %d, warnings %v; want 6, 2, one", len(kept), len(sup), warn)
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		glob, path string
		want       bool
	}{
		{"a/*.dll", "a/x.dll", true},
		{"a/*.dll", "a/b/x.dll", false},
		{"a/**", "a/b/x.dll", true},
		{"**/ffmpeg.dll", "ProgramFiles64Folder/Acme/ffmpeg.dll", true},
		{"a/?.dll", "a/xy.dll", false},
		{"a.b/(x)", "a.b/(x)", true},
	}
	for _, tt := range tests {
		if got := globRE(tt.glob).MatchString(tt.path); got != tt.want {
			t.Errorf("glob(%q).Match(%q) = %v, want %v", tt.glob, tt.path, got, tt.want)
		}
	}
}

// FuzzParse: any YAML either parses into a policy whose Apply never panics, or is a
// configuration error.
func FuzzParse(f *testing.F) {
	f.Add([]byte("fail-on: high\nallow:\n  - rule: sig.untrusted\n    path: \"a/**\"\n    reason: r\n    expires: 2026-01-01\n"))
	f.Add([]byte("severity:\n  sig.padding: low\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Parse error %v does not wrap ErrConfig", err)
			}
			return
		}
		p.Apply([]rules.Finding{{Rule: rules.SigUntrusted, Path: "a/b", Evidence: map[string]any{"sha256": "x", "name": "a.test"}}}, time.Unix(0, 0))
	})
}

func TestLoadMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(p)
	var pe *Error
	if !errors.Is(err, ErrConfig) || !errors.As(err, &pe) || pe.File != p {
		t.Fatalf("Load(missing) = %v, want a *policy.Error for %s", err, p)
	}
	if strings.Count(err.Error(), p) != 1 {
		t.Errorf("Load(missing) = %q, want the path once", err)
	}
}
