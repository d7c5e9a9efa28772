package sandbox

import (
	"bufio"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/rollgate/rollgate/internal/digest"
)

// Image repositories. Tags are a hash of the build inputs, so an image is rebuilt only when
// what goes into it changes.
const (
	GuestRepo     = "rollgate/guest"
	guestBaseRepo = "rollgate/guest-base"
	SinkholeRepo  = "rollgate/sinkhole"
)

// The guest's recipe. Every value here is hashed into the guest tag.
const (
	guestSuite = "bookworm"
	// guestRecipe is bumped whenever the build steps change in a way the constants below do
	// not show.
	guestRecipe = "guest/v3"
	// guestUser is the unprivileged account every wine process runs as (uid and gid
	// guestUID); the prefix belongs to it and nothing in the guest runs as root.
	guestUser   = "rollgate"
	guestUID    = 1000
	guestHome   = "/home/" + guestUser
	guestPrefix = guestHome + "/.wine"
)

var (
	// faketime/libfaketime move the wall clock of the reruns forward and speed up their
	// timeouts (see run.sh and Spec.ClockOffsets).
	guestPackages = []string{"wine", "wine64", "faketime", "libfaketime"}
	// guestPackages32 run 32-bit Windows programs (most NSIS, Inno Setup and InstallShield
	// installers are): wine64 alone starts them and they die before their first instruction,
	// with exit 0 and nothing to see. Installed from the same mirror after debootstrap, with
	// i386 added as a foreign architecture.
	guestPackages32 = []string{"wine32:i386", "libfaketime:i386"}
	guestEnv        = []string{
		"PATH=/usr/lib/wine:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + guestHome,
		"LANG=C.UTF-8",
		"WINEPREFIX=" + guestPrefix,
		"WINEARCH=win64",
		"WINEDEBUG=-all",
		// No Mono / Gecko installer prompts: nothing may be fetched, nothing can be clicked.
		"WINEDLLOVERRIDES=mscoree,mshtml=",
	}
	guestWorkDir    = guestHome
	guestEntrypoint = []string{"/bin/sh"}
	// guestInit makes the wine prefix and waits for wineserver to exit, so that the commit
	// holds a complete, quiescent prefix and every run starts warm. The guest has no display:
	// wine's null graphics driver lets programs create (invisible) windows, which an
	// installer's silent mode still does (Inno Setup builds its wizard form and failed with
	// "Invalid window handle" without it).
	guestInit = []string{"-c", `wineboot --init && wine64 reg add 'HKCU\Software\Wine\Drivers' /v Graphics /d null /f && wineserver -w`}
	// guestTarExcludes keeps what Docker supplies itself and what only bloats the image out of
	// the imported root.
	guestTarExcludes = []string{
		"./dev/*", "./proc/*", "./sys/*", "./run/*", "./tmp/*",
		"./var/cache/apt/*", "./var/lib/apt/lists/*",
		"./usr/share/doc/*", "./usr/share/man/*", "./usr/share/locale/*",
	}
)

// Build limits.
const (
	// initTimeout bounds the wineboot --init container.
	initTimeout = 10 * time.Minute
	// debootstrapTimeout bounds the debootstrap run (it downloads a few hundred MB).
	debootstrapTimeout = 30 * time.Minute
	// maxBuildMessage bounds one line of an engine's build/import progress stream.
	maxBuildMessage = 1 << 20
)

// ImageOptions controls EnsureGuestImage and EnsureSinkholeImage.
type ImageOptions struct {
	// Rebuild builds even when an image with the inputs' tag is present.
	Rebuild bool
	// Progress receives human progress lines (nil: discarded).
	Progress io.Writer
	// Mirror overrides the Debian mirror (default: the host's apt sources, see HostMirror).
	Mirror string
	// CacheDir keeps debootstrap's downloaded packages between builds
	// (default: the user cache dir + rollgate/debootstrap).
	CacheDir string
}

func (o ImageOptions) progress() io.Writer {
	if o.Progress == nil {
		return io.Discard
	}
	return o.Progress
}

