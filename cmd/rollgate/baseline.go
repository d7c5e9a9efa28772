package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/baselines"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/report"
)

func newBaselineCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "baseline", Short: "Record known-good baselines"}
	cmd.AddCommand(newBaselineRecordCmd())
	return cmd
}

func newBaselineRecordCmd() *cobra.Command {
	var (
		o       commonOpts
		dir     string
		sandbox bool
	)
	cmd := &cobra.Command{
		Use:   "record INSTALLER --baseline DIR",
		Short: "Store an installer's inventory as its product's known-good baseline",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return withCode(exitUsage, errors.New("--baseline DIR is required"))
			}
			a, err := newAnalyzer(o.trustRoots)
			if err != nil {
				return err
			}
			ctx, cancel := signalContext(cmd)
			defer cancel()
			inv, err := a.Installer(ctx, args[0])
			if err != nil {
				return analysisError(fmt.Errorf("not recording a baseline: %w", err))
			}
			var beh *inventory.Behaviour
			if sandbox {
				r := report.New(args[0], 0)
				if _, err := runSandbox(ctx, cmd, args[0], inv, nil, r); err != nil {
					return err
				}
				if r.Verdict == report.Inconclusive {
					return withCode(exitInconclusive, fmt.Errorf("not recording a baseline: %s", r.Error))
				}
				beh = &r.Sandbox
			}
			p, err := baselines.Write(dir, baselines.New(inv, beh))
			if err != nil {
				return withCode(exitUsage, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "recorded %s %s (%d entries) in %s\n",
				report.Clean(inv.Product.Name), report.Clean(inv.Product.Version), len(inv.Entries), p)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "baseline", "", "folder to store the baseline in")
	cmd.Flags().BoolVar(&sandbox, "sandbox", false, "also record a behaviour profile in the Docker sandbox")
	o.addTrust(cmd)
	return cmd
}
