package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/baselines"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/rules"
)

// runSandbox runs the installer in the sandbox and adds behaviour findings against base.
// Filled in when the sandbox lands; until then --sandbox is inconclusive.
func runSandbox(ctx context.Context, cmd *cobra.Command, installer string, inv *inventory.Inventory, base *baselines.Baseline, r *report.Report) ([]rules.Finding, error) {
	r.Sandbox.Reason = "sandbox not available in this build"
	r.Fail(errors.New("--sandbox requested but the sandbox is not available in this build"))
	return nil, nil
}
