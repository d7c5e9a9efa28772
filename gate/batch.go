package gate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/rules"
	"github.com/rollgate/rollgate/shard"
)

// MaxBatch bounds the installers one batch run takes.
const MaxBatch = 10000

// BatchSchema is the version of the batch summary JSON.
const BatchSchema = "rollgate.batch/v1"

// InstallerExts are the file name extensions taken from a folder given to a batch; files named
// on the command line are taken whatever their name.
var InstallerExts = map[string]bool{".msi": true, ".dmg": true, ".pkg": true, ".mpkg": true, ".exe": true, ".cab": true}

// BatchOptions configure Batch.
type BatchOptions struct {
	Options
	// Jobs is how many installers are verified at once (1 with a sandbox).
	Jobs int
	// OutputDir, when set, receives each installer's JSON report.
	OutputDir string
	// Progress, when set, is called as each installer finishes.
	Progress func(done, total int, installer, verdict string)
	// ShardI of ShardN (1-based), when ShardN > 0, verifies only that stable share of the
	// installers (`--shard I/N`, see package shard): the CI matrix splits a folder this way.
	ShardI, ShardN int
}

// BatchResult is one installer's outcome.
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

	// Result is the installer's full result (nil when it could not be judged at all).
	Result *Result `json:"-"`
}

// BatchSummary is the outcome of a batch: one result per installer, in the order given.
type BatchSummary struct {
	Schema     string        `json:"schema"`
	Verdict    string        `json:"verdict"`
	ExitCode   int           `json:"exit_code"`
	FailOn     string        `json:"fail_on"`
	Installers []BatchResult `json:"installers"`
}

// exitRank orders exit codes for the batch's own: usage 2, then inconclusive 3, then fail 1.
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

// WorstCode returns the batch exit code of several: 2 over 3 over 1 over 0.
func WorstCode(codes ...int) int {
	worst := ExitPass
	for _, c := range codes {
		if exitRank(c) > exitRank(worst) {
			worst = c
		}
	}
	return worst
}

// Installers expands batch arguments: folders to the installers directly inside them
// (sorted), files as given; duplicates dropped, order kept. A missing file is kept: it is
// judged inconclusive, not skipped.
func Installers(args []string) ([]string, error) {
	out, _, err := installers(args)
	return out, err
}

// installers is Installers that also returns each installer's shard key: its path relative
// to the folder argument it came from, or the argument as given.
func installers(args []string) ([]string, map[string]string, error) {
	var out []string
	keys := map[string]string{}
	seen := map[string]bool{}
	root := ""
	add := func(p string) error {
		if seen[filepath.Clean(p)] {
			return nil
		}
		seen[filepath.Clean(p)] = true
		if len(out) >= MaxBatch {
			return fmt.Errorf("more than %d installers", MaxBatch)
		}
		out = append(out, p)
		keys[p] = shard.Key(root, p)
		return nil
	}
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			root = ""
			if err := add(a); err != nil {
				return nil, nil, err
			}
			continue
		}
		root = a
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, nil, err
		}
		n := 0
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") || !InstallerExts[strings.ToLower(filepath.Ext(name))] {
				continue
			}
			p := filepath.Join(a, name)
			if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
				continue
			}
			if err := add(p); err != nil {
				return nil, nil, err
			}
			n++
		}
		if n == 0 {
			var exts []string
			for k := range InstallerExts {
				exts = append(exts, k)
			}
			sort.Strings(exts)
			return nil, nil, fmt.Errorf("%s: no installers (%s) in the folder", a, strings.Join(exts, " "))
		}
	}
	return out, keys, nil
}

