package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rollgate/rollgate/rules"
)

func sarifSchema(t testing.TB) *jsonschema.Schema {
	const id = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	return compileSchema(t, id, map[string]string{id: "sarif/sarif-schema-2.1.0.json"})
}

func TestSARIFSchema(t *testing.T) {
	s := sarifSchema(t)
	// The schema must bite: a result without a message and a bad level are refused.
	bad := `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"ruleId":"a","level":"fatal"}]}]}`
	if err := validateJSON(t, s, []byte(bad)); err == nil {
		t.Fatal("the SARIF schema accepted an invalid log")
	}
	r, opt := sampleReport()
	abs := New("/home/runner/work/_temp/in/acme.msi", rules.High)
	abs.Decide()
	win := New(`C:\Users\runner\AppData\Local\Temp\acme.msi`, rules.High)
	win.Decide()
	for _, tt := range []struct {
		name    string
		opt     Options
		reports []*Report
	}{
		{"verify", opt, []*Report{r}},
		{"inconclusive", Options{}, []*Report{inconclusiveReport()}},
		{"pass", Options{}, []*Report{New("a.msi", rules.High)}},
		{"batch", Options{Version: "devel+abc.dirty"}, []*Report{r, inconclusiveReport(), abs, win}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteSARIFWith(&b, tt.opt, tt.reports...); err != nil {
				t.Fatal(err)
			}
			if err := validateJSON(t, s, b.Bytes()); err != nil {
				t.Errorf("schema validation: %v", err)
			}
		})
	}
}

func TestSARIFLocations(t *testing.T) {
	src := sarifArtifactLocation{Description: &sarifText{Text: "The working directory rollgate ran in (in CI, the repository checkout)."}}
	absDesc := &sarifText{Text: "The folder the installer was read from: an absolute path on the machine that ran rollgate, left out of the report."}
	tests := []struct {
		path  string
		uri   string
		bases map[string]sarifArtifactLocation
	}{
		{"dist/acme 1.1.msi", "acme%201.1.msi", map[string]sarifArtifactLocation{
			SARIFInstallerDir: {URI: "dist/", URIBaseID: SARIFSourceRoot}, SARIFSourceRoot: src}},
		{"acme.msi", "acme.msi", map[string]sarifArtifactLocation{
			SARIFInstallerDir: {URI: "./", URIBaseID: SARIFSourceRoot}, SARIFSourceRoot: src}},
		{"/home/runner/work/_temp/acme.msi", "acme.msi", map[string]sarifArtifactLocation{
			SARIFInstallerDir: {Description: absDesc}}},
		{`C:\a\b#c.msi`, "b%23c.msi", map[string]sarifArtifactLocation{
			SARIFInstallerDir: {Description: absDesc}}},
		{`..\up\x.msi`, "x.msi", map[string]sarifArtifactLocation{
			SARIFInstallerDir: {URI: "../up/", URIBaseID: SARIFSourceRoot}, SARIFSourceRoot: src}},
	}
	for _, tt := range tests {
		r := New(tt.path, rules.High)
		r.Findings = []rules.Finding{{Rule: rules.FileAdded, Severity: rules.Info, Path: "a.dll", Message: "m"}}
		r.Decide()
		var b bytes.Buffer
		if err := WriteSARIF(&b, r, Options{}); err != nil {
			t.Fatal(err)
		}
		var log sarifLog
		if err := json.Unmarshal(b.Bytes(), &log); err != nil {
			t.Fatal(err)
		}
		run := log.Runs[0]
		if d := cmp.Diff(tt.bases, run.OriginalURIBaseIDs); d != "" {
			t.Errorf("%q: originalUriBaseIds (-want +got)\n%s", tt.path, d)
		}
		loc := run.Results[0].Locations[0].PhysicalLocation.ArtifactLocation
		if loc.URI != tt.uri || loc.URIBaseID != SARIFInstallerDir || run.Artifacts[0].Location.URI != tt.uri {
			t.Errorf("%q: location %+v, artifact %+v; want uri %q based on %s", tt.path, loc, run.Artifacts[0].Location, tt.uri, SARIFInstallerDir)
		}
		if strings.Contains(b.String(), "runner") {
			t.Errorf("%q: the runner's absolute path leaked into the SARIF", tt.path)
		}
	}
}

