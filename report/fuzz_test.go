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
// the text encoders: none may fail or panic, the annotations stay one command per line, the
// Markdown tables keep their columns, and the SARIF and JUnit outputs parse back. The SARIF
// schema and CycloneDX checks, which cost milliseconds an input, are FuzzSchemaEncoders.
func FuzzEncoders(f *testing.F) {
	addEncoderSeeds(f)
	f.Fuzz(func(t *testing.T, p, msg, reason string) {
		if len(p)+len(msg)+len(reason) > 4<<10 {
			return
		}
		r, opt := fuzzReport(p, msg, reason)

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

		var sarif, junit bytes.Buffer
		if err := WriteSARIF(&sarif, r, opt); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(sarif.Bytes()) {
			t.Fatal("SARIF is not valid JSON")
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

// FuzzSchemaEncoders is the slow half of FuzzEncoders (a few hundred executions a second at
// best: the SARIF 2.1.0 schema validation and CycloneDX's gob-based BOM copy dominate): any
// installer path gives a schema-valid SARIF log and CycloneDX JSON that parses.
func FuzzSchemaEncoders(f *testing.F) {
	addEncoderSeeds(f)
	schema := sarifSchema(f)
	f.Fuzz(func(t *testing.T, p, msg, reason string) {
		if len(p)+len(msg)+len(reason) > 4<<10 {
			return
		}
		r, opt := fuzzReport(p, msg, reason)
		var sarif, cdx bytes.Buffer
		if err := WriteSARIF(&sarif, r, opt); err != nil {
			t.Fatal(err)
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
	})
}

// addEncoderSeeds adds the hand-made hostile strings both encoder fuzzers start from; the
// committed corpus under testdata/fuzz holds the same.
func addEncoderSeeds(f *testing.F) {
	f.Add(hostile, "msg", "reason")
	f.Add("evil.dll\n::set-output name=x::y", "a\r\nb", "c|d`e")
	f.Add("a%0Ab", "%25", "<![CDATA[x]]>")
	f.Add("\x00\xff\u202e", "\u2028", "\x1b]8;;http://x.invalid\x07")
}

// fuzzReport is sampleReport carrying the three fuzzed strings where vendor data lands: the
// installer path, a finding's path and message, a suppressed finding's path and allow reason,
// and the error.
func fuzzReport(p, msg, reason string) (*Report, Options) {
	r, opt := sampleReport()
	r.Installer.Path = p
	r.Findings = append(r.Findings, rules.Finding{Rule: rules.FileAdded, Severity: rules.High, Path: p, Message: msg})
	r.Suppressed[0].Finding.Path = p
	r.Suppressed[0].Allow.Reason = reason
	r.Error = msg
	return r, opt
}
