package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/msi"
)

// Runner runs installers for the gate package (it implements gate.Sandbox): the programs it
// starts are those Programs picks from the inventory.
type Runner struct {
	// Progress receives human progress lines (nil: none).
	Progress io.Writer
}

// Available reports whether a Docker engine answers.
func (r Runner) Available(ctx context.Context) error { return Available(ctx) }

// Run installs the installer and runs the programs the inventory points at; the behaviour
// says which ran, why and for how long.
func (r Runner) Run(ctx context.Context, installer string, inv *inventory.Inventory) (*inventory.Behaviour, error) {
	progs := Programs(inv)
	spec := Spec{Installer: installer, Progress: r.Progress, Silent: SilentFor(inv.Format)}
	for _, p := range progs {
		spec.Programs = append(spec.Programs, p.Path)
	}
	b, err := runAgainOnTimeout(ctx, spec, Run)
	if b != nil {
		spec.defaults()
		each := spec.ProgramTimeout + time.Duration(len(spec.ClockOffsets))*spec.RerunTimeout
		for i := range progs {
			progs[i].Seconds = int64(each / time.Second)
		}
		b.Programs = progs
	}
	return b, err
}

// runAgainOnTimeout runs spec, and once more in a fresh guest when the first run timed out:
// a wine guest now and then stops making progress (seen in one of the day's clean CI runs,
// after every network event of the run had arrived, while 15 reruns of the same installer
// took 14-19 s each), and an inconclusive gate for that costs a release more than a second run. An installer that hangs every time stays a timeout, and so
// inconclusive; the second run's behaviour says the first timed out.
func runAgainOnTimeout(ctx context.Context, spec Spec, run func(context.Context, Spec) (*inventory.Behaviour, error)) (*inventory.Behaviour, error) {
	b, err := run(ctx, spec)
	if !errors.Is(err, ErrTimeout) || ctx.Err() != nil {
		return b, err
	}
	if spec.Progress != nil {
		fmt.Fprintf(spec.Progress, "sandbox: the run timed out; running it once more in a fresh guest\n")
	}
	first := "timed out"
	if b != nil && b.Reason != "" {
		first = b.Reason
	}
	b2, err := run(ctx, spec)
	if b2 != nil && err == nil {
		note := "a first run " + first + "; this is a second run in a fresh guest"
		if b2.Reason != "" {
			note += "; " + b2.Reason
		}
		b2.Reason = note
	}
	return b2, err
}

// Program reasons, in the order Programs picks.
const (
	ReasonShortcut  = "shortcut"
	ReasonService   = "service"
	ReasonAutostart = "autostart"
	ReasonInstalled = "installed executable"
)

// Programs picks what to start after the install, at most MaxPrograms, each once: what the
// MSI's shortcuts start, the binaries of the services it installs, the executables its
// Registry rows start at logon (Run keys and the other autostart values); when nothing points
// at a program, every installed executable.
func Programs(inv *inventory.Inventory) []inventory.ProgramRun {
	var out []inventory.ProgramRun
	seen := map[string]bool{}
	add := func(installPath, reason string) {
		w, ok := WindowsPath(installPath)
		if !ok || seen[strings.ToLower(w)] || len(out) >= MaxPrograms {
			return
		}
		seen[strings.ToLower(w)] = true
		out = append(out, inventory.ProgramRun{Path: w, Reason: reason})
	}
	for _, sc := range inv.Shortcuts {
		if strings.EqualFold(path.Ext(sc.Target), ".exe") {
			add(sc.Target, ReasonShortcut)
		}
	}
	exes := installedExecutables(inv)
	if t := inv.MSI; t != nil {
		for _, svc := range t.Services {
			if strings.EqualFold(path.Ext(svc.Binary), ".exe") {
				add(svc.Binary, ReasonService)
			}
		}
		for _, row := range t.Registry {
			if !isAutostartKey(row.Key) {
				continue
			}
			for _, e := range exes {
				if strings.Contains(strings.ToLower(row.Value), strings.ToLower(e)) ||
					strings.Contains(strings.ToLower(row.Value), strings.ToLower(path.Base(e))) {
					add(e, ReasonAutostart)
				}
			}
		}
	}
	if len(out) == 0 {
		for _, e := range exes {
			add(e, ReasonInstalled)
		}
	}
	return out
}

// installedExecutables are the .exe files the installer puts in place, in inventory order.
func installedExecutables(inv *inventory.Inventory) []string {
	var out []string
	for _, e := range inv.Entries {
		if e.Kind == inventory.KindPE && strings.EqualFold(path.Ext(e.Path), ".exe") {
			if _, ok := WindowsPath(e.Path); ok {
				out = append(out, e.Path)
			}
		}
	}
	return out
}

// isAutostartKey reports whether a Registry row's key starts programs at logon or boot: the
// Run and RunOnce keys (any hive, Wow6432Node included) and Winlogon's Shell and Userinit.
func isAutostartKey(key string) bool {
	k := strings.ToLower(key)
	return strings.HasSuffix(k, `\currentversion\run`) || strings.HasSuffix(k, `\currentversion\runonce`) ||
		strings.HasSuffix(k, `\currentversion\winlogon`)
}

// InstallerPrograms returns the Windows paths of the programs an MSI's shortcuts start
// (`rollgate sandbox run` without an inventory); other installers name none.
func InstallerPrograms(installer string) ([]string, error) {
	if !strings.EqualFold(path.Ext(installer), ".msi") {
		return nil, nil
	}
	rc, err := msi.Open(installer)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	sc, err := rc.Reader.Shortcuts()
	if err != nil {
		return nil, err
	}
	return ShortcutPrograms(sc), nil
}
