package version

import (
	"regexp"
	"testing"
)

// semver is the SemVer 2.0 grammar (semver.org's suggested regular expression).
var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

func TestVersions(t *testing.T) {
	tests := []struct{ in, numeric, semantic string }{
		{"0.0.0-dev", "0.0.0", "0.0.0-dev"},
		{"1.4.0", "1.4.0", "1.4.0"},
		{"v1.4.0", "1.4.0", "1.4.0"},
		{"v1.4.0-rc.01+20260101.abc", "1.4.0", "1.4.0-rc.1+20260101.abc"},
		{"1.4", "1.4.0", "1.4.0"},
		{"01.002.3", "1.2.3", "1.2.3"},
		{"devel", "0.0.0", "0.0.0-devel"},
		{"devel+0123abcdef.dirty", "0.0.0", "0.0.0-devel+0123abcdef.dirty"},
		{"(devel)", "0.0.0", "0.0.0--devel-"},
		{"", "0.0.0", "0.0.0"},
		{"v0.0.0-20260101000000-abcdef123456", "0.0.0", "0.0.0-20260101000000-abcdef123456"},
		{"1.2.3 beta/2", "1.2.3", "1.2.3--beta-2"},
	}
	for _, tt := range tests {
		if got := Numeric(tt.in); got != tt.numeric {
			t.Errorf("Numeric(%q) = %q, want %q", tt.in, got, tt.numeric)
		}
		got := Semantic(tt.in)
		if got != tt.semantic {
			t.Errorf("Semantic(%q) = %q, want %q", tt.in, got, tt.semantic)
		}
		if !semver.MatchString(got) {
			t.Errorf("Semantic(%q) = %q, not SemVer 2.0", tt.in, got)
		}
	}
}
