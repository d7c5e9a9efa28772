package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/analyze"
	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/sandbox"
)

func newSandboxCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sandbox", Short: "Run an installer in the Docker sandbox"}
	cmd.AddCommand(newSandboxRunCmd(), newSandboxImageCmd())
	return cmd
}

// sandboxErr maps a sandbox that could not run or could not watch the whole run to exit 3
// (inconclusive, never a pass).
func sandboxErr(err error) error {
	if errors.Is(err, sandbox.ErrUnavailable) || errors.Is(err, sandbox.ErrTimeout) ||
		errors.Is(err, sandbox.ErrSinkhole) || errors.Is(err, sandbox.ErrDiskLimit) ||
		errors.Is(err, context.Canceled) {
		return withCode(exitInconclusive, err)
	}
	return err
}

func newSandboxRunCmd() *cobra.Command {
	var (
		format      string
		timeout     time.Duration
		progTimeout time.Duration
		programs    []string
		guestImage  string
		silent      string
	)
	cmd := &cobra.Command{
		Use:   "run INSTALLER",
		Short: "Install INSTALLER in the sandbox, start its programs, and print what they did",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return withCode(exitUsage, fmt.Errorf("--format %q: want table or json", format))
			}
			// Ctrl-C or SIGTERM cancels the run; sandbox.Run then removes its containers
			// before it returns.
			ctx, stop := signalContext(cmd)
			defer stop()
			if err := sandbox.Available(ctx); err != nil {
				return withCode(exitInconclusive, err)
			}
			installer := args[0]
			progs := append([]string(nil), programs...)
			if len(progs) == 0 {
				found, err := sandbox.InstallerPrograms(installer)
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "rollgate: no programs from the MSI's shortcuts: %v\n", err)
				}
				progs = found
			}
			if silent == "auto" {
				// The installer's format names its unattended-install switches: without them
				// an installer with a user interface exits with nothing installed.
				silent = ""
				a, err := analyze.New(analyze.Options{SkipSignaturesUnsafe: true, Formats: analyze.DefaultFormats()})
				if err == nil {
					if inv, err := a.Installer(ctx, installer); err == nil {
						silent = sandbox.SilentFor(inv.Format)
					}
				}
			} else if silent == "none" {
				silent = ""
			}
			b, err := sandbox.Run(ctx, sandbox.Spec{
				Installer:      installer,
				Silent:         silent,
				Programs:       progs,
				Timeout:        timeout,
				ProgramTimeout: progTimeout,
				Progress:       cmd.ErrOrStderr(),
				GuestImage:     guestImage,
			})
			if b != nil {
				var werr error
				if format == "json" {
					werr = report.EncodeJSON(cmd.OutOrStdout(), b)
				} else {
					werr = report.WriteBehaviourTable(cmd.OutOrStdout(), b)
				}
				if werr != nil && err == nil {
					err = werr
				}
			}
			if err != nil {
				return sandboxErr(err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "table", "output format: table or json")
	f.DurationVar(&timeout, "timeout", 0, "hard limit for the whole guest run (0: grows with the programs and their clock-jump reruns)")
	f.DurationVar(&progTimeout, "program-timeout", sandbox.DefaultProgramTimeout, "how long each program runs")
	f.StringVar(&silent, "silent", "auto", "unattended-install switches of an EXE installer: nsis (/S), inno (/VERYSILENT ...), burn (/quiet), installshield (/s /v/qn), none, or auto (by the installer's format)")
	f.StringVar(&guestImage, "guest-image", "", "use this guest image instead of the locally built rollgate/guest:<hash> (see images/guest/Dockerfile)")
	f.StringArrayVar(&programs, "program", nil, `Windows path of a program to start after the install (repeatable; default: the MSI's shortcuts), e.g. "C:\Program Files\Acme\app.exe"`)
	return cmd
}

func newSandboxImageCmd() *cobra.Command {
	var rebuild bool
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build the guest and sinkhole images locally (no registry)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd)
			defer stop()
			if err := sandbox.Available(ctx); err != nil {
				return withCode(exitInconclusive, err)
			}
			exe, err := sandbox.DefaultSinkholeBinary()
			if err != nil {
				return err
			}
			opts := sandbox.ImageOptions{Rebuild: rebuild, Progress: cmd.ErrOrStderr()}
			sink, err := sandbox.EnsureSinkholeImage(ctx, exe, opts)
			if err != nil {
				return sandboxErr(err)
			}
			guest, err := sandbox.EnsureGuestImage(ctx, opts)
			if err != nil {
				return sandboxErr(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), guest)
			fmt.Fprintln(cmd.OutOrStdout(), sink)
			return nil
		},
	}
	cmd.Flags().BoolVar(&rebuild, "rebuild", false, "build even when images for the current inputs exist")
	return cmd
}
