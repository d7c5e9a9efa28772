package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/analyze"
	"github.com/rollgate/rollgate/policy"
	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/rules"
)

// Batch mode of verify: many installers, each against its own product's baseline.

// MaxBatch bounds the installers one batch run takes.
const MaxBatch = 10000

// BatchSchema is the version of the batch summary JSON.
const BatchSchema = "rollgate.batch/v1"

// installerExts are the file name extensions taken from a folder given to batch mode; files
// named on the command line are taken whatever their name.
var installerExts = map[string]bool{".msi": true, ".dmg": true, ".pkg": true, ".mpkg": true, ".exe": true, ".cab": true}

// batchFormats are the summary formats of batch mode.
var batchFormats = []string{"table", "json"}

type batchOpts struct {
	jobs      int
	outputDir string
}

func (b *batchOpts) addFlags(cmd *cobra.Command) {
	cmd.Flags().IntVar(&b.jobs, "jobs", defaultJobs(), "batch mode: installers verified at once")
	cmd.Flags().StringVar(&b.outputDir, "output-dir", "", "batch mode: write each installer's JSON report into DIR")
}

func defaultJobs() int { return min(4, max(1, runtime.GOMAXPROCS(0)/2)) }

// isBatch: several arguments, a folder, or --output-dir. One installer file without
// --output-dir keeps the single-installer behaviour exactly.
func (o *verifyOpts) isBatch(cmd *cobra.Command, args []string) bool {
	if len(args) > 1 || cmd.Flags().Changed("output-dir") {
		return true
	}
	st, err := os.Stat(args[0])
	return err == nil && st.IsDir()
}

func (o *verifyOpts) checkBatch() error {
	if o.batch.jobs < 1 || o.batch.jobs > 256 {
		return withCode(exitUsage, fmt.Errorf("--jobs %d: want 1 to 256", o.batch.jobs))
	}
	if !hasString(batchFormats, o.format) {
		return withCode(exitUsage, fmt.Errorf("--format %q: batch mode prints a summary as table or json; per-installer reports go to --output-dir", o.format))
	}
	return o.checkFormats(batchFormats...)
}

// batchInstallers expands the arguments: folders to the installers directly inside them
// (sorted), files as given; duplicates dropped, order kept.
func batchInstallers(args []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(p string) error {
		if seen[filepath.Clean(p)] {
			return nil
		}
		seen[filepath.Clean(p)] = true
		if len(out) >= MaxBatch {
			return fmt.Errorf("more than %d installers", MaxBatch)
		}
		out = append(out, p)
		return nil
	}
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			if err := add(a); err != nil { // a missing file is judged inconclusive, not skipped
				return nil, err
			}
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, err
		}
		n := 0
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") || !installerExts[strings.ToLower(filepath.Ext(name))] {
				continue
			}
			p := filepath.Join(a, name)
			if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
				continue
			}
			if err := add(p); err != nil {
				return nil, err
			}
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("%s: no installers (%s) in the folder", a, strings.Join(sortedKeys(installerExts), " "))
		}
	}
	return out, nil
}

func sortedKeys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// batchResult is one installer's outcome.
type batchResult struct {
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

	r *report.Report
}

// batchSummary is the JSON summary of a batch run.
type batchSummary struct {
	Schema     string        `json:"schema"`
	Verdict    string        `json:"verdict"`
	ExitCode   int           `json:"exit_code"`
	FailOn     string        `json:"fail_on"`
	Installers []batchResult `json:"installers"`
}

// exitRank orders exit codes for the batch's own: usage 2, then inconclusive 3, then fail 1.
func exitRank(code int) int {
	switch code {
	case exitUsage:
		return 3
	case exitInconclusive:
		return 2
	case exitFail:
		return 1
	}
	return 0
}

func verdictCode(v string) int {
	switch v {
	case report.Pass:
		return exitPass
	case report.Fail:
		return exitFail
	}
	return exitInconclusive
}

