package main

import (
	"errors"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/sandbox/sinkhole"
)

// newSinkholeCmd runs the sandbox's network sinkhole as the sinkhole container's command (see
// the sandbox/sinkhole package doc for how the namespace is built). Events go to stdout as
// JSON lines (inventory.NetEvent) and nothing else does; diagnostics go to stderr, where a
// line containing sinkhole.ReadyMessage says the guest may start. SIGTERM, SIGINT and
// --timeout end it with exit 0; a namespace it cannot take over exits 3.
func newSinkholeCmd() *cobra.Command {
	var cfg sinkhole.Config
	cmd := &cobra.Command{
		Use:    "sinkhole",
		Short:  "Answer every network attempt in this namespace (sandbox internal)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfg.MaxEvents < 0 || cfg.MaxConns < 0 || cfg.Timeout < 0 || cfg.ReadTimeout < 0 {
				return withCode(exitUsage, errors.New("sinkhole: limits must not be negative"))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			if err := sinkhole.Run(ctx, cfg, cmd.OutOrStdout(), cmd.ErrOrStderr()); err != nil {
				return withCode(exitInconclusive, err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.MaxEvents, "max-events", sinkhole.DefaultMaxEvents, "events written at most")
	f.DurationVar(&cfg.Timeout, "timeout", 0, "stop after this long (0: run until SIGTERM)")
	f.DurationVar(&cfg.ReadTimeout, "read-timeout", sinkhole.DefaultReadTimeout, "how long one connection is read")
	f.IntVar(&cfg.MaxConns, "max-conns", sinkhole.DefaultMaxConns, "connections served at once")
	f.BoolVar(&cfg.DisableIPv6, "no-ipv6", false, "route and answer IPv4 only")
	return cmd
}
