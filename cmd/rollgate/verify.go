package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/analyze"
	"github.com/rollgate/rollgate/baselines"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/policy"
	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/rules"
)

type verifyOpts struct {
	commonOpts
	baseline         string
	sandbox          bool
	includeInventory bool
	batch            batchOpts // batch.go
}

func newVerifyCmd() *cobra.Command {
	o := &verifyOpts{}
	cmd := &cobra.Command{
		Use:   "verify INSTALLER... --baseline DIR",
		Short: "Judge an installer against the known-good baseline of its product",
		Long: `verify judges an installer against the baseline of its product, found in --baseline DIR by
the installer's product identity. Exit codes: 0 pass, 1 gate failed, 2 usage or internal
error, 3 inconclusive (never a pass).

Batch mode: give several installers, or a folder of them (verify DIR_OR_FILES... --baseline
DIR [--jobs N] [--output-dir DIR]); --output-dir with a single installer selects it too.
Each installer is matched to its own product's baseline, one summary table (or JSON with
--format json) is printed, per-installer JSON reports go to --output-dir, and the exit code
is the worst: 2 (usage or internal error for any installer) wins, then 3 (inconclusive),
then 1 (fail), then 0. With --sandbox, installers run one at a time.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.baseline == "" {
				return withCode(exitUsage, errors.New("--baseline DIR is required"))
			}
			batch := o.isBatch(cmd, args)
			if batch {
				if err := o.checkBatch(); err != nil {
					return err
				}
			} else if err := o.checkFormats(verifyFormats...); err != nil {
				return err
			}
			o.out.stepSummary = true
			pol, failOn, a, err := o.setup(cmd, o.baseline)
			if err != nil {
				return err
			}
			ctx, cancel := signalContext(cmd)
			defer cancel()
			if batch {
				return o.runBatch(ctx, cmd, a, pol, failOn, args)
			}
			u := newUI(cmd)
			if !o.sandbox { // the sandbox draws its own progress
				u.status("verifying %s", args[0])
			}
			r, inv, err := o.verifyOne(ctx, cmd, a, pol, failOn, args[0])
			u.clear()
			if err != nil {
				return err
			}
			o.out.inv = inv
			return writeReport(cmd, &o.commonOpts, r)
		},
	}
	cmd.Flags().StringVar(&o.baseline, "baseline", "", "folder of baselines; the one for this installer's product is found by itself")
	cmd.Flags().BoolVar(&o.sandbox, "sandbox", false, "also install and run the installer in the Docker sandbox")
	cmd.Flags().BoolVar(&o.includeInventory, "include-inventory", false, "put the candidate's inventory in the JSON report (what baseline accept needs)")
	o.addTrust(cmd)
	o.addOutput(cmd, verifyFormats...)
	o.batch.addFlags(cmd)
	return cmd
}

// verifyOne judges one installer. Errors are usage or internal errors; an installer that
// cannot be judged gives an inconclusive report, not an error. The inventory is returned for
// the report formats (nil when the installer could not be read).
func (o *verifyOpts) verifyOne(ctx context.Context, cmd *cobra.Command, a *analyze.Analyzer, pol *policy.Policy, failOn rules.Severity, installer string) (*report.Report, *inventory.Inventory, error) {
	r := report.New(installer, failOn)
	inv, err := a.Installer(ctx, installer)
	if err != nil {
		// unreadable, malformed, unsupported: the report says inconclusive (exit 3)
		r.Fail(err)
		o.judge(r, pol, nil)
		return r, nil, nil
	}
	r.SetInventory(inv)
	if o.includeInventory {
		r.Inventory = inv
	}
	base, file, err := baselines.Find(o.baseline, inv.Product.Identity)
	if err != nil {
		if !errors.Is(err, baselines.ErrNotFound) {
			return nil, nil, withCode(exitUsage, err)
		}
		r.Fail(fmt.Errorf("%w: record one with `rollgate baseline record INSTALLER --baseline %s`", err, o.baseline))
		o.judge(r, pol, nil)
		return r, inv, nil
	}
	r.Baseline = &report.Baseline{Product: base.Product.Name, Version: base.Product.Version, File: file}
	findings := rules.Static(base.Inventory, inv)
	if o.sandbox {
		fs, err := runSandbox(ctx, cmd, installer, inv, base, r)
		if err != nil {
			return nil, nil, err
		}
		findings = append(findings, fs...)
	}
	o.judge(r, pol, findings)
	return r, inv, nil
}
