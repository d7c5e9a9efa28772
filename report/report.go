// Package report builds the report — contract (DESIGN.md "Report JSON") — and encodes it in
// the output formats. Every vendor-controlled string is escaped before it reaches a terminal.
package report

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/policy"
	"github.com/rollgate/rollgate/rules"
)

// Schema is the report's schema version.
const Schema = "rollgate.report/v1"

// Verdicts.
const (
	Pass         = "pass"
	Fail         = "fail"
	Inconclusive = "inconclusive"
)

// Report is the result of inspect or verify.
type Report struct {
	Schema    string              `json:"schema"`
	Verdict   string              `json:"verdict"`
	FailOn    rules.Severity      `json:"fail_on"`
	Installer Installer           `json:"installer"`
	Baseline  *Baseline           `json:"baseline"`
	Findings  []rules.Finding     `json:"findings"`
	Sandbox   inventory.Behaviour `json:"sandbox"`
	// Error says why the verdict is inconclusive.
	Error string   `json:"error,omitempty"`
	Notes []string `json:"notes,omitempty"`
	// Warnings are about the gate's configuration, such as an expired allow entry.
	Warnings []string `json:"warnings,omitempty"`
	// Suppressed lists the findings the policy allowed, with the entry and its reason.
	Suppressed []policy.Suppressed `json:"suppressed,omitempty"`
	// ShowSuppressed asks the table to list Suppressed too.
	ShowSuppressed bool                 `json:"-"`
	Inventory      *inventory.Inventory `json:"inventory,omitempty"`

	// What the report was judged from, for encoders that show more than the JSON carries
	// (html). Never serialized; the gate fills them when it has them, and each may be nil.

	// CandidateInventory is the candidate's inventory when Inventory is nil (verify without
	// --include-inventory); it overrides Options.Inventory, so each report of a batch keeps
	// its own.
	CandidateInventory *inventory.Inventory `json:"-"`
	// BaselineInventory is the baseline's inventory the candidate was diffed against.
	BaselineInventory *inventory.Inventory `json:"-"`
	// BaselineBehaviour is the baseline's sandbox profile (baselines.Baseline.Behaviour).
	BaselineBehaviour *inventory.Behaviour `json:"-"`
	// ReportFile is where this report was written (batch --output-dir), for the batch summary.
	ReportFile string `json:"-"`
}

// Installer identifies the installer judged.
type Installer struct {
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Format  string `json:"format"`
	Product string `json:"product"`
	Version string `json:"version"`
	// Identity is the product identity baselines are keyed by.
	Identity string `json:"identity,omitempty"`
}

// Baseline identifies the baseline compared against.
type Baseline struct {
	Product string `json:"product"`
	Version string `json:"version"`
	File    string `json:"file,omitempty"`
}

// New starts a report for the installer at path.
func New(path string, failOn rules.Severity) *Report {
	return &Report{Schema: Schema, FailOn: failOn, Installer: Installer{Path: path}, Findings: []rules.Finding{},
		Sandbox: inventory.Behaviour{Reason: "not requested", Network: []inventory.NetEvent{}, DLLLoads: []inventory.DLLLoad{},
			Processes: []inventory.Process{}, FileWrites: []inventory.FileWrite{}}}
}

// SetInventory records the installer facts from inv.
func (r *Report) SetInventory(inv *inventory.Inventory) {
	r.Installer.Format = inv.Format
	r.Installer.Product = inv.Product.Name
	r.Installer.Version = inv.Product.Version
	r.Installer.Identity = inv.Product.Identity
	if e, ok := inv.Lookup(inventory.InstallerPath); ok {
		r.Installer.SHA256 = e.SHA256
	}
	r.Notes = append(r.Notes, inv.Notes...)
}

// SetSandbox records the sandbox's observations.
func (r *Report) SetSandbox(b *inventory.Behaviour) {
	if b == nil {
		return
	}
	s := *b
	if s.Network == nil {
		s.Network = []inventory.NetEvent{}
	}
	if s.DLLLoads == nil {
		s.DLLLoads = []inventory.DLLLoad{}
	}
	if s.Processes == nil {
		s.Processes = []inventory.Process{}
	}
	if s.FileWrites == nil {
		s.FileWrites = []inventory.FileWrite{}
	}
	r.Sandbox = s
}

// Fail marks the report inconclusive because of err.
func (r *Report) Fail(err error) {
	r.Verdict = Inconclusive
	r.Error = err.Error()
}

// Decide sorts the findings and sets the verdict (unless already inconclusive): fail when a
// finding reaches FailOn, else pass. A kept finding that says part of the input could not be
// judged (rules.MakesInconclusive: analysis.incomplete) makes it inconclusive — never a pass,
// and not a plain fail either, since what was skipped may hide more — unless the policy
// accepted it with a reason.
func (r *Report) Decide() string {
	rules.Sort(r.Findings)
	if r.Verdict == Inconclusive {
		return r.Verdict
	}
	r.Verdict = Pass
	for _, f := range r.Findings {
		if f.Severity >= r.FailOn {
			r.Verdict = Fail
			break
		}
	}
	for _, f := range r.Findings {
		if rules.MakesInconclusive(f) {
			r.Verdict = Inconclusive
			r.Error = "part of the installer could not be analysed: " + f.Path + ": " + f.Message +
				" (a policy allow entry with a reason accepts it)"
			break
		}
	}
	return r.Verdict
}

// Counts returns the number of findings per severity.
func (r *Report) Counts() map[rules.Severity]int {
	m := map[rules.Severity]int{}
	for _, f := range r.Findings {
		m[f.Severity]++
	}
	return m
}

// WriteJSON writes the report as indented JSON, HTML characters unescaped.
func WriteJSON(w io.Writer, r *Report) error { return EncodeJSON(w, r) }

// EncodeJSON writes v the way every rollgate JSON document is written: indented, HTML
// characters unescaped, one trailing newline, nothing written when encoding fails.
func EncodeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}
