package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/rollgate/rollgate/rules"
)

// Markdown renders a pull-request or step summary. Every vendor-controlled string goes through
// Clean (no control characters, so no newlines) and then through MarkdownText or MarkdownCode,
// so a file name cannot close a table cell, open a code span, inject HTML or add a heading.

// MarkdownText escapes s for inline Markdown text (and table cells). Characters that only
// matter at the start of a line (#, -, +, digits with a dot) are left alone: the encoder never
// starts a line with vendor text.
func MarkdownText(s string) string {
	s = Clean(s)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '|', '~', '>':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// MarkdownCode renders s as an inline code span that is safe in a table cell: the fence is
// longer than any backtick run inside, '|' is escaped (GFM splits cells before it parses code
// spans), and newlines cannot occur after Clean.
func MarkdownCode(s string) string {
	s = Clean(s)
	if s == "" {
		return ""
	}
	run, longest := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	s = strings.ReplaceAll(s, "|", `\|`)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// Badge is the emoji-free verdict text: "PASS", "FAIL" or "INCONCLUSIVE".
func Badge(verdict string) string {
	switch verdict {
	case Pass, Fail, Inconclusive:
		return strings.ToUpper(verdict)
	}
	return "UNKNOWN"
}

// WriteMarkdown writes r as a Markdown summary.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	title := MarkdownText(r.Installer.Path)
	if r.Installer.Product != "" {
		title = MarkdownText(strings.TrimSpace(r.Installer.Product + " " + r.Installer.Version))
	}
	p("### rollgate: **%s** — %s\n\n", Badge(r.Verdict), title)
	p("**Verdict: %s** (fail-on %s) · installer %s", Badge(r.Verdict), r.FailOn, MarkdownCode(r.Installer.Path))
	if bl := r.Baseline; bl != nil {
		p(" · baseline %s", MarkdownText(strings.TrimSpace(bl.Product+" "+bl.Version)))
	}
	p("\n\n")
	if r.Error != "" {
		p("> **Inconclusive:** %s\n\n", MarkdownText(r.Error))
	}

	c := r.Counts()
	p("| critical | high | medium | low | info | suppressed |\n|---:|---:|---:|---:|---:|---:|\n")
	p("| %d | %d | %d | %d | %d | %d |\n\n", c[rules.Critical], c[rules.High], c[rules.Medium], c[rules.Low], c[rules.Info], len(r.Suppressed))

	var main, info []rules.Finding
	for _, f := range r.Findings {
		if f.Severity == rules.Info {
			info = append(info, f)
		} else {
			main = append(main, f)
		}
	}
	if len(main) > 0 {
		p("| Severity | Rule | Path | Message |\n|---|---|---|---|\n")
		for _, f := range main {
			sev := f.Severity.String()
			if f.Severity >= r.FailOn {
				sev = "**" + sev + "**"
			}
			p("| %s | %s | %s | %s |\n", sev, MarkdownCode(f.Rule), MarkdownCode(f.Path), MarkdownText(f.Message))
		}
		p("\n")
	}
	if len(info) > 0 {
		p("<details><summary>%d info finding(s)</summary>\n\n", len(info))
		p("| Rule | Path | Message |\n|---|---|---|\n")
		for _, f := range info {
			p("| %s | %s | %s |\n", MarkdownCode(f.Rule), MarkdownCode(f.Path), MarkdownText(f.Message))
		}
		p("\n</details>\n\n")
	}
	if len(r.Suppressed) > 0 {
		p("**Suppressed by policy** (%d):\n\n", len(r.Suppressed))
		for _, s := range r.Suppressed {
			p("- %s %s %s — %s", s.Finding.Severity, MarkdownCode(s.Finding.Rule), MarkdownCode(s.Finding.Path), MarkdownText(s.Allow.Reason))
			if s.Allow.Expires != "" {
				p(" (expires %s)", MarkdownText(s.Allow.Expires))
			}
			if s.Allow.Ticket != "" {
				p(" (%s)", MarkdownText(s.Allow.Ticket))
			}
			p("\n")
		}
		p("\n")
	}
	for _, warn := range r.Warnings {
		p("> **Warning:** %s\n\n", MarkdownText(warn))
	}
	if r.Sandbox.Ran {
		p("Sandbox: ran — %d network, %d DLL loads, %d processes, %d file writes.\n\n",
			len(r.Sandbox.Network), len(r.Sandbox.DLLLoads), len(r.Sandbox.Processes), len(r.Sandbox.FileWrites))
	} else if r.Sandbox.Reason != "" {
		p("Sandbox: not run (%s).\n\n", MarkdownText(r.Sandbox.Reason))
	}
	for _, n := range r.Notes {
		p("- Note: %s\n", MarkdownText(n))
	}
	if len(r.Notes) > 0 {
		p("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
