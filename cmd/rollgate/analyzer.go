package main

import (
	"github.com/rollgate/rollgate/analyze"
)

// newAnalyzer builds the analyzer with signature verification and the extra trust roots.
func newAnalyzer(trustRoots string) (*analyze.Analyzer, error) {
	opts := analyze.Options{}
	if err := configureVerifiers(&opts, trustRoots); err != nil {
		return nil, withCode(exitUsage, err)
	}
	return analyze.New(opts), nil
}
