package gate

import (
	"fmt"

	"github.com/rollgate/rollgate/policy"
	"github.com/rollgate/rollgate/rules"
	"github.com/rollgate/rollgate/verify/authenticode"
)

// Config is what a user states, in the terms of the command line, before the gate is built:
// file names and names of severities. Options resolves it.
type Config struct {
	// Baselines is the folder of baselines ("" for inspect).
	Baselines string
	// PolicyFile is --policy; "" looks for rollgate.yaml in Baselines.
	PolicyFile string
	// FailOn is --fail-on; FailOnSet says the user gave it, so it wins over the policy's.
	FailOn    string
	FailOnSet bool
	// TrustRoots adds a PEM file's roots to the built-in ones; TrustRootsOnly replaces them.
	TrustRoots, TrustRootsOnly string
	ShowSuppressed             bool
}

// Options resolves c: the policy (PolicyFile, else rollgate.yaml beside the baselines), the
// threshold (the flag, else the policy's, else high), and the strict analyzer with the trust
// set. Errors are usage errors (exit 2).
func (c Config) Options() (Options, error) {
	var (
		pol *policy.Policy
		err error
	)
	switch {
	case c.PolicyFile != "":
		pol, err = policy.Load(c.PolicyFile)
	case c.Baselines != "":
		pol, err = policy.Find(c.Baselines)
	default:
		pol = &policy.Policy{}
	}
	if err != nil {
		return Options{}, usage(err)
	}
	failOn := rules.High
	if c.FailOn != "" {
		if failOn, err = rules.ParseSeverity(c.FailOn); err != nil {
			return Options{}, usage(fmt.Errorf("--fail-on: %w", err))
		}
	}
	if !c.FailOnSet {
		failOn = pol.FailOn(failOn)
	}
	var t Trust
	for flag, file := range map[string]string{"trust-roots": c.TrustRoots, "trust-roots-only": c.TrustRootsOnly} {
		if file == "" {
			continue
		}
		certs, err := authenticode.LoadPEM(file)
		if err != nil {
			return Options{}, usage(fmt.Errorf("--%s: %w", flag, err))
		}
		t.ExtraRoots, t.RootsOnly = certs, flag == "trust-roots-only"
	}
	a, err := NewAnalyzer(t)
	if err != nil {
		return Options{}, usage(err)
	}
	return Options{Analyzer: a, Baselines: c.Baselines, Policy: pol, FailOn: failOn, ShowSuppressed: c.ShowSuppressed}, nil
}
