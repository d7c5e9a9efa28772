package sandbox

import (
	"bytes"
	"context"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rollgate/rollgate/analyze"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/rules"
)

// The time-travel and persistence cases end to end, against the real engine (see e2e_test.go
// for when they skip and when they fail): Acme 1.0 is the baseline run; each implant variant of
// Acme 1.1 must fail the behaviour rules naming the host and the clock offset, or the registry
// value; the benign 1.1 must not.

// e2eRun runs one fixture with its shortcuts' programs and the default clock offsets.
func e2eRun(t *testing.T, name string, spec Spec) *inventory.Behaviour {
	t.Helper()
	guest, sink := e2eImages(t)
	inst := fixture(t, name)
	spec.Installer, spec.Programs = inst, programsOf(t, inst)
	spec.GuestImage, spec.SinkholeImage, spec.Labels = guest, sink, testLabel(t)
	start := time.Now()
	var out bytes.Buffer
	spec.Stdout = &out
	b, err := Run(context.Background(), spec)
	if err != nil {
		reason := ""
		if b != nil {
			reason = b.Reason
		}
		t.Fatalf("Run(%s) = %v (reason %q); guest script said:\n%s", name, err, reason, out.String())
	}
	t.Logf("Run(%s): %v, %d network events, %d registry values, clock offsets %v; reason %q",
		name, time.Since(start).Round(100*time.Millisecond), len(b.Network), len(b.Registry), b.ClockOffsets, b.Reason)
	return b
}

func shippedInventory(t *testing.T, name string) *inventory.Inventory {
	t.Helper()
	// The shipped-file list is all the behaviour rules read: signatures are not judged here.
	a, err := analyze.New(analyze.Options{SkipSignaturesUnsafe: true, Formats: analyze.DefaultFormats()})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := a.Installer(context.Background(), fixture(t, name))
	if err != nil {
		t.Fatalf("analyze %s = %v", name, err)
	}
	return inv
}

// findingsAtLeast returns the findings of severity high or more, as "rule path" lines.
func findingsAtLeast(fs []rules.Finding, s rules.Severity) []rules.Finding {
	var out []rules.Finding
	for _, f := range fs {
		if f.Severity >= s {
			out = append(out, f)
		}
	}
	return out
}

func TestE2ETimeTravel(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end sandbox test skipped in -short mode")
	}
	spec := Spec{ProgramTimeout: 20 * time.Second}
	base := e2eRun(t, "acme-1.0.msi", spec)
	if !slices.Equal(base.ClockOffsets, []int64{691200, 2678400}) {
		t.Errorf("baseline ClockOffsets = %v, want [691200 2678400] (+8d, +31d)", base.ClockOffsets)
	}
	if !slices.ContainsFunc(base.DLLLoads, func(l inventory.DLLLoad) bool {
		return strings.EqualFold(l.Path, `C:\Program Files\Acme Softphone\core.dll`) && l.ClockOffset == 0
	}) {
		t.Errorf("baseline: core.dll not loaded on the real clock; loads %+v", base.DLLLoads)
	}

	tests := []struct {
		name string
		// want: one finding of rule whose message holds every one of these strings.
		rule string
		want []string
		// evidence clock_offset the finding must carry (-1: not checked)
		offset int64
	}{
		{"acme-1.1-dormant.msi", rules.SandboxNetwork, []string{"beacon.acme-telemetry.test", "+8d"}, 691200},
		{"acme-1.1-sleeper.msi", rules.SandboxNetwork, []string{"sync.acme-telemetry.test", "+8d"}, 691200},
		{"acme-1.1-runkey.msi", rules.SandboxPersistence, []string{`CurrentVersion\Run`, "AcmeHelper", "AcmePhone.exe"}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cand := e2eRun(t, tt.name, spec)
			fs := rules.Behaviour(base, cand, shippedInventory(t, tt.name), nil)
			found := slices.ContainsFunc(fs, func(f rules.Finding) bool {
				if f.Rule != tt.rule || f.Severity < rules.High {
					return false
				}
				for _, w := range tt.want {
					if !strings.Contains(f.Message, w) {
						return false
					}
				}
				return tt.offset < 0 || f.Evidence["clock_offset"] == tt.offset
			})
			if !found {
				t.Errorf("%s: no high %s finding naming %q (clock offset %d); findings:\n%s", tt.name, tt.rule, tt.want, tt.offset, describeFindings(fs))
			}
			if tt.name == "acme-1.1-dormant.msi" && !slices.Contains(cand.FileWrites,
				inventory.FileWrite{Path: `C:\users\rollgate\AppData\Roaming\Acme\firstrun.dat`, Kind: "added"}) {
				t.Errorf("%s: no stamp written on the real clock (clock offset 0); writes %+v", tt.name, cand.FileWrites)
			}
			// The first run (clock offset 0) of a dormant or sleeping implant is quiet: only
			// time travel reveals it.
			if tt.offset > 0 && slices.ContainsFunc(cand.Network, func(e inventory.NetEvent) bool {
				return strings.HasSuffix(e.Name, "acme-telemetry.test") && e.ClockOffset == 0
			}) {
				t.Errorf("%s: beaconed on the real clock already; the fixture is not dormant", tt.name)
			}
		})
	}

	t.Run("benign acme-1.1.msi", func(t *testing.T) {
		cand := e2eRun(t, "acme-1.1.msi", spec)
		if bad := findingsAtLeast(rules.Behaviour(base, cand, shippedInventory(t, "acme-1.1.msi"), nil), rules.High); len(bad) > 0 {
			t.Errorf("benign update: high findings:\n%s", describeFindings(bad))
		}
	})
}

