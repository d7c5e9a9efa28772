package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/policy"
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
	for _, s := range encoderSeeds {
		f.Add(s[0], s[1], s[2])
	}
}

// encoderSeeds are the encoder fuzzers' (path, message, reason) seeds.
var encoderSeeds = [][3]string{
	{hostile, "msg", "reason"},
	{"evil.dll\n::set-output name=x::y", "a\r\nb", "c|d`e"},
	{"a%0Ab", "%25", "<![CDATA[x]]>"},
	{"\x00\xff\u202e", "\u2028", "\x1b]8;;http://x.invalid\x07"},
}

// fuzzReport is a one-entry cut of sampleReport carrying the three fuzzed strings where
// vendor data lands: the installer path, an inventory entry, a finding's path and message, a
// suppressed finding's path and allow reason, a warning and the error. The rest of
// sampleReport is constant text the golden tests cover; leaving it out keeps each execution
// cheap.
func fuzzReport(p, msg, reason string) (*Report, Options) {
	inv := &inventory.Inventory{
		Schema: inventory.Schema, Format: "msi",
		Product: inventory.Product{Identity: "msi-upgrade:{6D0C1B0A-3C10-4E4B-9A77-3CC0DE000001}", Name: "Acme Softphone", Version: "1.1.0"},
		Entries: []inventory.Entry{{Path: p, Size: 1, SHA256: shaEvil, Kind: inventory.KindPE,
			Signature: &inventory.Signature{State: inventory.SigSigned, Signer: msg, Issuer: reason}}},
	}
	r := New(p, rules.High)
	r.SetInventory(inv)
	r.Baseline = &Baseline{Product: "Acme Softphone", Version: "1.0.0", File: "baselines/acme.json"}
	r.Findings = []rules.Finding{
		{Rule: rules.SigPadding, Severity: rules.Critical, Path: p, Message: msg,
			Evidence: map[string]any{"anomalies": []any{map[string]any{"kind": "padding-after-pkcs7", "offset": 19185, "length": 263}}}},
		{Rule: rules.FileAdded, Severity: rules.Info, Path: p, Message: "file is new", Evidence: map[string]any{"sha256": shaEvil}},
	}
	r.Suppressed = []policy.Suppressed{{
		Finding: rules.Finding{Rule: rules.SideloadSystemName, Severity: rules.High, Path: p, Message: msg},
		Allow:   policy.Allow{Rule: rules.SideloadSystemName, Path: p, Reason: reason, Expires: "2027-01-31", Ticket: "SEC-42"},
	}}
	r.Warnings = []string{reason}
	r.Decide()
	r.Findings = append(r.Findings, rules.Finding{Rule: rules.FileAdded, Severity: rules.High, Path: p, Message: msg})
	r.Error = msg
	return r, Options{Version: "v0.0.0-test", Inventory: inv}
}
