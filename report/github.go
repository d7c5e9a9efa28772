package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rollgate/rollgate/rules"
)

// GitHub Actions workflow commands (::error file=…,title=…::message) and the job step summary.
// A workflow command is recognised only at the start of a line, so every vendor string goes
// through Clean first (no CR or LF can survive) and then through GitHub's own escaping, which
// the runner undoes: a file name can neither end the command nor start another one.

// DefaultAnnotationLimit is how many annotations of each level are written before one summary
// line says how many more there were (GitHub shows at most 10 per level per step anyway).
const DefaultAnnotationLimit = 10

// MaxStepSummary bounds what one report appends to $GITHUB_STEP_SUMMARY (GitHub refuses a
// step summary over 1 MiB).
const MaxStepSummary = 1 << 20

// EscapeData escapes a workflow command's message.
func EscapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// EscapeProperty escapes a workflow command's property value.
func EscapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// AnnotationLevel maps a severity to a workflow command: critical and high are errors,
// medium a warning, low and info notices.
func AnnotationLevel(s rules.Severity) string {
	switch {
	case s >= rules.High:
		return "error"
	case s == rules.Medium:
		return "warning"
	default:
		return "notice"
	}
}

// WriteAnnotations writes one workflow command per finding, at most limit per level, then a
// notice saying how many were left out. An inconclusive report is one error annotation.
func WriteAnnotations(w io.Writer, r *Report, limit int) error {
	if limit <= 0 {
		limit = DefaultAnnotationLimit
	}
	var b strings.Builder
	file := EscapeProperty(Clean(r.Installer.Path))
	if r.Verdict == Inconclusive {
		fmt.Fprintf(&b, "::error file=%s,title=%s::%s\n", file, EscapeProperty("rollgate: inconclusive"), EscapeData(Clean(r.Error)))
	}
	written := map[string]int{}
	left := 0
	for _, f := range r.Findings {
		level := AnnotationLevel(f.Severity)
		if written[level] >= limit {
			left++
			continue
		}
		written[level]++
		title := fmt.Sprintf("%s (%s): %s", f.Rule, f.Severity, f.Path)
		fmt.Fprintf(&b, "::%s file=%s,title=%s::%s\n", level, file, EscapeProperty(Clean(title)), EscapeData(Clean(f.Path+": "+f.Message)))
	}
	if left > 0 {
		fmt.Fprintf(&b, "::notice file=%s,title=%s::%s\n", file, EscapeProperty("rollgate: more findings"),
			EscapeData(fmt.Sprintf("%d more finding(s) not annotated; the report lists them all", left)))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// AppendStepSummary appends md to the step summary file at path, cut at a line boundary so
// that at most MaxStepSummary bytes are added, with a note when it was cut.
func AppendStepSummary(path string, md []byte) error {
	if path == "" {
		return errors.New("no step summary file")
	}
	md = CapSummary(md, MaxStepSummary)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("step summary: %w", err)
	}
	if _, err := f.Write(md); err != nil {
		f.Close()
		return fmt.Errorf("step summary: %w", err)
	}
	return f.Close()
}

// truncationNote ends a summary that was cut.
const truncationNote = "\n> **Truncated:** the summary was cut to fit GitHub's 1 MiB step-summary limit; the full report is in the job's artifacts or log.\n"

// CapSummary returns md cut at a line boundary so that it, with a truncation note, fits in
// limit bytes. Shorter input is returned unchanged.
func CapSummary(md []byte, limit int) []byte {
	if len(md) <= limit {
		return md
	}
	keep := limit - len(truncationNote)
	if keep < 0 {
		keep = 0
	}
	cut := md[:keep]
	if i := bytes.LastIndexByte(cut, '\n'); i >= 0 {
		cut = cut[:i+1]
	} else {
		cut = nil
	}
	out := make([]byte, 0, len(cut)+len(truncationNote))
	out = append(out, cut...)
	return append(out, truncationNote...)
}
