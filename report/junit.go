package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/rollgate/rollgate/rules"
)

// JUnit XML as GitLab, Jenkins and most CI test viewers read it: a testsuite per installer,
// a testcase per catalog rule and file group (classname = rule id, name = the path, or
// "all files" when the rule found nothing). A finding at or above the gate is a <failure>,
// one the policy allowed is <skipped>, and an installer that could not be judged is one
// <error> case, because the rules never ran.

// AllFiles names the testcase of a rule that found nothing.
const AllFiles = "all files"

// JUnitSuites is the document root.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one installer.
type JUnitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties []JUnitProperty `xml:"properties>property"`
	Cases      []JUnitCase     `xml:"testcase"`
}

// JUnitProperty is a name/value pair of a suite.
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitCase is one rule over one file group.
type JUnitCase struct {
	Classname string         `xml:"classname,attr"`
	Name      string         `xml:"name,attr"`
	Skipped   *JUnitMessage  `xml:"skipped"`
	Error     *JUnitMessage  `xml:"error"`
	Failure   *JUnitMessage  `xml:"failure"`
	SystemOut *JUnitCharData `xml:"system-out"`
}

// JUnitMessage is a failure, error or skip.
type JUnitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// JUnitCharData is a text element.
type JUnitCharData struct {
	Text string `xml:",chardata"`
}

// JUnit builds the JUnit document for one or more reports.
func JUnit(reports ...*Report) *JUnitSuites {
	doc := &JUnitSuites{Name: "rollgate"}
	for _, r := range reports {
		s := junitSuite(r)
		doc.Suites = append(doc.Suites, s)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
	}
	return doc
}

func junitSuite(r *Report) JUnitSuite {
	s := JUnitSuite{Name: Clean(r.Installer.Path)}
	prop := func(name, value string) {
		if value != "" {
			s.Properties = append(s.Properties, JUnitProperty{Name: name, Value: Clean(value)})
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
		s.Cases = []JUnitCase{{Classname: "rollgate", Name: "inconclusive",
			Error: &JUnitMessage{Message: Clean(r.Error), Type: "inconclusive", Text: Clean(r.Error)}}}
		s.Tests, s.Errors = 1, 1
		return s
	}

	type group struct {
		kept       []rules.Finding
		suppressed []string // "reason" lines
	}
	byRule := map[string]map[string]*group{}
	get := func(rule, p string) *group {
		m := byRule[rule]
		if m == nil {
			m = map[string]*group{}
			byRule[rule] = m
		}
		g := m[p]
		if g == nil {
			g = &group{}
			m[p] = g
		}
		return g
	}
	for _, f := range r.Findings {
		g := get(f.Rule, f.Path)
		g.kept = append(g.kept, f)
	}
	for _, sup := range r.Suppressed {
		g := get(sup.Finding.Rule, sup.Finding.Path)
		g.suppressed = append(g.suppressed, fmt.Sprintf("%s (%s): allowed by policy: %s", sup.Finding.Message, sup.Finding.Severity, sup.Allow.Reason))
	}
	ids := make([]string, 0, len(rules.Catalog))
	known := map[string]bool{}
	for _, rule := range rules.Catalog {
		ids = append(ids, rule.ID)
		known[rule.ID] = true
	}
	var extra []string // rules a newer rule set emitted that the catalog lacks
	for id := range byRule {
		if !known[id] {
			extra = append(extra, id)
		}
	}
	sort.Strings(extra)
	ids = append(ids, extra...)

	for _, id := range ids {
		groups := byRule[id]
		if len(groups) == 0 {
			s.Cases = append(s.Cases, JUnitCase{Classname: id, Name: AllFiles})
			continue
		}
		paths := make([]string, 0, len(groups))
		for p := range groups {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			g := groups[p]
			c := JUnitCase{Classname: id, Name: Clean(p)}
			var failing, below []string
			worst := rules.Info
			for _, f := range g.kept {
				line := fmt.Sprintf("%s: %s", f.Severity, Clean(f.Message))
				if f.Severity >= r.FailOn {
					failing = append(failing, line)
					worst = max(worst, f.Severity)
				} else {
					below = append(below, line)
				}
			}
			switch {
			case len(failing) > 0:
				c.Failure = &JUnitMessage{Message: failing[0], Type: worst.String(), Text: strings.Join(failing, "\n")}
				s.Failures++
			case len(g.suppressed) > 0 && len(below) == 0:
				c.Skipped = &JUnitMessage{Message: Clean(g.suppressed[0])}
				s.Skipped++
			}
			var out []string
			out = append(out, below...)
			if c.Skipped == nil {
				for _, sup := range g.suppressed {
					out = append(out, Clean(sup))
				}
			}
			if len(out) > 0 {
				c.SystemOut = &JUnitCharData{Text: strings.Join(out, "\n")}
			}
			s.Cases = append(s.Cases, c)
		}
	}
	s.Tests = len(s.Cases)
	return s
}

// WriteJUnit writes r as JUnit XML.
func WriteJUnit(w io.Writer, reports ...*Report) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(JUnit(reports...)); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
