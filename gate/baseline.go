package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/rollgate/rollgate/baselines"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/rules"
)

// RecordOptions configure RecordBaseline.
type RecordOptions struct {
	Options
	// AcceptFailed records an installer although the rules that need no baseline fail it
	// (its findings were reviewed).
	AcceptFailed bool
	// Replace lets the new baseline replace the baseline of another release of the product.
	Replace bool
}

// Recorded says what RecordBaseline or Accept stored.
type Recorded struct {
	File    string
	Product inventory.Product
	Entries int
	// Replaced is the version of the baseline this one replaced ("" for none).
	Replaced string
	// Findings are the findings of the rules that need no baseline, at or above the gate,
	// that AcceptFailed let through.
	Findings []rules.Finding
	// KeptBehaviour: the old baseline's behaviour profile was carried over (Accept).
	KeptBehaviour string
}

// ReplaceError refuses to replace another release's baseline without Replace; Changes lists
// what the new baseline would change, one line each.
type ReplaceError struct {
	File    string
	Old     string // the stored release's version
	New     string
	Changes []string
}

func (e *ReplaceError) Error() string {
	return fmt.Sprintf("%s holds the baseline of release %s; recording %s would replace it with %d change(s) (pass --replace to do so)",
		e.File, report.Clean(e.Old), report.Clean(e.New), len(e.Changes))
}

// MaxListedChanges bounds the changes a ReplaceError lists.
const MaxListedChanges = 20

// RecordBaseline stores the installer as its product's known-good baseline in o.Baselines.
// It refuses (exit 1, nothing written) an installer that the rules needing no baseline fail,
// unless AcceptFailed; it refuses (exit 1) to replace the baseline of another release unless
// Replace, and the error lists what would change. Recording the same installer again is fine.
// With a Sandbox the behaviour profile is recorded too; a sandbox that cannot run is exit 3.
func RecordBaseline(ctx context.Context, installer string, o RecordOptions) (*Recorded, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.Baselines == "" {
		return nil, usage(errors.New("no baseline folder given"))
	}
	inv, side, err := o.Analyzer.InstallerSideFiles(ctx, installer)
	if err != nil {
		return nil, inconclusive(fmt.Errorf("not recording a baseline: %w", err))
	}
	rec := &Recorded{Product: inv.Product, Entries: len(inv.Entries)}
	// The first day's judgment: the same rules inspect runs.
	r := report.New(installer, o.FailOn)
	o.judge(r, rules.Static(nil, inv))
	if r.Verdict == report.Fail {
		if !o.AcceptFailed {
			return nil, WithCode(ExitFail, fmt.Errorf("not recording a baseline: %s fails the gate on its own (%s); review the findings (`rollgate inspect`), then pass --accept-failed",
				installer, summarize(r.Findings, o.FailOn)))
		}
		for _, f := range r.Findings {
			if f.Severity >= o.FailOn {
				rec.Findings = append(rec.Findings, f)
			}
		}
	}
	old, oldFile, err := findExisting(o.Baselines, inv.Product.Identity)
	if err != nil {
		return nil, err
	}
	if old != nil {
		if err := checkReplace(old, oldFile, inv, o.Replace); err != nil {
			return nil, err
		}
		rec.Replaced = old.Product.Version
	}
	var beh *inventory.Behaviour
	if o.Sandbox != nil {
		sr := report.New(installer, 0)
		if _, err := runSandbox(ctx, o.Sandbox, installer, inv, nil, sr); err != nil {
			return nil, err
		}
		if sr.Verdict == report.Inconclusive {
			return nil, inconclusive(fmt.Errorf("not recording a baseline: %s", sr.Error))
		}
		beh = &sr.Sandbox
	}
	p, err := baselines.Write(o.Baselines, baselines.New(inv, beh))
	if err != nil {
		return nil, usage(err)
	}
	// What the inventory was made from, so that the same bytes may reuse it (reuse.go).
	if err := baselines.WriteRecording(p, analysisOf(o.Analyzer, installer, side)); err != nil {
		return nil, usage(err)
	}
	if old != nil && oldFile != p {
		if err := errors.Join(os.Remove(oldFile), baselines.WriteRecording(oldFile, nil)); err != nil {
			return nil, usage(err)
		}
	}
	rec.File = p
	return rec, nil
}

// findExisting returns the baseline the folder holds for identity, if any. A folder that does
// not exist yet holds none.
func findExisting(dir, identity string) (*baselines.Baseline, string, error) {
	old, file, err := baselines.Find(dir, identity)
	switch {
	case err == nil:
		return old, file, nil
	case errors.Is(err, baselines.ErrNotFound):
		return nil, "", nil
	}
	if _, serr := os.Stat(dir); errors.Is(serr, os.ErrNotExist) {
		return nil, "", nil
	}
	return nil, "", usage(err)
}

// checkReplace refuses to replace a baseline of another release (another installer) unless
// replace is set.
func checkReplace(old *baselines.Baseline, oldFile string, inv *inventory.Inventory, replace bool) error {
	oldSelf, _ := old.Inventory.Lookup(inventory.InstallerPath)
	newSelf, _ := inv.Lookup(inventory.InstallerPath)
	if replace || (oldSelf != nil && newSelf != nil && oldSelf.SHA256 == newSelf.SHA256) {
		return nil
	}
	var changes []string
	for _, f := range rules.Static(old.Inventory, inv) {
		if f.Path == inventory.InstallerPath && f.Rule == rules.FileChanged {
			continue
		}
		changes = append(changes, fmt.Sprintf("%s %s %s", f.Severity, f.Rule, report.Clean(f.Path)))
	}
	sort.Strings(changes)
	return WithCode(ExitFail, &ReplaceError{File: oldFile, Old: old.Product.Version, New: inv.Product.Version, Changes: changes})
}

