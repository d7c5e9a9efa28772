package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/gate"
	"github.com/rollgate/rollgate/report"
)

func newBaselineCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "baseline", Short: "Record known-good baselines"}
	cmd.AddCommand(newBaselineRecordCmd(), newBaselineAcceptCmd())
	return cmd
}

func newBaselineRecordCmd() *cobra.Command {
	var (
		o       commonOpts
		ro      gate.RecordOptions
		sandbox bool
	)
	cmd := &cobra.Command{
		Use:   "record INSTALLER --baseline DIR",
		Short: "Store an installer's inventory as its product's known-good baseline",
		Long: `record stores an installer's inventory (and with --sandbox its behaviour profile) as the
known-good baseline of its product in --baseline DIR.

Refused, with nothing written: an installer that the rules needing no baseline fail (exit 1,
the same judgment inspect makes: a padded signature, an invalid one…) unless --accept-failed;
an installer that would replace the baseline of another release of the product (exit 1, the
changes listed) unless --replace. Recording the same installer again is fine.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ro.Baselines == "" {
				return withCode(exitUsage, errors.New("--baseline DIR is required"))
			}
			dir := ro.Baselines
			opts, err := o.gateOptions(cmd, dir)
			if err != nil {
				return err
			}
			ro.Options = opts
			if sandbox {
				ro.Sandbox = sandboxRunner(cmd)
			}
			ctx, cancel := signalContext(cmd)
			defer cancel()
			rec, err := gate.RecordBaseline(ctx, args[0], ro)
			var re *gate.ReplaceError
			if errors.As(err, &re) {
				for _, c := range re.Changes[:min(len(re.Changes), gate.MaxListedChanges)] {
					fmt.Fprintf(cmd.ErrOrStderr(), "  %s\n", c)
				}
				if n := len(re.Changes) - gate.MaxListedChanges; n > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "  … and %d more\n", n)
				}
			}
			if err != nil {
				return err
			}
			printRecorded(cmd, "recorded", rec)
			return nil
		},
	}
	cmd.Flags().StringVar(&ro.Baselines, "baseline", "", "folder to store the baseline in")
	cmd.Flags().BoolVar(&sandbox, "sandbox", false, "also record a behaviour profile in the Docker sandbox")
	cmd.Flags().BoolVar(&ro.AcceptFailed, "accept-failed", false, "record it although the rules that need no baseline fail it (the findings were reviewed)")
	cmd.Flags().BoolVar(&ro.Replace, "replace", false, "replace the baseline of another release of the product")
	o.addTrust(cmd)
	o.addGate(cmd)
	return cmd
}

func newBaselineAcceptCmd() *cobra.Command {
	var ao gate.AcceptOptions
	cmd := &cobra.Command{
		Use:   "accept REPORT.json --baseline DIR",
		Short: "Make a reviewed candidate's JSON report the new baseline of its product",
		Long: `accept turns the JSON report of a reviewed candidate into its product's new baseline, so the
next release is judged against it. The report must carry the inventory: make it with
'rollgate verify INSTALLER --baseline DIR --format json --include-inventory' or with
'rollgate inspect INSTALLER --format json'.

Refused: an inconclusive report (exit 3: nothing was judged), a report without an inventory
or of another schema (exit 2), and a failed report (exit 1) unless --accept-failed says the
findings were reviewed and are wanted.

Behaviour profile: when the report has a sandbox run, it becomes the baseline's profile. When
it has none, the existing baseline's profile (if any) is kept, because static review says
nothing about run-time behaviour; --drop-behaviour removes it instead.

The file is written with the same deterministic encoding as 'baseline record', so the pull
request diff shows only what changed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ao.Baselines == "" {
				return withCode(exitUsage, errors.New("--baseline DIR is required"))
			}
			r, err := gate.ReadReport(args[0])
			if err != nil {
				return err
			}
			rec, err := gate.Accept(r, args[0], ao)
			if err != nil {
				return err
			}
			printRecorded(cmd, "accepted", rec)
			return nil
		},
	}
	cmd.Flags().StringVar(&ao.Baselines, "baseline", "", "folder of baselines to update")
	cmd.Flags().BoolVar(&ao.AcceptFailed, "accept-failed", false, "accept a report whose verdict is fail (its findings were reviewed)")
	cmd.Flags().BoolVar(&ao.DropBehaviour, "drop-behaviour", false, "do not carry the old baseline's behaviour profile over when the report has none")
	return cmd
}

// printRecorded says what was stored: "recorded Acme 1.0 (12 entries) in DIR/x.json".
func printRecorded(cmd *cobra.Command, verb string, rec *gate.Recorded) {
	var extra []string
	if rec.Replaced != "" {
		extra = append(extra, "replacing "+report.Clean(rec.Replaced))
	}
	if rec.KeptBehaviour != "" {
		extra = append(extra, fmt.Sprintf("kept the behaviour profile of %s (the report has no sandbox run)", report.Clean(rec.KeptBehaviour)))
	}
	if n := len(rec.Findings); n > 0 {
		extra = append(extra, fmt.Sprintf("with %d reviewed finding(s) accepted", n))
	}
	tail := ""
	if len(extra) > 0 {
		tail = ", " + strings.Join(extra, "; ")
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s %s %s (%d entries) in %s%s\n", verb,
		report.Clean(rec.Product.Name), report.Clean(rec.Product.Version), rec.Entries, rec.File, tail)
}
