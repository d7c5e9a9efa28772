package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/rollgate/rollgate/rules"
)

// One encoder signature for every format, one report or a batch (syft's
// sbom.FormatEncoder): NewEncoder(format, opt).Encode(w, reports...). The Write* functions
// remain as thin wrappers for callers that have not moved yet.

// Encoder writes reports in one format. One report gives that report; several reports, or
// any number with Options.Batch, give the format's batch form (see NewEncoder).
type Encoder interface {
	Encode(w io.Writer, reports ...*Report) error
}

// EncoderFunc adapts a function to Encoder.
type EncoderFunc func(w io.Writer, reports ...*Report) error

// Encode calls f.
func (f EncoderFunc) Encode(w io.Writer, reports ...*Report) error { return f(w, reports...) }

// Format names.
const (
	FormatTable     = "table"
	FormatJSON      = "json"
	FormatSARIF     = "sarif"
	FormatJUnit     = "junit"
	FormatMarkdown  = "markdown"
	FormatCycloneDX = "cyclonedx"
	FormatHTML      = "html"
)

// Formats lists every format NewEncoder knows, in the order help text shows them.
var Formats = []string{FormatTable, FormatJSON, FormatSARIF, FormatJUnit, FormatMarkdown, FormatCycloneDX, FormatHTML}

var (
	// ErrUnknownFormat: NewEncoder was given a format it does not know.
	ErrUnknownFormat = errors.New("unknown report format")
	// ErrNoReports: Encode was called without a report.
	ErrNoReports = errors.New("no report to encode")
	// ErrBatchUnsupported: the format describes one installer only (cyclonedx).
	ErrBatchUnsupported = errors.New("format takes one report, not a batch")
)

// NewEncoder returns the encoder for format. Batch forms: table, json and markdown write the
// batch summary (BatchSchema); sarif writes one run per report; junit one testsuite per
// report; html an index page followed by every report; cyclonedx refuses a batch with
// ErrBatchUnsupported.
func NewEncoder(format string, opt Options) (Encoder, error) {
	single := func(one func(io.Writer, *Report, Options) error, batch func(io.Writer, []*Report, Options) error) Encoder {
		return EncoderFunc(func(w io.Writer, reports ...*Report) error {
			if len(reports) == 0 {
				return ErrNoReports
			}
			if len(reports) > 1 || opt.Batch {
				return batch(w, reports, opt)
			}
			return one(w, reports[0], opt.forReport(reports[0]))
		})
	}
	switch format {
	case FormatTable:
		return single(func(w io.Writer, r *Report, _ Options) error { return WriteTable(w, r) }, writeBatchTable), nil
	case FormatJSON:
		return single(func(w io.Writer, r *Report, _ Options) error { return WriteJSON(w, r) }, writeBatchJSON), nil
	case FormatMarkdown:
		return single(func(w io.Writer, r *Report, _ Options) error { return WriteMarkdown(w, r) }, writeBatchMarkdown), nil
	case FormatSARIF:
		// A batch is one run with a location per installer: code scanning refuses several
		// runs of one tool and category.
		return single(WriteSARIF, func(w io.Writer, reports []*Report, opt Options) error {
			return WriteSARIFWith(w, opt, reports...)
		}), nil
	case FormatJUnit:
		// JUnit's batch form is its single form: one testsuite per report.
		return EncoderFunc(func(w io.Writer, reports ...*Report) error {
			if len(reports) == 0 {
				return ErrNoReports
			}
			return WriteJUnitWith(w, opt, reports...)
		}), nil
	case FormatCycloneDX:
		return single(WriteCycloneDX, func(io.Writer, []*Report, Options) error {
			return fmt.Errorf("cyclonedx: %w", ErrBatchUnsupported)
		}), nil
	case FormatHTML:
		return EncoderFunc(func(w io.Writer, reports ...*Report) error {
			if len(reports) == 0 {
				return ErrNoReports
			}
			return writeHTML(w, reports, opt)
		}), nil
	}
	return nil, fmt.Errorf("%q: %w (want one of %s)", format, ErrUnknownFormat, strings.Join(Formats, ", "))
}

// forReport is opt with the report's own candidate inventory, so a batch gives every
// report its own.
func (o Options) forReport(r *Report) Options {
	if r.CandidateInventory != nil {
		o.Inventory = r.CandidateInventory
	}
	return o
}

// BatchSchema is the version of the batch summary JSON.
const BatchSchema = "rollgate.batch/v1"

// VerdictError is a batch entry whose run failed with a usage or internal error (exit 2):
// a Report with this verdict and Error set stands for it in a batch.
const VerdictError = "error"

// Exit codes of the CLI contract (DESIGN.md "Exit codes"), as the batch summary records them.
const (
	ExitPass         = 0
	ExitFail         = 1
	ExitUsage        = 2
	ExitInconclusive = 3
)

// ExitCode maps a verdict to its exit code.
func ExitCode(verdict string) int {
	switch verdict {
	case Pass:
		return ExitPass
	case Fail:
		return ExitFail
	case Inconclusive:
		return ExitInconclusive
	}
	return ExitUsage
}

