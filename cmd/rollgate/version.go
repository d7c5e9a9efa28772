package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/internal/version"
)

// rollgateVersion is the version written into reports.
func rollgateVersion() string { return version.String() }

// printVersion prints the version, VCS revision and Go version (`version`, `--version`).
func printVersion(w io.Writer) {
	b := version.Read()
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
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print rollgate's version, VCS revision and Go version (also --version)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			printVersion(cmd.OutOrStdout())
			return nil
		},
	}
}
