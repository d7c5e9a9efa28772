package term

import (
	"bytes"
	"testing"
)

func TestUIQuietAndNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	var errBuf bytes.Buffer
	u := New(&bytes.Buffer{}, &errBuf, true, false)
	if u.Color || u.tty || !u.quiet {
		t.Errorf("New = color %v tty %v quiet %v, want false false true", u.Color, u.tty, u.quiet)
	}
	u.Event("done %s", "x")
	u.Status("working")
	u.Clear()
	if errBuf.Len() != 0 {
		t.Errorf("quiet ui wrote %q", errBuf.String())
	}
	u.quiet = false
	u.Event("done %s", "evil\x1b[2J")
	if got, want := errBuf.String(), "rollgate: done evil\\x1b[2J\n"; got != want {
		t.Errorf("event on a non-terminal = %q, want %q", got, want)
	}
}
