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

// Result is a judged installer: the report, the candidate's inventory (nil when the installer
// could not be read) and the baseline it was compared with (nil when there was none), which
// the report formats that show a diff need.
type Result struct {
	Report    *report.Report
	Inventory *inventory.Inventory
	Baseline  *baselines.Baseline
}

// Code is the exit code of the result's verdict.
func (r *Result) Code() int { return VerdictCode(r.Report.Verdict) }

// NoBaselineNote says that a verify without a baseline judged only what needs none.
const NoBaselineNote = "no baseline for this product: only the rules that need none ran (signatures, hidden bytes, trust, system-named DLLs, bundle seals); the diff against a known-good release was skipped"

// Inspect judges the installer on its own: the inventory and the rules that need no baseline.
// The returned error is a usage or internal error; an unreadable installer gives an
// inconclusive report.
func Inspect(ctx context.Context, installer string, o Options) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	r := report.New(installer, o.FailOn)
	inv, err := o.Analyzer.Installer(ctx, installer)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, inconclusive(ctxErr)
		}
		r.Fail(err)
		o.judge(r, nil)
		return &Result{Report: r}, nil
	}
	r.SetInventory(inv)
	r.Inventory, r.CandidateInventory = inv, inv
	o.judge(r, rules.Static(nil, inv))
	return &Result{Report: r, Inventory: inv}, nil
}

// Verify judges the installer against its product's baseline in o.Baselines. Without one it
// runs the rules that need no baseline and fails on them; with nothing failing the verdict is
// inconclusive (exit 3), never a pass, and a note says the diff was skipped.
func Verify(ctx context.Context, installer string, o Options) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.Baselines == "" {
		return nil, usage(errors.New("no baseline folder given"))
	}
	r := report.New(installer, o.FailOn)
	// Bytes a baseline was recorded from need no analysis: their inventory is the recorded
	// one (reuse.go).
	inv := o.recordedInventory(ctx, installer)
	reused := inv != nil
	if !reused {
		var err error
		inv, err = o.Analyzer.Installer(ctx, installer)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, inconclusive(ctxErr)
			}
			// unreadable, malformed, unsupported: inconclusive (exit 3)
			r.Fail(err)
			o.judge(r, nil)
			return &Result{Report: r}, nil
		}
	}
	r.SetInventory(inv)
	if reused {
		r.Notes = append(r.Notes, ReusedNote)
	}
	r.CandidateInventory = inv
	if o.IncludeInventory {
		r.Inventory = inv
	}
	res := &Result{Report: r, Inventory: inv}
	base, file, err := baselines.Find(o.Baselines, inv.Product.Identity)
	switch {
	case errors.Is(err, baselines.ErrNotFound):
		firstDay(r, inv, o)
		return res, nil
	case err != nil:
		return nil, usage(err)
	}
	res.Baseline = base
	r.Baseline = &report.Baseline{Product: base.Product.Name, Version: base.Product.Version, File: file}
	r.BaselineInventory, r.BaselineBehaviour = base.Inventory, base.Behaviour
	findings := rules.Static(base.Inventory, inv)
	if o.Sandbox != nil {
		fs, err := runSandbox(ctx, o.Sandbox, installer, inv, base, r)
		if err != nil {
			return nil, err
		}
		findings = append(findings, fs...)
	}
	o.judge(r, findings)
	return res, nil
}

// firstDay judges an installer whose product has no baseline: every rule that needs none runs
// and is reported; a failing one fails the gate, otherwise the verdict is inconclusive.
func firstDay(r *report.Report, inv *inventory.Inventory, o Options) {
	r.Notes = append(r.Notes, NoBaselineNote)
	o.judge(r, rules.Static(nil, inv))
	if r.Verdict == report.Pass {
		r.Verdict = report.Inconclusive
		r.Error = fmt.Sprintf("%v (%s): record one with `rollgate baseline record INSTALLER --baseline %s`",
			baselines.ErrNotFound, inv.Product.Identity, o.Baselines)
	}
}
