package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/rollgate/rollgate/rules"
)

// FuzzEncoders feeds vendor-controlled strings (a file name, a message, an allow reason) to
// every encoder: none may fail or panic, the annotations stay one command per line, the
// Markdown tables keep their columns, and the JSON and XML outputs parse back.
func FuzzEncoders(f *testing.F) {
	f.Add(hostile, "msg", "reason")
	f.Add("evil.dll\n::set-output name=x::y", "a\r\nb", "c|d`e")
	f.Add("a%0Ab", "%25", "<![CDATA[x]]>")
	f.Add("\x00\xff\u202e", "\u2028", "\x1b]8;;http://x.invalid\x07")
	schema := sarifSchema(f)
	f.Fuzz(func(t *testing.T, p, msg, reason string) {
		r, opt := sampleReport()
		r.Installer.Path = p
		r.Findings = append(r.Findings, rules.Finding{Rule: rules.FileAdded, Severity: rules.High, Path: p, Message: msg})
		r.Suppressed[0].Finding.Path = p
		r.Suppressed[0].Allow.Reason = reason
		r.Error = msg

		var ann bytes.Buffer
		if err := WriteAnnotations(&ann, r, 100); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(ann.String(), "\n"), "\n")
		if len(lines) != len(r.Findings) {
			t.Fatalf("annotations: %d lines for %d findings:\n%s", len(lines), len(r.Findings), ann.String())
		}
		for _, l := range lines {
			if !strings.HasPrefix(l, "::error ") && !strings.HasPrefix(l, "::warning ") && !strings.HasPrefix(l, "::notice ") {
				t.Fatalf("annotation line %q", l)
			}
		}

		var md bytes.Buffer
		if err := WriteMarkdown(&md, r); err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(md.String(), "\n") {
			if strings.HasPrefix(l, "|") {
				if n := strings.Count(l, "|") - strings.Count(l, `\|`); n != 4 && n != 5 && n != 7 {
					t.Fatalf("markdown row with %d separators: %q", n, l)
				}
			}
		}

		var sarif, cdx, junit bytes.Buffer
		if err := WriteSARIF(&sarif, r, opt); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(sarif.Bytes()) {
			t.Fatal("SARIF is not valid JSON")
		}
		// Any installer path gives a schema-valid log (URIs are URI references).
		if err := validateJSON(t, schema, sarif.Bytes()); err != nil {
			t.Fatalf("SARIF for installer %q: %v", p, err)
		}
		if err := WriteCycloneDX(&cdx, r, opt); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(cdx.Bytes()) {
			t.Fatal("CycloneDX is not valid JSON")
		}
		if err := WriteJUnit(&junit, r); err != nil {
			t.Fatal(err)
		}
		var doc JUnitSuites
		if err := xml.Unmarshal(junit.Bytes(), &doc); err != nil {
			t.Fatalf("JUnit does not parse: %v\n%s", err, junit.Bytes())
		}
	})
}
