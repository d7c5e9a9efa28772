package sandbox

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/storage"
	"github.com/moby/moby/client"

	"github.com/rollgate/rollgate/inventory"
)

// fakeEngine records what a run asks of the engine and fails where told to.
type fakeEngine struct {
	mu        sync.Mutex
	created   []string
	removed   []string
	killed    []string
	removeCtx []error // ctx.Err() seen by each ContainerRemove
	failAt    string  // "sink-start", "guest-create", "copy", "guest-start"
	block     bool    // ContainerWait blocks until its context ends
	guestOut  []byte  // multiplexed guest logs
	sinkOut   []byte  // multiplexed sinkhole logs
	changes   []container.FilesystemChange
	sinkDied  bool
	hiveTar   []byte // tar of /rollgate/reg; nil: an empty one
	nonce     string // the run's nonce, read from what was copied in; replaces noncePlaceholder in guestOut
	started   time.Time

	layer       int64               // the guest's writable layer size (SizeRw)
	noSize      bool                // ContainerInspect gives no SizeRw
	refuseQuota bool                // ContainerCreate with a StorageOpt fails, as on overlay2 over ext4
	guestOpts   []map[string]string // the StorageOpt of each guest create asked for
	killc       chan struct{}       // closed by the first ContainerKill; ends a blocked ContainerWait
	imageDriver string              // the images' storage driver (ImageInspect's GraphDriver)
	imageSize   int64               // the images' size
}

// errQuota is what a storage driver without quotas answers a StorageOpt size (dockerd 20.10+
// with overlay2 on ext4).
var errQuota = fmt.Errorf("%w: --storage-opt is supported only for overlay over xfs with 'pquota' mount option", cerrdefs.ErrInternal)

func (f *fakeEngine) kills() chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.killc == nil {
		f.killc = make(chan struct{})
	}
	return f.killc
}

var errFake = errors.New("fake engine failure")

