package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/rules"
)

// Vendor-controlled strings that try to run script, load something or link out.
const (
	hostileProduct = `Acme <script>alert("product")</script> "Phone" 'x'`
	hostileFile    = `ProgramFiles64Folder/Acme/"><img src=x onerror=alert(1)>.dll`
	hostileSigner  = `CN=<script>alert('signer')</script>, O="javascript:alert(1)"`
	hostileHost    = `javascript:alert(1)//<a href="https://evil.invalid/">x</a>.invalid`
	hostileSNI     = `"><iframe src="//evil.invalid/"></iframe>`
)

// reviewReport is sampleReport with markup in its product, file, signer and host names, a
// baseline inventory, and a sandbox run with a baseline run to compare against.
func reviewReport() (*Report, Options) {
	r, opt := sampleReport()
	const dir = "ProgramFiles64Folder/Acme Softphone/"
	cand := opt.Inventory
	cand.Product.Name = hostileProduct
	r.Installer.Product = hostileProduct
	cand.Entries = append(cand.Entries, inventory.Entry{Path: hostileFile, Size: 3000, SHA256: strings.Repeat("6", 64), Kind: inventory.KindPE, Version: "1.0",
		Signature: &inventory.Signature{State: inventory.SigSigned, Signer: hostileSigner, Issuer: hostileSigner, Timestamp: "2026-11-30T10:00:00Z",
			TrustError: "x509: certificate signed by unknown authority <b>", Anomalies: []inventory.Anomaly{{Kind: inventory.AnomalyDataAfterTable, Offset: 2900, Length: 100, Detail: "<script>alert(2)</script>"}}}})
	cand.Sort()
	r.CandidateInventory = cand

	base := &inventory.Inventory{Schema: inventory.Schema, Format: "msi", Product: cand.Product}
	for _, e := range cand.Entries {
		switch e.Path {
		case hostile, hostileFile:
			continue // added in the candidate
		case dir + "ffmpeg.dll":
			e.SHA256 = strings.Repeat("5", 64)
		case dir + "d3dcompiler_47.dll":
			e.SHA256 = shaD3DOld
			e.Size = 19185
			sig := *e.Signature
			sig.Anomalies = nil
			e.Signature = &sig
		}
		base.Entries = append(base.Entries, e)
	}
	base.Entries = append(base.Entries, inventory.Entry{Path: dir + "old.dll", Size: 77, SHA256: strings.Repeat("7", 64), Kind: inventory.KindPE, Version: "0.9"})
	base.Sort()
	r.BaselineInventory = base

	r.SetSandbox(&inventory.Behaviour{Ran: true,
		Network: []inventory.NetEvent{
			{MS: 10, Proto: "dns", Name: "updates.acme.test", QType: "A"},
			{MS: 20, Proto: "dns", Name: hostileHost, QType: "A"},
			{MS: 30, Proto: "tcp", Name: hostileHost, Addr: "203.0.113.7", Port: 443, SNI: hostileSNI},
		},
		DLLLoads:   []inventory.DLLLoad{{Process: "acme.exe", Path: `C:\Program Files\Acme\ffmpeg.dll`, Type: "native"}, {Process: "acme.exe", Path: `C:\users\wine\AppData\Local\Temp\<x>.dll`, Type: "native"}},
		Processes:  []inventory.Process{{Image: `C:\Program Files\Acme\acme.exe`}, {Image: `C:\windows\system32\cmd.exe`, Command: `cmd /c "<script>alert(3)</script>"`}},
		FileWrites: []inventory.FileWrite{{Path: `C:\users\wine\AppData\Roaming\Acme\"onmouseover="alert(4).dat`, Kind: "added"}},
	})
	r.BaselineBehaviour = &inventory.Behaviour{Ran: true,
		Network:   []inventory.NetEvent{{Proto: "dns", Name: "updates.acme.test", QType: "A"}},
		DLLLoads:  []inventory.DLLLoad{{Process: "acme.exe", Path: `C:\Program Files\Acme\ffmpeg.dll`, Type: "native"}},
		Processes: []inventory.Process{{Image: `C:\Program Files\Acme\acme.exe`}},
	}
	r.Findings = append(r.Findings,
		rules.Finding{Rule: rules.SandboxNetwork, Severity: rules.High, Path: "sandbox:network/dns:" + strings.ToLower(hostileHost),
			Message: "DNS A query for " + hostileHost + " that the baseline run never made", Evidence: map[string]any{"name": hostileHost, "sni": hostileSNI}},
		rules.Finding{Rule: rules.SigSignerChanged, Severity: rules.High, Path: hostileFile, Message: "signed by " + hostileSigner,
			Evidence: map[string]any{"signer": hostileSigner, "url": "javascript:alert(1)", "names": []any{"<b>bold</b>"}}},
	)
	r.Decide()
	opt.Inventory = cand
	return r, opt
}

