package unpack

import "strings"

// WinComponents spells the components of a relative path as Win32 path normalisation does
// before the file system sees them (GetFullPathNameW; Microsoft .NET "File path formats on
// Windows systems", "Trimming characters"): a component that ends in a single period loses
// it, and the last component loses all its trailing periods and spaces, so "redist\version.dll."
// and "redist\version.dll " both create redist\version.dll. "." and ".." components are left
// for the caller's own rules. A component that becomes empty is returned empty; callers
// refuse it. comps is changed in place and returned.
func WinComponents(comps []string) []string {
	for i, c := range comps {
		if c == "." || c == ".." {
			continue
		}
		if i == len(comps)-1 {
			comps[i] = strings.TrimRight(c, ". ")
		} else if strings.HasSuffix(c, ".") && !strings.HasSuffix(c, "..") {
			comps[i] = c[:len(c)-1]
		}
	}
	return comps
}
