package report

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseOutputs(t *testing.T) {
	allowed := []string{"table", "json", "sarif", "junit", "markdown", "html"}
	tests := []struct {
		format string
		values []string
		want   []Output
		err    bool
	}{
		{"table", nil, []Output{{Format: "table"}}, false},
		{"json", []string{"r.json"}, []Output{{"json", "r.json"}}, false},
		{"table", []string{"sarif=r.sarif", "junit=r.xml"}, []Output{{Format: "table"}, {"sarif", "r.sarif"}, {"junit", "r.xml"}}, false},
		{"markdown", []string{"pr.md", "json=r.json"}, []Output{{"markdown", "pr.md"}, {"json", "r.json"}}, false},
		// a prefix that is not a format is part of the file name
		{"json", []string{"a=b.json"}, []Output{{"json", "a=b.json"}}, false},
		{"json", []string{"a.json", "b.json"}, nil, true},
		{"json", []string{"sarif="}, nil, true},
		{"json", []string{""}, nil, true},
		{"json", []string{"r.json", "json=r.json"}, nil, true},
		{"cyclonedx", nil, nil, true}, // not offered here
		// cyclonedx is not offered here: as a prefix it is part of the file name
		{"json", []string{"cyclonedx=x"}, []Output{{"json", "cyclonedx=x"}}, false},
	}
	for _, tt := range tests {
		got, err := ParseOutputs(tt.format, tt.values, allowed)
		if (err != nil) != tt.err {
			t.Errorf("ParseOutputs(%q, %q) error = %v, want error %v", tt.format, tt.values, err, tt.err)
			continue
		}
		if d := cmp.Diff(tt.want, got); err == nil && d != "" {
			t.Errorf("ParseOutputs(%q, %q) (-want +got)\n%s", tt.format, tt.values, d)
		}
	}
}
