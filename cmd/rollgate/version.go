package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildInfo is what the binary knows about its own build.
type buildInfo struct {
	Version   string // module version, "(devel)" for a build inside the repository
	Revision  string // VCS revision, when the build recorded it
	Time      string // VCS commit time
	Modified  bool   // the work tree had changes
	GoVersion string
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: "(devel)", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
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
	return b
}

// rollgateVersion is the version written into reports (SARIF driver, CycloneDX tool):
// the module version, else "devel" with the short revision when there is one.
func rollgateVersion() string {
	b := readBuildInfo()
	if b.Version != "(devel)" {
		return b.Version
	}
	v := "devel"
	if b.Revision != "" {
		v += "+" + shortRev(b.Revision, 12)
		if b.Modified {
			v += ".dirty"
		}
	}
	return v
}

func shortRev(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print rollgate's version, VCS revision and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b := readBuildInfo()
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "rollgate %s\n", b.Version)
			if b.Revision != "" {
				mod := ""
				if b.Modified {
					mod = " (modified)"
				}
				fmt.Fprintf(w, "revision %s%s %s\n", b.Revision, mod, b.Time)
			} else {
				fmt.Fprintln(w, "revision unknown (built without VCS stamping)")
			}
			fmt.Fprintf(w, "%s %s/%s\n", b.GoVersion, runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
