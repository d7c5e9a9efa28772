package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/rules"
)

// TestJUnitSchemas validates the JUnit output against both schemas CI servers read it by:
// Jenkins xunit's junit-10.xsd and the Ant schema GitLab follows.
func TestJUnitSchemas(t *testing.T) {
	r, _ := sampleReport()
	when := time.Date(2026, 12, 1, 22, 30, 5, 0, time.FixedZone("x", 3600))
	docs := []struct {
		name    string
		opt     Options
		reports []*Report
	}{
		{"verify", Options{}, []*Report{r}},
		{"batch", Options{Time: when, Hostname: "runner-1"}, []*Report{r, inconclusiveReport(), New("dist/b.msi", rules.High)}},
		{"inconclusive", Options{}, []*Report{inconclusiveReport()}},
		{"empty-path", Options{}, []*Report{New("", rules.High)}},
		{"none", Options{}, nil},
	}
	for _, xsd := range []string{junit10XSD, antJUnitXSD} {
		for _, d := range docs {
			t.Run(d.name+"/"+xsd, func(t *testing.T) {
				var b bytes.Buffer
				if err := WriteJUnitWith(&b, d.opt, d.reports...); err != nil {
					t.Fatal(err)
				}
				if err := xmllintValidate(t, xsd, b.Bytes()); err != nil {
					t.Errorf("%v\n%s", err, b.Bytes())
				}
			})
		}
	}
}

// TestJUnitSchemasBite: the schemas refuse what issue 14 found in the old output, so a
// passing TestJUnitSchemas means something.
func TestJUnitSchemasBite(t *testing.T) {
	tests := []struct{ xsd, doc string }{
		{junit10XSD, `<testsuites skipped="1"><testsuite name="a" tests="0" failures="0" errors="0"/></testsuites>`},
		{antJUnitXSD, `<testsuites><testsuite name="a" package="p" id="0" hostname="h" tests="0" failures="0" errors="0" time="0"><properties/><system-out/><system-err/></testsuite></testsuites>`},
		{antJUnitXSD, `<testsuites><testsuite name="a" package="p" id="0" timestamp="1970-01-01T00:00:00" hostname="h" tests="1" failures="0" errors="0" time="0"><properties/><testcase classname="c" name="n" time="0"><system-out>x</system-out></testcase><system-out/><system-err/></testsuite></testsuites>`},
	}
	for _, tt := range tests {
		if err := xmllintValidate(t, tt.xsd, []byte(tt.doc)); !errors.Is(err, errXSD) {
			t.Errorf("xmllint --schema %s accepted %s (err %v)", tt.xsd, tt.doc, err)
		}
	}
}

func TestJUnitContent(t *testing.T) {
	r, _ := sampleReport()
	when := time.Date(2026, 12, 1, 22, 30, 5, 0, time.FixedZone("x", 3600))
	var b bytes.Buffer
	if err := WriteJUnitWith(&b, Options{Time: when, Hostname: "runner-1"}, r, inconclusiveReport()); err != nil {
		t.Fatal(err)
	}
	var doc JUnitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("xml.Unmarshal: %v\n%s", err, b.Bytes())
	}
	if len(doc.Suites) != 2 {
		t.Fatalf("suites = %d, want 2", len(doc.Suites))
	}
	s := doc.Suites[0]
	type head struct {
		Name, Package, Timestamp, Hostname, Time string
		ID, Tests, Failures, Errors, Skipped     int
	}
	// One case per catalog rule; sig.padding and content.changed-same-version fail (critical
	// and high), sideload.system-name was allowed.
	want := head{"dist/acme 1.1.msi", JUnitPackage, "2026-12-01T21:30:05", "runner-1", "0", 0, len(rules.Catalog), 2, 0, 1}
	got := head{s.Name, s.Package, s.Timestamp, s.Hostname, s.Time, s.ID, s.Tests, s.Failures, s.Errors, s.Skipped}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("suite (-want +got)\n%s", d)
	}
	cases := map[string]JUnitCase{}
	for _, c := range s.Cases {
		if c.Classname != s.Name || c.Time != "0" {
			t.Errorf("case %s: classname %q time %q, want %q and 0", c.Name, c.Classname, c.Time, s.Name)
		}
		if _, dup := cases[c.Name]; dup {
			t.Errorf("rule %s has two cases", c.Name)
		}
		cases[c.Name] = c
	}
	if c := cases[rules.SigPadding]; c.Failure == nil || c.Failure.Type != "critical" || !strings.Contains(c.Failure.Text, "d3dcompiler_47.dll") {
		t.Errorf("sig.padding case = %+v, want a critical failure naming the file", c)
	}
	if c := cases[rules.ContentChangedSameVer]; c.Failure == nil || c.Failure.Type != "high" {
		t.Errorf("content.changed-same-version case = %+v, want a high failure", c)
	}
	if c := cases[rules.SideloadSystemName]; c.Skipped == nil || !strings.Contains(c.Skipped.Message, "vendor's shim | reviewed <2026>") {
		t.Errorf("suppressed case = %+v, want skipped with the reason", c)
	}
	for _, id := range []string{rules.SigInvalid, rules.StringsEndpointAdded, rules.PEImportAdded} {
		if c := cases[id]; c.Failure != nil || c.Skipped != nil || c.Error != nil {
			t.Errorf("%s case = %+v, want a pass (below the gate or no finding)", id, c)
		}
	}
	// Below-gate and allowed findings are listed at suite level.
	for _, want := range []string{"strings.endpoint-added", "pe.import-added", "allowed by policy: vendor's shim"} {
		if !strings.Contains(s.SystemOut, want) {
			t.Errorf("system-out lacks %q:\n%s", want, s.SystemOut)
		}
	}
	inc := doc.Suites[1]
	if inc.ID != 1 || inc.Errors != 1 || len(inc.Cases) != 1 || inc.Cases[0].Error == nil || inc.Cases[0].Error.Type != Inconclusive {
		t.Errorf("inconclusive suite = %+v, want id 1 with one inconclusive error case", inc)
	}
}

func TestJUnitDefaultsReproducible(t *testing.T) {
	r, _ := sampleReport()
	var a, b bytes.Buffer
	if err := WriteJUnit(&a, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteJUnitWith(&b, Options{Time: time.Unix(0, 0), Hostname: DefaultHostname}, r); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(a.String(), b.String()); d != "" {
		t.Errorf("WriteJUnit differs from epoch/localhost options (-want +got)\n%s", d)
	}
	if !strings.Contains(a.String(), `timestamp="1970-01-01T00:00:00" hostname="localhost"`) {
		t.Errorf("default timestamp/hostname missing:\n%.400s", a.String())
	}
}
