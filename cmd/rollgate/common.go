package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/analyze"
	"github.com/rollgate/rollgate/policy"
	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/rules"
)

// commonOpts are the flags inspect, baseline record and verify share.
type commonOpts struct {
	trustRoots     string
	format         string
	outputs        []string // --output FILE and FORMAT=FILE (outputs.go)
	failOn         string
	policy         string
	showSuppressed bool
	out            outputState // resolved by checkFormats (outputs.go)
}

func (o *commonOpts) addTrust(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.trustRoots, "trust-roots", "", "PEM file of extra trusted root certificates for chain checks")
}

func (o *commonOpts) addOutput(cmd *cobra.Command, formats ...string) {
	cmd.Flags().StringVar(&o.format, "format", "table", "output format: "+strings.Join(formats, "|"))
	cmd.Flags().StringArrayVar(&o.outputs, "output", nil, "write the --format report to FILE instead of stdout; FORMAT=FILE (repeatable) also writes FORMAT to FILE")
	cmd.Flags().StringVar(&o.failOn, "fail-on", "high", "lowest severity that fails the gate: info|low|medium|high|critical (overrides the policy's)")
	cmd.Flags().StringVar(&o.policy, "policy", "", "policy file (default: rollgate.yaml beside the baselines, if any)")
	cmd.Flags().BoolVar(&o.showSuppressed, "show-suppressed", false, "list the findings the policy allowed, and why")
}

// loadPolicy reads --policy, else rollgate.yaml in baselineDir (if given); errors exit 2.
func (o *commonOpts) loadPolicy(baselineDir string) (*policy.Policy, error) {
	var (
		p   *policy.Policy
		err error
	)
	switch {
	case o.policy != "":
		p, err = policy.Load(o.policy)
	case baselineDir != "":
		p, err = policy.Find(baselineDir)
	default:
		p = &policy.Policy{}
	}
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return p, nil
}

// setup does what inspect and verify both do before any work: load the policy (--policy,
// else rollgate.yaml in baselineDir), resolve the gate, build the analyzer.
func (o *commonOpts) setup(cmd *cobra.Command, baselineDir string) (*policy.Policy, rules.Severity, *analyze.Analyzer, error) {
	pol, err := o.loadPolicy(baselineDir)
	if err != nil {
		return nil, 0, nil, err
	}
	failOn, err := o.gate(cmd, pol)
	if err != nil {
		return nil, 0, nil, err
	}
	a, err := newAnalyzer(o.trustRoots)
	if err != nil {
		return nil, 0, nil, err
	}
	return pol, failOn, a, nil
}

// gate resolves the threshold: --fail-on when given, else the policy's, else high.
func (o *commonOpts) gate(cmd *cobra.Command, p *policy.Policy) (rules.Severity, error) {
	s, err := o.severity()
	if err != nil {
		return 0, err
	}
	if !cmd.Flags().Changed("fail-on") {
		s = p.FailOn(s)
	}
	return s, nil
}

// judge applies the policy to the findings and decides the verdict.
func (o *commonOpts) judge(r *report.Report, p *policy.Policy, findings []rules.Finding) {
	kept, suppressed, warnings := p.Apply(findings, time.Now())
	r.Findings = append(r.Findings, kept...)
	r.Suppressed = append(r.Suppressed, suppressed...)
	r.Warnings = append(r.Warnings, warnings...)
	r.ShowSuppressed = o.showSuppressed
	r.Decide()
}

func (o *commonOpts) severity() (rules.Severity, error) {
	s, err := rules.ParseSeverity(o.failOn)
	if err != nil {
		return 0, withCode(exitUsage, fmt.Errorf("--fail-on: %w", err))
	}
	return s, nil
}

// checkFormat refuses a format the command does not offer, before any work is done.
func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return withCode(exitUsage, fmt.Errorf("--format %q: want one of %s", format, strings.Join(allowed, ", ")))
}

// signalContext cancels on Ctrl-C and SIGTERM so sandbox containers are removed.
func signalContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt, sigterm)
}

// analysisError: an installer that cannot be read, for whatever reason, cannot be judged.
func analysisError(err error) error { return withCode(exitInconclusive, err) }

// writeReport encodes r in --format to --output or stdout, and in every FORMAT=FILE output
// (outputs.go), and returns the exit code.
func writeReport(cmd *cobra.Command, o *commonOpts, r *report.Report) error {
	if err := writeOutputs(cmd, o, r); err != nil {
		return err
	}
	switch r.Verdict {
	case report.Pass:
		return nil
	case report.Fail:
		return withCode(exitFail, nil)
	default:
		// The report already says why; repeat it on stderr for people reading CI logs.
		return withCode(exitInconclusive, errors.New(report.Clean(r.Error)))
	}
}
