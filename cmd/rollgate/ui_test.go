package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestColorize(t *testing.T) {
	table := "installer  a.msi  msi\nnote       critical is a word here\n\n" +
		"SEVERITY  RULE         PATH   MESSAGE\n" +
		"critical  sig.padding  a.dll  hidden bytes\n" +
		"info      file.added   high   new\n\n" +
		"verdict: FAIL — 1 critical (fail-on high)\n"
	got := string(colorize([]byte(table)))
	want := "installer  a.msi  msi\nnote       critical is a word here\n\n" +
		"SEVERITY  RULE         PATH   MESSAGE\n" +
		sgrBoldRed + "critical" + sgrReset + "  sig.padding  a.dll  hidden bytes\n" +
		sgrDim + "info" + sgrReset + "      file.added   high   new\n\n" +
		"verdict: " + sgrBoldRed + "FAIL" + sgrReset + " — 1 critical (fail-on high)\n"
	if got != want {
		t.Errorf("colorize =\n%q\nwant\n%q", got, want)
	}
	// Stripping the escapes gives the table back: colour never changes the text.
	stripped := got
	for _, c := range []string{sgrReset, sgrBoldRed, sgrDim} {
		stripped = strings.ReplaceAll(stripped, c, "")
	}
	if stripped != table {
		t.Errorf("colorize changed the text")
	}
}

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