func describeFindings(fs []rules.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.Severity.String() + " " + f.Rule + " " + f.Message + "\n")
	}
	return b.String()
}

// TestE2EMeasureTimeTravel times a full sandbox run of a small MSI with the clock-jump reruns
// against the same run without them (median of three each). It only runs when
// ROLLGATE_MEASURE=1: it takes minutes and asserts nothing about wall-clock time.
func TestE2EMeasureTimeTravel(t *testing.T) {
	if os.Getenv("ROLLGATE_MEASURE") != "1" {
		t.Skip("set ROLLGATE_MEASURE=1 to measure")
	}
	median := func(spec Spec) time.Duration {
		var ds []time.Duration
		for range 3 {
			start := time.Now()
			e2eRun(t, "acme-1.1.msi", spec)
			ds = append(ds, time.Since(start))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		t.Logf("runs %v", ds)
		return ds[1]
	}
	with := median(Spec{})
	without := median(Spec{NoTimeTravel: true})
	t.Logf("acme-1.1.msi: full sandbox run with reruns at +8d and +31d: median %v; without time travel: median %v",
		with.Round(100*time.Millisecond), without.Round(100*time.Millisecond))
}

// TestE2EBarePE: a bare .exe installer's own image (Z:\rollgate\installer.exe) is the
// installer's, never "a DLL the installer did not ship" (issue 9 item 7): a benign update of a
// bare PE passes the behaviour rules in the baseline run and the candidate alike.
func TestE2EBarePE(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end sandbox test skipped in -short mode")
	}
	guest, sink := e2eImages(t)
	run := func(name string) *inventory.Behaviour {
		b, err := Run(context.Background(), Spec{Installer: fixture(t, "pe/"+name), GuestImage: guest,
			SinkholeImage: sink, Labels: testLabel(t)})
		if err != nil {
			t.Fatalf("Run(%s) = %v", name, err)
		}
		if !slices.ContainsFunc(b.DLLLoads, func(l inventory.DLLLoad) bool { return l.Path == `Z:\rollgate\installer.exe` }) {
			t.Errorf("Run(%s): the installer's image never loaded; loads %+v", name, b.DLLLoads)
		}
		return b
	}
	base, cand := run("beacon-1.0.exe"), run("beacon-1.1.exe")
	for _, tc := range []struct {
		name       string
		base, cand *inventory.Behaviour
		inst       string
	}{{"baseline run, no baseline", nil, base, "beacon-1.0.exe"}, {"candidate", base, cand, "beacon-1.1.exe"}} {
		fs := rules.Behaviour(tc.base, tc.cand, shippedInventory(t, "pe/"+tc.inst), []string{"updates.beacon.test"})
		if bad := findingsAtLeast(fs, rules.High); len(bad) > 0 {
			t.Errorf("%s: high findings:\n%s", tc.name, describeFindings(bad))
		}
	}
}
