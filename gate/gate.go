// Package gate is rollgate's pipeline as a library: installer → analyze → baseline → rules →
// sandbox → policy → verdict. The commands in cmd/rollgate only wire flags to these calls and
// print what they return, as crane's commands call crane.Copy.
//
//   - Inspect judges an installer on its own (the rules that need no baseline).
//   - Verify judges it against the baseline of its product, or — on the first day, when there
//     is none — on its own, saying that the diff was skipped.
//   - Batch verifies many installers, each against its own product's baseline.
//   - RecordBaseline stores a known-good installer; Accept turns a reviewed report into one.
//
// Every call takes one options struct and returns the report model. Failures carry the exit
// code of the DESIGN.md contract (*Error); an installer that cannot be judged is not an error
// but an inconclusive report.
package gate

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/rollgate/rollgate/analyze"
	"github.com/rollgate/rollgate/policy"
	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/rules"
	"github.com/rollgate/rollgate/verify/apple"
	"github.com/rollgate/rollgate/verify/authenticode"
	"github.com/rollgate/rollgate/verify/trust"
)

// Exit codes — contract (DESIGN.md).
const (
	ExitPass         = 0
	ExitFail         = 1
	ExitUsage        = 2
	ExitInconclusive = 3
)

// Error carries the exit code a failure maps to. A nil Err with a non-zero Code is a verdict
// that needs no message (a failed gate).
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// WithCode marks err with an exit code.
func WithCode(code int, err error) error { return &Error{Code: code, Err: err} }

func usage(err error) error        { return WithCode(ExitUsage, err) }
func inconclusive(err error) error { return WithCode(ExitInconclusive, err) }

// ExitCode maps an error from this package to its exit code: 0 for nil, the code of an
// *Error, ExitUsage for anything else (an internal error).
func ExitCode(err error) int {
	if err == nil {
		return ExitPass
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ExitUsage
}

// VerdictCode is the exit code of a report's verdict.
func VerdictCode(verdict string) int {
	switch verdict {
	case report.Pass:
		return ExitPass
	case report.Fail:
		return ExitFail
	}
	return ExitInconclusive
}

// Trust configures the signature verifiers.
type Trust struct {
	// ExtraRoots are trusted besides the built-in code-signing roots (--trust-roots).
	ExtraRoots []*x509.Certificate
	// RootsOnly makes ExtraRoots the whole trust set: the built-in Microsoft and Apple roots
	// are left out (--trust-roots-only).
	RootsOnly bool
}

// NewAnalyzer builds the analyzer every command uses: all formats, the Authenticode and Apple
// verifiers with one trust set, and the bundle post-pass. It never skips signatures.
func NewAnalyzer(t Trust) (*analyze.Analyzer, error) {
	opts := trust.Options{ExtraRoots: t.ExtraRoots, ReplaceBuiltinRoots: t.RootsOnly}
	v, err := authenticode.NewVerifier(opts)
	if err != nil {
		return nil, err
	}
	av, err := apple.NewVerifier(opts)
	if err != nil {
		return nil, err
	}
	id, err := analyzerIdentity(t)
	if err != nil {
		return nil, err
	}
	return analyze.New(analyze.Options{
		Verifier:      v,
		MSIVerifier:   v,
		AppleVerifier: av,
		Formats:       analyze.DefaultFormats(),
		PostPasses:    []analyze.PostPass{apple.Bundles},
		Identity:      id,
	})
}

// Options are what Inspect, Verify and Batch share.
type Options struct {
	// Analyzer reads installers; NewAnalyzer builds the strict one. Required.
	Analyzer *analyze.Analyzer
	// Baselines is the folder of baselines (Verify, Batch).
	Baselines string
	// Policy is applied to the findings; nil is the empty policy.
	Policy *policy.Policy
	// FailOn is the lowest severity that fails the gate.
	FailOn rules.Severity
	// Sandbox, when not nil, also installs and runs Windows installers (--sandbox).
	Sandbox Sandbox
	// IncludeInventory puts the candidate's inventory into the report (what Accept needs).
	IncludeInventory bool
	// ShowSuppressed asks the table to list the findings the policy allowed.
	ShowSuppressed bool
	// Now is the time policy expiry is judged at; nil means time.Now.
	Now func() time.Time
	// NoReuse analyses every installer even when a baseline recorded the same bytes (see
	// reuse.go).
	NoReuse bool

	// recorded, when set, is the batch's index of recorded inventories (see reuse.go).
	recorded *recordedIndex
}

func (o *Options) check() error {
	if o.Analyzer == nil {
		return usage(errors.New("gate: no analyzer"))
	}
	return nil
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) policy() *policy.Policy {
	if o.Policy != nil {
		return o.Policy
	}
	return &policy.Policy{}
}

// judge applies the policy to the findings and decides the verdict.
func (o *Options) judge(r *report.Report, findings []rules.Finding) {
	kept, suppressed, warnings := o.policy().Apply(findings, o.now())
	r.Findings = append(r.Findings, kept...)
	r.Suppressed = append(r.Suppressed, suppressed...)
	r.Warnings = append(r.Warnings, warnings...)
	r.ShowSuppressed = o.ShowSuppressed
	r.Decide()
}
