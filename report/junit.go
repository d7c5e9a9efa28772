package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/rollgate/rollgate/rules"
)

// JUnit XML that two schemas accept at once, so Jenkins, GitLab and other test viewers read
// it: Jenkins xunit-plugin's junit-10.xsd (Surefire-style) and the Apache Ant JUnit schema
// (windyroad JUnit.xsd) that GitLab's reader follows. Both are vendored under
// testdata/schemas and the tests run xmllint against them. What the pair requires:
//
//   - <testsuites> carries no attributes: the Ant schema declares none, junit-10 allows no
//     skipped there; readers sum the suites themselves.
//   - Each <testsuite> has name, package, id (0, 1, …), timestamp (YYYY-MM-DDTHH:MM:SS, no
//     zone), hostname, tests, failures, errors, skipped and time, then <properties>, the
//     test cases, <system-out> and <system-err> in that order (Ant requires all four).
//   - Each <testcase> has classname, name and time, and at most one of skipped, error or
//     failure; output lives at suite level (Ant allows none inside a case).
//
// Layout: a testsuite per installer, a testcase per catalog rule (classname = the installer,
// so several installers stay apart in viewers that group by class; name = the rule id). A
// rule with a finding at or above the gate is a <failure> listing every such finding; a rule
// whose findings the policy all allowed is <skipped> with the reason; an installer that could
// not be judged is one <error> case, because the rules never ran. Findings below the gate and
// suppressed ones are listed in the suite's <system-out>.
//
// rollgate does not time rules, so every time is 0. The timestamp is Options.Time, or the
// Unix epoch when that is zero, so output stays byte-for-byte reproducible unless the caller
// asks for the wall clock.

// JUnitTimestamp is the Ant schema's timestamp layout (ISO 8601 without a zone, UTC).
const JUnitTimestamp = "2006-01-02T15:04:05"

// DefaultHostname is written when Options.Hostname is empty (the Ant schema's advice).
const DefaultHostname = "localhost"

// JUnitSuites is the document root.
type JUnitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one installer.
type JUnitSuite struct {
	Name       string          `xml:"name,attr"`
	Package    string          `xml:"package,attr"`
	ID         int             `xml:"id,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties JUnitProperties `xml:"properties"`
	Cases      []JUnitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out"`
	SystemErr  string          `xml:"system-err"`
}

// JUnitProperties is a suite's (always present) property list.
type JUnitProperties struct {
	List []JUnitProperty `xml:"property"`
}

// JUnitProperty is a name/value pair of a suite.
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitCase is one rule over one installer.
type JUnitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *JUnitMessage `xml:"skipped"`
	Error     *JUnitMessage `xml:"error"`
	Failure   *JUnitMessage `xml:"failure"`
}

// JUnitMessage is a failure, error or skip. Type is required on failure and error.
type JUnitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// JUnitPackage is every suite's package attribute.
const JUnitPackage = "rollgate"

// JUnit builds the JUnit document for one or more reports with default options.
func JUnit(reports ...*Report) *JUnitSuites { return JUnitWith(Options{}, reports...) }

// JUnitWith builds the JUnit document for one or more reports.
func JUnitWith(opt Options, reports ...*Report) *JUnitSuites {
	doc := &JUnitSuites{}
	for i, r := range reports {
		doc.Suites = append(doc.Suites, junitSuite(r, i, opt))
	}
	return doc
}

