package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/gate"
)

func TestParseOutputs(t *testing.T) {
	allowed := verifyFormats
	tests := []struct {
		format string
		values []string
		want   []outputSpec
		err    bool
	}{
		{"table", nil, []outputSpec{{format: "table"}}, false},
		{"json", []string{"r.json"}, []outputSpec{{"json", "r.json"}}, false},
		{"table", []string{"sarif=r.sarif", "junit=r.xml"}, []outputSpec{{format: "table"}, {"sarif", "r.sarif"}, {"junit", "r.xml"}}, false},
		{"markdown", []string{"pr.md", "json=r.json"}, []outputSpec{{"markdown", "pr.md"}, {"json", "r.json"}}, false},
		// a prefix that is not a format is part of the file name
		{"json", []string{"a=b.json"}, []outputSpec{{"json", "a=b.json"}}, false},
		{"json", []string{"a.json", "b.json"}, nil, true},
		{"json", []string{"sarif="}, nil, true},
		{"json", []string{""}, nil, true},
		{"json", []string{"r.json", "json=r.json"}, nil, true},
		// cyclonedx is inspect's, not verify's: here it is a file name
		{"json", []string{"cyclonedx=x"}, []outputSpec{{"json", "cyclonedx=x"}}, false},
	}
	for _, tt := range tests {
		got, err := parseOutputs(tt.format, tt.values, allowed)
		if (err != nil) != tt.err {
			t.Errorf("parseOutputs(%q, %q) error = %v, want error %v", tt.format, tt.values, err, tt.err)
			continue
		}
		if err != nil && gate.ExitCode(err) != exitUsage {
			t.Errorf("parseOutputs(%q, %q) = %v, want exit %d", tt.format, tt.values, err, exitUsage)
		}
		if err == nil && !cmp.Equal(got, tt.want, cmp.AllowUnexported(outputSpec{})) {
			t.Errorf("parseOutputs(%q, %q) = %v, want %v", tt.format, tt.values, got, tt.want)
		}
	}
}
