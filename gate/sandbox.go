package gate

import (
	"context"
	"errors"
	"fmt"

	"github.com/rollgate/rollgate/baselines"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/rules"
)

// Sandbox installs an installer in an isolated guest, starts its programs and reports what
// they did. sandbox.Runner implements it over the Docker Engine; the gate itself never talks
// to Docker, so it is tested in process with a fake.
type Sandbox interface {
	// Available reports why no run is possible (no engine), or nil.
	Available(ctx context.Context) error
	// Run installs the installer and runs the programs the inventory points at.
	Run(ctx context.Context, installer string, inv *inventory.Inventory) (*inventory.Behaviour, error)
}

// sandboxFormats are the installers a Linux container with wine can run.
var sandboxFormats = map[string]bool{"msi": true, "pe": true}

// runSandbox runs the installer in sb, records what it saw in r, and returns the behaviour
// findings against the baseline's profile (base may be nil when recording). A sandbox that
// cannot run makes the report inconclusive: a requested dynamic check that did not happen is
// never a pass. Only cancellation is an error.
func runSandbox(ctx context.Context, sb Sandbox, installer string, inv *inventory.Inventory, base *baselines.Baseline, r *report.Report) ([]rules.Finding, error) {
	if !sandboxFormats[inv.Format] {
		// DESIGN.md: macOS programs cannot run in a Linux container.
		r.Sandbox.Reason = fmt.Sprintf("%s installers get static analysis only", inv.Format)
		return nil, nil
	}
	if err := sb.Available(ctx); err != nil {
		r.Sandbox.Reason = "no Docker engine"
		r.Fail(fmt.Errorf("--sandbox requested but %w (start one with scripts/docker-up.sh, or `dockerd &` as root)", err))
		return nil, nil
	}
	b, err := sb.Run(ctx, installer, inv)
	if b != nil {
		b.Ran = true
		baselines.SortBehaviour(b)
		r.SetSandbox(b)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, inconclusive(err)
		}
		r.Sandbox.Ran = false
		r.Sandbox.Reason = err.Error()
		r.Fail(fmt.Errorf("sandbox run failed: %w", err))
		return nil, nil
	}
	if base == nil {
		return nil, nil
	}
	var baseBeh *inventory.Behaviour
	if base.Behaviour != nil && base.Behaviour.Ran {
		baseBeh = base.Behaviour
	} else {
		r.Notes = append(r.Notes, "the baseline has no sandbox profile (record it with `baseline record --sandbox`): every network destination counts as new, file writes and processes are not compared")
	}
	return rules.Behaviour(baseBeh, b, inv, nil), nil
}
