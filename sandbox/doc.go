// Package sandbox runs a Windows installer under wine in a Docker container whose only network is
// rollgate's own sinkhole, and reports what it did as an [inventory.Behaviour].
//
// A run uses two containers, both created through the Docker Engine API, both labelled
// [Label], both removed at the end, on error, on timeout and on cancellation:
//
//   - the sinkhole (image rollgate/sinkhole:<hash>, FROM scratch + rollgate's own static
//     binary) is created with network mode "none" and NET_ADMIN; it makes a TUN device the
//     namespace's only route and answers every DNS name, TCP port and UDP datagram itself,
//     printing one JSON [inventory.NetEvent] per line;
//   - the guest (image rollgate/guest:<hash>, Debian bookworm + wine64 with a prefix made at
//     build time) joins the sinkhole's namespace ("container:<id>"), holds no capability,
//     runs with no-new-privileges and memory / pids / CPU limits, and runs
//     "wine64 msiexec /i … /qn" and then each program under WINEDEBUG=+pid,+loaddll,+process.
//
// The guest's root is a writable container layer, not DESIGN's read-only root with a tmpfs
// prefix: file writes are reported from the Engine's diff API (ContainerDiff), which sees
// nothing on a tmpfs (see guestRequest for the trade-off). A run whose sinkhole did not watch
// it to the end returns ErrSinkhole, one past its timeout ErrTimeout: neither is a pass.
//
// What comes back from a container is hostile: logs are capped by line and in total, and parsed
// by pure functions over an io.Reader ([ParseTrace], [ParseNet], [ParseDiff]) that are tested
// on literal wine 8.0 lines with no container.
//
// Nothing is pulled from a registry: both images are built locally ([EnsureGuestImage] with
// debootstrap against the host's own apt mirror, [EnsureSinkholeImage] from a static binary).
// Nothing is ever attached to Docker's default bridge.
package sandbox
