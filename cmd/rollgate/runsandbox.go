package main

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/baselines"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/rules"
	"github.com/rollgate/rollgate/sandbox"
)

// runSandbox installs and runs the installer in the sandbox, records what it saw in r, and
// returns the behaviour findings against the baseline's profile (base may be nil when
// recording). A sandbox that cannot run makes the report inconclusive: a requested dynamic
// check that did not happen is never a pass.
func runSandbox(ctx context.Context, cmd *cobra.Command, installer string, inv *inventory.Inventory, base *baselines.Baseline, r *report.Report) ([]rules.Finding, error) {
	if inv.Format != "msi" && inv.Format != "pe" {
		// DESIGN.md: macOS programs cannot run in a Linux container.
		r.Sandbox.Reason = fmt.Sprintf("%s installers get static analysis only", inv.Format)
		return nil, nil
	}
	if err := sandbox.Available(ctx); err != nil {
		r.Sandbox.Reason = "no Docker engine"
		r.Fail(fmt.Errorf("--sandbox requested but %w (start one with scripts/docker-up.sh, or `dockerd &` as root)", err))
		return nil, nil
	}
	spec := sandbox.Spec{Installer: installer, Programs: programs(inv)}
	if isTTY(cmd.ErrOrStderr()) {
		spec.Progress = cmd.ErrOrStderr()
	}
	b, err := sandbox.Run(ctx, spec)
	if b != nil {
		b.Ran = true
		baselines.SortBehaviour(b)
		r.SetSandbox(b)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, withCode(exitInconclusive, err)
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

// programs picks what to start after the install: the MSI's shortcuts, else its installed
// executables.
func programs(inv *inventory.Inventory) []string {
	if p := sandbox.ShortcutPrograms(inv.Shortcuts); len(p) > 0 {
		return p
	}
	var out []string
	for _, e := range inv.Entries {
		if e.Kind != inventory.KindPE || !strings.EqualFold(path.Ext(e.Path), ".exe") {
			continue
		}
		if w, ok := sandbox.WindowsPath(e.Path); ok && len(out) < sandbox.MaxPrograms {
			out = append(out, w)
		}
	}
	return out
}
