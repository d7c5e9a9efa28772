package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/policy"
	"github.com/rollgate/rollgate/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// hostile is a vendor-controlled file name that tries to break out of every format: a
// workflow command on a new line, a Markdown table cell and code span, HTML, and an XML tag.
const hostile = "ProgramFiles64Folder/Acme/evil|`x`<b>.dll\n::set-output name=x::y\r%0A::error::z"

const (
	shaInstaller = "c8882ea463acc5c001ed74654e3b954ad1b3c425049667f5eeb74ca4090d3c25"
	shaD3D       = "82eb3e5c263c9a98229bac2b97912e11532a4b8960d5084e4639ee863136e041"
	shaD3DOld    = "77cecee4a961912395883703c7d40bacaf9ddf68be6f2059f6037c8a804a46c0"
	shaFFmpeg    = "1111111111111111111111111111111111111111111111111111111111111111"
	shaEvil      = "2222222222222222222222222222222222222222222222222222222222222222"
	shaVersion   = "3333333333333333333333333333333333333333333333333333333333333333"
)

// sampleReport is a failed verify of a 3CX-like update with a hostile file name and a
// suppressed finding, and the candidate inventory the encoders may consult.
func sampleReport() (*Report, Options) {
	const dir = "ProgramFiles64Folder/Acme Softphone/"
	vendor := &inventory.Signature{State: inventory.SigSigned, Signer: "CN=Acme Corp, O=Acme Corp", Issuer: "CN=Acme Test CA", Trusted: true}
	inv := &inventory.Inventory{
		Schema: inventory.Schema, Format: "msi",
		Product: inventory.Product{Identity: "msi-upgrade:{6D0C1B0A-3C10-4E4B-9A77-3CC0DE000001}", Name: "Acme Softphone", Version: "1.1.0", Manufacturer: "Acme Corp"},
		Entries: []inventory.Entry{
			{Path: inventory.InstallerPath, Size: 90112, SHA256: shaInstaller, Kind: inventory.KindArchive, Container: "msi", Signature: vendor},
			{Path: dir + "d3dcompiler_47.dll", Size: 20480, SHA256: shaD3D, Kind: inventory.KindPE, Version: "10.0.19041.1",
				Signature: &inventory.Signature{State: inventory.SigSigned, Signer: "CN=Microsoft Corporation", Issuer: "CN=Acme Test CA", Trusted: true,
					Anomalies: []inventory.Anomaly{{Kind: inventory.AnomalyPaddingAfterPKCS7, Offset: 19185, Length: 263}}}},
			{Path: dir + "ffmpeg.dll", Size: 4096, SHA256: shaFFmpeg, Kind: inventory.KindPE, Version: "4.4.0.0", Signature: &inventory.Signature{State: inventory.SigUnsigned}},
			{Path: dir + "readme.txt", Size: 12, SHA256: strings.Repeat("4", 64), Kind: inventory.KindData},
			{Path: dir + "version.dll", Size: 2048, SHA256: shaVersion, Kind: inventory.KindPE, Signature: &inventory.Signature{State: inventory.SigUnsigned}},
			{Path: hostile, Size: 1, SHA256: shaEvil, Kind: inventory.KindPE},
		},
	}
	inv.Sort()
	r := New("dist/acme 1.1.msi", rules.High)
	r.SetInventory(inv)
	r.Baseline = &Baseline{Product: "Acme Softphone", Version: "1.0.0", File: "baselines/acme.json"}
	r.Findings = []rules.Finding{
		{Rule: rules.SigPadding, Severity: rules.Critical, Path: dir + "d3dcompiler_47.dll",
			Message:  "263 byte(s) hidden in or after the signature (the CVE-2013-3900 pattern); the digest does not cover them",
			Evidence: map[string]any{"anomalies": []any{map[string]any{"kind": "padding-after-pkcs7", "offset": 19185, "length": 263}}}},
		{Rule: rules.ContentChangedSameVer, Severity: rules.High, Path: dir + "ffmpeg.dll", Message: "content changed but the version is still 4.4.0.0",
			Evidence: map[string]any{"sha256": shaFFmpeg, "baseline_sha256": strings.Repeat("5", 64), "version": "4.4.0.0"}},
		{Rule: rules.StringsEndpointAdded, Severity: rules.Medium, Path: dir + "ffmpeg.dll", Message: "embeds 1 endpoint(s) no file of the baseline contained: https://cdn.mallory.invalid/*.ico",
			Evidence: map[string]any{"endpoints": []any{"https://cdn.mallory.invalid/*.ico"}}},
		{Rule: rules.FileAddedUnsignedCode, Severity: rules.Medium, Path: hostile, Message: "new code file without a signature: " + hostile},
		{Rule: rules.PEImportAdded, Severity: rules.Low, Path: dir + "ffmpeg.dll", Message: "imports ws2_32.dll, which the baseline's version did not"},
		{Rule: rules.FileAdded, Severity: rules.Info, Path: hostile, Message: "file is new", Evidence: map[string]any{"sha256": shaEvil}},
		{Rule: rules.FileChanged, Severity: rules.Info, Path: dir + "d3dcompiler_47.dll", Message: "content changed",
			Evidence: map[string]any{"sha256": shaD3D, "baseline_sha256": shaD3DOld}},
	}
	r.Suppressed = []policy.Suppressed{{
		Finding: rules.Finding{Rule: rules.SideloadSystemName, Severity: rules.High, Path: dir + "version.dll",
			Message: "ships version.dll, the name of a Windows system DLL, in an application folder", Evidence: map[string]any{"sha256": shaVersion}},
		Allow: policy.Allow{Rule: rules.SideloadSystemName, Path: dir + "version.dll", Reason: "vendor's shim | reviewed <2026>", Expires: "2027-01-31", Ticket: "SEC-42"},
	}}
	r.Warnings = []string{"allow entry for file.changed (**/core.dll) expired on 2026-01-01; its findings count again"}
	r.Decide()
	return r, Options{Version: "v0.0.0-test", Inventory: inv}
}

