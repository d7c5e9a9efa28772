package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/rollgate/rollgate/inventory"
)

// WriteBehaviourTable prints what a sandbox run saw (`rollgate sandbox run`): network events,
// processes, file writes and DLL loads, every guest-controlled string escaped.
func WriteBehaviourTable(w io.Writer, b *inventory.Behaviour) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	c := cleanWinPath
	if b.Reason != "" {
		fmt.Fprintf(tw, "note\t%s\n", c(b.Reason))
	}
	fmt.Fprintf(tw, "NETWORK\tPROTO\tNAME\tADDRESS\tDETAIL\n")
	for _, e := range b.Network {
		addr := e.Addr
		if e.Port != 0 {
			addr = fmt.Sprintf("%s port %d", e.Addr, e.Port)
		}
		detail := strings.TrimSpace(strings.Join([]string{e.QType, e.SNI, e.HTTP}, " "))
		fmt.Fprintf(tw, "%dms\t%s\t%s\t%s\t%s\n", e.MS, c(e.Proto), c(dash(e.Name)), c(dash(addr)), c(detail))
	}
	fmt.Fprintf(tw, "\nPROCESS\tCOMMAND\n")
	for _, p := range b.Processes {
		fmt.Fprintf(tw, "%s\t%s\n", c(p.Image), c(p.Command))
	}
	fmt.Fprintf(tw, "\nFILE WRITE\tKIND\n")
	for _, f := range b.FileWrites {
		fmt.Fprintf(tw, "%s\t%s\n", c(f.Path), c(f.Kind))
	}
	fmt.Fprintf(tw, "\nDLL LOAD\tTYPE\tPROCESS\n")
	for _, d := range b.DLLLoads {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c(d.Path), c(d.Type), c(d.Process))
	}
	return tw.Flush()
}

// cleanWinPath makes a guest-controlled string safe for a terminal (report.Clean) but keeps
// Windows path separators readable: report.Clean doubles every backslash.
func cleanWinPath(s string) string {
	return strings.ReplaceAll(Clean(s), `\\`, `\`)
}
