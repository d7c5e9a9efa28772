package sandbox

import (
	"archive/tar"
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/rollgate/rollgate/inventory"
)

//go:embed run.sh
var runScript []byte

// Run defaults and limits.
const (
	DefaultTimeout        = 5 * time.Minute
	DefaultProgramTimeout = 30 * time.Second
	// DefaultClockSpeed is how many times faster than real time the guest's clocks run in a
	// rerun: a Sleep or wait of 15 minutes ends after 15 s.
	DefaultClockSpeed = 60
	// DefaultRerunTimeout bounds each program's rerun (real time): 15 minutes at
	// DefaultClockSpeed plus wine's start-up.
	DefaultRerunTimeout = 20 * time.Second
	// MaxClockOffsets bounds the reruns per program.
	MaxClockOffsets = 8
	// MaxClockOffset bounds one offset (ten years).
	MaxClockOffset = 10 * 365 * 24 * time.Hour
	// MaxClockSpeed bounds the speed-up (past it wine's own timeouts fire before it starts).
	MaxClockSpeed = 1000
	// MaxInstallerBytes bounds the installer copied into the guest.
	MaxInstallerBytes = 2 << 30
	// MaxPrograms bounds how many programs are started after the install.
	MaxPrograms = 16
	// maxStdoutBytes bounds the guest script's stdout kept (markers and program output).
	maxStdoutBytes = 1 << 20
	// maxSinkholeStderr bounds the sinkhole's diagnostics kept.
	maxSinkholeStderr = 64 << 10
	// sinkholeStopGrace is how long the sinkhole has to flush its events after SIGTERM.
	sinkholeStopGrace = 5
)

// guestDir is where the run script and the installer are copied in the guest; wine reaches it
// as Z:\rollgate.
const guestDir = "/rollgate"

// Spec is one sandbox run.
type Spec struct {
	// Installer is the host path of the installer (.msi, else run as an executable).
	Installer string
	// Silent names the unattended-install convention of an executable installer (see
	// SilentFor): "" runs it with no switch, which an installer with a user interface
	// answers by exiting, with nothing installed.
	Silent string
	// Programs are Windows paths started after the install, in order, each for
	// ProgramTimeout, e.g. `C:\Program Files\Acme\app.exe` (see WindowsPath).
	Programs []string
	// Timeout bounds the whole guest run (default: DefaultTimeout, or Budget when that is
	// longer); past it the guest is killed and Run returns what it saw with ErrTimeout.
	Timeout time.Duration
	// ProgramTimeout bounds each program (default DefaultProgramTimeout).
	ProgramTimeout time.Duration
	// Stdout receives the guest script's stdout (capped), Progress human progress lines;
	// nil discards.
	Stdout, Progress io.Writer

	// GuestImage and SinkholeImage override the images (default: EnsureGuestImage and
	// EnsureSinkholeImage of SinkholeBinary, built when missing).
	GuestImage, SinkholeImage string
	// SinkholeBinary is the static rollgate binary for the sinkhole image (default:
	// DefaultSinkholeBinary).
	SinkholeBinary string
	// ClockOffsets are the wall-clock offsets at which every program runs again after its
	// first run, in order, in the same prefix (time travel, see run.sh); nil takes
	// DefaultClockOffsets. NoTimeTravel turns the reruns off.
	ClockOffsets []time.Duration
	NoTimeTravel bool
	// ClockSpeed is how much faster the guest's clocks run in a rerun (default
	// DefaultClockSpeed; 1 keeps real speed). RerunTimeout bounds each program's rerun in real
	// time (default DefaultRerunTimeout).
	ClockSpeed   int
	RerunTimeout time.Duration
	// Guest and Sinkhole override the resource limits (zero: defaults).
	Guest, Sinkhole Limits
	// Labels are added to both containers (for example a CI job id); they never replace the
	// rollgate label.
	Labels map[string]string
}

