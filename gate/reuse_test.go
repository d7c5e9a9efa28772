package gate

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rollgate/rollgate/analyze"
	"github.com/rollgate/rollgate/baselines"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/rules"
)

// judged is what a verify decides, for comparing a reused inventory's run with a full one.
type judged struct {
	Verdict    string
	Error      string
	Findings   []rules.Finding
	Inventory  *inventory.Inventory
	Reused     bool
	Identity   string
	BaselineOf string
}

func judgedOf(res *Result) judged {
	r := res.Report
	j := judged{Verdict: r.Verdict, Error: r.Error, Findings: r.Findings, Inventory: res.Inventory,
		Reused: slices.Contains(r.Notes, ReusedNote), Identity: r.Installer.Identity}
	if r.Baseline != nil {
		j.BaselineOf = r.Baseline.Version
	}
	return j
}

// copyFile copies src to dst (fixtures are small).
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReuseEqualsAnalysis verifies installers with and without reuse of the recorded
// inventory: findings, verdict and inventory must be the same, and the recorded inventory
// must be reused exactly when the bytes and file name are the recorded ones.
func TestReuseEqualsAnalysis(t *testing.T) {
	o := testOptions(t)
	record(t, o, fixture("acme-1.0.msi"))
	dir := t.TempDir()
	renamed := filepath.Join(dir, "acme-renamed.msi")
	copyFile(t, fixture("acme-1.0.msi"), renamed)
	tests := []struct {
		installer string
		reused    bool
	}{
		{fixture("acme-1.0.msi"), true},
		{renamed, false}, // same bytes, another name: the name is part of the analysis
		{fixture("acme-1.1.msi"), false},
		{fixture("acme-1.1-d3dpad.msi"), false},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.installer), func(t *testing.T) {
			full, reuse := o, o
			full.NoReuse = true
			full.IncludeInventory, reuse.IncludeInventory = true, true
			want, err := Verify(context.Background(), tt.installer, full)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Verify(context.Background(), tt.installer, reuse)
			if err != nil {
				t.Fatal(err)
			}
			w, g := judgedOf(want), judgedOf(got)
			if w.Reused {
				t.Errorf("Verify(%s) with NoReuse reused the recorded inventory", tt.installer)
			}
			w.Reused = tt.reused
			if d := cmp.Diff(w, g, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(inventory.Inventory{}, "FileKeys")); d != "" {
				t.Errorf("Verify(%s): reuse differs from a full analysis (-full +reuse)\n%s", tt.installer, d)
			}
		})
	}
}