func TestSARIFBatch(t *testing.T) {
	r, _ := sampleReport()
	other := New("dist/beta.msi", rules.High)
	other.Findings = []rules.Finding{{Rule: rules.SigInvalid, Severity: rules.Critical, Path: "x.dll", Message: "m"}}
	other.Decide()
	far := New("/abs/c.msi", rules.High)
	far.Decide()
	var b bytes.Buffer
	if err := WriteSARIFWith(&b, Options{}, r, other, far); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if len(log.Runs) != 1 {
		t.Fatalf("runs = %d, want 1", len(log.Runs))
	}
	run := log.Runs[0]
	type art struct{ URI, Base string }
	var arts []art
	for _, a := range run.Artifacts {
		arts = append(arts, art{a.Location.URI, a.Location.URIBaseID})
	}
	want := []art{{"acme%201.1.msi", SARIFInstallerDir}, {"beta.msi", SARIFInstallerDir}, {"c.msi", SARIFInstallerDir + "_2"}}
	if d := cmp.Diff(want, arts); d != "" {
		t.Errorf("artifacts (-want +got)\n%s", d)
	}
	last := run.Results[len(run.Results)-1]
	if idx := last.Locations[0].PhysicalLocation.ArtifactLocation.Index; last.RuleID != rules.SigInvalid || idx == nil || *idx != 1 {
		t.Errorf("last result %s points at artifact %v, want sig.invalid on artifact 1", last.RuleID, idx)
	}
	if strings.Contains(b.String(), "/abs/") {
		t.Error("an absolute installer folder leaked into the SARIF")
	}
	if len(run.Invocations) != 3 || run.Invocations[1].Properties["rollgate/verdict"] != Fail {
		t.Errorf("invocations = %+v, want three, the second failed", run.Invocations)
	}
}

func TestSARIFContent(t *testing.T) {
	r, opt := sampleReport()
	var b bytes.Buffer
	if err := WriteSARIF(&b, r, opt); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if got := []string{run.Tool.Driver.Version, run.Tool.Driver.SemanticVersion}; !cmp.Equal(got, []string{"0.0.0", "0.0.0-test"}) {
		t.Errorf("driver version, semanticVersion = %q, want 0.0.0 and 0.0.0-test", got)
	}
	if got, want := len(run.Tool.Driver.Rules), len(rules.Catalog); got != want {
		t.Errorf("rules = %d, want %d", got, want)
	}
	for i, rule := range run.Tool.Driver.Rules {
		if rule.ID != rules.Catalog[i].ID || rule.Properties["security-severity"] != SecuritySeverity(rules.Catalog[i].Default) || rule.Help.Text == "" {
			t.Errorf("rule %d = %s %v, want %s with help and security-severity", i, rule.ID, rule.Properties["security-severity"], rules.Catalog[i].ID)
		}
	}
	if got, want := len(run.Results), len(r.Findings)+len(r.Suppressed); got != want {
		t.Fatalf("results = %d, want %d", got, want)
	}
	last := run.Results[len(run.Results)-1]
	if len(last.Suppressions) != 1 || last.Suppressions[0].Kind != "external" || !strings.HasPrefix(last.Suppressions[0].Justification, "vendor's shim") {
		t.Errorf("suppressed result = %+v, want an external suppression with the reason", last.Suppressions)
	}
	for i, res := range run.Results {
		loc := res.Locations[0]
		if loc.PhysicalLocation.ArtifactLocation.URI != "acme%201.1.msi" || loc.PhysicalLocation.Region.StartLine != 1 {
			t.Errorf("result %d location = %+v", i, loc.PhysicalLocation)
		}
		if rules.Catalog[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %d ruleIndex %d is not %s", i, res.RuleIndex, res.RuleID)
		}
	}
	// The fingerprint follows the content: same rule and path, another hash, another alert.
	f := r.Findings[1]
	if got, want := run.Results[1].PartialFingerprints[FingerprintKey], Fingerprint(f.Rule, f.Path, shaFFmpeg); got != want {
		t.Errorf("fingerprint = %s, want %s", got, want)
	}
	if Fingerprint(f.Rule, f.Path, shaFFmpeg) == Fingerprint(f.Rule, f.Path, shaEvil) {
		t.Error("fingerprint ignores the file hash")
	}
	// sig.padding has no sha256 in its evidence: the inventory supplies it.
	if got, want := run.Results[0].PartialFingerprints[FingerprintKey], Fingerprint(rules.SigPadding, r.Findings[0].Path, shaD3D); got != want {
		t.Errorf("fingerprint from inventory = %s, want %s", got, want)
	}
	if got := run.Results[0].Locations[0].LogicalLocations[0]; got.Kind != "module" || got.Name != "d3dcompiler_47.dll" {
		t.Errorf("logical location = %+v", got)
	}
}