// summarize names the failing findings briefly: "1 critical sig.padding on x.dll, ...".
func summarize(fs []rules.Finding, failOn rules.Severity) string {
	var parts []string
	for _, f := range fs {
		if f.Severity < failOn {
			continue
		}
		if len(parts) == 3 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%s %s on %s", f.Severity, f.Rule, report.Clean(f.Path)))
	}
	return fmt.Sprintf("%d finding(s) at or above %s: %s", countAtLeast(fs, failOn), failOn, strings.Join(parts, ", "))
}

func countAtLeast(fs []rules.Finding, s rules.Severity) int {
	n := 0
	for _, f := range fs {
		if f.Severity >= s {
			n++
		}
	}
	return n
}

// MaxReportSize bounds a report read back by Accept (the same bound as a baseline).
const MaxReportSize = baselines.MaxFileSize

// ReadReport reads a rollgate JSON report, bounded. Errors are usage errors.
func ReadReport(p string) (*report.Report, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, usage(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxReportSize+1))
	if err != nil {
		return nil, usage(fmt.Errorf("reading %s: %w", p, err))
	}
	if len(data) > MaxReportSize {
		return nil, usage(fmt.Errorf("%s: over the %d-byte limit", p, MaxReportSize))
	}
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, usage(fmt.Errorf("%s: not a rollgate JSON report: %w", p, err))
	}
	if r.Schema != report.Schema {
		return nil, usage(fmt.Errorf("%s: schema %q, want %q", p, report.Clean(r.Schema), report.Schema))
	}
	return &r, nil
}

// AcceptOptions configure Accept.
type AcceptOptions struct {
	// Baselines is the folder of baselines to update.
	Baselines string
	// AcceptFailed accepts a report whose verdict is fail (its findings were reviewed).
	AcceptFailed bool
	// DropBehaviour does not carry the old baseline's behaviour profile over when the report
	// has no sandbox run.
	DropBehaviour bool
}

// Accept makes a reviewed report's inventory its product's baseline. Refused: an inconclusive
// report (exit 3), a report without an inventory or whose inventory does not belong to it
// (exit 2), a failed report unless AcceptFailed (exit 1). The report's sandbox run becomes the
// behaviour profile; without one the old baseline's profile is kept unless DropBehaviour.
func Accept(r *report.Report, name string, o AcceptOptions) (*Recorded, error) {
	if o.Baselines == "" {
		return nil, usage(errors.New("no baseline folder given"))
	}
	switch {
	case r.Verdict == report.Inconclusive:
		return nil, inconclusive(fmt.Errorf("%s is inconclusive (%s): nothing was judged, not accepting it", name, report.Clean(r.Error)))
	case r.Inventory == nil:
		return nil, usage(fmt.Errorf("%s has no inventory: make it with `verify ... --format json --include-inventory` or `inspect --format json`", name))
	case r.Verdict == report.Fail && !o.AcceptFailed:
		return nil, WithCode(ExitFail, fmt.Errorf("%s failed the gate (%d finding(s)); review them, then pass --accept-failed", name, len(r.Findings)))
	case r.Verdict != report.Pass && r.Verdict != report.Fail:
		return nil, usage(fmt.Errorf("%s: unknown verdict %q", name, report.Clean(r.Verdict)))
	}
	inv := r.Inventory
	if err := checkAcceptable(r, inv); err != nil {
		return nil, usage(fmt.Errorf("%s: %w", name, err))
	}
	rec := &Recorded{Product: inv.Product, Entries: len(inv.Entries)}
	var beh *inventory.Behaviour
	if r.Sandbox.Ran {
		s := r.Sandbox
		beh = &s
	}
	old, oldFile, err := findExisting(o.Baselines, inv.Product.Identity)
	if err != nil {
		return nil, err
	}
	if beh == nil && old != nil && old.Behaviour != nil && !o.DropBehaviour {
		beh = old.Behaviour
		rec.KeptBehaviour = old.Product.Version
	}
	p, err := baselines.Write(o.Baselines, baselines.New(inv, beh))
	if err != nil {
		return nil, usage(err)
	}
	// A report's inventory says nothing of the analyzer that made it: never reused.
	if err := baselines.WriteRecording(p, nil); err != nil {
		return nil, usage(err)
	}
	if old != nil {
		rec.Replaced = old.Product.Version
		if oldFile != p {
			// Found under another name: remove it so the folder holds one baseline per product.
			if err := errors.Join(os.Remove(oldFile), baselines.WriteRecording(oldFile, nil)); err != nil {
				return nil, usage(err)
			}
		}
	}
	rec.File = p
	return rec, nil
}

// checkAcceptable refuses an inventory that does not belong to the report it came in.
func checkAcceptable(r *report.Report, inv *inventory.Inventory) error {
	if inv.Product.Identity == "" {
		return errors.New("the inventory has no product identity")
	}
	if r.Installer.Identity != "" && r.Installer.Identity != inv.Product.Identity {
		return fmt.Errorf("the report's product %q and its inventory's %q differ", report.Clean(r.Installer.Identity), report.Clean(inv.Product.Identity))
	}
	if e, ok := inv.Lookup(inventory.InstallerPath); ok && r.Installer.SHA256 != "" && e.SHA256 != r.Installer.SHA256 {
		return errors.New("the report's installer hash and its inventory's differ")
	}
	return nil
}
