// Package version says which rollgate this is. Release builds stamp Version:
//
//	go build -ldflags "-X github.com/rollgate/rollgate/internal/version.Version=1.4.0" ./cmd/rollgate
//
// and other builds fall back to the module and VCS information Go records in the binary.
// SARIF's driver.version and CycloneDX's tool version are read by code scanning and SBOM
// tools that expect a dotted number, so a development build ("0.0.0-dev") is written as the
// numeric core "0.0.0" there (Numeric), and in full as a SemVer 2.0 pre-release where a
// semantic version is asked for (Semantic).
package version

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Dev is Version when the build was not stamped.
const Dev = "0.0.0-dev"

// Version is the release version without a leading "v"; the release workflow stamps it.
var Version = Dev

// Info is what the binary knows about its own build.
type Info struct {
	Version   string // the stamped version, else the module version, else "(devel)"
	Revision  string // VCS revision, when the build recorded it
	Time      string // VCS commit time
	Modified  bool   // the work tree had changes
	GoVersion string
}

// Read returns the build information.
func Read() Info {
	b := Info{Version: "(devel)", GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" {
			b.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.time":
				b.Time = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if Version != Dev {
		b.Version = Version
	}
	return b
}

// String is the version written into reports and attestations: the stamped or module
// version without a leading "v", else Dev with the short VCS revision as build metadata.
func String() string {
	b := Read()
	if b.Version != "(devel)" {
		return strings.TrimPrefix(b.Version, "v")
	}
	v := Dev
	if b.Revision != "" {
		v += "+" + b.Revision[:min(len(b.Revision), 12)]
		if b.Modified {
			v += ".dirty"
		}
	}
	return v
}

// Numeric returns the MAJOR.MINOR.PATCH core of v ("v1.4.0-rc.1+abc" → "1.4.0"); anything
// that does not start with a dotted number gives "0.0.0".
func Numeric(v string) string {
	core, _ := split(v)
	return core
}

// Semantic returns v as a SemVer 2.0 string: the numeric core plus v's pre-release and build
// parts, with characters SemVer does not allow replaced by '-'. "devel+abc123" (a build
// inside the repository) gives "0.0.0-devel+abc123".
func Semantic(v string) string {
	core, rest := split(v)
	if rest == "" {
		return core
	}
	pre, build, hasBuild := strings.Cut(rest, "+")
	out := core
	if pre = idents(pre); pre != "" {
		out += "-" + pre
	}
	if build = idents(build); hasBuild && build != "" {
		out += "+" + build
	}
	return out
}

// split returns the numeric core of v (padded to three parts, leading zeros dropped) and
// what follows it, without the separating '-' (a non-numeric v is all "rest").
func split(v string) (core, rest string) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	parts := make([]string, 0, 3)
	i := 0
	for len(parts) < 3 {
		j := i
		for j < len(v) && v[j] >= '0' && v[j] <= '9' {
			j++
		}
		if j == i {
			break
		}
		n := strings.TrimLeft(v[i:j], "0")
		if n == "" {
			n = "0"
		}
		parts = append(parts, n)
		i = j
		if len(parts) < 3 && i < len(v) && v[i] == '.' && i+1 < len(v) && v[i+1] >= '0' && v[i+1] <= '9' {
			i++
			continue
		}
		break
	}
	if len(parts) == 0 {
		return "0.0.0", v
	}
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	rest = strings.TrimPrefix(v[i:], "-")
	return strings.Join(parts, "."), rest
}

// idents cleans a dot-separated SemVer identifier list: characters outside [0-9A-Za-z-]
// become '-', empty identifiers are dropped, and purely numeric ones lose leading zeros.
func idents(s string) string {
	var out []string
	for _, id := range strings.Split(s, ".") {
		b := []byte(id)
		numeric := len(b) > 0
		for k, c := range b {
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				numeric = false
			default:
				b[k] = '-'
				numeric = false
			}
		}
		id = string(b)
		if numeric {
			if id = strings.TrimLeft(id, "0"); id == "" {
				id = "0"
			}
		}
		if id != "" {
			out = append(out, id)
		}
	}
	return strings.Join(out, ".")
}