func encodeHTML(t testing.TB, opt Options, reports ...*Report) []byte {
	t.Helper()
	enc, err := NewEncoder(FormatHTML, opt)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := enc.Encode(&b, reports...); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// allowedTags are the elements the template writes; any other element in the output came
// from a vendor string that escaped.
var allowedTags = map[string]bool{"html": true, "head": true, "meta": true, "title": true, "style": true, "body": true, "header": true,
	"main": true, "section": true, "article": true, "h1": true, "h2": true, "h3": true, "p": true, "span": true, "div": true,
	"table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true, "a": true, "dl": true, "dt": true, "dd": true,
	"code": true, "pre": true, "ol": true, "li": true, "details": true, "summary": true}

var offsetStyle = regexp.MustCompile(`^left:[0-9]+\.[0-9]{2}%;width:[0-9]+\.[0-9]{2}%$`)

// pageFacts walks an HTML page and collects what matters for safety: the elements, the
// attributes that load or link, and the text.
type pageFacts struct {
	problems []string
	text     strings.Builder
	csp      []string
	styles   int
}

func inspectPage(data []byte) *pageFacts {
	f := &pageFacts{}
	z := html.NewTokenizer(bytes.NewReader(data))
	inStyle := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return f
		case html.TextToken:
			if inStyle {
				if css := string(z.Text()); strings.Contains(css, "url(") || strings.Contains(css, "@import") {
					f.problems = append(f.problems, "style sheet loads something")
				}
				continue
			}
			f.text.Write(z.Text())
		case html.EndTagToken:
			inStyle = false
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if !allowedTags[tok.Data] {
				f.problems = append(f.problems, fmt.Sprintf("element <%s>", tok.Data))
			}
			if tok.Data == "style" {
				f.styles++
				inStyle = true
			}
			for _, a := range tok.Attr {
				key := strings.ToLower(a.Key)
				switch {
				case strings.HasPrefix(key, "on"):
					f.problems = append(f.problems, fmt.Sprintf("<%s %s=%q>", tok.Data, a.Key, a.Val))
				case key == "href":
					if !strings.HasPrefix(a.Val, "#") {
						f.problems = append(f.problems, fmt.Sprintf("<%s href=%q> links out", tok.Data, a.Val))
					}
				case key == "src" || key == "srcset" || key == "action" || key == "formaction" || key == "data" || key == "poster":
					f.problems = append(f.problems, fmt.Sprintf("<%s %s=%q>", tok.Data, a.Key, a.Val))
				case key == "style":
					if !offsetStyle.MatchString(a.Val) {
						f.problems = append(f.problems, fmt.Sprintf("<%s style=%q>", tok.Data, a.Val))
					}
				case key == "content" && tok.Data == "meta":
					f.csp = append(f.csp, a.Val)
				}
			}
		}
	}
}

