// Package term holds rollgate's terminal manners: progress goes to stderr, never stdout; on a
// terminal it is one status line rewritten in place, elsewhere (CI logs) plain lines, and
// quiet means nothing. Color only when stdout is a terminal, and never with --no-color or
// NO_COLOR set (https://no-color.org). Every line is escaped (report.Clean): installer and
// file names are vendor-controlled.
package term

import (
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/term"

	"github.com/rollgate/rollgate/report"
)

// UI is one command's view of the terminal.
type UI struct {
	mu    sync.Mutex
	err   io.Writer
	quiet bool
	tty   bool // stderr is a terminal: progress is a transient status line
	// Color: stdout is a terminal and color is allowed.
	Color bool
	shown bool // a status line is on screen
}

// New returns the UI for a command writing to stdout and stderr; quiet and noColor are its
// -q and --no-color.
func New(stdout, stderr io.Writer, quiet, noColor bool) *UI {
	if os.Getenv("NO_COLOR") != "" {
		noColor = true
	}
	return &UI{err: stderr, quiet: quiet, tty: IsTTY(stderr), Color: !noColor && IsTTY(stdout)}
}

// IsTTY reports whether w is a terminal: progress goes to stderr only then.
func IsTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Status shows a transient line on a terminal; elsewhere it says nothing (a single
// installer's progress is noise in a CI log).
func (u *UI) Status(format string, a ...any) {
	if u.quiet || !u.tty {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	fmt.Fprintf(u.err, "\r\x1b[K%s", report.Clean(fmt.Sprintf(format, a...)))
	u.shown = true
}

// Event reports a step that finished: on a terminal it replaces the status line, elsewhere it
// is a log line.
func (u *UI) Event(format string, a ...any) {
	if u.quiet {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	msg := report.Clean(fmt.Sprintf(format, a...))
	if u.tty {
		fmt.Fprintf(u.err, "\r\x1b[K%s", msg)
		u.shown = true
		return
	}
	fmt.Fprintf(u.err, "rollgate: %s\n", msg)
}

// Clear removes the status line before real output follows.
func (u *UI) Clear() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.shown {
		fmt.Fprint(u.err, "\r\x1b[K")
		u.shown = false
	}
}
