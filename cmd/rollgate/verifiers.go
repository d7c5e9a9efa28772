package main

import (
	"fmt"

	"github.com/rollgate/rollgate/analyze"
	"github.com/rollgate/rollgate/verify/apple"
	"github.com/rollgate/rollgate/verify/authenticode"
)

// configureVerifiers sets up signature verification against the system roots plus the
// --trust-roots PEM file.
func configureVerifiers(opts *analyze.Options, trustRoots string) error {
	vo := authenticode.Options{}
	if trustRoots != "" {
		certs, err := authenticode.LoadPEM(trustRoots)
		if err != nil {
			return fmt.Errorf("--trust-roots: %w", err)
		}
		vo.ExtraRoots = certs
	}
	v, err := authenticode.NewVerifier(vo)
	if err != nil {
		return err
	}
	opts.Verifier = v
	opts.MSIVerifier = v
	av, err := apple.NewVerifier(apple.Options{ExtraRoots: vo.ExtraRoots})
	if err != nil {
		return err
	}
	opts.AppleVerifier = av
	return nil
}
