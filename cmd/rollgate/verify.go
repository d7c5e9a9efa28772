package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/baselines"
	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/rules"
)

type verifyOpts struct {
	commonOpts
	baseline string
	sandbox  bool
}

func newVerifyCmd() *cobra.Command {
	o := &verifyOpts{}
	cmd := &cobra.Command{
		Use:   "verify INSTALLER --baseline DIR",
		Short: "Judge an installer against the known-good baseline of its product",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.baseline == "" {
				return withCode(exitUsage, errors.New("--baseline DIR is required"))
			}
			if err := checkFormat(o.format, "table", "json"); err != nil {
				return err
			}
			pol, err := o.loadPolicy(o.baseline)
			if err != nil {
				return err
			}
			failOn, err := o.gate(cmd, pol)
			if err != nil {
				return err
			}
			a, err := newAnalyzer(o.trustRoots)
			if err != nil {
				return err
			}
			ctx, cancel := signalContext(cmd)
			defer cancel()
			r := report.New(args[0], failOn)
			inv, err := a.Installer(ctx, args[0])
			if err != nil {
				// unreadable, malformed, unsupported: the report says inconclusive (exit 3)
				r.Fail(err)
				o.judge(r, pol, nil)
				return writeReport(cmd, &o.commonOpts, r)
			}
			r.SetInventory(inv)
			base, file, err := baselines.Find(o.baseline, inv.Product.Identity)
			if err != nil {
				if !errors.Is(err, baselines.ErrNotFound) {
					return withCode(exitUsage, err)
				}
				r.Fail(fmt.Errorf("%w: record one with `rollgate baseline record INSTALLER --baseline %s`", err, o.baseline))
				o.judge(r, pol, nil)
				return writeReport(cmd, &o.commonOpts, r)
			}
			r.Baseline = &report.Baseline{Product: base.Product.Name, Version: base.Product.Version, File: file}
			findings := rules.Static(base.Inventory, inv)
			if o.sandbox {
				fs, err := runSandbox(ctx, cmd, args[0], inv, base, r)
				if err != nil {
					return err
				}
				findings = append(findings, fs...)
			}
			o.judge(r, pol, findings)
			return writeReport(cmd, &o.commonOpts, r)
		},
	}
	cmd.Flags().StringVar(&o.baseline, "baseline", "", "folder of baselines; the one for this installer's product is found by itself")
	cmd.Flags().BoolVar(&o.sandbox, "sandbox", false, "also install and run the installer in the Docker sandbox")
	o.addTrust(cmd)
	o.addOutput(cmd, "table", "json")
	return cmd
}
