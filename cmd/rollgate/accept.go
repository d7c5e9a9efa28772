package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/baselines"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/report"
)

// MaxReportSize bounds a report read back by baseline accept (the same bound as a baseline).
const MaxReportSize = baselines.MaxFileSize

func newBaselineAcceptCmd() *cobra.Command {
	var (
		dir          string
		acceptFailed bool
		dropBehave   bool
	)
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
			if dir == "" {
				return withCode(exitUsage, errors.New("--baseline DIR is required"))
			}
			r, err := readReport(args[0])
			if err != nil {
				return withCode(exitUsage, err)
			}
			switch {
			case r.Verdict == report.Inconclusive:
				return withCode(exitInconclusive, fmt.Errorf("%s is inconclusive (%s): nothing was judged, not accepting it", args[0], report.Clean(r.Error)))
			case r.Inventory == nil:
				return withCode(exitUsage, fmt.Errorf("%s has no inventory: make it with `verify ... --format json --include-inventory` or `inspect --format json`", args[0]))
			case r.Verdict == report.Fail && !acceptFailed:
				return withCode(exitFail, fmt.Errorf("%s failed the gate (%d finding(s)); review them, then pass --accept-failed", args[0], len(r.Findings)))
			case r.Verdict != report.Pass && r.Verdict != report.Fail:
				return withCode(exitUsage, fmt.Errorf("%s: unknown verdict %q", args[0], report.Clean(r.Verdict)))
			}
			inv := r.Inventory
			if err := checkAcceptable(r, inv); err != nil {
				return withCode(exitUsage, fmt.Errorf("%s: %w", args[0], err))
			}

			var beh *inventory.Behaviour
			kept := ""
			if r.Sandbox.Ran {
				s := r.Sandbox
				beh = &s
			}
			old, oldFile, err := baselines.Find(dir, inv.Product.Identity)
			switch {
			case err == nil:
			case errors.Is(err, baselines.ErrNotFound):
				old = nil
			default:
				// A missing folder is fine (the first baseline); anything else is not.
				if st, serr := os.Stat(dir); serr == nil && st.IsDir() {
					return withCode(exitUsage, err)
				}
				old = nil
			}
			if beh == nil && old != nil && old.Behaviour != nil && !dropBehave {
				beh = old.Behaviour
				kept = fmt.Sprintf("; kept the behaviour profile of %s (the report has no sandbox run)", report.Clean(old.Product.Version))
			}
			p, err := baselines.Write(dir, baselines.New(inv, beh))
			if err != nil {
				return withCode(exitUsage, err)
			}
			if old != nil && oldFile != p {
				// The old baseline was found under another name; remove it so the folder holds
				// one baseline per product.
				if err := os.Remove(oldFile); err != nil {
					return withCode(exitUsage, err)
				}
			}
			was := ""
			if old != nil {
				was = fmt.Sprintf(", replacing %s", report.Clean(old.Product.Version))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "accepted %s %s (%d entries) in %s%s%s\n",
				report.Clean(inv.Product.Name), report.Clean(inv.Product.Version), len(inv.Entries), p, was, kept)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "baseline", "", "folder of baselines to update")
	cmd.Flags().BoolVar(&acceptFailed, "accept-failed", false, "accept a report whose verdict is fail (its findings were reviewed)")
	cmd.Flags().BoolVar(&dropBehave, "drop-behaviour", false, "do not carry the old baseline's behaviour profile over when the report has none")
	return cmd
}

// readReport reads a report JSON file, bounded.
func readReport(p string) (*report.Report, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxReportSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if len(data) > MaxReportSize {
		return nil, fmt.Errorf("%s: over the %d-byte limit", p, MaxReportSize)
	}
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: not a rollgate JSON report: %w", p, err)
	}
	if r.Schema != report.Schema {
		return nil, fmt.Errorf("%s: schema %q, want %q", p, report.Clean(r.Schema), report.Schema)
	}
	return &r, nil
}

// checkAcceptable refuses an inventory that does not belong to the report it came in.
func checkAcceptable(r *report.Report, inv *inventory.Inventory) error {
	if inv.Product.Identity == "" {
		return errors.New("the inventory has no product identity")
	}
	if r.Installer.Identity != "" && r.Installer.Identity != inv.Product.Identity {
		return fmt.Errorf("the report's product %q and its inventory's %q differ", report.Clean(r.Installer.Identity), report.Clean(inv.Product.Identity))
	}
	if e, ok := inv.Lookup(inventory.InstallerPath); ok && r.Installer.SHA256 != "" && e.SHA256 != r.Installer.SHA256 {
		return errors.New("the report's installer hash and its inventory's differ")
	}
	return nil
}
