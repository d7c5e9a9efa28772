package main

import (
	"io"
	"os"

	"golang.org/x/term"
)

// isTTY reports whether w is a terminal: progress goes to stderr only then.
func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
