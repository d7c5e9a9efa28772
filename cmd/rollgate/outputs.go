package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/report"
)

// Report formats per command.
var (
	inspectFormats = []string{"table", "json", "cyclonedx"}
	verifyFormats  = []string{"table", "json", "sarif", "junit", "markdown"}
)

// outputSpec is one report to write: a format to a file ("" is stdout).
type outputSpec struct {
	format string
	file   string
}

// outputState is what checkFormats resolved from --format and --output, and what the
// encoders need beyond the report.
type outputState struct {
	specs []outputSpec
	// inv is the candidate's inventory, for formats that need hashes and kinds even when the
	// report does not carry the inventory.
	inv *inventory.Inventory
	// stepSummary: append a Markdown summary to $GITHUB_STEP_SUMMARY (verify only).
	stepSummary bool
}

// parseOutputs resolves --format and the --output values. "FORMAT=FILE" with a format the
// command offers adds an output; any other value is the file for the --format report (at
// most one; a file name that itself contains '=' is fine when its prefix is not a format).
func parseOutputs(format string, values []string, allowed []string) ([]outputSpec, error) {
	main := outputSpec{format: format}
	var extra []outputSpec
	plain := 0
	for _, v := range values {
		if f, file, ok := strings.Cut(v, "="); ok && hasString(allowed, f) {
			if file == "" {
				return nil, withCode(exitUsage, fmt.Errorf("--output %s: no file after '='", v))
			}
			extra = append(extra, outputSpec{format: f, file: file})
			continue
		}
		if v == "" {
			return nil, withCode(exitUsage, errors.New("--output: empty file name"))
		}
		plain++
		if plain > 1 {
			return nil, withCode(exitUsage, fmt.Errorf("--output %s: the --format report already goes to %s; use FORMAT=FILE (%s) for more", v, main.file, strings.Join(allowed, ", ")))
		}
		main.file = v
	}
	seen := map[string]bool{}
	for _, s := range append([]outputSpec{main}, extra...) {
		if s.file == "" {
			continue
		}
		if seen[s.file] {
			return nil, withCode(exitUsage, fmt.Errorf("--output: %s named twice", s.file))
		}
		seen[s.file] = true
	}
	return append([]outputSpec{main}, extra...), nil
}

// checkFormats refuses a --format or --output the command does not offer, before any work.
func (o *commonOpts) checkFormats(allowed ...string) error {
	if err := checkFormat(o.format, allowed...); err != nil {
		return err
	}
	specs, err := parseOutputs(o.format, o.outputs, allowed)
	if err != nil {
		return err
	}
	o.out.specs = specs
	return nil
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// encode writes r in format.
func encode(w io.Writer, format string, r *report.Report, opt report.Options) error {
	switch format {
	case "json":
		return report.WriteJSON(w, r)
	case "sarif":
		return report.WriteSARIF(w, r, opt)
	case "junit":
		return report.WriteJUnit(w, r)
	case "markdown":
		return report.WriteMarkdown(w, r)
	case "cyclonedx":
		return report.WriteCycloneDX(w, r, opt)
	default:
		return report.WriteTable(w, r)
	}
}

// writeOutputs writes every requested report, then the GitHub annotations and step summary
// when running under GitHub Actions. Errors are usage/internal errors (exit 2).
func writeOutputs(cmd *cobra.Command, o *commonOpts, r *report.Report) error {
	opt := report.Options{Version: rollgateVersion(), Inventory: o.out.inv}
	specs := o.out.specs
	if len(specs) == 0 { // a caller that skipped checkFormats
		specs = []outputSpec{{format: o.format}}
	}
	u := newUI(cmd)
	for _, s := range specs {
		var buf bytes.Buffer
		err := encode(&buf, s.format, r, opt)
		if errors.Is(err, report.ErrNoInventory) && r.Verdict == report.Inconclusive {
			// Nothing to list: the report's verdict and error say why (exit 3 follows).
			fmt.Fprintf(cmd.ErrOrStderr(), "rollgate: no %s output: the installer could not be read\n", s.format)
			continue
		}
		if err != nil {
			return withCode(exitUsage, fmt.Errorf("encoding %s: %w", s.format, err))
		}
		if s.file == "" {
			out := buf.Bytes()
			if s.format == "table" && u.color {
				out = report.Colorize(out)
			}
			if _, err := cmd.OutOrStdout().Write(out); err != nil {
				return withCode(exitUsage, err)
			}
			continue
		}
		if err := os.WriteFile(s.file, buf.Bytes(), 0o644); err != nil {
			return withCode(exitUsage, err)
		}
	}
	githubOutputs(cmd, o, r)
	return nil
}

// githubOutputs writes workflow-command annotations (stderr, so a JSON stdout stays pure) when
// GITHUB_ACTIONS=true, and appends the Markdown summary to $GITHUB_STEP_SUMMARY. Failing to
// write the summary is a warning, not a gate failure.
func githubOutputs(cmd *cobra.Command, o *commonOpts, r *report.Report) {
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		_ = report.WriteAnnotations(cmd.ErrOrStderr(), r, report.DefaultAnnotationLimit)
	}
	if p := os.Getenv("GITHUB_STEP_SUMMARY"); p != "" && o.out.stepSummary {
		var md bytes.Buffer
		if err := report.WriteMarkdown(&md, r); err == nil {
			md.WriteString("\n")
			if err := report.AppendStepSummary(p, md.Bytes()); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "rollgate: warning: %v\n", err)
			}
		}
	}
}