// TestHTMLEscaping: markup in every vendor-controlled name reaches the page as text only —
// no element, attribute, link or load comes from it — and every finding is on the page.
func TestHTMLEscaping(t *testing.T) {
	r, opt := reviewReport()
	other, _ := sampleReport()
	for _, tt := range []struct {
		name    string
		reports []*Report
	}{{"single", []*Report{r}}, {"batch", []*Report{r, other}}} {
		t.Run(tt.name, func(t *testing.T) {
			page := encodeHTML(t, opt, tt.reports...)
			f := inspectPage(page)
			if len(f.problems) > 0 {
				t.Errorf("unsafe output:\n%s", strings.Join(f.problems, "\n"))
			}
			if f.styles != 1 {
				t.Errorf("%d <style> elements, want 1", f.styles)
			}
			if !hasString(f.csp, CSP) {
				t.Errorf("no Content-Security-Policy meta %q; meta contents %q", CSP, f.csp)
			}
			text := f.text.String()
			for _, s := range []string{hostileProduct, hostileFile, hostileSigner, hostileHost, hostileSNI, "<script>alert(2)</script>", `cmd /c "<script>alert(3)</script>"`, `["<b>bold</b>"]`} {
				if !strings.Contains(text, s) {
					t.Errorf("page text lacks %q", s)
				}
			}
			for _, rep := range tt.reports {
				for _, fd := range rep.Findings {
					if !strings.Contains(text, Clean(fd.Message)) {
						t.Errorf("page text lacks finding %s %q", fd.Rule, fd.Message)
					}
				}
			}
		})
	}
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// loads collects every value in a page that could make a browser fetch or navigate: the
// src, href and similar attributes of every element, and every url() in style sheets and
// style attributes.
func loads(page []byte) []string {
	var out []string
	z := html.NewTokenizer(bytes.NewReader(page))
	inStyle := false
	urls := func(css string) {
		out = append(out, cssURL.FindAllString(css, -1)...)
	}
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.TextToken:
			if inStyle {
				urls(string(z.Text()))
			}
		case html.EndTagToken:
			inStyle = false
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			inStyle = tok.Data == "style"
			for _, a := range tok.Attr {
				switch strings.ToLower(a.Key) {
				case "src", "href", "srcset", "action", "formaction", "poster", "data", "background", "xlink:href":
					out = append(out, a.Val)
				case "style":
					urls(a.Val)
				}
			}
		}
	}
}

var cssURL = regexp.MustCompile(`(?i)url\(\s*[^)]*\)|@import[^;]*`)

// TestHTMLSelfContained: no src, href or url() in the page names another origin or a
// scheme; the only links are the batch index's fragments.
func TestHTMLSelfContained(t *testing.T) {
	r, opt := reviewReport()
	other, _ := sampleReport()
	got := loads(encodeHTML(t, opt, r, other))
	want := []string{"#r1", "#r2"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("loading or linking values (-want +got)\n%s", d)
	}
	for _, v := range got {
		if l := strings.ToLower(v); strings.Contains(l, "http:") || strings.Contains(l, "https:") || strings.Contains(l, "//") {
			t.Errorf("page loads or links out: %q", v)
		}
	}
	// The detector itself finds what it must.
	probe := []byte(`<style>a{background:url(https://x.invalid/a.png)}</style><img src="//x.invalid/i"><a href="javascript:x">`)
	if d := cmp.Diff([]string{"url(https://x.invalid/a.png)", "//x.invalid/i", "javascript:x"}, loads(probe)); d != "" {
		t.Errorf("loads(probe) (-want +got)\n%s", d)
	}
}

