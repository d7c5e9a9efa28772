package main

import (
	"bytes"
	"testing"

	"github.com/spf13/cobra"
)

func TestUIQuietAndNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	cmd := &cobra.Command{Use: "x"}
	cmd.Flags().BoolP("quiet", "q", false, "")
	cmd.Flags().Bool("no-color", false, "")
	var errBuf bytes.Buffer
	cmd.SetErr(&errBuf)
	cmd.SetOut(&bytes.Buffer{})
	if err := cmd.Flags().Parse([]string{"-q"}); err != nil {
		t.Fatal(err)
	}
	u := newUI(cmd)
	if u.color || u.tty || !u.quiet {
		t.Errorf("newUI = color %v tty %v quiet %v, want false false true", u.color, u.tty, u.quiet)
	}
	u.event("done %s", "x")
	u.status("working")
	u.clear()
	if errBuf.Len() != 0 {
		t.Errorf("quiet ui wrote %q", errBuf.String())
	}
	u.quiet = false
	u.event("done %s", "evil\x1b[2J")
	if got, want := errBuf.String(), "rollgate: done evil\\x1b[2J\n"; got != want {
		t.Errorf("event on a non-terminal = %q, want %q", got, want)
	}
}
