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

	"github.com/rollgate/rollgate/gate"
	"github.com/rollgate/rollgate/internal/term"
	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/sandbox"
)

// commonOpts are the flags inspect, baseline record and verify share.
type commonOpts struct {
	trustRoots     string
	trustRootsOnly string
	format         string
	outputs        []string // --output FILE and FORMAT=FILE (outputs.go)
	failOn         string
	policy         string
	showSuppressed bool
	exitZero       bool
	out            outputState // resolved by checkFormats (outputs.go)
}

func (o *commonOpts) addTrust(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.trustRoots, "trust-roots", "", "PEM file of root certificates trusted besides the built-in code-signing roots (Microsoft's and Apple's)")
	cmd.Flags().StringVar(&o.trustRootsOnly, "trust-roots-only", "", "PEM file of root certificates that replace the built-in code-signing roots")
	cmd.MarkFlagsMutuallyExclusive("trust-roots", "trust-roots-only")
}

func (o *commonOpts) addOutput(cmd *cobra.Command, formats ...string) {
	cmd.Flags().StringVar(&o.format, "format", "table", "output format: "+strings.Join(formats, "|"))
	cmd.Flags().StringArrayVar(&o.outputs, "output", nil, "write the --format report to FILE instead of stdout; FORMAT=FILE (repeatable) also writes FORMAT to FILE")
	cmd.Flags().BoolVar(&o.showSuppressed, "show-suppressed", false, "list the findings the policy allowed, and why")
	cmd.Flags().BoolVar(&o.exitZero, "exit-zero", false, "exit 0 when the gate fails (the reports still say fail); usage errors (2) and inconclusive runs (3) keep their codes")
	o.addGate(cmd)
}

func (o *commonOpts) addGate(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.failOn, "fail-on", "high", "lowest severity that fails the gate: info|low|medium|high|critical (overrides the policy's)")
	cmd.Flags().StringVar(&o.policy, "policy", "", "policy file (default: rollgate.yaml beside the baselines, if any)")
}

// gateOptions resolves the flags every judging command shares (gate.Config).
func (o *commonOpts) gateOptions(cmd *cobra.Command, baselineDir string) (gate.Options, error) {
	return gate.Config{Baselines: baselineDir, PolicyFile: o.policy, FailOn: o.failOn, FailOnSet: cmd.Flags().Changed("fail-on"),
		TrustRoots: o.trustRoots, TrustRootsOnly: o.trustRootsOnly, ShowSuppressed: o.showSuppressed}.Options()
}

// policyWarnings prints, at the end of a run, what is wrong with the policy itself: allow
// entries that matched nothing, expired, or cannot apply to their rule.
func policyWarnings(cmd *cobra.Command, opts gate.Options) {
	if opts.Policy == nil {
		return
	}
	for _, w := range opts.Policy.Warnings(time.Now()) {
		fmt.Fprintf(cmd.ErrOrStderr(), "rollgate: warning: %s\n", report.Clean(w))
	}
}

// sandboxRunner is the Docker sandbox, drawing its progress on a terminal only.
func sandboxRunner(cmd *cobra.Command) gate.Sandbox {
	r := sandbox.Runner{}
	if term.IsTTY(cmd.ErrOrStderr()) {
		r.Progress = cmd.ErrOrStderr()
	}
	return r
}

// signalContext cancels on Ctrl-C and SIGTERM so sandbox containers are removed.
func signalContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt, sigterm)
}

// writeReport encodes the result in --format to --output or stdout, and in every FORMAT=FILE
// output (outputs.go), and returns the exit code of its verdict.
func writeReport(cmd *cobra.Command, o *commonOpts, res *gate.Result) error {
	r := res.Report
	if err := writeOutputs(cmd, o, report.Options{}, r); err != nil {
		return err
	}
	switch r.Verdict {
	case report.Pass:
		return nil
	case report.Fail:
		if o.exitZero {
			return nil
		}
		return withCode(exitFail, nil)
	default:
		// The report already says why; repeat it on stderr for people reading CI logs.
		return withCode(exitInconclusive, errors.New(report.Clean(r.Error)))
	}
}