func hashInputs(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// guestHash is the hash of everything that determines the guest image's content.
func guestHash() string {
	parts := []string{guestRecipe, guestSuite, guestWorkDir, guestPrefix, guestUser, strconv.Itoa(guestUID)}
	parts = append(parts, guestPackages...)
	parts = append(parts, guestPackages32...)
	parts = append(parts, guestEnv...)
	parts = append(parts, guestEntrypoint...)
	parts = append(parts, guestInit...)
	parts = append(parts, guestTarExcludes...)
	return hashInputs(parts...)
}

// GuestRef is the reference of the guest image for the current recipe.
func GuestRef() string { return GuestRepo + ":" + guestHash() }

// guestChanges are the Dockerfile instructions applied when the root is imported.
func guestChanges(hash string) []string {
	env := make([]string, 0, len(guestEnv))
	for _, e := range guestEnv {
		env = append(env, "ENV "+e)
	}
	ep, _ := json.Marshal(guestEntrypoint)
	return append(env,
		"WORKDIR "+guestWorkDir,
		"USER "+guestUserSpec,
		"ENTRYPOINT "+string(ep),
		fmt.Sprintf("LABEL %s=guest %s.inputs=%s", Label, Label, hash),
	)
}

// guestConfig is the final image's config, set again at commit.
func guestConfig(hash string) *container.Config {
	return &container.Config{
		Env:        append([]string(nil), guestEnv...),
		WorkingDir: guestWorkDir,
		User:       guestUserSpec,
		Entrypoint: append([]string(nil), guestEntrypoint...),
		Labels:     map[string]string{Label: "guest", Label + ".inputs": hash},
	}
}

func imagePresent(ctx context.Context, c engine, ref string) (bool, error) {
	_, err := c.ImageInspect(ctx, ref)
	if err == nil {
		return true, nil
	}
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("inspecting image %q: %w", ref, err)
}

// EnsureGuestImage returns the guest image reference, building it first when it is missing
// (or when opts.Rebuild is set). Building needs root and debootstrap on this host, and reaches
// only the Debian mirror: debootstrap --variant=minbase bookworm with wine, the root imported
// through the Engine API, then `wineboot --init` run once in a container with network "none"
// and committed, so that runs start with a warm prefix.
func EnsureGuestImage(ctx context.Context, opts ImageOptions) (string, error) {
	c, err := newClient()
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := ping(ctx, c); err != nil {
		return "", err
	}
	return ensureGuest(ctx, c, opts)
}

func ensureGuest(ctx context.Context, c engine, opts ImageOptions) (string, error) {
	hash := guestHash()
	ref := GuestRepo + ":" + hash
	if !opts.Rebuild {
		ok, err := imagePresent(ctx, c, ref)
		if err != nil || ok {
			return ref, err
		}
	}
	// One build per engine at a time, whichever host the builders run on is this one's lock
	// (two engines' builds do not wait for each other).
	unlock, err := buildLock("guest-build-" + hashInputs(engineHost()))
	if err != nil {
		return "", fmt.Errorf("locking the guest build: %w", err)
	}
	defer unlock()
	if !opts.Rebuild { // another process may have built it while this one waited
		if ok, err := imagePresent(ctx, c, ref); err != nil || ok {
			return ref, err
		}
	}
	p := opts.progress()
	base := guestBaseRepo + ":" + hash
	haveBase := false
	if !opts.Rebuild {
		var err error
		if haveBase, err = imagePresent(ctx, c, base); err != nil {
			return "", err
		}
	}
	if !haveBase {
		if err := buildGuestBase(ctx, c, base, hash, opts); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(p, "sandbox: initialising the wine prefix in %s\n", ref)
	if err := initPrefix(ctx, c, base, ref, hash); err != nil {
		return "", err
	}
	fmt.Fprintf(p, "sandbox: built %s\n", ref)
	return ref, nil
}

func buildGuestBase(ctx context.Context, c engine, base, hash string, opts ImageOptions) error {
	p := opts.progress()
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return fmt.Errorf("building the guest image needs debootstrap (apt-get install debootstrap, or run scripts/docker-up.sh): %w", err)
	}
	mirror := opts.Mirror
	if mirror == "" {
		var err error
		if mirror, err = HostMirror("/", guestSuite); err != nil {
			return err
		}
	}
	cache := opts.CacheDir
	if cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		cache = filepath.Join(dir, "rollgate", "debootstrap")
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return fmt.Errorf("creating the package cache: %w", err)
	}
	tmpParent := "/var/tmp"
	if fi, err := os.Stat(tmpParent); err != nil || !fi.IsDir() {
		tmpParent = os.TempDir()
	}
	tmp, err := os.MkdirTemp(tmpParent, "rollgate-guest-")
	if err != nil {
		return fmt.Errorf("creating the build folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "root")

	fmt.Fprintf(p, "sandbox: debootstrap %s from %s (a few minutes)\n", guestSuite, mirror)
	dctx, cancel := context.WithTimeout(ctx, debootstrapTimeout)
	defer cancel()
	cmd := exec.CommandContext(dctx, "debootstrap", "--variant=minbase",
		"--include="+strings.Join(guestPackages, ","), "--cache-dir="+cache,
		guestSuite, root, mirror)
	cmd.Stdout, cmd.Stderr = p, p
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("debootstrap %s from %s: %w", guestSuite, mirror, err)
	}

	if err := addForeign32(dctx, root, p); err != nil {
		return err
	}
	if err := addGuestUser(root); err != nil {
		return err
	}
	fmt.Fprintf(p, "sandbox: importing the root as %s\n", base)
	args := []string{"--numeric-owner", "--one-file-system", "-C", root}
	for _, x := range guestTarExcludes {
		args = append(args, "--exclude="+x)
	}
	args = append(args, "-cf", "-", ".")
	tarCmd := exec.CommandContext(ctx, "tar", args...)
	out, err := tarCmd.StdoutPipe()
	if err != nil {
		return err
	}
	tarCmd.Stderr = p
	if err := tarCmd.Start(); err != nil {
		return fmt.Errorf("tar of the guest root: %w", err)
	}
	ierr := importImage(ctx, c, out, base, guestChanges(hash))
	if ierr != nil {
		_ = tarCmd.Process.Kill()
	}
	if werr := tarCmd.Wait(); werr != nil && ierr == nil {
		ierr = fmt.Errorf("tar of the guest root: %w", werr)
	}
	return ierr
}

// addForeign32 installs guestPackages32 into the debootstrapped root: i386 is added as a
// foreign architecture and apt, run in the root (chroot, as root on this host, like
// debootstrap itself), fetches them from the mirror debootstrap wrote into its sources. /proc
// is mounted for the packages' scripts and unmounted before the root is imported.
func addForeign32(ctx context.Context, root string, p io.Writer) error {
	fmt.Fprintf(p, "sandbox: adding i386 and %s to the guest root\n", strings.Join(guestPackages32, " "))
	proc := filepath.Join(root, "proc")
	if out, err := exec.CommandContext(ctx, "mount", "-t", "proc", "proc", proc).CombinedOutput(); err != nil {
		return fmt.Errorf("mounting /proc in the guest root: %v: %s", err, out)
	}
	defer exec.Command("umount", "-l", proc).Run()
	steps := [][]string{
		{"dpkg", "--add-architecture", "i386"},
		{"apt-get", "-q", "update"},
		append([]string{"apt-get", "-q", "-y", "--no-install-recommends", "install"}, guestPackages32...),
		{"apt-get", "clean"},
	}
	for _, s := range steps {
		cmd := exec.CommandContext(ctx, "chroot", append([]string{root}, s...)...)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LANG=C"}
		cmd.Stdout, cmd.Stderr = p, p
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s in the guest root: %w", strings.Join(s, " "), err)
		}
	}
	return nil
}

