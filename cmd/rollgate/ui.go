package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/report"
)

// Terminal manners: progress goes to stderr, never stdout; on a terminal it is one status line
// rewritten in place, elsewhere (CI logs) plain lines, and with -q nothing. Color only when
// stdout is a terminal, and never with --no-color or NO_COLOR set (https://no-color.org).

// ui is the per-command view of the terminal.
type ui struct {
	mu    sync.Mutex
	err   io.Writer
	quiet bool
	tty   bool // stderr is a terminal: progress is a transient status line
	color bool // stdout is a terminal and color is allowed
	shown bool // a status line is on screen
}

func newUI(cmd *cobra.Command) *ui {
	quiet, _ := cmd.Flags().GetBool("quiet")
	noColor, _ := cmd.Flags().GetBool("no-color")
	if os.Getenv("NO_COLOR") != "" {
		noColor = true
	}
	return &ui{
		err:   cmd.ErrOrStderr(),
		quiet: quiet,
		tty:   isTTY(cmd.ErrOrStderr()),
		color: !noColor && isTTY(cmd.OutOrStdout()),
	}
}

// status shows a transient line on a terminal; elsewhere it says nothing (a single
// installer's progress is noise in a CI log).
func (u *ui) status(format string, a ...any) {
	if u.quiet || !u.tty {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	fmt.Fprintf(u.err, "\r\x1b[K%s", report.Clean(fmt.Sprintf(format, a...)))
	u.shown = true
}

// event reports a step that finished: on a terminal it replaces the status line, elsewhere it
// is a log line.
func (u *ui) event(format string, a ...any) {
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

// clear removes the status line before real output follows.
func (u *ui) clear() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.shown {
		fmt.Fprint(u.err, "\r\x1b[K")
		u.shown = false
	}
}
