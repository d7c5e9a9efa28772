package main

import (
	"errors"
	"reflect"
	"testing"
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
		var ee *exitError
		if err != nil && (!errors.As(err, &ee) || ee.code != exitUsage) {
			t.Errorf("parseOutputs(%q, %q) = %v, want exit %d", tt.format, tt.values, err, exitUsage)
		}
		if err == nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseOutputs(%q, %q) = %v, want %v", tt.format, tt.values, got, tt.want)
		}
	}
}

func TestExitRank(t *testing.T) {
	// usage 2 wins, then inconclusive 3, then fail 1, then pass 0
	order := []int{exitPass, exitFail, exitInconclusive, exitUsage}
	for i := 1; i < len(order); i++ {
		if exitRank(order[i]) <= exitRank(order[i-1]) {
			t.Errorf("exitRank(%d) = %d, want above exitRank(%d) = %d", order[i], exitRank(order[i]), order[i-1], exitRank(order[i-1]))
		}
	}
}

func TestUniqueReportName(t *testing.T) {
	used := map[string]bool{}
	tests := []struct{ in, want string }{
		{"dist/acme-1.1.msi", "acme-1.1.msi.json"},
		{"other/acme-1.1.msi", "acme-1.1.msi-2.json"},
		{"other/ACME-1.1.msi", "ACME-1.1.msi-3.json"},
		{"x/../..", "installer.json"},
		{"evil name;rm -rf.msi", "evil_name_rm_-rf.msi.json"},
		{"..\\..\\win.msi", "_.._win.msi.json"},
	}
	for _, tt := range tests {
		if got := uniqueReportName(tt.in, used); got != tt.want {
			t.Errorf("uniqueReportName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