// guestUserSpec is the container's User: numeric, so no lookup in the guest's passwd decides it.
var guestUserSpec = strconv.Itoa(guestUID) + ":" + strconv.Itoa(guestUID)

// addGuestUser adds the unprivileged guest account to the debootstrapped root and makes its
// home. It is done here, as root on the host, because the containers that follow hold no
// capability (a root without CAP_CHOWN cannot hand a folder to another user).
func addGuestUser(root string) error {
	id := strconv.Itoa(guestUID)
	for _, f := range []struct{ name, line string }{
		{"etc/passwd", guestUser + ":x:" + id + ":" + id + "::" + guestHome + ":/bin/sh\n"},
		{"etc/group", guestUser + ":x:" + id + ":\n"},
		{"etc/shadow", guestUser + ":!:19000::::::\n"},
	} {
		fh, err := os.OpenFile(filepath.Join(root, f.name), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("adding the guest user: %w", err)
		}
		_, err = fh.WriteString(f.line)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("adding the guest user: %w", err)
		}
	}
	home := filepath.Join(root, guestHome)
	if err := os.MkdirAll(home, 0o755); err != nil {
		return fmt.Errorf("making the guest home: %w", err)
	}
	if err := os.Chown(home, guestUID, guestUID); err != nil {
		return fmt.Errorf("making the guest home: %w", err)
	}
	return nil
}

