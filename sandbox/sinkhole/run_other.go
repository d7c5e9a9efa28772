//go:build !linux

package sinkhole

import (
	"context"
	"fmt"
	"io"

	"github.com/rollgate/rollgate/unpack"
)

// Run needs Linux network namespaces and /dev/net/tun.
func Run(ctx context.Context, cfg Config, events io.Writer, log io.Writer) error {
	return fmt.Errorf("sinkhole: needs Linux: %w", unpack.ErrUnsupported)
}