// Batch verifies every installer the arguments name (see Installers), each against its own
// product's baseline, o.Jobs at a time. A panic or an internal error becomes that installer's
// result, never the batch's end.
func Batch(ctx context.Context, args []string, o BatchOptions) (*BatchSummary, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.Jobs < 1 || o.Jobs > 256 {
		return nil, usage(fmt.Errorf("--jobs %d: want 1 to 256", o.Jobs))
	}
	paths, keys, err := installers(args)
	if err != nil {
		return nil, usage(err)
	}
	if o.ShardN > 0 {
		if paths, err = shard.Of(paths, o.ShardI, o.ShardN, func(p string) string { return keys[p] }); err != nil {
			return nil, usage(err)
		}
	}
	reportNames := make([]string, len(paths))
	if o.OutputDir != "" {
		if err := os.MkdirAll(o.OutputDir, 0o755); err != nil {
			return nil, usage(err)
		}
		used := map[string]bool{}
		for i, p := range paths {
			reportNames[i] = uniqueReportName(p, used)
		}
	}
	jobs := o.Jobs
	if o.Sandbox != nil {
		jobs = 1 // each sandbox run is two containers with CPU and memory limits of their own
	}
	results := make([]BatchResult, len(paths))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	sem := make(chan struct{}, jobs)
	for i, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = batchOne(ctx, p, o.Options)
			if o.Progress != nil {
				mu.Lock()
				done++
				o.Progress(done, len(paths), p, results[i].Verdict)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	sum := &BatchSummary{Schema: BatchSchema, FailOn: o.FailOn.String(), Installers: results}
	for i := range results {
		res := &results[i]
		sum.ExitCode = WorstCode(sum.ExitCode, res.ExitCode)
		if res.Result == nil || reportNames[i] == "" {
			continue
		}
		res.Report = filepath.Join(o.OutputDir, reportNames[i])
		var buf bytes.Buffer
		if err := report.WriteJSON(&buf, res.Result.Report); err != nil {
			return nil, usage(err)
		}
		if err := os.WriteFile(res.Report, buf.Bytes(), 0o644); err != nil {
			return nil, usage(err)
		}
	}
	switch sum.ExitCode {
	case ExitPass:
		sum.Verdict = report.Pass
	case ExitFail:
		sum.Verdict = report.Fail
	case ExitInconclusive:
		sum.Verdict = report.Inconclusive
	default:
		sum.Verdict = "error"
	}
	return sum, nil
}

// batchOne verifies one installer and turns any failure, a panic included, into its result.
func batchOne(ctx context.Context, p string, o Options) (res BatchResult) {
	res = BatchResult{Path: p, Counts: map[string]int{}}
	for s := rules.Info; s <= rules.Critical; s++ {
		res.Counts[s.String()] = 0 // every key present: the JSON has one shape
	}
	defer func() {
		if v := recover(); v != nil {
			res.Verdict, res.ExitCode = "error", ExitUsage
			res.Error = fmt.Sprintf("internal error: %v\n%s", v, debug.Stack())
			res.Result = nil
		}
	}()
	out, err := Verify(ctx, p, o)
	if err != nil {
		res.Verdict, res.ExitCode, res.Error = "error", ExitCode(err), err.Error()
		if res.ExitCode == ExitInconclusive {
			res.Verdict = report.Inconclusive
		}
		return res
	}
	r := out.Report
	res.Result = out
	res.Product, res.Version, res.Identity = r.Installer.Product, r.Installer.Version, r.Installer.Identity
	res.Verdict, res.ExitCode, res.Error = r.Verdict, VerdictCode(r.Verdict), r.Error
	for s, n := range r.Counts() {
		res.Counts[s.String()] = n
	}
	res.Suppressed = len(r.Suppressed)
	return res
}

// uniqueReportName names an installer's report file in the output folder: its base name with
// everything outside [A-Za-z0-9._-] replaced, ".json" added, numbered when two collide.
func uniqueReportName(installer string, used map[string]bool) string {
	var b strings.Builder
	for _, r := range filepath.Base(installer) {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	base := strings.TrimLeft(b.String(), ".")
	if base == "" {
		base = "installer"
	}
	name := base + ".json"
	for i := 2; used[strings.ToLower(name)]; i++ {
		name = fmt.Sprintf("%s-%d.json", base, i)
	}
	used[strings.ToLower(name)] = true
	return name
}

// BatchFormats are the formats of a batch: a summary (table, json, markdown), or every
// installer's findings in one document (sarif: one run with a location per installer;
// junit: a testsuite per installer).
var BatchFormats = []string{"table", "json", "markdown", "sarif", "junit"}

// Reports returns the reports of the installers that could be judged, in batch order.
func (s *BatchSummary) Reports() []*report.Report {
	var out []*report.Report
	for _, r := range s.Installers {
		if r.Result != nil {
			out = append(out, r.Result.Report)
		}
	}
	return out
}

// EncodeBatch writes the batch in one of BatchFormats; opt carries the tool version.
func EncodeBatch(w io.Writer, format string, sum *BatchSummary, opt report.Options) error {
	switch format {
	case "json":
		return report.EncodeJSON(w, sum)
	case "markdown":
		return writeBatchMarkdown(w, sum)
	case "table":
		return writeBatchTable(w, sum)
	case "sarif":
		return report.WriteSARIFWith(w, opt, sum.Reports()...)
	case "junit":
		return report.WriteJUnitWith(w, opt, sum.Reports()...)
	}
	return errors.New("batch summary: unknown format " + format)
}

func writeBatchTable(w io.Writer, sum *BatchSummary) error {
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", report.Clean(r.Path), report.Clean(product), r.Verdict,
			c["critical"], c["high"], c["medium"], c["low"], c["info"], r.Suppressed)
		tally[r.Verdict]++
	}
	tw.Flush()
	var parts []string
	for _, v := range []string{report.Pass, report.Fail, report.Inconclusive, "error"} {
		if tally[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", tally[v], v))
		}
	}
	fmt.Fprintf(&buf, "\nverdict: %s — %d installer(s): %s (fail-on %s)\n", strings.ToUpper(sum.Verdict), len(sum.Installers), strings.Join(parts, ", "), sum.FailOn)
	_, err := w.Write(buf.Bytes())
	return err
}

func writeBatchMarkdown(w io.Writer, sum *BatchSummary) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "### rollgate batch: **%s** (fail-on %s)\n\n", strings.ToUpper(sum.Verdict), sum.FailOn)
	fmt.Fprintf(&buf, "| Installer | Product | Verdict | critical | high | medium | low | info | suppressed |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range sum.Installers {
		c := r.Counts
		fmt.Fprintf(&buf, "| %s | %s | %s | %d | %d | %d | %d | %d | %d |\n", report.MarkdownCode(r.Path),
			report.MarkdownText(strings.TrimSpace(r.Product+" "+r.Version)), strings.ToUpper(r.Verdict),
			c["critical"], c["high"], c["medium"], c["low"], c["info"], r.Suppressed)
	}
	buf.WriteString("\n")
	_, err := w.Write(buf.Bytes())
	return err
}