// TestHTMLDiffAndSandbox checks the page's model: the diff's buckets and the new marks.
func TestHTMLDiffAndSandbox(t *testing.T) {
	r, opt := reviewReport()
	v := reportView(r, opt.forReport(r), 0)
	const dir = "ProgramFiles64Folder/Acme Softphone/"
	paths := func(rows []diffRow) []string {
		var out []string
		for _, row := range rows {
			out = append(out, row.Path)
		}
		return out
	}
	got := map[string][]string{"added": paths(v.Diff.Added), "removed": paths(v.Diff.Removed), "changed": paths(v.Diff.Changed), "unchanged": paths(v.Diff.Unchanged)}
	want := map[string][]string{
		"added":     {hostileFile, Clean(hostile)},
		"removed":   {dir + "old.dll"},
		"changed":   {dir + "d3dcompiler_47.dll", dir + "ffmpeg.dll"},
		"unchanged": {inventory.InstallerPath, dir + "readme.txt", dir + "version.dll"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("diff buckets (-want +got)\n%s", d)
	}
	marks := func(rows []eventRow) []string {
		var out []string
		for _, row := range rows {
			out = append(out, row.Mark)
		}
		return out
	}
	gotMarks := map[string][]string{"network": marks(v.Sandbox.Network), "dll": marks(v.Sandbox.DLLs), "process": marks(v.Sandbox.Processes), "write": marks(v.Sandbox.Writes)}
	wantMarks := map[string][]string{"network": {"baseline", "new", "new"}, "dll": {"baseline", "new"}, "process": {"baseline", "new"}, "write": {"new"}}
	if d := cmp.Diff(wantMarks, gotMarks); d != "" {
		t.Errorf("sandbox marks (-want +got)\n%s", d)
	}

	// Without a baseline run only what a finding names is new.
	r.BaselineBehaviour = nil
	v = reportView(r, opt.forReport(r), 0)
	if d := cmp.Diff([]string{"", "new", ""}, marks(v.Sandbox.Network)); d != "" {
		t.Errorf("marks without a baseline run (-want +got)\n%s", d)
	}
}

func TestHTMLOffsetMap(t *testing.T) {
	inv := &inventory.Inventory{Entries: []inventory.Entry{
		{Path: "a.dll", Size: 1000, Signature: &inventory.Signature{State: inventory.SigSigned, Anomalies: []inventory.Anomaly{{Kind: "k", Offset: 900, Length: 100}}}},
		{Path: "b.dll", Size: 1 << 30, Signature: &inventory.Signature{State: inventory.SigSigned, Anomalies: []inventory.Anomaly{{Kind: "k", Offset: 1 << 29, Length: 8}}}},
		{Path: "c.dll", Size: 100, Signature: &inventory.Signature{State: inventory.SigSigned, Anomalies: []inventory.Anomaly{{Kind: "k", Offset: 5000, Length: 8}}}},
		{Path: "d.dll", Size: 0, Signature: &inventory.Signature{State: inventory.SigSigned, Anomalies: []inventory.Anomaly{{Kind: "k", Offset: 1, Length: 1}}}},
		{Path: "e.dll", Size: 10, Signature: &inventory.Signature{State: inventory.SigUnsigned}},
	}}
	var got []string
	for _, s := range signatures(inv) {
		got = append(got, s.Path+" "+string(s.Anomalies[0].Style))
	}
	want := []string{
		"a.dll left:90.00%;width:10.00%",
		"b.dll left:50.00%;width:0.50%", // a few bytes stay visible
		"c.dll left:100.00%;width:0.50%",
		"d.dll ", // no size: listed, not drawn
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

// TestHTMLClockOffset: a network event's clock offset is shown when the event's JSON
// carries one (the field lands in inventory.NetEvent separately), and observation kinds the
// page has no table for are still listed.
func TestHTMLClockOffset(t *testing.T) {
	if got := clockOffset(inventory.NetEvent{Proto: "dns", Name: "a.test"}); got != "" {
		t.Errorf("clockOffset without the field = %q, want empty", got)
	}
	for _, tt := range []struct {
		m    map[string]any
		want string
	}{
		{map[string]any{"clock_offset": "+8d"}, "+8d"},
		{map[string]any{"clock_offset": 691200.0}, "691200"},
		{map[string]any{"clock_offset_days": 31.0}, "31"},
		{map[string]any{"clock_offset": 0.0}, ""},
		{map[string]any{"clock_offset": []any{"x"}}, ""},
	} {
		if got := clockOffsetFrom(tt.m); got != tt.want {
			t.Errorf("clockOffsetFrom(%v) = %q, want %q", tt.m, got, tt.want)
		}
	}
	other := otherFrom(map[string]json.RawMessage{
		"network":     json.RawMessage(`[{"proto":"dns"}]`),
		"persistence": json.RawMessage(`[{"key":"HKCU\\Run","value":"<b>x</b>"}]`),
		"empty":       json.RawMessage(`[]`),
		"scalar":      json.RawMessage(`3`),
	})
	want := []otherKind{{Name: "persistence", Rows: [][]kv{{{"key", `HKCU\Run`}, {"value", "<b>x</b>"}}}}}
	if d := cmp.Diff(want, other); d != "" {
		t.Errorf("otherFrom (-want +got)\n%s", d)
	}
}

// chromium returns the headless browser, or skips (fails under CI=true) without one.
func chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not installed (Debian package chromium); required when CI=true")
	}
	t.Skip("chromium not installed (Debian package chromium)")
	return ""
}

// runChromium runs headless Chromium on file with one extra flag and returns its stdout.
func runChromium(t testing.TB, bin, file string, flag string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), flag, "file://"+file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", flag, err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// TestHTMLChromium renders the hostile report in a real browser: the DOM Chromium builds
// holds every finding, no script element, and the hostile names as text; a screenshot is
// taken.
func TestHTMLChromium(t *testing.T) {
	bin := chromium(t)
	r, opt := reviewReport()
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, encodeHTML(t, opt, r), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := runChromium(t, bin, file, "--dump-dom")
	doc, err := html.Parse(bytes.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	var findings, scripts, iframes, imgs int
	var text strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script":
				scripts++
			case "iframe":
				iframes++
			case "img":
				imgs++
			case "li":
				for _, a := range n.Attr {
					if a.Key == "class" && a.Val == "finding" {
						findings++
					}
				}
			}
		}
		if n.Type == html.TextNode && (n.Parent == nil || n.Parent.Data != "style") {
			text.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if findings != len(r.Findings) || scripts+iframes+imgs != 0 {
		t.Errorf("DOM: %d findings (want %d), %d script, %d iframe, %d img elements (want 0)", findings, len(r.Findings), scripts, iframes, imgs)
	}
	for _, f := range r.Findings {
		if !strings.Contains(text.String(), Clean(f.Message)) {
			t.Errorf("DOM text lacks finding %s %q", f.Rule, f.Message)
		}
	}
	for _, s := range []string{hostileProduct, hostileSigner, hostileSNI} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("DOM text lacks %q", s)
		}
	}
	shot := filepath.Join(dir, "report.png")
	runChromium(t, bin, file, "--screenshot="+shot)
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot is not a PNG (%d bytes)", len(png))
	}
	if out := os.Getenv("ROLLGATE_HTML_SCREENSHOT"); out != "" {
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// bigReport is a report over a 10,000-file installer whose baseline differs in a tenth of
// the files, with one finding per changed file.
func bigReport(n int) (*Report, Options) {
	r, opt := sampleReport()
	cand := &inventory.Inventory{Schema: inventory.Schema, Format: "msi", Product: opt.Inventory.Product}
	base := &inventory.Inventory{Schema: inventory.Schema, Format: "msi", Product: opt.Inventory.Product}
	signer := &inventory.Signature{State: inventory.SigSigned, Signer: "CN=Acme Corp, O=Acme Corp", Issuer: "CN=Acme CA", Trusted: true, Timestamp: "2026-11-30T10:00:00Z"}
	for i := range n {
		e := inventory.Entry{Path: fmt.Sprintf("ProgramFiles64Folder/Acme/lib/m%05d.dll", i), Size: int64(4096 + i), SHA256: fmt.Sprintf("%064x", i),
			Kind: inventory.KindPE, Version: "1.0.0." + fmt.Sprint(i%7), Signature: signer}
		cand.Entries = append(cand.Entries, e)
		if i%10 == 0 {
			e.SHA256 = fmt.Sprintf("%064x", i+1<<40)
			r.Findings = append(r.Findings, rules.Finding{Rule: rules.ContentChangedSameVer, Severity: rules.High, Path: e.Path, Message: "content changed but the version is still " + e.Version})
		}
		base.Entries = append(base.Entries, e)
	}
	r.Decide()
	r.CandidateInventory, r.BaselineInventory = cand, base
	opt.Inventory = cand
	return r, opt
}

// TestWriteBigPage writes the 10,000-file page to $ROLLGATE_HTML_BIG for bench/html.sh;
// skipped otherwise.
func TestWriteBigPage(t *testing.T) {
	out := os.Getenv("ROLLGATE_HTML_BIG")
	if out == "" {
		t.Skip("ROLLGATE_HTML_BIG not set (bench/html.sh sets it)")
	}
	r, opt := bigReport(10000)
	if err := os.WriteFile(out, encodeHTML(t, opt, r), 0o644); err != nil {
		t.Fatal(err)
	}
	r, opt = reviewReport()
	if err := os.WriteFile(strings.TrimSuffix(out, ".html")+"-small.html", encodeHTML(t, opt, r), 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkHTML10k encodes the page for a 10,000-file installer.
func BenchmarkHTML10k(b *testing.B) {
	r, opt := bigReport(10000)
	var n int
	for b.Loop() {
		n = len(encodeHTML(b, opt, r))
	}
	b.ReportMetric(float64(n), "bytes/page")
}

// BenchmarkHTMLChromium10k measures Chromium loading and laying out the 10,000-file page
// (process start included; --dump-dom returns after the load event).
func BenchmarkHTMLChromium10k(b *testing.B) {
	bin := chromium(b)
	r, opt := bigReport(10000)
	file := filepath.Join(b.TempDir(), "big.html")
	page := encodeHTML(b, opt, r)
	if err := os.WriteFile(file, page, 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		runChromium(b, bin, file, "--dump-dom")
	}
	b.ReportMetric(float64(len(page)), "bytes/page")
}

// FuzzHTML puts fuzzed strings into every vendor-controlled place the page shows (file,
// product, signer, finding message and evidence, host, process): encoding never fails and
// the page never gains an element, attribute, link or load.
func FuzzHTML(f *testing.F) {
	f.Add(hostileFile, hostileProduct, hostileSigner, hostileHost)
	f.Add("a\x00b\u202e", "</style><script>", "]]><!--", "javascript:x")
	f.Add("</title><img src=x>", "{{.}}", `\" onload=x`, "//x.invalid")
	f.Fuzz(func(t *testing.T, file, product, signer, host string) {
		sig := &inventory.Signature{State: inventory.SigSigned, Signer: signer, Issuer: signer, Timestamp: host,
			Anomalies: []inventory.Anomaly{{Kind: host, Offset: 10, Length: 5, Detail: product}}}
		cand := &inventory.Inventory{Entries: []inventory.Entry{{Path: file, Size: 100, SHA256: product, Version: host, Signature: sig}}}
		base := &inventory.Inventory{Entries: []inventory.Entry{{Path: file, Size: 99, SHA256: signer, Version: host}, {Path: product, Size: 1}}}
		r := New(file, rules.High)
		r.Installer.Product, r.Installer.Version = product, host
		r.Baseline = &Baseline{Product: product, Version: signer, File: file}
		r.Findings = []rules.Finding{{Rule: product, Severity: rules.Critical, Path: file, Message: signer, Evidence: map[string]any{host: file}}}
		r.SetSandbox(&inventory.Behaviour{Ran: true, Reason: product,
			Network:    []inventory.NetEvent{{Proto: host, Name: host, Addr: host, SNI: signer, HTTP: product, Host: host}},
			DLLLoads:   []inventory.DLLLoad{{Process: product, Path: file}},
			Processes:  []inventory.Process{{Image: file, Command: signer}},
			FileWrites: []inventory.FileWrite{{Path: file, Kind: host}}})
		r.Warnings, r.Notes, r.Error = []string{host}, []string{product}, signer
		r.CandidateInventory, r.BaselineInventory = cand, base
		r.Decide()
		var page bytes.Buffer
		if err := WriteHTML(&page, r, Options{Version: host}); err != nil {
			t.Fatal(err)
		}
		if p := inspectPage(page.Bytes()); len(p.problems) > 0 {
			t.Fatalf("unsafe page: %s", strings.Join(p.problems, "; "))
		}
	})
}