func inconclusiveReport() *Report {
	r := New("dist/garbage\n::warning::x.msi", rules.High)
	r.Fail(errorString("msi: stream \"!_StringPool\": sector chain loops at 0x3e00"))
	r.Decide()
	return r
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestGolden(t *testing.T) {
	r, opt := sampleReport()
	inc := inconclusiveReport()
	inspect, iopt := sampleReport()
	inspect.Inventory = iopt.Inventory
	iopt.Inventory = nil
	tests := []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"verify.sarif", func(b *bytes.Buffer) error { return WriteSARIF(b, r, opt) }},
		{"inconclusive.sarif", func(b *bytes.Buffer) error { return WriteSARIF(b, inc, Options{Version: "v0.0.0-test"}) }},
		{"verify.junit.xml", func(b *bytes.Buffer) error { return WriteJUnit(b, r) }},
		{"inconclusive.junit.xml", func(b *bytes.Buffer) error { return WriteJUnit(b, inc) }},
		{"verify.md", func(b *bytes.Buffer) error { return WriteMarkdown(b, r) }},
		{"inconclusive.md", func(b *bytes.Buffer) error { return WriteMarkdown(b, inc) }},
		{"inspect.cdx.json", func(b *bytes.Buffer) error { return WriteCycloneDX(b, inspect, iopt) }},
		{"verify.annotations.txt", func(b *bytes.Buffer) error { return WriteAnnotations(b, r, 2) }},
		{"inconclusive.annotations.txt", func(b *bytes.Buffer) error { return WriteAnnotations(b, inc, 0) }},
		{"verify.html", func(b *bytes.Buffer) error { rv, ropt := reviewReport(); return WriteHTML(b, rv, ropt) }},
		{"inconclusive.html", func(b *bytes.Buffer) error { return WriteHTML(b, inc, Options{Version: "v0.0.0-test"}) }},
		{"batch.html", encodeBatch(FormatHTML, r, opt, inc)},
		{"batch.json", encodeBatch(FormatJSON, r, opt, inc)},
		{"batch.txt", encodeBatch(FormatTable, r, opt, inc)},
		{"batch.md", encodeBatch(FormatMarkdown, r, opt, inc)},
		{"batch.sarif", encodeBatch(FormatSARIF, r, opt, inc)},
		{"batch.junit.xml", encodeBatch(FormatJUnit, r, opt, inc)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var first, second bytes.Buffer
			if err := tt.write(&first); err != nil {
				t.Fatalf("encoding %s: %v", tt.file, err)
			}
			if err := tt.write(&second); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first.Bytes(), second.Bytes()) {
				t.Fatalf("%s: two encodings of one report differ", tt.file)
			}
			golden(t, tt.file, first.Bytes())
		})
	}
}