// exitRank orders exit codes for a batch's own: usage 2, then inconclusive 3, then fail 1.
func exitRank(code int) int {
	switch code {
	case ExitUsage:
		return 3
	case ExitInconclusive:
		return 2
	case ExitFail:
		return 1
	}
	return 0
}

// BatchResult is one installer's line in the batch summary.
type BatchResult struct {
	Path       string         `json:"path"`
	Product    string         `json:"product"`
	Version    string         `json:"version"`
	Identity   string         `json:"identity,omitempty"`
	Verdict    string         `json:"verdict"` // pass, fail, inconclusive or error
	ExitCode   int            `json:"exit_code"`
	Counts     map[string]int `json:"counts"`
	Suppressed int            `json:"suppressed"`
	Error      string         `json:"error,omitempty"`
	Report     string         `json:"report,omitempty"`
}

// BatchSummary is the summary of a batch run (BatchSchema).
type BatchSummary struct {
	Schema     string        `json:"schema"`
	Verdict    string        `json:"verdict"`
	ExitCode   int           `json:"exit_code"`
	FailOn     string        `json:"fail_on"`
	Installers []BatchResult `json:"installers"`
}

// Summarize builds the batch summary of reports. The batch's exit code is the worst of its
// installers' (usage error, then inconclusive, then fail); fail-on is opt.FailOn when set,
// else the first report's.
func Summarize(reports []*Report, opt Options) BatchSummary {
	sum := BatchSummary{Schema: BatchSchema, ExitCode: ExitPass, Installers: []BatchResult{}}
	if opt.FailOn != nil {
		sum.FailOn = opt.FailOn.String()
	} else if len(reports) > 0 {
		sum.FailOn = reports[0].FailOn.String()
	}
	for _, r := range reports {
		res := BatchResult{Path: r.Installer.Path, Product: r.Installer.Product, Version: r.Installer.Version,
			Identity: r.Installer.Identity, Verdict: r.Verdict, ExitCode: ExitCode(r.Verdict), Counts: map[string]int{},
			Suppressed: len(r.Suppressed), Error: r.Error, Report: r.ReportFile}
		for s := rules.Info; s <= rules.Critical; s++ {
			res.Counts[s.String()] = 0 // every key present: the JSON has one shape
		}
		for s, n := range r.Counts() {
			res.Counts[s.String()] = n
		}
		if exitRank(res.ExitCode) > exitRank(sum.ExitCode) {
			sum.ExitCode = res.ExitCode
		}
		sum.Installers = append(sum.Installers, res)
	}
	switch sum.ExitCode {
	case ExitPass:
		sum.Verdict = Pass
	case ExitFail:
		sum.Verdict = Fail
	case ExitInconclusive:
		sum.Verdict = Inconclusive
	default:
		sum.Verdict = VerdictError
	}
	return sum
}

func writeBatchJSON(w io.Writer, reports []*Report, opt Options) error {
	return EncodeJSON(w, Summarize(reports, opt))
}

func writeBatchTable(w io.Writer, reports []*Report, opt Options) error {
	sum := Summarize(reports, opt)
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "INSTALLER\tPRODUCT\tVERDICT\tCRITICAL\tHIGH\tMEDIUM\tLOW\tINFO\tSUPPRESSED\n")
	tally := map[string]int{}
	for _, r := range sum.Installers {
		product := strings.TrimSpace(r.Product + " " + r.Version)
		if product == "" {
			product = "-"
		}
		c := r.Counts
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", Clean(r.Path), Clean(product), Clean(r.Verdict),
			c["critical"], c["high"], c["medium"], c["low"], c["info"], r.Suppressed)
		tally[r.Verdict]++
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var parts []string
	for _, v := range []string{Pass, Fail, Inconclusive, VerdictError} {
		if tally[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", tally[v], v))
		}
	}
	fmt.Fprintf(&buf, "\nverdict: %s — %d installer(s): %s (fail-on %s)\n", strings.ToUpper(sum.Verdict), len(sum.Installers), strings.Join(parts, ", "), sum.FailOn)
	_, err := w.Write(buf.Bytes())
	return err
}

func writeBatchMarkdown(w io.Writer, reports []*Report, opt Options) error {
	sum := Summarize(reports, opt)
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "### rollgate batch: **%s** (fail-on %s)\n\n", strings.ToUpper(sum.Verdict), sum.FailOn)
	fmt.Fprintf(&buf, "| Installer | Product | Verdict | critical | high | medium | low | info | suppressed |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range sum.Installers {
		c := r.Counts
		fmt.Fprintf(&buf, "| %s | %s | %s | %d | %d | %d | %d | %d | %d |\n", MarkdownCode(r.Path),
			MarkdownText(strings.TrimSpace(r.Product+" "+r.Version)), MarkdownText(strings.ToUpper(r.Verdict)),
			c["critical"], c["high"], c["medium"], c["low"], c["info"], r.Suppressed)
	}
	buf.WriteString("\n")
	_, err := w.Write(buf.Bytes())
	return err
}

// writeBatchSARIF writes one SARIF log with a run per report: each run is what WriteSARIF
// writes for that report alone.
