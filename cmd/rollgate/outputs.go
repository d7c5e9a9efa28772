package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/report"
)

// Report formats per command.
var (
	inspectFormats = []string{"table", "json", "cyclonedx", "html"}
	verifyFormats  = []string{"table", "json", "sarif", "junit", "markdown", "html"}
)

// outputSpec is one report to write: a format to a file ("" is stdout).
type outputSpec struct {
	format string
	file   string
}

// outputState is what checkFormats resolved from --format and --output.
type outputState struct {
	specs []outputSpec
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

// writeOutputs writes every requested report (one installer's, or a batch's with opt.Batch),
// then the GitHub annotations and step summary when running under GitHub Actions. Errors are
// usage/internal errors (exit 2).
func writeOutputs(cmd *cobra.Command, o *commonOpts, opt report.Options, reports ...*report.Report) error {
	opt.Version = rollgateVersion()
	u := newUI(cmd)
	for _, s := range o.out.specs {
		var buf bytes.Buffer
		enc, err := report.NewEncoder(s.format, opt)
		if err == nil {
			err = enc.Encode(&buf, reports...)
		}
		if errors.Is(err, report.ErrNoInventory) && len(reports) == 1 && reports[0].Verdict == report.Inconclusive {
			// Nothing to list: the report's verdict and error say why (exit 3 follows).
			fmt.Fprintf(cmd.ErrOrStderr(), "rollgate: no %s output: the installer could not be read\n", s.format)
			continue
		}
		if err != nil {
			return withCode(exitUsage, fmt.Errorf("encoding %s: %w", s.format, err))
		}
		out := buf.Bytes()
		if s.file == "" && s.format == "table" && u.color {
			out = report.Colorize(out)
		}
		if err := writeTo(cmd, s.file, out); err != nil {
			return err
		}
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

// writeTo writes data to file, or to stdout when file is "".
func writeTo(cmd *cobra.Command, file string, data []byte) error {
	if file == "" {
		if _, err := cmd.OutOrStdout().Write(data); err != nil {
			return withCode(exitUsage, err)
		}
		return nil
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return withCode(exitUsage, err)
	}
	return nil
}