func (f *fakeEngine) ImageInspect(context.Context, string, ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	var r client.ImageInspectResult
	if f.imageDriver != "" {
		r.GraphDriver = &storage.DriverData{Name: f.imageDriver}
		r.Size = f.imageSize
	}
	return r, nil
}
func (f *fakeEngine) ImageImport(context.Context, client.ImageImportSource, string, client.ImageImportOptions) (client.ImageImportResult, error) {
	return nil, errFake
}
func (f *fakeEngine) ImageList(context.Context, client.ImageListOptions) (client.ImageListResult, error) {
	return client.ImageListResult{}, errFake
}
func (f *fakeEngine) ImageRemove(context.Context, string, client.ImageRemoveOptions) (client.ImageRemoveResult, error) {
	return client.ImageRemoveResult{}, errFake
}
func (f *fakeEngine) ContainerCreate(_ context.Context, o client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	role := o.Config.Labels[Label]
	if role == "guest" && f.failAt == "guest-create" {
		return client.ContainerCreateResult{}, errFake
	}
	if role == "guest" {
		f.guestOpts = append(f.guestOpts, o.HostConfig.StorageOpt)
		if f.refuseQuota && o.HostConfig.StorageOpt != nil {
			return client.ContainerCreateResult{}, errQuota
		}
	}
	id := role + "-id"
	f.created = append(f.created, id)
	return client.ContainerCreateResult{ID: id}, nil
}
func (f *fakeEngine) ContainerStart(_ context.Context, id string, _ client.ContainerStartOptions) (client.ContainerStartResult, error) {
	if id == "sinkhole-id" && f.failAt == "sink-start" || id == "guest-id" && f.failAt == "guest-start" {
		return client.ContainerStartResult{}, errFake
	}
	return client.ContainerStartResult{}, nil
}
func (f *fakeEngine) ContainerWait(ctx context.Context, id string, _ client.ContainerWaitOptions) client.ContainerWaitResult {
	res := make(chan container.WaitResponse, 1)
	errc := make(chan error, 1)
	if f.block {
		killed := f.kills()
		go func() {
			select {
			case <-ctx.Done():
				errc <- ctx.Err()
			case <-killed:
				res <- container.WaitResponse{StatusCode: 137}
			}
		}()
	} else {
		res <- container.WaitResponse{StatusCode: 0}
	}
	return client.ContainerWaitResult{Result: res, Error: errc}
}
func (f *fakeEngine) ContainerInspect(_ context.Context, id string, o client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	st := &container.State{Running: id == "sinkhole-id" && !f.sinkDied}
	if !f.started.IsZero() {
		st.StartedAt = f.started.Format(time.RFC3339Nano)
	}
	resp := container.InspectResponse{State: st}
	if o.Size && !f.noSize {
		n := f.layer
		resp.SizeRw = &n
	}
	return client.ContainerInspectResult{Container: resp}, nil
}
func (f *fakeEngine) ContainerKill(_ context.Context, id string, _ client.ContainerKillOptions) (client.ContainerKillResult, error) {
	killed := f.kills()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.killed) == 0 {
		close(killed)
	}
	f.killed = append(f.killed, id)
	return client.ContainerKillResult{}, nil
}
func (f *fakeEngine) ContainerStop(context.Context, string, client.ContainerStopOptions) (client.ContainerStopResult, error) {
	return client.ContainerStopResult{}, nil
}
func (f *fakeEngine) ContainerRemove(ctx context.Context, id string, _ client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, id)
	f.removeCtx = append(f.removeCtx, ctx.Err())
	return client.ContainerRemoveResult{}, nil
}
func (f *fakeEngine) ContainerLogs(_ context.Context, id string, _ client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
	if id == "guest-id" {
		return io.NopCloser(bytes.NewReader(bytes.ReplaceAll(f.guestOut, []byte(noncePlaceholder), []byte(f.nonce)))), nil
	}
	return io.NopCloser(bytes.NewReader(f.sinkOut)), nil
}
func (f *fakeEngine) ContainerDiff(context.Context, string, client.ContainerDiffOptions) (client.ContainerDiffResult, error) {
	return client.ContainerDiffResult{Changes: f.changes}, nil
}
func (f *fakeEngine) ContainerCommit(context.Context, string, client.ContainerCommitOptions) (client.ContainerCommitResult, error) {
	return client.ContainerCommitResult{}, errFake
}
func (f *fakeEngine) CopyToContainer(_ context.Context, _ string, o client.CopyToContainerOptions) (client.CopyToContainerResult, error) {
	tr := tar.NewReader(o.Content)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.Name == "rollgate/nonce" {
			b, _ := io.ReadAll(tr)
			f.nonce = string(b)
		}
	}
	_, err := io.Copy(io.Discard, o.Content)
	if f.failAt == "copy" {
		return client.CopyToContainerResult{}, errFake
	}
	return client.CopyToContainerResult{}, err
}

func (f *fakeEngine) CopyFromContainer(context.Context, string, client.CopyFromContainerOptions) (client.CopyFromContainerResult, error) {
	if f.hiveTar == nil { // an empty folder
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		_ = tw.Close()
		return client.CopyFromContainerResult{Content: io.NopCloser(&b)}, nil
	}
	return client.CopyFromContainerResult{Content: io.NopCloser(bytes.NewReader(f.hiveTar))}, nil
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// noncePlaceholder stands for the run's nonce in fakeEngine.guestOut (same length, so frames
// keep their sizes).
const noncePlaceholder = "NONCE-NONCE-NONCE-NONCE-NONCE-NO"

// frame multiplexes one chunk the way the engine's log endpoint does.
func frame(stream byte, s string) []byte {
	h := make([]byte, 8, 8+len(s))
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(s)))
	return append(h, s...)
}

func fakeSpec(t *testing.T) Spec {
	p := filepath.Join(t.TempDir(), "x.msi")
	if err := os.WriteFile(p, []byte("not really an msi"), 0o644); err != nil {
		t.Fatal(err)
	}
	return Spec{Installer: p, GuestImage: "g", SinkholeImage: "s", Timeout: time.Minute}
}

func TestRunCleansUp(t *testing.T) {
	tests := []struct {
		failAt  string
		created []string
	}{
		{"sink-start", []string{"sinkhole-id"}},
		{"guest-create", []string{"sinkhole-id"}},
		{"copy", []string{"sinkhole-id", "guest-id"}},
		{"guest-start", []string{"sinkhole-id", "guest-id"}},
	}
	for _, tt := range tests {
		f := &fakeEngine{failAt: tt.failAt}
		b, err := run(context.Background(), f, fakeSpec(t))
		if !errors.Is(err, errFake) || b != nil {
			t.Errorf("run failing at %s = %v, %v, want nil, errFake", tt.failAt, b, err)
		}
		if !slices.Equal(f.created, tt.created) {
			t.Errorf("run failing at %s created %v, want %v", tt.failAt, f.created, tt.created)
		}
		slices.Reverse(tt.created)
		if !slices.Equal(f.removed, tt.created) {
			t.Errorf("run failing at %s removed %v, want %v", tt.failAt, f.removed, tt.created)
		}
	}
}