func junitSuite(r *Report, id int, opt Options) JUnitSuite {
	ts := opt.Time
	if ts.IsZero() {
		ts = time.Unix(0, 0)
	}
	host := opt.Hostname
	if host == "" {
		host = DefaultHostname
	}
	name := Clean(r.Installer.Path)
	if strings.TrimSpace(name) == "" {
		name = "installer"
	}
	s := JUnitSuite{Name: name, Package: JUnitPackage, ID: id, Timestamp: ts.UTC().Format(JUnitTimestamp),
		Hostname: Clean(host), Time: "0"}
	prop := func(name, value string) {
		if value != "" {
			s.Properties.List = append(s.Properties.List, JUnitProperty{Name: name, Value: Clean(value)})
		}
	}
	prop("verdict", r.Verdict)
	prop("fail-on", r.FailOn.String())
	prop("installer.sha256", r.Installer.SHA256)
	prop("installer.format", r.Installer.Format)
	prop("installer.product", r.Installer.Product)
	prop("installer.version", r.Installer.Version)
	prop("installer.identity", r.Installer.Identity)
	if b := r.Baseline; b != nil {
		prop("baseline.product", b.Product)
		prop("baseline.version", b.Version)
	}
	for _, w := range r.Warnings {
		prop("warning", w)
	}

	if r.Verdict == Inconclusive {
		s.Cases = []JUnitCase{{Classname: name, Name: "inconclusive", Time: "0",
			Error: &JUnitMessage{Message: Clean(r.Error), Type: Inconclusive, Text: Clean(r.Error)}}}
		s.Tests, s.Errors = 1, 1
		return s
	}

	kept := map[string][]rules.Finding{}
	for _, f := range r.Findings {
		kept[f.Rule] = append(kept[f.Rule], f)
	}
	suppressed := map[string][]string{}
	var out []string
	for _, f := range r.Findings {
		if f.Severity < r.FailOn {
			out = append(out, fmt.Sprintf("%s %s: %s (below the gate)", f.Rule, junitWhere(f.Path), f.Severity)+": "+f.Message)
		}
	}
	for _, sup := range r.Suppressed {
		line := fmt.Sprintf("%s %s: %s (%s): allowed by policy: %s", sup.Finding.Rule, junitWhere(sup.Finding.Path),
			sup.Finding.Message, sup.Finding.Severity, sup.Allow.Reason)
		suppressed[sup.Finding.Rule] = append(suppressed[sup.Finding.Rule], line)
		out = append(out, line)
	}

	fired := map[string]bool{}
	for id := range kept {
		fired[id] = true
	}
	for id := range suppressed {
		fired[id] = true
	}
	for _, id := range ruleIDs(fired) {
		c := JUnitCase{Classname: name, Name: id, Time: "0"}
		var failing []string
		worst := rules.Info
		for _, f := range kept[id] {
			if f.Severity >= r.FailOn {
				failing = append(failing, fmt.Sprintf("%s: %s: %s", junitWhere(f.Path), f.Severity, f.Message))
				worst = max(worst, f.Severity)
			}
		}
		switch {
		case len(failing) > 0:
			c.Failure = &JUnitMessage{Message: Clean(failing[0]), Type: worst.String(), Text: Clean(strings.Join(failing, "\n"))}
			s.Failures++
		case len(suppressed[id]) > 0 && len(kept[id]) == 0:
			c.Skipped = &JUnitMessage{Message: Clean(suppressed[id][0]), Text: Clean(strings.Join(suppressed[id], "\n"))}
			s.Skipped++
		}
		s.Cases = append(s.Cases, c)
	}
	s.Tests = len(s.Cases)
	for i := range out {
		out[i] = Clean(out[i])
	}
	s.SystemOut = strings.Join(out, "\n")
	return s
}

// ruleIDs lists the catalog's rules, then the rules in fired that the catalog lacks (a newer
// rule set's), sorted.
func ruleIDs(fired map[string]bool) []string {
	ids := make([]string, 0, len(rules.Catalog))
	known := map[string]bool{}
	for _, rule := range rules.Catalog {
		ids = append(ids, rule.ID)
		known[rule.ID] = true
	}
	var extra []string
	for id := range fired {
		if !known[id] {
			extra = append(extra, id)
		}
	}
	sort.Strings(extra)
	return append(ids, extra...)
}

func junitWhere(p string) string {
	if p == "" {
		return "(installer)"
	}
	return p
}

// WriteJUnit writes reports as JUnit XML with default options.
func WriteJUnit(w io.Writer, reports ...*Report) error {
	return WriteJUnitWith(w, Options{}, reports...)
}

// WriteJUnitWith writes reports as JUnit XML, one testsuite each.
func WriteJUnitWith(w io.Writer, opt Options, reports ...*Report) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(JUnitWith(opt, reports...)); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
