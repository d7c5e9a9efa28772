package sandbox

import (
	"regexp"
	"strings"
)

var (
	reGUID = regexp.MustCompile(`\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?`)
	// Temporary names Windows and MSI make: ~DF1A2B.tmp, MSI3F2.tmp, tmp12AB.tmp, _is1234, and
	// the cached package copies in C:\windows\Installer (457e.msi).
	reTemp = regexp.MustCompile(`^(?:~?[a-z]{0,4}[0-9a-f]{1,8}\.tmp|[0-9a-f]{1,8}\.(?:msi|msp|mst)|_is[0-9a-f]{1,8}|~[a-z]*[0-9a-f]{2,8}(?:\.[a-z]{1,3})?)$`)
	// Random hexadecimal names (8 or more digits, at least one a decimal digit).
	reHex = regexp.MustCompile(`^[0-9a-f]{8,}$`)
	// Dotted version numbers anywhere in a name: 1.2, 5.2.0.0, app-10.4.1, v2.0.
	reVersion = regexp.MustCompile(`v?[0-9]+(?:\.[0-9]+){1,3}`)
)

// Normalize maps a guest path to a form in which two runs of the same software compare equal:
// Windows paths are case-insensitive, so the result is lower case with backslashes; GUIDs
// become {guid}, temporary names <tmp>, long random hexadecimal names <hex>, dotted version
// numbers <ver>, and a user profile folder (other than Public) <user>. The rules compare
// normalised paths of a candidate run with those of its baseline run.
func Normalize(p string) string {
	p = strings.ToLower(strings.ReplaceAll(p, "/", `\`))
	p = reGUID.ReplaceAllString(p, "{guid}")
	parts := strings.Split(p, `\`)
	for i, c := range parts {
		switch {
		case c == "" || c == "{guid}":
		case i > 0 && parts[i-1] == "users" && i == 2 && c != "public":
			parts[i] = "<user>"
		case reTemp.MatchString(c):
			parts[i] = "<tmp>"
		case reHex.MatchString(c) && strings.ContainsAny(c, "0123456789"):
			parts[i] = "<hex>"
		default:
			parts[i] = reVersion.ReplaceAllString(c, "<ver>")
		}
	}
	return strings.Join(parts, `\`)
}