func TestRunCancelledCleansUp(t *testing.T) {
	f := &fakeEngine{block: true}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	b, err := run(ctx, f, fakeSpec(t))
	if !errors.Is(err, context.Canceled) || b != nil {
		t.Errorf("run(cancelled) = %v, %v, want nil, context.Canceled", b, err)
	}
	if !slices.Equal(f.removed, []string{"guest-id", "sinkhole-id"}) {
		t.Errorf("run(cancelled) removed %v, want both", f.removed)
	}
	for i, e := range f.removeCtx {
		if e != nil {
			t.Errorf("run(cancelled): ContainerRemove %d ran on a dead context (%v)", i, e)
		}
	}
}

func TestRunTimeoutKillsAndReports(t *testing.T) {
	f := &fakeEngine{block: true}
	spec := fakeSpec(t)
	spec.Timeout = 50 * time.Millisecond
	b, err := run(context.Background(), f, spec)
	if !errors.Is(err, ErrTimeout) || b == nil || !b.Ran || b.Reason == "" {
		t.Fatalf("run(timeout) = %+v, %v, want a behaviour with a reason and ErrTimeout", b, err)
	}
	if !slices.Equal(f.killed, []string{"guest-id"}) || !slices.Equal(f.removed, []string{"guest-id", "sinkhole-id"}) {
		t.Errorf("run(timeout) killed %v removed %v, want guest killed, both removed", f.killed, f.removed)
	}
}

func TestRunCollects(t *testing.T) {
	f := &fakeEngine{
		guestOut: slices.Concat(
			frame(1, "rollgate: network ready\nrollgate: install exit 0\n"),
			frame(2, lBeaconExe+"\n"),
			frame(1, "rollgate: done\n")),
		sinkOut: slices.Concat(
			frame(1, `{"ms":5,"proto":"dns","name":"c2.beacon.invalid","addr":"192.0.2.53","port":53,"qtype":"A"}`+"\n"),
			frame(2, "level=INFO msg=serving\n")),
		changes: []container.FilesystemChange{{Kind: container.ChangeAdd, Path: "/home/rollgate/.wine/drive_c/x.dll"}},
	}
	var out bytes.Buffer
	spec := fakeSpec(t)
	spec.Stdout = &out
	b, err := run(context.Background(), f, spec)
	if err != nil {
		t.Fatalf("run = %v", err)
	}
	if len(b.Network) != 1 || b.Network[0].Name != "c2.beacon.invalid" || len(b.DLLLoads) != 1 ||
		len(b.Processes) != 1 || len(b.FileWrites) != 1 || b.Reason != "" {
		t.Errorf("run = %+v, want one event of each kind and no reason", b)
	}
	if !bytes.Contains(out.Bytes(), []byte("rollgate: done")) {
		t.Errorf("run: Stdout = %q, want the guest script's output", out.String())
	}
	if !slices.Equal(f.removed, []string{"guest-id", "sinkhole-id"}) {
		t.Errorf("run removed %v, want both", f.removed)
	}
}