// encodeBatch encodes a batch of r (with opt's inventory as its own) and more.
func encodeBatch(format string, r *Report, opt Options, more ...*Report) func(*bytes.Buffer) error {
	return func(b *bytes.Buffer) error {
		one := *r
		one.CandidateInventory = opt.Inventory
		enc, err := NewEncoder(format, Options{Version: opt.Version})
		if err != nil {
			return err
		}
		return enc.Encode(b, append([]*Report{&one}, more...)...)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs from the golden file (go test ./report -update rewrites it); (-want +got)\n%s", name, d)
	}
}

// TestAnnotationInjection: a hostile file name must not end the workflow command or start
// another one, in any property or in the message.
func TestAnnotationInjection(t *testing.T) {
	names := []string{
		hostile,
		"evil.dll\n::set-output name=x::y",
		"evil.dll\r\n::add-mask::secret",
		"evil.dll%0A::stop-commands::tok",
		"a,title=spoofed:b.dll",
		"\x1b[2Kevil.dll\u2028::error::x",
	}
	for _, name := range names {
		r := New(name, rules.High)
		r.Findings = []rules.Finding{{Rule: rules.FileAddedUnsignedCode, Severity: rules.High, Path: name, Message: "msg " + name}}
		var b bytes.Buffer
		if err := WriteAnnotations(&b, r, 0); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "::error file=") || strings.ContainsAny(out[:len(out)-1], "\r\n\x1b\u2028") {
			t.Errorf("WriteAnnotations(%q) = %q, want one ::error line", name, out)
			continue
		}
		// Properties may not hold a raw ':' or ',' beyond the separators the encoder wrote.
		cmd, msg, ok := strings.Cut(strings.TrimPrefix(lines[0], "::error "), "::")
		if !ok || strings.Contains(msg, "::") && strings.Contains(msg, "\n") {
			t.Errorf("WriteAnnotations(%q): message not separated: %q", name, lines[0])
		}
		if got := strings.Count(cmd, ","); got != 1 {
			t.Errorf("WriteAnnotations(%q): properties %q have %d commas, want 1", name, cmd, got)
		}
		if strings.Contains(cmd, "%0A::") && !strings.Contains(cmd, "%250A") {
			t.Errorf("WriteAnnotations(%q): a literal %%0A survived unescaped: %q", name, cmd)
		}
	}
}

func TestAnnotationLimit(t *testing.T) {
	r := New("a.msi", rules.Info)
	for i := 0; i < 25; i++ {
		r.Findings = append(r.Findings, rules.Finding{Rule: rules.SigPadding, Severity: rules.Critical, Path: "f", Message: "m"},
			rules.Finding{Rule: rules.FileAdded, Severity: rules.Info, Path: "g", Message: "m"})
	}
	var b bytes.Buffer
	if err := WriteAnnotations(&b, r, 10); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if got := strings.Count(out, "::error "); got != 10 {
		t.Errorf("errors = %d, want 10", got)
	}
	if got := strings.Count(out, "::notice "); got != 11 {
		t.Errorf("notices = %d, want 10 and one summary", got)
	}
	if !strings.Contains(out, "30 more finding(s)") {
		t.Errorf("no summary line for the 30 left out:\n%s", out)
	}
}

