// Package version says which rollgate this is. Release builds stamp Version with
//
//	go build -ldflags "-X github.com/rollgate/rollgate/internal/version.Version=1.2.3" ./cmd/rollgate
//
// and everything else falls back to the module and VCS information Go records in the binary.
package version

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Version is set at link time by release builds ("1.2.3", no leading v); empty otherwise.
var Version string

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
	bi, ok := debug.ReadBuildInfo()
	if ok {
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
	if Version != "" {
		b.Version = Version
	}
	return b
}

// String is the version written into reports (SARIF driver, CycloneDX tool, attestations):
// the stamped or module version without a leading "v", else "devel" with the short revision.
func String() string {
	b := Read()
	if b.Version != "(devel)" {
		return strings.TrimPrefix(b.Version, "v")
	}
	v := "devel"
	if b.Revision != "" {
		v += "+" + b.Revision[:min(len(b.Revision), 12)]
		if b.Modified {
			v += ".dirty"
		}
	}
	return v
}