// importImage streams a root tar into the engine as image ref.
func importImage(ctx context.Context, c engine, tarStream io.Reader, ref string, changes []string) error {
	res, err := c.ImageImport(ctx, client.ImageImportSource{Source: tarStream, SourceName: "-"}, ref,
		client.ImageImportOptions{Changes: changes, Message: "built by rollgate"})
	if err != nil {
		return fmt.Errorf("importing %q: %w", ref, err)
	}
	defer res.Close()
	if err := streamError(res); err != nil {
		return fmt.Errorf("importing %q: %w", ref, err)
	}
	return nil
}

// streamError reads an engine JSON progress stream to its end and returns the first error it
// reports.
func streamError(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxBuildMessage)
	for sc.Scan() {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if json.Unmarshal(sc.Bytes(), &m) == nil && (m.Error != "" || m.ErrorDetail.Message != "") {
			if m.ErrorDetail.Message != "" {
				return errors.New(m.ErrorDetail.Message)
			}
			return errors.New(m.Error)
		}
	}
	return sc.Err()
}

// initRequest is the container that makes the wine prefix: no network at all, no capability
// beyond the defaults it needs, labelled.
func initRequest(base, hash string) client.ContainerCreateOptions {
	cfg := guestConfig(hash)
	cfg.Image = base
	cfg.Cmd = append([]string(nil), guestInit...)
	return client.ContainerCreateOptions{
		Config: cfg,
		HostConfig: &container.HostConfig{
			NetworkMode: "none",
			CapDrop:     []string{"ALL"},
			SecurityOpt: []string{"no-new-privileges"},
			Resources:   defaultGuestLimits.resources(),
		},
	}
}

func initPrefix(ctx context.Context, c engine, base, ref, hash string) error {
	created, err := c.ContainerCreate(ctx, initRequest(base, hash))
	if err != nil {
		return fmt.Errorf("creating the prefix container: %w", err)
	}
	defer removeContainer(c, created.ID)
	if _, err := c.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("starting the prefix container: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, initTimeout)
	defer cancel()
	code, err := waitExit(wctx, c, created.ID)
	if err != nil {
		return fmt.Errorf("waiting for wineboot --init: %w", err)
	}
	if code != 0 {
		return fmt.Errorf("wineboot --init exited with %d", code)
	}
	if _, err := c.ContainerCommit(ctx, created.ID, client.ContainerCommitOptions{
		Reference: ref, Comment: "rollgate guest with an initialised wine prefix", Config: guestConfig(hash),
	}); err != nil {
		return fmt.Errorf("committing %q: %w", ref, err)
	}
	return nil
}

// waitExit waits for a container to stop and returns its exit code.
func waitExit(ctx context.Context, c engine, id string) (int64, error) {
	w := c.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case r := <-w.Result:
		if r.Error != nil && r.Error.Message != "" {
			return r.StatusCode, errors.New(r.Error.Message)
		}
		return r.StatusCode, nil
	case err := <-w.Error:
		return -1, err
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// removeTimeout bounds the clean-up of one container; it runs on a fresh context so that a
// cancelled run (Ctrl-C) still removes what it created.
const removeTimeout = 30 * time.Second

func removeContainer(c engine, id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), removeTimeout)
	defer cancel()
	_, err := c.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("removing container %s: %w", shortID(id), err)
	}
	return nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func ptr[T any](v T) *T { return &v }

