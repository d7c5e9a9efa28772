package gate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/shard"
)

// MaxBatch bounds the installers one batch run takes.
const MaxBatch = 10000

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

// BatchSummary is the outcome of a batch: the summary of the contract (report.BatchSummary,
// what --format json prints), the report of every installer in the order given (one that
// could not be judged at all is a stand-in with verdict "error" or "inconclusive"), and the
// full results of those that could.
type BatchSummary struct {
	report.BatchSummary
	Reports []*report.Report
	Results []*Result
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
	// One index of the recorded inventories for the whole batch: each baseline is read once.
	o.recorded = newRecordedIndex(o.Baselines, o.Analyzer.Identity())
	jobs := o.Jobs
	if o.Sandbox != nil {
		jobs = 1 // each sandbox run is two containers with CPU and memory limits of their own
	}
	sum := &BatchSummary{Reports: make([]*report.Report, len(paths)), Results: make([]*Result, len(paths))}
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
			sum.Results[i], sum.Reports[i] = batchOne(ctx, p, o.Options)
			if o.Progress != nil {
				mu.Lock()
				done++
				o.Progress(done, len(paths), p, sum.Reports[i].Verdict)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for i, r := range sum.Reports {
		if sum.Results[i] == nil || reportNames[i] == "" {
			continue
		}
		r.ReportFile = filepath.Join(o.OutputDir, reportNames[i])
		var buf bytes.Buffer
		if err := report.WriteJSON(&buf, r); err != nil {
			return nil, usage(err)
		}
		if err := os.WriteFile(r.ReportFile, buf.Bytes(), 0o644); err != nil {
			return nil, usage(err)
		}
	}
	failOn := o.FailOn
	sum.BatchSummary = report.Summarize(sum.Reports, report.Options{FailOn: &failOn})
	return sum, nil
}

// batchOne verifies one installer. A failure, a panic included, becomes a stand-in report
// (verdict "error", or "inconclusive" for exit 3) and never the batch's end.
func batchOne(ctx context.Context, p string, o Options) (res *Result, r *report.Report) {
	defer func() {
		if v := recover(); v != nil {
			res, r = nil, report.New(p, o.FailOn)
			r.Verdict, r.Error = report.VerdictError, fmt.Sprintf("internal error: %v\n%s", v, debug.Stack())
		}
	}()
	out, err := Verify(ctx, p, o)
	if err != nil {
		r = report.New(p, o.FailOn)
		r.Verdict, r.Error = report.VerdictError, err.Error()
		if ExitCode(err) == ExitInconclusive {
			r.Verdict = report.Inconclusive
		}
		return nil, r
	}
	return out, out.Report
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
// installer's findings in one document (sarif: one run, a location per installer; junit: a
// testsuite per installer; html: an index page, then every report).
var BatchFormats = []string{"table", "json", "markdown", "sarif", "junit", "html"}
