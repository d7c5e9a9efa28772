package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/report"
)

// Report formats per command.
var (
	inspectFormats = []string{"table", "json", "cyclonedx", "html"}
	verifyFormats  = []string{"table", "json", "sarif", "junit", "markdown", "html"}
)

// outputState is what checkFormats resolved from --format and --output.
type outputState struct {
	specs []report.Output
	// stepSummary: append a Markdown summary to $GITHUB_STEP_SUMMARY (verify only).
	stepSummary bool
}

// checkFormats refuses a --format or --output the command does not offer, before any work.
func (o *commonOpts) checkFormats(allowed ...string) error {
	specs, err := report.ParseOutputs(o.format, o.outputs, allowed)
	if err != nil {
		return withCode(exitUsage, err)
	}
	o.out.specs = specs
	return nil
}

// writeOutputs writes every requested report (one installer's, or a batch's with opt.Batch),
// then the GitHub annotations and step summary when running under GitHub Actions. Errors are
// usage/internal errors (exit 2).
func writeOutputs(cmd *cobra.Command, o *commonOpts, opt report.Options, reports ...*report.Report) error {
	opt.Version = rollgateVersion()
	skipped, err := report.WriteOutputs(cmd.OutOrStdout(), o.out.specs, opt, newUI(cmd).Color, reports...)
	for _, f := range skipped {
		fmt.Fprintf(cmd.ErrOrStderr(), "rollgate: no %s output: the installer could not be read\n", f)
	}
	if err != nil {
		return withCode(exitUsage, err)
	}
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		for _, r := range reports {
			_ = report.WriteAnnotations(cmd.ErrOrStderr(), r, report.DefaultAnnotationLimit)
		}
	}
	if p := os.Getenv("GITHUB_STEP_SUMMARY"); p != "" && o.out.stepSummary {
		var md bytes.Buffer
		if enc, err := report.NewEncoder("markdown", opt); err == nil && enc.Encode(&md, reports...) == nil {
			md.WriteString("\n")
			if err := report.AppendStepSummary(p, md.Bytes()); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "rollgate: warning: %v\n", err)
			}
		}
	}
	return nil
}
