package main

import (
	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/rules"
)

func newInspectCmd() *cobra.Command {
	o := &commonOpts{}
	cmd := &cobra.Command{
		Use:   "inspect INSTALLER",
		Short: "List an installer's files, versions and signatures, and judge what needs no baseline",
		Long: `inspect unpacks an installer and prints its inventory: every file with its install path,
hash, kind, version and signature. It also runs the rules that need no baseline (signature
integrity, bytes hidden in signatures, trust, DLLs named like system DLLs), so its exit code
follows the same contract as verify.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.checkFormats(inspectFormats...); err != nil {
				return err
			}
			pol, failOn, a, err := o.setup(cmd, "")
			if err != nil {
				return err
			}
			ctx, cancel := signalContext(cmd)
			defer cancel()
			r := report.New(args[0], failOn)
			u := newUI(cmd)
			u.status("analysing %s", args[0])
			inv, err := a.Installer(ctx, args[0])
			u.clear()
			var findings []rules.Finding
			if err != nil {
				// unreadable, malformed, unsupported: the report says inconclusive (exit 3)
				r.Fail(err)
			} else {
				r.SetInventory(inv)
				r.Inventory = inv
				o.out.inv = inv
				findings = rules.Static(nil, inv)
			}
			o.judge(r, pol, findings)
			return writeReport(cmd, o, r)
		},
	}
	o.addTrust(cmd)
	o.addOutput(cmd, inspectFormats...)
	return cmd
}
