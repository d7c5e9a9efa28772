package report

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/rules"
)

func TestNewEncoderUnknown(t *testing.T) {
	for _, f := range []string{"", "yaml", "HTML", "table "} {
		if _, err := NewEncoder(f, Options{}); !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("NewEncoder(%q) error = %v, want ErrUnknownFormat", f, err)
		}
	}
}

func TestEncoderErrors(t *testing.T) {
	r, opt := sampleReport()
	for _, f := range Formats {
		enc, err := NewEncoder(f, opt)
		if err != nil {
			t.Fatalf("NewEncoder(%q): %v", f, err)
		}
		if err := enc.Encode(&bytes.Buffer{}); !errors.Is(err, ErrNoReports) {
			t.Errorf("%s: Encode() with no report = %v, want ErrNoReports", f, err)
		}
	}
	enc, _ := NewEncoder(FormatCycloneDX, opt)
	if err := enc.Encode(&bytes.Buffer{}, r, r); !errors.Is(err, ErrBatchUnsupported) {
		t.Errorf("cyclonedx batch = %v, want ErrBatchUnsupported", err)
	}
}

// TestEncoderMatchesWriters: for one report, every encoder writes what the old Write*
// function wrote, so callers can move one at a time.
func TestEncoderMatchesWriters(t *testing.T) {
	r, opt := sampleReport()
	write := map[string]func(*bytes.Buffer) error{
		FormatTable:     func(b *bytes.Buffer) error { return WriteTable(b, r) },
		FormatJSON:      func(b *bytes.Buffer) error { return WriteJSON(b, r) },
		FormatSARIF:     func(b *bytes.Buffer) error { return WriteSARIF(b, r, opt) },
		FormatJUnit:     func(b *bytes.Buffer) error { return WriteJUnit(b, r) },
		FormatMarkdown:  func(b *bytes.Buffer) error { return WriteMarkdown(b, r) },
		FormatCycloneDX: func(b *bytes.Buffer) error { return WriteCycloneDX(b, r, opt) },
		FormatHTML:      func(b *bytes.Buffer) error { return WriteHTML(b, r, opt) },
	}
	if len(write) != len(Formats) {
		t.Fatalf("test covers %d formats, Formats has %d", len(write), len(Formats))
	}
	for _, f := range Formats {
		t.Run(f, func(t *testing.T) {
			var want, got bytes.Buffer
			if err := write[f](&want); err != nil {
				t.Fatal(err)
			}
			enc, err := NewEncoder(f, opt)
			if err != nil {
				t.Fatal(err)
			}
			if err := enc.Encode(&got, r); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want.String(), got.String()); d != "" {
				t.Errorf("(-Write* +Encode)\n%s", d)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	pass := New("a.msi", rules.High)
	pass.Installer.Product, pass.Installer.Version = "A", "1"
	pass.Decide()
	fail := New("b.msi", rules.High)
	fail.Findings = []rules.Finding{{Rule: rules.SigPadding, Severity: rules.Critical, Path: "x"}, {Rule: rules.FileAdded, Severity: rules.Info, Path: "y"}}
	fail.Decide()
	fail.ReportFile = "out/b.msi.json"
	inc := New("c.msi", rules.High)
	inc.Fail(errorString("no baseline"))
	broken := New("d.msi", rules.High)
	broken.Verdict, broken.Error = VerdictError, "internal error"
	zero := func() map[string]int {
		return map[string]int{"info": 0, "low": 0, "medium": 0, "high": 0, "critical": 0}
	}
	failCounts := zero()
	failCounts["critical"], failCounts["info"] = 1, 1
	row := func(r *Report, code int, c map[string]int) BatchResult {
		return BatchResult{Path: r.Installer.Path, Product: r.Installer.Product, Version: r.Installer.Version, Verdict: r.Verdict,
			ExitCode: code, Counts: c, Error: r.Error, Report: r.ReportFile}
	}
	medium := rules.Medium
	tests := []struct {
		name    string
		reports []*Report
		opt     Options
		want    BatchSummary
	}{
		{"all pass", []*Report{pass}, Options{}, BatchSummary{Schema: BatchSchema, Verdict: Pass, ExitCode: ExitPass, FailOn: "high",
			Installers: []BatchResult{row(pass, 0, zero())}}},
		{"fail beats pass", []*Report{pass, fail}, Options{FailOn: &medium}, BatchSummary{Schema: BatchSchema, Verdict: Fail, ExitCode: ExitFail, FailOn: "medium",
			Installers: []BatchResult{row(pass, 0, zero()), row(fail, 1, failCounts)}}},
		{"inconclusive beats fail", []*Report{fail, inc}, Options{}, BatchSummary{Schema: BatchSchema, Verdict: Inconclusive, ExitCode: ExitInconclusive, FailOn: "high",
			Installers: []BatchResult{row(fail, 1, failCounts), row(inc, 3, zero())}}},
		{"error beats all", []*Report{broken, inc, fail}, Options{}, BatchSummary{Schema: BatchSchema, Verdict: VerdictError, ExitCode: ExitUsage, FailOn: "high",
			Installers: []BatchResult{row(broken, 2, zero()), row(inc, 3, zero()), row(fail, 1, failCounts)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, Summarize(tt.reports, tt.opt)); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}
