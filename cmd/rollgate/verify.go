package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/gate"
	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/shard"
)

type verifyOpts struct {
	commonOpts
	baseline         string
	sandbox          bool
	includeInventory bool
	jobs             int
	outputDir        string
	shard            string
	attest           attestOpts
}

func newVerifyCmd() *cobra.Command {
	o := &verifyOpts{}
	cmd := &cobra.Command{
		Use:   "verify INSTALLER... --baseline DIR",
		Short: "Judge an installer against the known-good baseline of its product",
		Long: `verify judges an installer against the baseline of its product, found in --baseline DIR by
the installer's product identity. Exit codes: 0 pass, 1 gate failed, 2 usage or internal
error, 3 inconclusive (never a pass).

Without a baseline for the product (the first day), the rules that need none still run and
are reported: exit 1 when one fails the gate, else 3, with a note that the diff was skipped.

Batch mode: give several installers, or a folder of them (verify DIR_OR_FILES... --baseline
DIR [--jobs N] [--output-dir DIR]); --output-dir with a single installer selects it too.
Each installer is matched to its own product's baseline, one summary (table, json or
markdown) is printed, per-installer JSON reports go to --output-dir, and the exit code is the
worst: 2 (usage or internal error for any installer) wins, then 3 (inconclusive), then 1
(fail), then 0. With --sandbox, installers run one at a time.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.baseline == "" {
				return withCode(exitUsage, errors.New("--baseline DIR is required"))
			}
			batch := len(args) > 1 || cmd.Flags().Changed("output-dir") || o.shard != ""
			if st, err := os.Stat(args[0]); err == nil && st.IsDir() {
				batch = true
			}
			formats := verifyFormats
			if batch {
				formats = gate.BatchFormats
				if !slices.Contains(formats, o.format) {
					return withCode(exitUsage, fmt.Errorf("--format %q: batch mode prints a summary as %s; per-installer reports go to --output-dir",
						o.format, strings.Join(formats, ", ")))
				}
			}
			if err := o.checkFormats(formats...); err != nil {
				return err
			}
			if err := o.attest.load(batch); err != nil {
				return err
			}
			opts, err := o.gateOptions(cmd, o.baseline)
			if err != nil {
				return err
			}
			opts.IncludeInventory = o.includeInventory
			if o.sandbox {
				opts.Sandbox = sandboxRunner(cmd)
			}
			ctx, cancel := signalContext(cmd)
			defer cancel()
			defer policyWarnings(cmd, opts)
			if batch {
				bo := gate.BatchOptions{Options: opts, Jobs: o.jobs, OutputDir: o.outputDir}
				if o.shard != "" {
					if bo.ShardI, bo.ShardN, err = shard.Parse(o.shard); err != nil {
						return withCode(exitUsage, fmt.Errorf("--shard: %w", err))
					}
				}
				return o.runBatch(cmd, bo, args)
			}
			u := newUI(cmd)
			if !o.sandbox { // the sandbox draws its own progress
				u.Status("verifying %s", args[0])
			}
			res, err := gate.Verify(ctx, args[0], opts)
			u.Clear()
			if err != nil {
				return err
			}
			o.out.stepSummary = true
			if err := o.attest.write(cmd, res.Report, opts); err != nil {
				return err
			}
			return writeReport(cmd, &o.commonOpts, res)
		},
	}
	cmd.Flags().StringVar(&o.baseline, "baseline", "", "folder of baselines; the one for this installer's product is found by itself")
	cmd.Flags().BoolVar(&o.sandbox, "sandbox", false, "also install and run the installer in the Docker sandbox")
	cmd.Flags().BoolVar(&o.includeInventory, "include-inventory", false, "put the candidate's inventory in the JSON report (what baseline accept needs)")
	cmd.Flags().IntVar(&o.jobs, "jobs", min(4, max(1, runtime.GOMAXPROCS(0)/2)), "batch mode: installers verified at once (1 to 256)")
	cmd.Flags().StringVar(&o.outputDir, "output-dir", "", "batch mode: write each installer's JSON report into DIR")
	cmd.Flags().StringVar(&o.shard, "shard", "", "batch mode: verify only share I of N (1-based, e.g. 2/8) of the installers, a stable split for a CI matrix")
	o.attest.addFlags(cmd)
	o.addTrust(cmd)
	o.addOutput(cmd, verifyFormats...)
	return cmd
}

// runBatch verifies many installers and writes the batch in every requested format.
func (o *verifyOpts) runBatch(cmd *cobra.Command, bo gate.BatchOptions, args []string) error {
	ctx, cancel := signalContext(cmd)
	defer cancel()
	u := newUI(cmd)
	bo.Progress = func(done, total int, p, verdict string) { u.Event("[%d/%d] %s: %s", done, total, p, verdict) }
	sum, err := gate.Batch(ctx, args, bo)
	u.Clear()
	if err != nil {
		return err
	}
	o.out.stepSummary = true
	if err := writeOutputs(cmd, &o.commonOpts, report.Options{Batch: true, FailOn: &bo.FailOn}, sum.Reports...); err != nil {
		return err
	}
	for _, res := range sum.Installers {
		if res.Error != "" && res.ExitCode != exitPass {
			fmt.Fprintf(cmd.ErrOrStderr(), "rollgate: %s: %s\n", report.Clean(res.Path), report.Clean(res.Error))
		}
	}
	if sum.ExitCode == exitPass || (sum.ExitCode == exitFail && o.exitZero) {
		return nil
	}
	return withCode(sum.ExitCode, nil)
}
