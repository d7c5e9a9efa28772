package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Output is one report to write: a format to a file ("" is standard output).
type Output struct {
	Format string
	File   string
}

// ParseOutputs resolves a --format and the --output values of a command that offers the
// formats allowed. "FORMAT=FILE" with an offered format adds an output; any other value is
// the file for the --format report (at most one; a file name that itself contains '=' is fine
// when its prefix is not a format). The --format output comes first.
func ParseOutputs(format string, values []string, allowed []string) ([]Output, error) {
	if !slices.Contains(allowed, format) {
		return nil, fmt.Errorf("--format %q: want one of %s", format, strings.Join(allowed, ", "))
	}
	main := Output{Format: format}
	var extra []Output
	plain := 0
	for _, v := range values {
		if f, file, ok := strings.Cut(v, "="); ok && slices.Contains(allowed, f) {
			if file == "" {
				return nil, fmt.Errorf("--output %s: no file after '='", v)
			}
			extra = append(extra, Output{Format: f, File: file})
			continue
		}
		if v == "" {
			return nil, errors.New("--output: empty file name")
		}
		plain++
		if plain > 1 {
			return nil, fmt.Errorf("--output %s: the --format report already goes to %s; use FORMAT=FILE (%s) for more", v, main.File, strings.Join(allowed, ", "))
		}
		main.File = v
	}
	outs := append([]Output{main}, extra...)
	seen := map[string]bool{}
	for _, o := range outs {
		if o.File != "" && seen[o.File] {
			return nil, fmt.Errorf("--output: %s named twice", o.File)
		}
		seen[o.File] = o.File != ""
	}
	return outs, nil
}

// WriteOutputs encodes the reports in every output: to its file (mode 0644), or to stdout,
// where a table is coloured when color says the terminal wants it. A format that needs an
// inventory the one inconclusive report lacks is skipped and named in skipped: the report's
// verdict already says why.
func WriteOutputs(stdout io.Writer, outs []Output, opt Options, color bool, reports ...*Report) (skipped []string, err error) {
	for _, o := range outs {
		var buf bytes.Buffer
		enc, err := NewEncoder(o.Format, opt)
		if err == nil {
			err = enc.Encode(&buf, reports...)
		}
		if errors.Is(err, ErrNoInventory) && len(reports) == 1 && reports[0].Verdict == Inconclusive {
			skipped = append(skipped, o.Format)
			continue
		}
		if err != nil {
			return skipped, fmt.Errorf("encoding %s: %w", o.Format, err)
		}
		data := buf.Bytes()
		if o.File != "" {
			if err := os.WriteFile(o.File, data, 0o644); err != nil {
				return skipped, err
			}
			continue
		}
		if o.Format == FormatTable && color {
			data = Colorize(data)
		}
		if _, err := stdout.Write(data); err != nil {
			return skipped, err
		}
	}
	return skipped, nil
}