func (o *verifyOpts) runBatch(ctx context.Context, cmd *cobra.Command, a *analyze.Analyzer, pol *policy.Policy, failOn rules.Severity, args []string) error {
	paths, err := batchInstallers(args)
	if err != nil {
		return withCode(exitUsage, err)
	}
	reportNames := make([]string, len(paths))
	if o.batch.outputDir != "" {
		if err := os.MkdirAll(o.batch.outputDir, 0o755); err != nil {
			return withCode(exitUsage, err)
		}
		used := map[string]bool{}
		for i, p := range paths {
			reportNames[i] = uniqueReportName(p, used)
		}
	}
	u := newUI(cmd)
	results := make([]batchResult, len(paths))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	jobs := o.batch.jobs
	if o.sandbox {
		jobs = 1 // each sandbox run is two containers with CPU and memory limits of their own
	}
	sem := make(chan struct{}, jobs)
	for i, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			res := o.batchOne(ctx, cmd, a, pol, failOn, p)
			results[i] = res
			mu.Lock()
			done++
			n := done
			mu.Unlock()
			u.event("[%d/%d] %s: %s", n, len(paths), p, res.Verdict)
		}()
	}
	wg.Wait()
	u.clear()

	code := exitPass
	for i := range results {
		res := &results[i]
		if exitRank(res.ExitCode) > exitRank(code) {
			code = res.ExitCode
		}
		if res.r == nil {
			continue
		}
		if reportNames[i] != "" {
			res.Report = filepath.Join(o.batch.outputDir, reportNames[i])
			var buf bytes.Buffer
			if err := report.WriteJSON(&buf, res.r); err != nil {
				return withCode(exitUsage, err)
			}
			if err := os.WriteFile(res.Report, buf.Bytes(), 0o644); err != nil {
				return withCode(exitUsage, err)
			}
		}
		if os.Getenv("GITHUB_ACTIONS") == "true" {
			_ = report.WriteAnnotations(cmd.ErrOrStderr(), res.r, report.DefaultAnnotationLimit)
		}
	}
	sum := batchSummary{Schema: BatchSchema, ExitCode: code, FailOn: failOn.String(), Installers: results}
	switch code {
	case exitPass:
		sum.Verdict = report.Pass
	case exitFail:
		sum.Verdict = report.Fail
	case exitInconclusive:
		sum.Verdict = report.Inconclusive
	default:
		sum.Verdict = "error"
	}
	for _, s := range o.out.specs {
		var buf bytes.Buffer
		if s.format == "json" {
			if err := writeJSONValue(&buf, sum); err != nil {
				return withCode(exitUsage, err)
			}
		} else {
			writeBatchTable(&buf, sum)
		}
		if s.file == "" {
			if _, err := cmd.OutOrStdout().Write(buf.Bytes()); err != nil {
				return withCode(exitUsage, err)
			}
		} else if err := os.WriteFile(s.file, buf.Bytes(), 0o644); err != nil {
			return withCode(exitUsage, err)
		}
	}
	if p := os.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
		var md bytes.Buffer
		writeBatchMarkdown(&md, sum)
		if err := report.AppendStepSummary(p, md.Bytes()); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "rollgate: warning: %v\n", err)
		}
	}
	for _, res := range results {
		if res.Error != "" && res.ExitCode != exitPass {
			fmt.Fprintf(cmd.ErrOrStderr(), "rollgate: %s: %s\n", report.Clean(res.Path), report.Clean(res.Error))
		}
	}
	if code == exitPass {
		return nil
	}
	return withCode(code, nil)
}

// batchOne verifies one installer; a panic or an internal error becomes that installer's
// result, never the batch's end.
func (o *verifyOpts) batchOne(ctx context.Context, cmd *cobra.Command, a *analyze.Analyzer, pol *policy.Policy, failOn rules.Severity, p string) (res batchResult) {
	res = batchResult{Path: p, Counts: map[string]int{}}
	for s := rules.Info; s <= rules.Critical; s++ {
		res.Counts[s.String()] = 0 // every key present: the JSON has one shape
	}
	defer func() {
		if v := recover(); v != nil {
			res.Verdict, res.ExitCode = "error", exitUsage
			res.Error = fmt.Sprintf("internal error: %v\n%s", v, debug.Stack())
			res.r = nil
		}
	}()
	r, _, err := o.verifyOne(ctx, cmd, a, pol, failOn, p)
	if err != nil {
		res.Verdict, res.ExitCode, res.Error = "error", exitUsage, err.Error()
		var ee *exitError
		if errors.As(err, &ee) {
			res.ExitCode = ee.code
			if ee.code == exitInconclusive {
				res.Verdict = report.Inconclusive
			}
		}
		return res
	}
	res.r = r
	res.Product, res.Version, res.Identity = r.Installer.Product, r.Installer.Version, r.Installer.Identity
	res.Verdict, res.ExitCode, res.Error = r.Verdict, verdictCode(r.Verdict), r.Error
	for s, n := range r.Counts() {
		res.Counts[s.String()] = n
	}
	res.Suppressed = len(r.Suppressed)
	return res
}

// uniqueReportName names an installer's report file in --output-dir: its base name with
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

func writeBatchTable(buf *bytes.Buffer, sum batchSummary) {
	tw := tabwriter.NewWriter(buf, 0, 0, 2, ' ', 0)
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
	fmt.Fprintf(buf, "\nverdict: %s — %d installer(s): %s (fail-on %s)\n", strings.ToUpper(sum.Verdict), len(sum.Installers), strings.Join(parts, ", "), sum.FailOn)
}

func writeBatchMarkdown(buf *bytes.Buffer, sum batchSummary) {
	fmt.Fprintf(buf, "### rollgate batch: **%s** (fail-on %s)\n\n", strings.ToUpper(sum.Verdict), sum.FailOn)
	fmt.Fprintf(buf, "| Installer | Product | Verdict | critical | high | medium | low | info | suppressed |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range sum.Installers {
		c := r.Counts
		fmt.Fprintf(buf, "| %s | %s | %s | %d | %d | %d | %d | %d | %d |\n", report.MarkdownCode(r.Path),
			report.MarkdownText(strings.TrimSpace(r.Product+" "+r.Version)), strings.ToUpper(r.Verdict),
			c["critical"], c["high"], c["medium"], c["low"], c["info"], r.Suppressed)
	}
	buf.WriteString("\n")
}

// writeJSONValue encodes v as the report JSON is: indented, HTML characters unescaped.
func writeJSONValue(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
