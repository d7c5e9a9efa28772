package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/client"
)

// Label is carried by every container and image rollgate creates, so that a person can list and
// remove them with `docker ps -a --filter label=rollgate`.
const Label = "rollgate"

// ErrUnavailable reports that no Docker engine answers. The CLI turns it into exit code 3
// (inconclusive): a sandbox that could not run is never a pass.
var ErrUnavailable = errors.New("sandbox: no Docker engine answers")

// ErrTimeout reports that the guest ran past Spec.Timeout and was killed; the Behaviour returned
// with it holds what was observed until then.
var ErrTimeout = errors.New("sandbox: run timed out")

// ErrSinkhole reports that the sinkhole did not watch the whole run (it never made the
// namespace's route, or it exited before the guest did): the network list may be incomplete,
// so the run proves nothing about the network. The Behaviour returned with it says why.
var ErrSinkhole = errors.New("sandbox: the sinkhole did not observe the whole run")

// ErrDiskLimit reports that the guest's writable layer grew past its cap (Limits.Disk plus the
// installer): the guest was killed, or the engine's quota stopped its writes, so the run may
// not have shown everything; the Behaviour returned with it says how much was written.
var ErrDiskLimit = errors.New("sandbox: the guest wrote more than its disk cap")

// pingTimeout bounds how long Available waits for the engine to answer.
const pingTimeout = 5 * time.Second

// newClient connects to the engine named by DOCKER_HOST (default: the local socket),
// negotiating the API version, which the client does by default (Debian bookworm's engine
// speaks 1.41). A remote engine is as good as a local one: tcp:// with DOCKER_TLS_VERIFY and
// DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) as for the docker CLI, or ssh://[user@]host[:port]
// (see sshDialer). Nothing in a run reads or writes the engine's disk except through the API.
func newClient() (*client.Client, error) {
	opts := []client.Opt{client.FromEnv}
	if u, ok, err := sshHost(os.Getenv(client.EnvOverrideHost)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	} else if ok {
		opts = []client.Opt{client.WithHost(sshHTTPHost), client.WithDialContext(sshDialer(u)),
			client.WithAPIVersionFromEnv()}
	}
	c, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return c, nil
}

// engineHost is the engine the environment names, as the client reads it.
func engineHost() string {
	if h := os.Getenv(client.EnvOverrideHost); h != "" {
		return h
	}
	return client.DefaultDockerHost
}

// engineIsLocal reports whether the engine is reached over a socket of this host.
func engineIsLocal() bool {
	h := engineHost()
	return strings.HasPrefix(h, "unix://") || strings.HasPrefix(h, "npipe://")
}

// Available reports whether a Docker engine answers, with an error that says how to start one.
func Available(ctx context.Context) error {
	c, err := newClient()
	if err != nil {
		return err
	}
	defer c.Close()
	return ping(ctx, c)
}

func ping(ctx context.Context, c *client.Client) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		host := engineHost()
		hint := "start one with `sudo dockerd &` or scripts/docker-up.sh"
		if !engineIsLocal() {
			hint = "check that the engine host runs dockerd and that DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) name it, or for ssh:// that `ssh HOST docker version` works"
		}
		return fmt.Errorf("%w at %s (%v); %s", ErrUnavailable, host, err, hint)
	}
	return nil
}
