package sandbox

import (
	"archive/tar"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// engine is the part of the Engine API a run uses; *client.Client implements it, tests fake it.
type engine interface {
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImageImport(ctx context.Context, src client.ImageImportSource, ref string, opts client.ImageImportOptions) (client.ImageImportResult, error)
	ContainerCreate(ctx context.Context, opts client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	ContainerStart(ctx context.Context, id string, opts client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerWait(ctx context.Context, id string, opts client.ContainerWaitOptions) client.ContainerWaitResult
	ContainerInspect(ctx context.Context, id string, opts client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerKill(ctx context.Context, id string, opts client.ContainerKillOptions) (client.ContainerKillResult, error)
	ContainerStop(ctx context.Context, id string, opts client.ContainerStopOptions) (client.ContainerStopResult, error)
	ContainerRemove(ctx context.Context, id string, opts client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	ContainerLogs(ctx context.Context, id string, opts client.ContainerLogsOptions) (client.ContainerLogsResult, error)
	ContainerDiff(ctx context.Context, id string, opts client.ContainerDiffOptions) (client.ContainerDiffResult, error)
	ContainerCommit(ctx context.Context, id string, opts client.ContainerCommitOptions) (client.ContainerCommitResult, error)
	ImageList(ctx context.Context, opts client.ImageListOptions) (client.ImageListResult, error)
	ImageRemove(ctx context.Context, ref string, opts client.ImageRemoveOptions) (client.ImageRemoveResult, error)
	CopyToContainer(ctx context.Context, id string, opts client.CopyToContainerOptions) (client.CopyToContainerResult, error)
	CopyFromContainer(ctx context.Context, id string, opts client.CopyFromContainerOptions) (client.CopyFromContainerResult, error)
}

var _ engine = (*client.Client)(nil)

// Limits are the resources one container may use.
type Limits struct {
	Memory   int64 // bytes (swap is not added: MemorySwap = Memory)
	PIDs     int64 // processes and threads
	NanoCPUs int64 // 1e9 = one CPU
	// Disk bounds what the guest writes to its writable layer beyond what is copied into it
	// (the installer), in bytes; 0 takes the default. The sinkhole's root is read-only and
	// this field is not used for it. See disk.go for how it is enforced.
	Disk int64
}

var (
	// defaultGuestLimits: wine with an installer and one program fits in 2 GiB; 1.5 CPUs leaves
	// the host's other work room on a 2-core machine.
	defaultGuestLimits = Limits{Memory: 2 << 30, PIDs: 512, NanoCPUs: 1_500_000_000, Disk: 4 << 30}
	// defaultSinkholeLimits: a userspace TCP/IP stack answering one guest.
	defaultSinkholeLimits = Limits{Memory: 256 << 20, PIDs: 128, NanoCPUs: 500_000_000}
)

// SinkholeResolver is the address the guest's resolv.conf names. The sinkhole answers DNS on
// every address, so any address would do; one from TEST-NET-1 can never be a real resolver.
var SinkholeResolver = netip.MustParseAddr("192.0.2.53")

// guestHostname is the hostname of the sinkhole's namespace, which the guest shares.
const guestHostname = "rollgate-guest"

// Log caps the engine applies itself, as a backstop to the guest script's own cap on wine's
// trace output and to the caps applied while reading.
const engineLogMaxSize = "96m"

// maxFileBytes bounds any one file a container writes (RLIMIT_FSIZE), whatever caps the
// writable layer as a whole (see diskCap).
const maxFileBytes = 4 << 30

// diskQuotaHeadroom is how much the engine's hard quota on the guest's writable layer exceeds
// the cap the watchdog enforces: a guest that fills its layer is seen crossing the cap (and
// the run is inconclusive) while the run script still has room to copy the registry out.
const diskQuotaHeadroom = 256 << 20

// withDefaults fills each zero field of l from d.
func (l Limits) withDefaults(d Limits) Limits {
	l.Memory = cmp.Or(l.Memory, d.Memory)
	l.PIDs = cmp.Or(l.PIDs, d.PIDs)
	l.NanoCPUs = cmp.Or(l.NanoCPUs, d.NanoCPUs)
	l.Disk = cmp.Or(l.Disk, d.Disk)
	return l
}

func (l Limits) resources() container.Resources {
	return container.Resources{
		Memory:     l.Memory,
		MemorySwap: l.Memory,
		PidsLimit:  ptr(l.PIDs),
		NanoCPUs:   l.NanoCPUs,
		Ulimits: []*container.Ulimit{
			{Name: "fsize", Soft: maxFileBytes, Hard: maxFileBytes},
			{Name: "core", Soft: 0, Hard: 0},
		},
	}
}

func labels(role string) map[string]string {
	return map[string]string{Label: role}
}

// sinkholeRequest builds the sinkhole container: network mode "none" (its namespace starts with
// only lo), NET_ADMIN and /dev/net/tun to make the TUN device that becomes the namespace's only
// route, every other capability dropped, a read-only root (a static binary needs nothing
// else). Its resolv.conf names SinkholeResolver; the guest, joining this namespace, shares it
// (the engine refuses DNS options on a container-mode network, so they go here).
func sinkholeRequest(image string, lim Limits) client.ContainerCreateOptions {
	return client.ContainerCreateOptions{
		Config: &container.Config{
			Image:  image,
			Labels: labels("sinkhole"),
			// The guest shares this hostname; wine looks its own name up at start, and
			// ExtraHosts answers that from /etc/hosts so it is not a (noise) DNS event.
			Hostname: guestHostname,
		},
		HostConfig: &container.HostConfig{
			NetworkMode:    "none",
			CapDrop:        []string{"ALL"},
			CapAdd:         []string{"NET_ADMIN"},
			SecurityOpt:    []string{"no-new-privileges"},
			ReadonlyRootfs: true,
			DNS:            []netip.Addr{SinkholeResolver},
			ExtraHosts:     []string{guestHostname + ":127.0.1.1"},
			// The engine turns IPv6 off in a namespace without an IPv6 network; the sinkhole
			// answers IPv6 too, so it is turned back on (inside this namespace only).
			Sysctls: map[string]string{
				"net.ipv6.conf.all.disable_ipv6":     "0",
				"net.ipv6.conf.default.disable_ipv6": "0",
			},
			Resources: withDevices(lim.resources(), container.DeviceMapping{
				PathOnHost: "/dev/net/tun", PathInContainer: "/dev/net/tun", CgroupPermissions: "rwm",
			}),
			LogConfig: container.LogConfig{Type: "json-file", Config: map[string]string{
				"max-size": engineLogMaxSize, "max-file": "1"}},
		},
	}
}

func withDevices(r container.Resources, d ...container.DeviceMapping) container.Resources {
	r.Devices = append(r.Devices, d...)
	return r
}

// guestRequest builds the guest container: it joins the sinkhole's namespace and never has a
// network of its own; no capability at all, no-new-privileges, resource limits, a tmpfs /tmp
// (wineserver's socket only). A quota above zero asks the engine for a hard size limit on the
// writable layer (StorageOpt "size": btrfs, zfs, or overlay2 on xfs mounted with pquota; other
// storage drivers refuse the container, and run then creates it without, see diskCap).
//
// The root file system stays writable, against DESIGN's "read-only root with tmpfs for the
// prefix": the file writes we report come from the Engine's diff API (ContainerDiff), and a
// tmpfs shows nothing there. A writable layer is private to this container and removed with
// it, so the read-only root would only protect the guest image, which the layer already
// protects; what the read-only root would add (the guest cannot change its own binaries
// between install and program start) is worth less to a gate than seeing every write.
func guestRequest(image, sinkholeID string, lim Limits, quota int64, cmd []string, env []string) client.ContainerCreateOptions {
	var storage map[string]string
	if quota > 0 {
		storage = map[string]string{"size": strconv.FormatInt(quota, 10)}
	}
	return client.ContainerCreateOptions{
		Config: &container.Config{
			Image:  image,
			Cmd:    cmd,
			Env:    env,
			Labels: labels("guest"),
			// StopTimeout 0: at the end of a run nothing inside deserves a grace period.
			StopTimeout: ptr(0),
		},
		HostConfig: &container.HostConfig{
			NetworkMode: container.NetworkMode("container:" + sinkholeID),
			CapDrop:     []string{"ALL"},
			SecurityOpt: []string{"no-new-privileges"},
			Tmpfs:       map[string]string{"/tmp": "rw,nosuid,nodev,size=64m"},
			StorageOpt:  storage,
			Resources:   lim.resources(),
			LogConfig: container.LogConfig{Type: "json-file", Config: map[string]string{
				"max-size": engineLogMaxSize, "max-file": "1"}},
		},
	}
}

// writeSinkholeTar writes a root with one file, /rollgate, the static binary.
func writeSinkholeTar(w io.Writer, binary string) error {
	f, err := os.Open(binary)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Name: "rollgate", Mode: 0o755, Size: fi.Size(),
		Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	if n, err := io.Copy(tw, f); err != nil || n != fi.Size() {
		return fmt.Errorf("copying %q into the image: %d bytes, %v", binary, n, err)
	}
	return tw.Close()
}
