package gate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/analyze"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/rules"
	"github.com/rollgate/rollgate/verify/authenticode"
)

const fixtures = "../testdata/fixtures/win"

func fixture(name string) string { return filepath.Join(fixtures, name) }

// testOptions is the strict gate with the fixtures' private root trusted.
func testOptions(t *testing.T) Options {
	t.Helper()
	roots, err := authenticode.LoadPEM(fixture("ca/root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAnalyzer(Trust{ExtraRoots: roots})
	if err != nil {
		t.Fatal(err)
	}
	return Options{Analyzer: a, Baselines: t.TempDir(), FailOn: rules.High}
}

func record(t *testing.T, o Options, installer string) {
	t.Helper()
	if _, err := RecordBaseline(context.Background(), installer, RecordOptions{Options: o}); err != nil {
		t.Fatalf("RecordBaseline(%s) = %v", installer, err)
	}
}

// rulesAt lists "severity rule path" of the findings at or above s.
func rulesAt(r *report.Report, s rules.Severity) []string {
	var out []string
	for _, f := range r.Findings {
		if f.Severity >= s {
			out = append(out, f.Severity.String()+" "+f.Rule+" "+f.Path)
		}
	}
	return out
}

func TestVerify(t *testing.T) {
	o := testOptions(t)
	record(t, o, fixture("acme-1.0.msi"))
	tests := []struct {
		installer string
		verdict   string
		want      []string // findings at or above high
	}{
		{"acme-1.1.msi", report.Pass, nil},
		{"acme-1.1-d3dpad.msi", report.Fail, []string{
			"critical sig.padding ProgramFiles64Folder/Acme Softphone/d3dcompiler_47.dll",
			"high content.changed-same-version ProgramFiles64Folder/Acme Softphone/d3dcompiler_47.dll",
		}},
		{"acme-1.1-unsigned.msi", report.Fail, []string{"high sig.removed (installer)"}},
	}
	for _, tt := range tests {
		t.Run(tt.installer, func(t *testing.T) {
			res, err := Verify(context.Background(), fixture(tt.installer), o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Report.Verdict != tt.verdict {
				t.Errorf("Verify(%s) verdict = %s, want %s", tt.installer, res.Report.Verdict, tt.verdict)
			}
			if d := cmp.Diff(tt.want, rulesAt(res.Report, rules.High)); d != "" {
				t.Errorf("Verify(%s) findings (-want +got)\n%s", tt.installer, d)
			}
			if res.Baseline == nil || res.Inventory == nil {
				t.Errorf("Verify(%s) result lacks the baseline or the inventory", tt.installer)
			}
		})
	}
}

func TestVerifyFirstDay(t *testing.T) {
	o := testOptions(t) // an empty baseline folder
	res, err := Verify(context.Background(), fixture("acme-1.1-d3dpad.msi"), o)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Code(); got != ExitFail {
		t.Errorf("first-day verify of the padded release: exit %d, want %d", got, ExitFail)
	}
	if d := cmp.Diff([]string{"critical sig.padding ProgramFiles64Folder/Acme Softphone/d3dcompiler_47.dll"}, rulesAt(res.Report, rules.High)); d != "" {
		t.Errorf("first-day findings (-want +got)\n%s", d)
	}
	res, err = Verify(context.Background(), fixture("acme-1.0.msi"), o)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Code(); got != ExitInconclusive {
		t.Errorf("first-day verify of a clean release: exit %d, want %d (never a pass without a baseline)", got, ExitInconclusive)
	}
	if d := cmp.Diff([]string{NoBaselineNote}, res.Report.Notes); d != "" {
		t.Errorf("notes (-want +got)\n%s", d)
	}
}

func TestRecordBaselineRefuses(t *testing.T) {
	o := testOptions(t)
	ctx := context.Background()
	_, err := RecordBaseline(ctx, fixture("acme-1.1-d3dpad.msi"), RecordOptions{Options: o})
	if ExitCode(err) != ExitFail {
		t.Fatalf("RecordBaseline(padded) = %v, want exit %d", err, ExitFail)
	}
	if entries, _ := os.ReadDir(o.Baselines); len(entries) != 0 {
		t.Errorf("a refused record wrote %d file(s)", len(entries))
	}
	rec, err := RecordBaseline(ctx, fixture("acme-1.1-d3dpad.msi"), RecordOptions{Options: o, AcceptFailed: true})
	if err != nil || len(rec.Findings) != 1 {
		t.Fatalf("RecordBaseline(padded, AcceptFailed) = %+v, %v; want one accepted finding", rec, err)
	}

	o.Baselines = t.TempDir()
	record(t, o, fixture("acme-1.0.msi"))
	record(t, o, fixture("acme-1.0.msi")) // the same installer again is fine
	_, err = RecordBaseline(ctx, fixture("acme-1.1.msi"), RecordOptions{Options: o})
	var re *ReplaceError
	if !errors.As(err, &re) || ExitCode(err) != ExitFail {
		t.Fatalf("RecordBaseline(1.1 over 1.0) = %v, want a ReplaceError, exit 1", err)
	}
	if re.Old != "1.0.0" || re.New != "1.1.0" || len(re.Changes) == 0 {
		t.Errorf("ReplaceError = %+v, want 1.0.0 → 1.1.0 with its changes", re)
	}
	rec, err = RecordBaseline(ctx, fixture("acme-1.1.msi"), RecordOptions{Options: o, Replace: true})
	if err != nil || rec.Replaced != "1.0.0" {
		t.Errorf("RecordBaseline(1.1, Replace) = %+v, %v; want it to replace 1.0.0", rec, err)
	}
}

func TestAnalyzerIsStrict(t *testing.T) {
	if _, err := analyze.New(analyze.Options{Formats: analyze.DefaultFormats()}); !errors.Is(err, analyze.ErrNoVerifier) {
		t.Errorf("analyze.New without verifiers = %v, want ErrNoVerifier", err)
	}
	if _, err := Verify(context.Background(), fixture("acme-1.0.msi"), Options{Baselines: t.TempDir()}); ExitCode(err) != ExitUsage {
		t.Errorf("Verify without an analyzer = %v, want exit %d", err, ExitUsage)
	}
}

// fakeSandbox replays a behaviour, or fails.
type fakeSandbox struct {
	unavailable error
	beh         inventory.Behaviour
	runErr      error
}

func (f *fakeSandbox) Available(context.Context) error { return f.unavailable }

func (f *fakeSandbox) Run(_ context.Context, _ string, _ *inventory.Inventory) (*inventory.Behaviour, error) {
	b := f.beh
	return &b, f.runErr
}

func TestVerifySandbox(t *testing.T) {
	o := testOptions(t)
	record(t, o, fixture("acme-1.0.msi"))
	ctx := context.Background()

	o.Sandbox = &fakeSandbox{unavailable: errors.New("no engine")}
	res, err := Verify(ctx, fixture("acme-1.1.msi"), o)
	if err != nil || res.Code() != ExitInconclusive {
		t.Errorf("Verify with an unavailable sandbox = exit %d, %v; want %d", res.Code(), err, ExitInconclusive)
	}

	o.Sandbox = &fakeSandbox{runErr: context.Canceled}
	if _, err := Verify(ctx, fixture("acme-1.1.msi"), o); ExitCode(err) != ExitInconclusive {
		t.Errorf("Verify with a cancelled sandbox = %v, want exit %d", err, ExitInconclusive)
	}

	o.Sandbox = &fakeSandbox{beh: inventory.Behaviour{Network: []inventory.NetEvent{
		{Proto: "dns", Name: "c2.mallory.test", QType: "A"},
	}}}
	res, err = Verify(ctx, fixture("acme-1.1.msi"), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.Verdict != report.Fail || !res.Report.Sandbox.Ran {
		t.Errorf("Verify with a beaconing run: verdict %s, ran %v; want fail, ran", res.Report.Verdict, res.Report.Sandbox.Ran)
	}
	found := false
	for _, f := range res.Report.Findings {
		found = found || f.Rule == rules.SandboxNetwork
	}
	if !found {
		t.Errorf("Verify with a beaconing run: no %s finding in %v", rules.SandboxNetwork, rulesAt(res.Report, rules.Info))
	}
}

func TestBatch(t *testing.T) {
	o := testOptions(t)
	record(t, o, fixture("acme-1.0.msi"))
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.msi")
	if err := os.WriteFile(garbage, []byte("not an installer"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := Batch(context.Background(), []string{fixture("acme-1.1.msi"), fixture("acme-1.1-d3dpad.msi"), garbage},
		BatchOptions{Options: o, Jobs: 2, OutputDir: filepath.Join(dir, "out")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, r := range sum.Installers {
		got = append(got, filepath.Base(r.Path)+" "+r.Verdict)
		if sum.Results[i] != nil {
			if _, err := os.Stat(r.Report); err != nil {
				t.Errorf("report of %s: %v", r.Path, err)
			}
		}
	}
	want := []string{"acme-1.1.msi pass", "acme-1.1-d3dpad.msi fail", "garbage.msi inconclusive"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Batch verdicts (-want +got)\n%s", d)
	}
	if sum.ExitCode != ExitInconclusive {
		t.Errorf("Batch exit = %d, want %d (inconclusive over fail)", sum.ExitCode, ExitInconclusive)
	}
	if _, err := Batch(context.Background(), []string{garbage}, BatchOptions{Options: o, Jobs: 0}); ExitCode(err) != ExitUsage {
		t.Errorf("Batch(--jobs 0) = %v, want exit %d", err, ExitUsage)
	}
}