// ErrNotStatic reports that the binary for the sinkhole image is linked dynamically: a
// FROM scratch image has no C library, so the sinkhole must be built with CGO_ENABLED=0.
var ErrNotStatic = errors.New("sandbox: the sinkhole needs a statically linked rollgate (build it with CGO_ENABLED=0 go build ./cmd/rollgate, or name one in $" + SinkholeBinaryEnv + ")")

// CheckStatic reports whether the ELF file at path is statically linked (no interpreter, no
// needed libraries).
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("reading %q: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%q: %w", path, ErrNotStatic)
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		return fmt.Errorf("%q needs %v: %w", path, libs, ErrNotStatic)
	}
	return nil
}

// sinkholeEntrypoint is the sinkhole image's entrypoint.
var sinkholeEntrypoint = []string{"/rollgate", "sinkhole"}

// SinkholeRef is the reference of the sinkhole image made from binary.
func SinkholeRef(binary string) (string, error) {
	sum, err := digest.File(binary)
	if err != nil {
		return "", err
	}
	return SinkholeRepo + ":" + hashInputs(append([]string{"sinkhole/v1", sum}, sinkholeEntrypoint...)...), nil
}

// EnsureSinkholeImage returns the sinkhole image reference for binary (a statically linked
// rollgate; see CheckStatic), importing a one-file image when it is missing.
func EnsureSinkholeImage(ctx context.Context, binary string, opts ImageOptions) (string, error) {
	c, err := newClient()
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := ping(ctx, c); err != nil {
		return "", err
	}
	return ensureSinkhole(ctx, c, binary, opts)
}

func ensureSinkhole(ctx context.Context, c engine, binary string, opts ImageOptions) (string, error) {
	if err := CheckStatic(binary); err != nil {
		return "", err
	}
	ref, err := SinkholeRef(binary)
	if err != nil {
		return "", err
	}
	if !opts.Rebuild {
		ok, err := imagePresent(ctx, c, ref)
		if err != nil || ok {
			return ref, err
		}
	}
	fmt.Fprintf(opts.progress(), "sandbox: building %s\n", ref)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeSinkholeTar(pw, binary)) }()
	ep, _ := json.Marshal(sinkholeEntrypoint)
	tag := ref[strings.LastIndexByte(ref, ':')+1:]
	err = importImage(ctx, c, pr, ref, []string{
		"ENTRYPOINT " + string(ep),
		fmt.Sprintf("LABEL %s=sinkhole %s.inputs=%s", Label, Label, tag),
	})
	pr.Close()
	if err == nil {
		pruneSinkholes(ctx, c, ref)
	}
	return ref, err
}

// engineNow is the engine's idea of now: the creation time of the image it has just made.
// Image ages are judged by the engine's clock, which on a remote engine need not agree with
// this host's.
func engineNow(ctx context.Context, c engine, ref string) (time.Time, bool) {
	res, err := c.ImageInspect(ctx, ref)
	if err != nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, res.Created)
	return t, err == nil
}

// sinkholeKeep is how long a sinkhole image of another binary is kept: a second rollgate on
// this host may be about to use it.
const sinkholeKeep = time.Hour

// pruneSinkholes removes the sinkhole images of earlier binaries (every rebuild of rollgate
// makes a new one) once they are older than sinkholeKeep. Best effort: an image still used by
// a container stays.
func pruneSinkholes(ctx context.Context, c engine, keep string) {
	f := client.Filters{}
	f.Add("reference", SinkholeRepo)
	f.Add("label", Label+"=sinkhole")
	now, ok := engineNow(ctx, c, keep)
	if !ok {
		return
	}
	res, err := c.ImageList(ctx, client.ImageListOptions{Filters: f})
	if err != nil {
		return
	}
	for _, img := range res.Items {
		if now.Sub(time.Unix(img.Created, 0)) < sinkholeKeep {
			continue // perhaps another rollgate's, about to be used
		}
		for _, tag := range img.RepoTags {
			if tag != keep && strings.HasPrefix(tag, SinkholeRepo+":") {
				_, _ = c.ImageRemove(ctx, tag, client.ImageRemoveOptions{})
			}
		}
	}
}