// Budget is how long a guest run of this spec may legitimately take: installAllowance for the
// install, then per program its first run and one rerun per clock offset, each followed by
// up to settleAllowance for wineserver to exit. A zero Timeout takes the larger of it and
// DefaultTimeout.
func (s Spec) Budget() time.Duration {
	pt, rt := cmp.Or(s.ProgramTimeout, DefaultProgramTimeout), cmp.Or(s.RerunTimeout, DefaultRerunTimeout)
	offs := len(s.ClockOffsets)
	if s.ClockOffsets == nil {
		offs = len(DefaultClockOffsets())
	}
	if s.NoTimeTravel {
		offs = 0
	}
	per := pt + settleAllowance + time.Duration(offs)*(rt+settleAllowance)
	return installAllowance + time.Duration(len(s.Programs))*per
}

// Allowances in Budget: the install (with its wineserver -w, up to 60 s in run.sh) and the
// bounded wineserver wait after each program (run.sh's settle: 5 s, then 5 s after -k).
const (
	installAllowance = 2 * time.Minute
	settleAllowance  = 10 * time.Second
)

// withLabels adds extra labels to a request without touching Label.
func withLabels(o client.ContainerCreateOptions, extra map[string]string) client.ContainerCreateOptions {
	for k, v := range extra {
		if k != Label {
			o.Config.Labels[k] = v
		}
	}
	return o
}

func (s *Spec) defaults() {
	if s.ProgramTimeout <= 0 {
		s.ProgramTimeout = DefaultProgramTimeout
	}
	if s.ClockOffsets == nil {
		s.ClockOffsets = DefaultClockOffsets()
	}
	if s.NoTimeTravel {
		s.ClockOffsets = nil
	}
	if s.ClockSpeed <= 0 {
		s.ClockSpeed = DefaultClockSpeed
	}
	if s.RerunTimeout <= 0 {
		s.RerunTimeout = DefaultRerunTimeout
	}
	if s.Timeout <= 0 {
		s.Timeout = max(DefaultTimeout, s.Budget())
	}
	if s.Stdout == nil {
		s.Stdout = io.Discard
	}
	if s.Progress == nil {
		s.Progress = io.Discard
	}
	s.Guest = s.Guest.withDefaults(defaultGuestLimits)
	s.Sinkhole = s.Sinkhole.withDefaults(defaultSinkholeLimits)
}

// Run installs spec.Installer in a fresh guest, starts spec.Programs, and returns what the
// sandbox observed. Both containers are removed before Run returns, whatever happens: on
// success, error, timeout, or cancellation of ctx (clean-up then runs on a fresh context).
// On timeout the Behaviour holds what was observed until then and the error wraps ErrTimeout;
// when the sinkhole did not watch the whole run, it wraps ErrSinkhole.
// When no engine answers the error wraps ErrUnavailable.
func Run(ctx context.Context, spec Spec) (*inventory.Behaviour, error) {
	c, err := newClient()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := ping(ctx, c); err != nil {
		return nil, err
	}
	spec.defaults()
	opts := ImageOptions{Progress: spec.Progress}
	if spec.GuestImage == "" {
		if spec.GuestImage, err = ensureGuest(ctx, c, opts); err != nil {
			return nil, err
		}
	}
	if spec.SinkholeImage == "" {
		bin := spec.SinkholeBinary
		if bin == "" {
			if bin, err = DefaultSinkholeBinary(); err != nil {
				return nil, err
			}
		}
		if spec.SinkholeImage, err = ensureSinkhole(ctx, c, bin, opts); err != nil {
			return nil, err
		}
	}
	return run(ctx, c, spec)
}

// SinkholeBinaryEnv names a statically linked rollgate to build the sinkhole image from, for
// callers whose own executable is not one (a test binary, a cgo build).
const SinkholeBinaryEnv = "ROLLGATE_SINKHOLE_BINARY"

// DefaultSinkholeBinary is the binary the sinkhole image is built from: $ROLLGATE_SINKHOLE_BINARY
// if set, else this process's own executable (which must be static; see CheckStatic).
func DefaultSinkholeBinary() (string, error) {
	if p := os.Getenv(SinkholeBinaryEnv); p != "" {
		return p, nil
	}
	p, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding rollgate's own binary: %w", err)
	}
	return p, nil
}

// DefaultClockOffsets are the reruns' clock offsets: +8 days (past a one-week dormancy such
// as 3CX's) and +31 days (past a monthly one).
func DefaultClockOffsets() []time.Duration {
	return []time.Duration{8 * 24 * time.Hour, 31 * 24 * time.Hour}
}