// TestReuseBatch: a batch reuses the recorded inventories of unchanged installers and
// analyses the changed one; verdicts equal those of a batch that analyses all.
func TestReuseBatch(t *testing.T) {
	o := testOptions(t)
	record(t, o, fixture("acme-1.0.msi"))
	args := []string{fixture("acme-1.0.msi"), fixture("acme-1.1-unsigned.msi")}
	run := func(noReuse bool) []string {
		bo := BatchOptions{Options: o, Jobs: 2}
		bo.NoReuse = noReuse
		sum, err := Batch(context.Background(), args, bo)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range sum.Reports {
			out = append(out, r.Verdict+" "+filepath.Base(r.Installer.Path)+" reused="+boolString(slices.Contains(r.Notes, ReusedNote)))
		}
		return out
	}
	want := []string{report.Pass + " acme-1.0.msi reused=false", report.Fail + " acme-1.1-unsigned.msi reused=false"}
	if d := cmp.Diff(want, run(true)); d != "" {
		t.Errorf("Batch without reuse (-want +got)\n%s", d)
	}
	want[0] = report.Pass + " acme-1.0.msi reused=true"
	if d := cmp.Diff(want, run(false)); d != "" {
		t.Errorf("Batch with reuse (-want +got)\n%s", d)
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestReuseNeedsSameAnalyzer: an analyzer with another trust set does not reuse what the
// strict one recorded, nor is a baseline changed since it was recorded or one without a
// recording (accepted, recorded before reuse existed, or read with side files) reused.
func TestReuseNeedsSameAnalyzer(t *testing.T) {
	o := testOptions(t)
	record(t, o, fixture("acme-1.0.msi"))
	other, err := NewAnalyzer(Trust{})
	if err != nil {
		t.Fatal(err)
	}
	if other.Identity() == o.Analyzer.Identity() {
		t.Fatalf("analyzers with different trust sets share identity %s", other.Identity())
	}
	o2 := o
	o2.Analyzer = other
	if inv := o2.recordedInventory(context.Background(), fixture("acme-1.0.msi")); inv != nil {
		t.Errorf("an analyzer with another trust set reused the recorded inventory")
	}
	if inv := o.recordedInventory(context.Background(), fixture("acme-1.0.msi")); inv == nil {
		t.Fatalf("the recording analyzer did not reuse the recorded inventory")
	}
	// An accepted (or edited) baseline no longer matches its recording: no reuse.
	file := filepath.Join(o.Baselines, baselines.FileName(mustIdentity(t, o)))
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if inv := o.recordedInventory(context.Background(), fixture("acme-1.0.msi")); inv != nil {
		t.Errorf("a baseline changed since its recording was reused")
	}
	// Recorded again: reused again; its recording removed: analysed.
	record(t, o, fixture("acme-1.0.msi"))
	if inv := o.recordedInventory(context.Background(), fixture("acme-1.0.msi")); inv == nil {
		t.Errorf("a recorded baseline was not reused")
	}
	if err := baselines.WriteRecording(file, nil); err != nil {
		t.Fatal(err)
	}
	if inv := o.recordedInventory(context.Background(), fixture("acme-1.0.msi")); inv != nil {
		t.Errorf("a baseline without a recording was reused")
	}
}

func mustIdentity(t *testing.T, o Options) string {
	t.Helper()
	inv, err := o.Analyzer.Installer(context.Background(), fixture("acme-1.0.msi"))
	if err != nil {
		t.Fatal(err)
	}
	return inv.Product.Identity
}

func TestClockFree(t *testing.T) {
	ts := "2026-01-01T00:00:00Z"
	tests := []struct {
		name  string
		entry inventory.Entry
		want  bool
	}{
		{"unsigned pe", inventory.Entry{Kind: inventory.KindPE, Signature: &inventory.Signature{State: inventory.SigUnsigned}}, true},
		{"timestamped pe", inventory.Entry{Kind: inventory.KindPE, Signature: &inventory.Signature{State: inventory.SigSigned, Timestamp: ts}}, true},
		{"pe judged at the clock", inventory.Entry{Kind: inventory.KindPE, Signature: &inventory.Signature{State: inventory.SigSigned}}, false},
		{"invalid pe judged at the clock", inventory.Entry{Kind: inventory.KindPE, Signature: &inventory.Signature{State: inventory.SigInvalid}}, false},
		{"nested signature judged at the clock", inventory.Entry{Kind: inventory.KindPE, Signature: &inventory.Signature{State: inventory.SigSigned, Timestamp: ts,
			Nested: []inventory.Signature{{State: inventory.SigSigned}}}}, false},
		{"timestamped msi", inventory.Entry{Kind: inventory.KindData, Container: "msi", Signature: &inventory.Signature{State: inventory.SigSigned, Timestamp: ts}}, true},
		{"timestamped mach-o", inventory.Entry{Kind: inventory.KindMachO, Signature: &inventory.Signature{State: inventory.SigSigned, Timestamp: ts}}, false},
		{"ad hoc mach-o", inventory.Entry{Kind: inventory.KindMachO, Signature: &inventory.Signature{State: inventory.SigAdhoc}}, true},
	}
	for _, tt := range tests {
		inv := &inventory.Inventory{Entries: []inventory.Entry{tt.entry}}
		if got := clockFree(inv); got != tt.want {
			t.Errorf("clockFree(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestAnalysisOf: nothing is recorded for reuse when the inventory read files beside the
// installer or the analyzer has no identity.
func TestAnalysisOf(t *testing.T) {
	o := testOptions(t)
	anon, err := analyze.New(analyze.Options{SkipSignaturesUnsafe: true, Formats: analyze.DefaultFormats()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		a    *analyze.Analyzer
		side []string
		want *baselines.Analysis
	}{
		{"self-contained", o.Analyzer, nil, &baselines.Analysis{Analyzer: o.Analyzer.Identity(), Installer: "x.msi"}},
		{"external cabinet", o.Analyzer, []string{"x1.cab"}, nil},
		{"no identity", anon, nil, nil},
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, analysisOf(tt.a, "/some/where/x.msi", tt.side)); d != "" {
			t.Errorf("analysisOf(%s) (-want +got)\n%s", tt.name, d)
		}
	}
}
