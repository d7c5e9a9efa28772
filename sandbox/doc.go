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
//   - the guest (image rollgate/guest:<hash>, Debian bookworm + wine64 + libfaketime with a
//     prefix made at build time) joins the sinkhole's namespace ("container:<id>"), runs as
//     the unprivileged user rollgate (uid 1000, who owns the prefix), holds no capability,
//     runs with no-new-privileges and memory / pids / CPU limits, and runs
//     "wine64 msiexec /i … /qn" and then each program under WINEDEBUG=+pid,+loaddll,+process.
//
// Time travel: after its first run, every program runs again once per Spec.ClockOffsets
// (default +8 days, +31 days) in the same prefix, under libfaketime with the wall clock moved
// forward and every clock running Spec.ClockSpeed (60) times fast, for Spec.RerunTimeout each.
// libfaketime is preloaded into wine and so into the wineserver it starts: the server computes
// Sleep and wait timeouts against its own (faked) clock, so Sleep(10 minutes) returns after
// 10 s (measured, wine 8.0: Sleep(600000) and WaitForSingleObject(…, 600000) each ~10 s real).
// File times stay real (NO_FAKE_STAT). Each observation carries the clock offset of the phase
// that first showed it (run.sh marks phases with a per-run nonce; network events are placed by
// time, see TagNetwork). Under the speed-up wine's own service start timeouts fire early
// (services.exe restarts winedevice.exe, winedbg.exe may appear): the baseline run shows the
// same, so it is noise, not a finding.
//
// Registry: run.sh copies system.reg and user.reg before the install, after it and after each
// run phase; [ParseHive] reads them as hostile text and [RegistryChanges] reports the values
// each phase added or changed (Behaviour.Registry).
//
// The guest's root is a writable container layer, not DESIGN's read-only root with a tmpfs
// prefix: file writes are reported from the Engine's diff API (ContainerDiff), which sees
// nothing on a tmpfs (see guestRequest for the trade-off). /tmp is a tmpfs capped at 64 MiB;
// the writable layer is capped at the installer's size plus Limits.Disk, by the engine's
// quota where its storage driver has one and by a watchdog everywhere (see disk.go). A run
// whose sinkhole did not watch it to the end returns ErrSinkhole, one past its timeout
// ErrTimeout, one past its disk cap ErrDiskLimit: none is a pass.
//
// What comes back from a container is hostile: logs are capped by line and in total, and parsed
// by pure functions over an io.Reader ([ParseTrace], [ParseNet], [ParseDiff]) that are tested
// on literal wine 8.0 lines with no container.
//
// Nothing is pulled from a registry: both images are built locally ([EnsureGuestImage] with
// debootstrap against the host's own apt mirror, [EnsureSinkholeImage] from a static binary).
// Nothing is ever attached to Docker's default bridge.
//
// The engine may be remote: DOCKER_HOST=tcp://HOST:PORT with DOCKER_TLS_VERIFY=1 and
// DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem), or DOCKER_HOST=ssh://[user@]host[:port], each
// connection then being `ssh host docker system dial-stdio` (the docker CLI must be installed
// on the engine host, as for `docker -H ssh://`). Everything crosses the Engine API, never a
// shared disk: the installer and run script go into the guest with CopyToContainer, the
// registry copies come out with CopyFromContainer, logs and the file diff are API calls, no
// host path is ever bind-mounted, and images are imported and committed on that engine. Two
// things still happen on this host: debootstrap of the guest's root (root and debootstrap
// needed here; the root is streamed to the engine as an import) and the static binary the
// sinkhole image is made from. The engine host needs /dev/net/tun (the sinkhole's device).
package sandbox
