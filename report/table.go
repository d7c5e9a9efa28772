package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/rules"
)

// WriteTable writes the human report. With inv set (inspect), the inventory is listed first.
func WriteTable(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	if inv := r.Inventory; inv != nil {
		p("PATH\tKIND\tVERSION\tSIGNATURE\tSHA256\n")
		for _, e := range inv.Entries {
			p("%s\t%s\t%s\t%s\t%s\n", Clean(e.Path), e.Kind, Clean(dash(e.Version)), sigSummary(e.Signature), short(e.SHA256))
		}
		p("\n")
	}
	p("installer\t%s\t%s\n", Clean(r.Installer.Path), r.Installer.Format)
	if r.Installer.Product != "" || r.Installer.Identity != "" {
		p("product\t%s %s\t%s\n", Clean(r.Installer.Product), Clean(r.Installer.Version), Clean(r.Installer.Identity))
	}
	if b := r.Baseline; b != nil {
		p("baseline\t%s %s\t%s\n", Clean(b.Product), Clean(b.Version), Clean(b.File))
	}
	if r.Sandbox.Ran {
		p("sandbox\tran: %d network, %d dll loads, %d processes, %d file writes\n",
			len(r.Sandbox.Network), len(r.Sandbox.DLLLoads), len(r.Sandbox.Processes), len(r.Sandbox.FileWrites))
	} else {
		p("sandbox\tnot run: %s\n", Clean(r.Sandbox.Reason))
	}
	for _, n := range r.Notes {
		p("note\t%s\n", Clean(n))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if len(r.Findings) > 0 {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "SEVERITY\tRULE\tPATH\tMESSAGE\n")
		for _, f := range r.Findings {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Severity, f.Rule, Clean(f.Path), Clean(f.Message))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	if r.ShowSuppressed && len(r.Suppressed) > 0 {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "SUPPRESSED\tRULE\tPATH\tREASON\tEXPIRES\tTICKET\n")
		for _, s := range r.Suppressed {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Finding.Severity, s.Finding.Rule, Clean(s.Finding.Path), Clean(s.Allow.Reason), dash(s.Allow.Expires), Clean(dash(s.Allow.Ticket)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	} else if len(r.Suppressed) > 0 {
		fmt.Fprintf(w, "%d finding(s) suppressed by the policy (--show-suppressed lists them)\n", len(r.Suppressed))
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", Clean(warn))
	}
	if r.Error != "" {
		fmt.Fprintf(w, "error: %s\n", Clean(r.Error))
	}
	_, err := fmt.Fprintf(w, "verdict: %s%s (fail-on %s)\n", strings.ToUpper(r.Verdict), countLine(r), r.FailOn)
	return err
}

func countLine(r *Report) string {
	c := r.Counts()
	var parts []string
	for s := rules.Critical; s >= rules.Info; s-- {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[s], s))
		}
	}
	if len(parts) == 0 {
		return " — no findings"
	}
	return " — " + strings.Join(parts, ", ")
}

func sigSummary(s *inventory.Signature) string {
	if s == nil {
		return "-"
	}
	out := string(s.State)
	if s.State == inventory.SigSigned {
		if s.Trusted {
			out += ", trusted"
		} else {
			out += ", untrusted"
		}
	}
	if len(s.Anomalies) > 0 {
		out += ", PADDED"
	}
	if s.Signer != "" {
		out += ": " + Clean(cn(s.Signer))
	}
	return out
}

// cn shortens an RFC 2253 name to its CN when it has one.
func cn(dn string) string {
	for _, part := range strings.Split(dn, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "CN="); ok {
			return v
		}
	}
	return dn
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
