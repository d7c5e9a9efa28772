package main

import (
	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/gate"
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
			opts, err := o.gateOptions(cmd, "")
			if err != nil {
				return err
			}
			defer policyWarnings(cmd, opts)
			ctx, cancel := signalContext(cmd)
			defer cancel()
			u := newUI(cmd)
			u.Status("analysing %s", args[0])
			res, err := gate.Inspect(ctx, args[0], opts)
			u.Clear()
			if err != nil {
				return err
			}
			return writeReport(cmd, o, res)
		},
	}
	o.addTrust(cmd)
	o.addOutput(cmd, inspectFormats...)
	return cmd
}
