package report

import (
	"strings"
	"testing"
)

func TestColorize(t *testing.T) {
	table := "installer  a.msi  msi\nnote       critical is a word here\n\n" +
		"SEVERITY  RULE         PATH   MESSAGE\n" +
		"critical  sig.padding  a.dll  hidden bytes\n" +
		"info      file.added   high   new\n\n" +
		"verdict: FAIL — 1 critical (fail-on high)\n"
	got := string(Colorize([]byte(table)))
	want := "installer  a.msi  msi\nnote       critical is a word here\n\n" +
		"SEVERITY  RULE         PATH   MESSAGE\n" +
		sgrBoldRed + "critical" + sgrReset + "  sig.padding  a.dll  hidden bytes\n" +
		sgrDim + "info" + sgrReset + "      file.added   high   new\n\n" +
		"verdict: " + sgrBoldRed + "FAIL" + sgrReset + " — 1 critical (fail-on high)\n"
	if got != want {
		t.Errorf("Colorize =\n%q\nwant\n%q", got, want)
	}
	// Stripping the escapes gives the table back: colour never changes the text.
	stripped := got
	for _, c := range []string{sgrReset, sgrBoldRed, sgrDim} {
		stripped = strings.ReplaceAll(stripped, c, "")
	}
	if stripped != table {
		t.Errorf("Colorize changed the text")
	}
}
