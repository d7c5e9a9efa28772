package main

import (
	"github.com/rollgate/rollgate/analyze"
)

// configureVerifiers is filled in when verify/authenticode lands.
func configureVerifiers(opts *analyze.Options, trustRoots string) error { return nil }
