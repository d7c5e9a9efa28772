package policy

import (
	"errors"
	"testing"
	"time"

	"github.com/rollgate/rollgate/rules"
)

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, yaml string }{
		{"no reason", "allow:\n  - rule: sig.untrusted\n    path: a\n"},
		{"blank reason", "allow:\n  - rule: sig.untrusted\n    path: a\n    reason: '  '\n"},
		{"unknown rule", "allow:\n  - rule: sig.nope\n    path: a\n    reason: x\n"},
		{"no scope", "allow:\n  - rule: sig.untrusted\n    reason: x\n"},
		{"bad date", "allow:\n  - rule: sig.untrusted\n    path: a\n    reason: x\n    expires: next week\n"},
		{"typo key", "fail_on: high\n"},
		{"bad severity", "severity:\n  sig.untrusted: severe\n"},
		{"bad fail-on", "fail-on: never\n"},
	}
	for _, tt := range tests {
		if _, err := Parse([]byte(tt.yaml)); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: Parse(%q) = %v, want ErrConfig", tt.name, tt.yaml, err)
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
    sha256: ABCDEF
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
		{Rule: rules.ContentChangedSameVer, Severity: rules.High, Path: "ProgramFiles64Folder/Acme/ffmpeg.dll", Evidence: map[string]any{"sha256": "abcdef"}},
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