// TestRunTimeTravel: the phase markers (with the run's nonce), the sinkhole's start and the hive
// copies come together into clock offsets and registry values.
func TestRunTimeTravel(t *testing.T) {
	start := time.UnixMilli(1_700_000_000_000)
	ms := func(d time.Duration) string { return strconv.FormatInt(start.Add(d).UnixMilli(), 10) }
	f := &fakeEngine{
		started: start,
		guestOut: slices.Concat(
			frame(1, "rollgate: network ready\nrollgate: "+noncePlaceholder+" phase install 0 "+ms(time.Second)+"\nrollgate: install exit 0\n"),
			frame(1, "rollgate: "+noncePlaceholder+" phase run 0 "+ms(5*time.Second)+"\n"),
			frame(2, "rollgate: "+noncePlaceholder+" phase run 0 "+ms(5*time.Second)+"\n"+lBeaconExe+"\n"),
			frame(1, "rollgate: "+noncePlaceholder+" phase run 691200 "+ms(10*time.Second)+"\n"),
			frame(2, "rollgate: "+noncePlaceholder+" phase run 691200 "+ms(10*time.Second)+"\n"+lNoPidNat+"\n"),
			frame(1, "rollgate: done\n")),
		sinkOut: frame(1, `{"ms":12000,"proto":"dns","name":"c2.beacon.invalid","addr":"192.0.2.53","port":53,"qtype":"A"}`+"\n"),
	}
	copies := map[string]string{
		"base-0-user.reg": userRegBase, "install-0-user.reg": userRegBase, "run-0-user.reg": userRegBase,
		"run-691200-user.reg": userRegAfter,
	}
	f.hiveTar = hiveTar(t, copies)
	for name, body := range copies {
		f.guestOut = append(f.guestOut, frame(1, "rollgate: "+noncePlaceholder+" hive "+strings.TrimSuffix(name, ".reg")+" "+sha256Hex(body)+"\n")...)
	}
	spec := fakeSpec(t)
	spec.Programs = []string{`C:\Program Files\Beacon\beacon.exe`}
	spec.ClockOffsets = []time.Duration{8 * 24 * time.Hour}
	b, err := run(context.Background(), f, spec)
	if err != nil {
		t.Fatalf("run = %v", err)
	}
	if len(f.nonce) != 32 {
		t.Errorf("nonce copied in = %q, want 32 hex digits", f.nonce)
	}
	got := struct {
		Offsets  []int64
		Net      int64
		Helper   int64
		Registry []inventory.RegistryValue
	}{b.ClockOffsets, b.Network[0].ClockOffset, -1, b.Registry}
	for _, l := range b.DLLLoads {
		if strings.HasSuffix(l.Path, "helper.dll") {
			got.Helper = l.ClockOffset
		}
	}
	want := struct {
		Offsets  []int64
		Net      int64
		Helper   int64
		Registry []inventory.RegistryValue
	}{[]int64{691200}, 691200, 691200, []inventory.RegistryValue{{Key: `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`,
		Name: "AcmeHelper", Value: `"\"C:\\Program Files\\Acme Softphone\\AcmePhone.exe\" --tray"`, Kind: "added", Phase: "run", ClockOffset: 691200}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("run (-want +got)\n%s", d)
	}
}

func TestRunSinkholeFailure(t *testing.T) {
	f := &fakeEngine{sinkDied: true, guestOut: frame(1, "rollgate: done\n")}
	b, err := run(context.Background(), f, fakeSpec(t))
	if !errors.Is(err, ErrSinkhole) || b == nil || b.Reason == "" {
		t.Errorf("run(sinkhole died) = %+v, %v, want a behaviour with a reason and ErrSinkhole", b, err)
	}
	f = &fakeEngine{sinkDied: true, failAt: "guest-start", sinkOut: frame(2, "open /dev/net/tun: no such file")}
	if _, err := run(context.Background(), f, fakeSpec(t)); !errors.Is(err, ErrSinkhole) {
		t.Errorf("run(sinkhole died before the guest started) = %v, want ErrSinkhole", err)
	}
	f = &fakeEngine{guestOut: frame(1, "rollgate: network missing\nrollgate: done\n")}
	if b, err := run(context.Background(), f, fakeSpec(t)); !errors.Is(err, ErrSinkhole) {
		t.Errorf("run(no network) = %+v, %v, want ErrSinkhole", b, err)
	}
}

func TestRunRejectsBadSpec(t *testing.T) {
	f := &fakeEngine{}
	spec := fakeSpec(t)
	spec.Programs = []string{"C:\\a.exe\nrm -rf /"}
	if _, err := run(context.Background(), f, spec); err == nil || len(f.created) != 0 {
		t.Errorf("run(program with newline) = %v, created %v, want an error and nothing created", err, f.created)
	}
	spec = fakeSpec(t)
	spec.Installer = t.TempDir()
	if _, err := run(context.Background(), f, spec); err == nil || len(f.created) != 0 {
		t.Errorf("run(installer is a folder) = %v, created %v, want an error and nothing created", err, f.created)
	}
}