// guestCommand is the guest's command line (after the image's /bin/sh entrypoint).
func guestCommand(installerName string, spec Spec) []string {
	secs := func(d time.Duration) string { return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10) }
	// One share of the trace per wine command line: the install, then each program once per
	// clock (the first run and each rerun).
	runs := 1 // per program
	offs := "-"
	if len(spec.ClockOffsets) > 0 && len(spec.Programs) > 0 {
		runs += len(spec.ClockOffsets)
		var o []string
		for _, d := range spec.ClockOffsets {
			o = append(o, strconv.FormatInt(int64(d/time.Second), 10))
		}
		offs = strings.Join(o, ",")
	}
	traceCap := int64(MaxTraceBytes / (1 + len(spec.Programs)*runs))
	cmd := []string{guestDir + "/run.sh", `Z:\rollgate\` + installerName,
		secs(spec.ProgramTimeout), strconv.FormatInt(traceCap, 10), offs,
		strconv.Itoa(spec.ClockSpeed), secs(spec.RerunTimeout)}
	return append(cmd, spec.Programs...)
}

// guestRunEnv is the guest's environment on top of the image's.
// winemenubuilder is disabled: it turns shortcuts into Linux desktop files, noise in the diff
// that says nothing about the installer.
var guestRunEnv = []string{
	"WINEDEBUG=+pid,+loaddll,+process",
	"WINEDLLOVERRIDES=mscoree,mshtml=;winemenubuilder.exe=d",
}

// installerName is the fixed name the installer gets in the guest: the host's name is not
// trusted into a shell or wine command line. An executable's silent convention is part of the
// name (installer-nsis.exe), which run.sh maps to its fixed switches.
func installerName(path, silent string) string {
	if strings.EqualFold(filepath.Ext(path), ".msi") {
		return "installer.msi"
	}
	if silentSwitches[silent] {
		return "installer-" + silent + ".exe"
	}
	return "installer.exe"
}

// silentSwitches are the conventions run.sh knows, each with its fixed command line:
//
//	nsis           /S
//	inno           /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /SP-
//	burn           /quiet /norestart
//	installshield  /s /v/qn  (a Basic MSI launcher passes /qn to msiexec)
var silentSwitches = map[string]bool{"nsis": true, "inno": true, "burn": true, "installshield": true}

// SilentFor returns the unattended-install convention of an installer of inventory format
// format ("nsis", "inno", "burn", "ishield"), "" for the others (an MSI is run by msiexec /qn).
func SilentFor(format string) string {
	switch format {
	case "nsis", "inno", "burn":
		return format
	case "ishield":
		return "installshield"
	}
	return ""
}

func run(ctx context.Context, c engine, spec Spec) (b *inventory.Behaviour, err error) {
	spec.defaults()
	if len(spec.Programs) > MaxPrograms {
		return nil, fmt.Errorf("sandbox: %d programs to start, at most %d", len(spec.Programs), MaxPrograms)
	}
	for _, p := range spec.Programs {
		if p == "" || len(p) > maxField || strings.ContainsAny(p, "\x00\n\r") {
			return nil, fmt.Errorf("sandbox: program path %q is not a Windows path", p)
		}
	}
	if len(spec.ClockOffsets) > MaxClockOffsets || spec.ClockSpeed > MaxClockSpeed {
		return nil, fmt.Errorf("sandbox: %d clock offsets at speed %d, at most %d at %d", len(spec.ClockOffsets), spec.ClockSpeed, MaxClockOffsets, MaxClockSpeed)
	}
	for _, d := range spec.ClockOffsets {
		if d < time.Second || d > MaxClockOffset {
			return nil, fmt.Errorf("sandbox: clock offset %s is not between 1s and %s", d, MaxClockOffset)
		}
	}
	nonce, err := newNonce()
	if err != nil {
		return nil, err
	}
	inst, err := os.Open(spec.Installer)
	if err != nil {
		return nil, fmt.Errorf("opening installer: %w", err)
	}
	defer inst.Close()
	fi, err := inst.Stat()
	if err != nil {
		return nil, fmt.Errorf("opening installer: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > MaxInstallerBytes {
		return nil, fmt.Errorf("sandbox: installer %q is not a regular file of at most %d bytes", spec.Installer, int64(MaxInstallerBytes))
	}

	var ids []string
	defer func() {
		for i := len(ids) - 1; i >= 0; i-- {
			if rerr := removeContainer(c, ids[i]); rerr != nil && err == nil {
				err = rerr
			}
		}
	}()
	start := time.Now()
	fmt.Fprintf(spec.Progress, "sandbox: starting the sinkhole (%s)\n", spec.SinkholeImage)
	sink, err := c.ContainerCreate(ctx, withLabels(sinkholeRequest(spec.SinkholeImage, spec.Sinkhole), spec.Labels))
	if err != nil {
		return nil, fmt.Errorf("creating the sinkhole: %w", err)
	}
	ids = append(ids, sink.ID)
	if _, err := c.ContainerStart(ctx, sink.ID, client.ContainerStartOptions{}); err != nil {
		return nil, fmt.Errorf("starting the sinkhole: %w", err)
	}

	if spec.Silent != "" && !silentSwitches[spec.Silent] {
		return nil, fmt.Errorf("sandbox: unknown silent-install convention %q", spec.Silent)
	}
	name := installerName(spec.Installer, spec.Silent)
	diskCap := fi.Size() + spec.Guest.Disk
	guestID, dc, err := createGuest(ctx, c, spec, sink.ID, name, diskCap)
	if err != nil {
		return nil, fmt.Errorf("creating the guest: %w", err)
	}
	guest := client.ContainerCreateResult{ID: guestID}
	ids = append(ids, guest.ID)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeInputs(pw, inst, fi.Size(), name, nonce)) }()
	_, err = c.CopyToContainer(ctx, guest.ID, client.CopyToContainerOptions{DestinationPath: "/", Content: pr})
	pr.Close()
	if err != nil {
		return nil, fmt.Errorf("copying the installer into the guest: %w", err)
	}
	fmt.Fprintf(spec.Progress, "sandbox: installing %s in the guest (%s)\n", filepath.Base(spec.Installer), spec.GuestImage)
	if _, err := c.ContainerStart(ctx, guest.ID, client.ContainerStartOptions{}); err != nil {
		if diag := sinkholeDied(ctx, c, sink.ID); diag != "" {
			return nil, fmt.Errorf("%w: %s", ErrSinkhole, diag)
		}
		return nil, fmt.Errorf("starting the guest: %w", err)
	}

	b = &inventory.Behaviour{Ran: true, DiskCap: dc}
	var reasons []string
	var runErr error
	watch := watchDisk(c, guest.ID, diskCap, diskPollInterval)
	defer watch.Stop() // on the early returns below; the run's own call comes first
	wctx, cancel := context.WithTimeout(ctx, spec.Timeout)
	code, werr := waitExit(wctx, c, guest.ID)
	cancel()
	switch {
	case werr == nil:
	case ctx.Err() != nil:
		return nil, ctx.Err() // cancelled: the deferred clean-up removes both containers
	case errors.Is(werr, context.DeadlineExceeded):
		kctx, kcancel := context.WithTimeout(context.Background(), removeTimeout)
		_, _ = c.ContainerKill(kctx, guest.ID, client.ContainerKillOptions{Signal: "KILL"})
		kcancel()
		reasons = append(reasons, fmt.Sprintf("timeout: the guest was killed after %s", spec.Timeout))
		runErr = fmt.Errorf("%w after %s", ErrTimeout, spec.Timeout)
	default:
		return nil, fmt.Errorf("waiting for the guest: %w", werr)
	}

	// The guest is no longer running (exited, or killed above): the watchdog's last look sees
	// everything it wrote.
	diskReason, diskStopped := watch.Stop()
	if diskReason != "" {
		reasons = append(reasons, diskReason)
	}
	if diskStopped && runErr == nil {
		runErr = ErrDiskLimit
	}

	var stdout, stderr cappedBuffer
	stdout.max, stderr.max = maxStdoutBytes, MaxTraceBytes
	if err := readLogs(ctx, c, guest.ID, &stdout, &stderr); err != nil {
		return nil, fmt.Errorf("reading the guest's logs: %w", err)
	}
	diff, err := c.ContainerDiff(ctx, guest.ID, client.ContainerDiffOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading the guest's file changes: %w", err)
	}
	copies, hiveReasons := readHives(ctx, c, guest.ID)
	reasons = append(reasons, hiveReasons...)
	// A sinkhole that is no longer running missed part of the run.
	var sinkStart time.Time
	if si, err := c.ContainerInspect(ctx, sink.ID, client.ContainerInspectOptions{}); err != nil {
		return nil, fmt.Errorf("inspecting the sinkhole: %w", err)
	} else if st := si.Container.State; st == nil || !st.Running {
		code := -1
		if st != nil {
			code = st.ExitCode
		}
		reasons = append(reasons, fmt.Sprintf("the sinkhole exited (%d) before the guest finished", code))
		if runErr == nil {
			runErr = ErrSinkhole
		}
	} else {
		sinkStart, _ = time.Parse(time.RFC3339Nano, st.StartedAt)
	}
	if gi, err := c.ContainerInspect(ctx, guest.ID, client.ContainerInspectOptions{}); err == nil &&
		gi.Container.State != nil && gi.Container.State.OOMKilled {
		reasons = append(reasons, "the guest ran out of memory")
	}
	// SIGTERM lets the sinkhole flush its last events before it exits.
	stopCtx, stopCancel := context.WithTimeout(ctx, (sinkholeStopGrace+10)*time.Second)
	_, _ = c.ContainerStop(stopCtx, sink.ID, client.ContainerStopOptions{Timeout: ptr(sinkholeStopGrace)})
	stopCancel()
	var netOut, netErr cappedBuffer
	netOut.max, netErr.max = MaxTraceBytes, maxSinkholeStderr
	if err := readLogs(ctx, c, sink.ID, &netOut, &netErr); err != nil {
		return nil, fmt.Errorf("reading the sinkhole's logs: %w", err)
	}

	_, _ = spec.Stdout.Write(stdout.Bytes())
	phases := ParsePhases(stdout.Bytes(), nonce)
	tr := ParsePhasedTrace(stderr.Bytes(), nonce)
	b.DLLLoads, b.Processes = tr.DLLLoads, tr.Processes
	var netTrunc, diffTrunc bool
	b.Network, netTrunc = ParseNet(bytes.NewReader(netOut.Bytes()))
	TagNetwork(b.Network, sinkStart, phases)
	b.FileWrites, diffTrunc = ParseDiff(diff.Changes)
	reasons = append(reasons, copies.verify(ParseHiveSums(stdout.Bytes(), nonce))...)
	TagWrites(b.FileWrites, copies.written, phases)
	b.Registry = RegistryChanges(copies.hives, phases)
	for _, d := range spec.ClockOffsets {
		if len(spec.Programs) > 0 {
			b.ClockOffsets = append(b.ClockOffsets, int64(d/time.Second))
		}
	}
	if errors.Is(runErr, ErrTimeout) {
		reasons = append(reasons, "the guest's last step before the timeout: "+lastStep(stdout.Bytes(), nonce))
	}
	sr := scriptReasons(stdout.Bytes(), werr == nil, code)
	if slices.Contains(sr, reasonNoNetwork) && runErr == nil {
		runErr = ErrSinkhole
	}
	reasons = append(reasons, sr...)
	if tr.Truncated || stderr.truncated {
		reasons = append(reasons, "trace truncated at its cap")
	}
	if netTrunc || netOut.truncated {
		reasons = append(reasons, "network events truncated at their cap")
	}
	if diffTrunc {
		reasons = append(reasons, "file writes truncated at their cap")
	}
	b.Reason = strings.Join(reasons, "; ")
	fmt.Fprintf(spec.Progress, "sandbox: behaviour in %.1fs: %d network events, %d DLL loads, %d processes, %d file writes, %d registry values\n",
		time.Since(start).Seconds(), len(b.Network), len(b.DLLLoads), len(b.Processes), len(b.FileWrites), len(b.Registry))
	if netErr.Len() > 0 {
		fmt.Fprintf(spec.Progress, "sandbox: sinkhole said: %s\n", strings.TrimSpace(netErr.String()))
	}
	return b, runErr
}

const reasonNoNetwork = "the sinkhole's network was not ready"

// sinkholeDied returns what a sinkhole that is no longer running said on stderr (capped), or ""
// while it runs.
func sinkholeDied(ctx context.Context, c engine, id string) string {
	si, err := c.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil || si.Container.State == nil || si.Container.State.Running {
		return ""
	}
	var out, errOut cappedBuffer
	out.max, errOut.max = 0, 4<<10
	_ = readLogs(ctx, c, id, &out, &errOut)
	return fmt.Sprintf("it exited with %d: %s", si.Container.State.ExitCode,
		capField(strings.TrimSpace(errOut.String())))
}

// scriptReasons reads the run script's markers: what limited the run.
func scriptReasons(stdout []byte, exited bool, code int64) []string {
	var out []string
	sawDone := false
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 0, 4096), MaxLineBytes)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "rollgate: ")
		if !ok {
			continue
		}
		switch {
		case line == "network missing":
			out = append(out, reasonNoNetwork)
		case line == "faketime missing":
			out = append(out, "libfaketime is missing from the guest image: no time travel")
		case strings.HasPrefix(line, "install exit "):
			if rc := strings.TrimPrefix(line, "install exit "); rc != "0" {
				out = append(out, "installer exited with "+capField(rc))
			}
		case line == "done":
			sawDone = true
		}
	}
	if exited && !sawDone {
		out = append(out, fmt.Sprintf("the guest script stopped early (exit %d)", code))
	}
	return out
}

// readLogs demultiplexes a container's logs into capped buffers.
func readLogs(ctx context.Context, c engine, id string, stdout, stderr io.Writer) error {
	rc, err := c.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = stdcopy.StdCopy(stdout, stderr, rc)
	return err
}

// cappedBuffer keeps the first max bytes written and drops the rest, never failing a write
// (so a chatty container cannot stall the reader).
type cappedBuffer struct {
	bytes.Buffer
	max       int
	truncated bool
}

func (w *cappedBuffer) Write(p []byte) (int, error) {
	if room := w.max - w.Len(); room < len(p) {
		w.truncated = true
		if room > 0 {
			w.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return w.Buffer.Write(p)
}

// newNonce is the run's marker nonce (see run.sh): 16 random bytes, hex.
func newNonce() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("sandbox: nonce: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// writeInputs writes the tar copied to the guest's /: rollgate/run.sh, rollgate/<name> and
// rollgate/nonce. The folder and the nonce belong to the guest user (the script removes the
// nonce and keeps the registry copies there); the script and the installer stay root's.
func writeInputs(w io.Writer, installer io.Reader, size int64, name, nonce string) error {
	tw := tar.NewWriter(w)
	mod := time.Unix(0, 0)
	if err := tw.WriteHeader(&tar.Header{Name: "rollgate/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mod,
		Uid: guestUID, Gid: guestUID}); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "rollgate/nonce", Typeflag: tar.TypeReg, Mode: 0o600,
		Size: int64(len(nonce)), ModTime: mod, Uid: guestUID, Gid: guestUID}); err != nil {
		return err
	}
	if _, err := io.WriteString(tw, nonce); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "rollgate/run.sh", Typeflag: tar.TypeReg, Mode: 0o755,
		Size: int64(len(runScript)), ModTime: mod}); err != nil {
		return err
	}
	if _, err := tw.Write(runScript); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "rollgate/" + name, Typeflag: tar.TypeReg, Mode: 0o644,
		Size: size, ModTime: mod}); err != nil {
		return err
	}
	if n, err := io.Copy(tw, io.LimitReader(installer, size)); err != nil || n != size {
		return fmt.Errorf("copying the installer: %d of %d bytes: %v", n, size, err)
	}
	return tw.Close()
}

// lastStep is the guest script's last marker line ("rollgate: ..."), the nonce elided: where
// a run that timed out was stuck (the script prints one before and after every phase).
func lastStep(stdout []byte, nonce string) string {
	last := "none (the script printed no marker)"
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 0, 4096), MaxLineBytes)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "rollgate: "); ok {
			last = capField(strings.ReplaceAll(line, nonce, "<nonce>"))
		}
	}
	return last
}
