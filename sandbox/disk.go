package sandbox

import (
	"context"
	"fmt"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/rollgate/rollgate/inventory"
)

// The guest's writable layer is bounded two ways, so that a guest cannot fill the engine's
// disk (DESIGN: the guest is hostile):
//
//   - where the engine's storage driver has per-container quotas (btrfs, zfs, overlay2 on xfs
//     mounted with pquota), the guest is created with StorageOpt size = cap + headroom: writes
//     past it fail in the guest with EDQUOT or ENOSPC;
//   - on every engine, a watchdog asks the engine for the layer's size (ContainerInspect with
//     Size, which the engine computes from the layer) every diskPollInterval while the guest
//     runs and once after it stops; past the cap it kills the guest, and the run ends with
//     ErrDiskLimit (inconclusive, never a pass).
//
// overlay2 on ext4, Debian's default, has no per-container quota: there only the watchdog (and
// RLIMIT_FSIZE per file) bounds the layer, and Behaviour.DiskCap says so. The watchdog is the
// bound rollgate relies on; an engine's quota is a second line where it holds. Measured on
// this project's machine: xfs project quotas are not in its kernel (CONFIG_XFS_QUOTA off), and
// a btrfs engine accepted the quota but did not hold it once an image's layers were large
// (its qgroups counted 0 bytes referenced, and a 1400 MiB write passed a 1300 MiB limit).

// diskPollInterval is how often the watchdog asks for the layer's size. Each look costs the
// engine one walk of the layer (a few thousand files for a wine prefix). A variable so that
// tests of the watchdog need not wait.
var diskPollInterval = 2 * time.Second

// wholeRootDrivers are the storage drivers whose size option bounds the container's whole root
// (the image's bytes and the writes: btrfs qgroups count every byte the subvolume references,
// a zfs or devicemapper volume holds the whole root, vfs copies it), unlike overlay2 on xfs,
// whose project quota bounds only the upper (written) layer.
var wholeRootDrivers = map[string]bool{"btrfs": true, "zfs": true, "devicemapper": true, "vfs": true}

// guestQuota is the StorageOpt size that lets a guest of image write cap bytes plus
// diskQuotaHeadroom: on a whole-root driver the image's own size is added (a btrfs engine
// refuses a limit below what the new subvolume already references).
func guestQuota(ctx context.Context, c engine, image string, cap int64) int64 {
	q := cap + diskQuotaHeadroom
	if res, err := c.ImageInspect(ctx, image); err == nil && res.GraphDriver != nil && wholeRootDrivers[res.GraphDriver.Name] {
		q += max(res.Size, 0)
	}
	return q
}

// createGuest creates the guest, first with a hard quota (guestQuota), and, when the engine
// refuses that (its storage driver has no quotas), again without. The DiskCap says which
// happened.
func createGuest(ctx context.Context, c engine, spec Spec, sinkID, name string, cap int64) (string, *inventory.DiskCap, error) {
	dc := &inventory.DiskCap{Bytes: cap, Quota: true}
	req := func(quota int64) client.ContainerCreateOptions {
		return withLabels(guestRequest(spec.GuestImage, sinkID, spec.Guest, quota, guestCommand(name, spec), guestRunEnv), spec.Labels)
	}
	g, err := c.ContainerCreate(ctx, req(guestQuota(ctx, c, spec.GuestImage, cap)))
	if err == nil {
		return g.ID, dc, nil
	}
	// Only an answer from the engine (it refused the option) is retried: after a transport
	// error the first container may exist, and a second would leave it behind.
	if ctx.Err() != nil || !(cerrdefs.IsInternal(err) || cerrdefs.IsInvalidArgument(err) || cerrdefs.IsNotImplemented(err)) {
		return "", nil, err
	}
	refused := err
	g, err = c.ContainerCreate(ctx, req(0))
	if err != nil {
		return "", nil, err
	}
	dc.Quota, dc.NoQuota = false, capField(refused.Error())
	return g.ID, dc, nil
}

// Limits of the watchdog's looks.
const (
	// diskLookTimeout bounds one look (the engine walks the layer to answer).
	diskLookTimeout = 10 * time.Second
	// maxFailedLooks is how many looks in a row may fail before the guest is stopped: a guest
	// whose disk use cannot be measured (millions of files, say) is not held to its cap.
	maxFailedLooks = 3
)

// diskWatch is the watchdog over one guest's writable layer.
type diskWatch struct {
	c    engine
	id   string
	cap  int64
	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu      sync.Mutex
	over    int64 // the layer's size when first seen past the cap; 0 while under it
	lookup  error // the last failed look, if the engine could not say
	failed  int   // failed looks in a row
	blind   bool  // the guest was stopped after maxFailedLooks failed looks
	reason  string
	stopped bool
}

// watchDisk starts the watchdog; Stop ends it.
func watchDisk(c engine, id string, cap int64, every time.Duration) *diskWatch {
	w := &diskWatch{c: c, id: id, cap: cap, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				if w.look() {
					kctx, cancel := context.WithTimeout(context.Background(), removeTimeout)
					_, _ = c.ContainerKill(kctx, id, client.ContainerKillOptions{Signal: "KILL"})
					cancel()
					return
				}
			}
		}
	}()
	return w
}

// look asks the engine for the layer's size and reports whether the guest must be stopped:
// past the cap, or after maxFailedLooks failed looks in a row.
func (w *diskWatch) look() bool {
	ctx, cancel := context.WithTimeout(context.Background(), diskLookTimeout)
	defer cancel()
	gi, err := w.c.ContainerInspect(ctx, w.id, client.ContainerInspectOptions{Size: true})
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil || gi.Container.SizeRw == nil {
		w.lookup = err
		if err == nil {
			w.lookup = fmt.Errorf("the engine gave no size for container %s", shortID(w.id))
		}
		w.failed++
		if w.failed >= maxFailedLooks {
			w.blind = true
			return true
		}
		return false
	}
	w.lookup, w.failed = nil, 0
	if n := *gi.Container.SizeRw; n > w.cap {
		if w.over == 0 {
			w.over = n
		}
		return true
	}
	return false
}

// Stop ends the watchdog and takes one last look (the guest may have written past the cap
// after the last poll); call it once the guest is no longer running. It returns what limited
// the run, "" when nothing did, and whether that makes the run inconclusive: the layer grew
// past the cap, or the guest was stopped because its disk use could not be measured. A last
// look that fails alone is said but is not inconclusive: what the guest did was observed.
// Stop may be called more than once; later calls return the first answer.
func (w *diskWatch) Stop() (reason string, inconclusive bool) {
	w.once.Do(func() {
		close(w.stop)
		<-w.done
		if !w.blind && w.over == 0 {
			w.look()
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		switch {
		case w.over > 0:
			w.reason = fmt.Sprintf("the guest's writable layer grew past its cap: %d MiB written, cap %d MiB", w.over>>20, w.cap>>20)
			w.stopped = true
		case w.blind:
			w.reason = fmt.Sprintf("the guest was stopped: its disk use could not be read %d times in a row (%v)", maxFailedLooks, w.lookup)
			w.stopped = true
		case w.lookup != nil:
			w.reason = fmt.Sprintf("the guest's disk use could not be read: %v", w.lookup)
		}
	})
	return w.reason, w.stopped
}