func TestMarkdownEscaping(t *testing.T) {
	tests := []struct{ in, text, code string }{
		{"a|b", `a\|b`, "`a\\|b`"},
		{"x`y", "x\\`y", "``x`y``"},
		{"`y`", "\\`y\\`", "`` `y` ``"},
		{"<img src=x>", "&lt;img src=x\\>", "`<img src=x>`"},
		{"line\nbreak", `line\\x0abreak`, "`line\\x0abreak`"},
		{"**bold** [l](u)", `\*\*bold\*\* \[l\](u)`, "`**bold** [l](u)`"},
	}
	for _, tt := range tests {
		if got := MarkdownText(tt.in); got != tt.text {
			t.Errorf("MarkdownText(%q) = %q, want %q", tt.in, got, tt.text)
		}
		if got := MarkdownCode(tt.in); got != tt.code {
			t.Errorf("MarkdownCode(%q) = %q, want %q", tt.in, got, tt.code)
		}
	}
	r, _ := sampleReport()
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "|") {
			if n := strings.Count(line, "|") - strings.Count(line, `\|`); n != 4 && n != 5 && n != 7 {
				t.Errorf("table row with %d cell separators: %q", n, line)
			}
		}
		if strings.HasPrefix(line, "::") {
			t.Errorf("hostile name escaped the Markdown: %q", line)
		}
	}
	if !strings.Contains(b.String(), "signature: ProgramFiles64Folder/Acme/evil\\|\\`x\\`&lt;b\\>.dll") {
		t.Errorf("message text not escaped:\n%s", b.String())
	}
}

func TestCapSummary(t *testing.T) {
	md := bytes.Repeat([]byte("0123456789abcdef\n"), 100) // 1700 bytes
	if got := CapSummary(md, 4096); !bytes.Equal(got, md) {
		t.Error("CapSummary changed input under the limit")
	}
	got := CapSummary(md, 1000)
	if len(got) > 1000 || !bytes.HasSuffix(got, []byte(truncationNote)) {
		t.Errorf("CapSummary(1700 bytes, 1000) = %d bytes, want <= 1000 ending in the note", len(got))
	}
	if body := got[:len(got)-len(truncationNote)]; len(body) > 0 && body[len(body)-1] != '\n' {
		t.Error("CapSummary cut inside a line")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "summary.md")
	if err := os.WriteFile(p, []byte("before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x\n"), MaxStepSummary)
	if err := AppendStepSummary(p, big); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	if !bytes.HasPrefix(data, []byte("before\n")) || len(data)-len("before\n") > MaxStepSummary {
		t.Errorf("step summary grew by %d bytes, want at most %d after the old content", len(data)-7, MaxStepSummary)
	}
}

// BenchmarkEncoders encodes a report of 10,000 findings in every CI format.
func BenchmarkEncoders(b *testing.B) {
	r, opt := sampleReport()
	for i := 0; i < 10000; i++ {
		r.Findings = append(r.Findings, rules.Finding{Rule: rules.FileAdded, Severity: rules.Info,
			Path: fmt.Sprintf("ProgramFiles64Folder/Acme/f%05d.dll", i), Message: "file is new"})
	}
	for _, enc := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"sarif", func(w io.Writer) error { return WriteSARIF(w, r, opt) }},
		{"junit", func(w io.Writer) error { return WriteJUnit(w, r) }},
		{"markdown", func(w io.Writer) error { return WriteMarkdown(w, r) }},
		{"annotations", func(w io.Writer) error { return WriteAnnotations(w, r, 0) }},
	} {
		b.Run(enc.name, func(b *testing.B) {
			var n int64
			for b.Loop() {
				cw := &countWriter{}
				if err := enc.write(cw); err != nil {
					b.Fatal(err)
				}
				n = cw.n
			}
			b.ReportMetric(float64(n), "bytes/report")
		})
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func TestSARIFResultCap(t *testing.T) {
	r := New("a.msi", rules.High)
	r.Findings = append(r.Findings, rules.Finding{Rule: rules.SigPadding, Severity: rules.Critical, Path: "x.dll", Message: "m"})
	for i := 0; i < MaxSARIFResults+5; i++ {
		r.Findings = append(r.Findings, rules.Finding{Rule: rules.FileAdded, Severity: rules.Info, Path: fmt.Sprintf("f%d", i), Message: "m"})
	}
	var b bytes.Buffer
	if err := WriteSARIF(&b, r, Options{}); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if len(run.Results) != MaxSARIFResults || run.Results[0].RuleID != rules.SigPadding || run.Properties["rollgate/results-omitted"] != float64(6) {
		t.Errorf("results = %d (first %s), omitted %v; want %d, sig.padding kept, 6 omitted",
			len(run.Results), run.Results[0].RuleID, run.Properties["rollgate/results-omitted"], MaxSARIFResults)
	}
}
