package report

import (
	"fmt"
	"strings"
	"unicode"
)

// Clean makes a vendor-controlled string safe to print on a terminal or in a CI log: control
// characters (C0, DEL, C1 — so no escape sequences), bidirectional overrides and other
// invisible format characters are replaced by \x / \u escapes. Printable text, backslashes
// included (Windows paths stay readable), is unchanged.
func Clean(s string) string {
	if isClean(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == unicode.ReplacementChar && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0, unicode.Is(unicode.Cf, r), r == '\u2028', r == '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isClean(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r >= 0x80 && (r < 0xa0 || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar || r == '\u2028' || r == '\u2029') {
			return false
		}
	}
	return true
}
