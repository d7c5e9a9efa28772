package sandbox

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
)

const testNonce = "0123456789abcdef0123456789abcdef"

func TestParsePhases(t *testing.T) {
	m := func(s string) string { return "rollgate: " + testNonce + " phase " + s + "\n" }
	stdout := strings.Join([]string{
		"rollgate: network ready\n",
		m("install 0 1000000"),
		"rollgate: install exit 0\n",
		m("run 0 1005000"),
		// a program printing markers: without the nonce, a repeat, and one going back in time
		"rollgate: ffffffffffffffffffffffffffffffff phase run 691200 1005500\n",
		m("run 0 1005600"),
		m("run 2678400 1000001"),
		m("run 691200 1010000"),
		m("run 2678400 1020000"),
		m("run -5 1030000"),
		m("reboot 5 1030000"),
		"rollgate: done\n",
	}, "")
	got := ParsePhases([]byte(stdout), testNonce)
	want := []Phase{
		{"install", 0, time.UnixMilli(1000000)},
		{"run", 0, time.UnixMilli(1005000)},
		{"run", 691200, time.UnixMilli(1010000)},
		{"run", 2678400, time.UnixMilli(1020000)},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParsePhases (-want +got)\n%s", d)
	}
	if got := ParsePhases([]byte(stdout), ""); len(got) != 0 {
		t.Errorf("ParsePhases(no nonce) = %v, want none", got)
	}
}

func TestParsePhasedTrace(t *testing.T) {
	m := func(s string) string { return "rollgate: " + testNonce + " phase " + s }
	stderr := strings.Join([]string{
		m("install 0 1000000"), lStartExe, lNtCreate, lNtCreated, lMsiExe,
		m("run 0 1005000"), lBeaconExe, lBeaconWs2,
		// forged marker (not at a line start, then without the nonce): no phase change
		"x" + m("run 691200 1005500"),
		"rollgate: 00000000000000000000000000000000 phase run 691200 1005500",
		m("run 691200 1010000"), lBeaconExe, lNoPidNat,
		m("run 2678400 1020000"), lNoPidNat,
	}, "\n") + "\n"
	tr := ParsePhasedTrace([]byte(stderr), testNonce)
	offsets := map[string]int64{}
	for _, l := range tr.DLLLoads {
		offsets[l.Path] = l.ClockOffset
	}
	want := map[string]int64{
		`C:\windows\system32\start.exe`:                   0,
		`C:\windows\system32\msiexec.exe`:                 0,
		`C:\Program Files\Beacon\beacon.exe`:              0,
		`C:\windows\system32\ws2_32.dll`:                  0,
		`C:\users\root\AppData\Roaming\Beacon\helper.dll`: 691200,
	}
	if d := cmp.Diff(want, offsets); d != "" {
		t.Errorf("ParsePhasedTrace load offsets (-want +got)\n%s", d)
	}
	for _, p := range tr.Processes {
		if p.ClockOffset != 0 {
			t.Errorf("process %+v: clock offset %d, want 0 (first seen on the real clock)", p, p.ClockOffset)
		}
	}
}

func TestTagNetwork(t *testing.T) {
	start := time.UnixMilli(1_000_000)
	phases := []Phase{{"install", 0, start.Add(time.Second)}, {"run", 0, start.Add(5 * time.Second)},
		{"run", 691200, start.Add(10 * time.Second)}, {"run", 2678400, start.Add(20 * time.Second)}}
	ev := []inventory.NetEvent{{MS: 500}, {MS: 6000}, {MS: 10000}, {MS: 19999}, {MS: 25000}}
	TagNetwork(ev, start, phases)
	var got []int64
	for _, e := range ev {
		got = append(got, e.ClockOffset)
	}
	if d := cmp.Diff([]int64{0, 0, 691200, 691200, 2678400}, got); d != "" {
		t.Errorf("TagNetwork offsets (-want +got)\n%s", d)
	}
	ev = []inventory.NetEvent{{MS: 25000}}
	TagNetwork(ev, time.Time{}, phases)
	if ev[0].ClockOffset != 0 {
		t.Errorf("TagNetwork(no sinkhole start) = %d, want 0", ev[0].ClockOffset)
	}
}

func TestTagWrites(t *testing.T) {
	phases := []Phase{{Name: "install"}, {Name: "run"}, {Name: "run", Offset: 691200}, {Name: "run", Offset: 2678400}}
	written := map[string][]string{
		"run-0":       {guestPrefix + "/drive_c/users/rollgate/AppData/Roaming/Acme/firstrun.dat"},
		"run-691200":  {guestPrefix + "/drive_c/users/rollgate/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Startup/x.lnk", guestPrefix + "/drive_c/users/rollgate/AppData/Roaming/Acme/firstrun.dat"},
		"run-2678400": {guestPrefix + "/drive_c/windows/system32/Tasks/Acme"},
	}
	writes := []inventory.FileWrite{
		{Path: `C:\Program Files\Acme Softphone\core.dll`, Kind: "added"},
		{Path: `C:\users\rollgate\AppData\Roaming\Acme\firstrun.dat`, Kind: "added"},
		{Path: `C:\users\rollgate\AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup\x.lnk`, Kind: "added"},
		{Path: `C:\windows\system32\Tasks\Acme`, Kind: "added"},
	}
	TagWrites(writes, written, phases)
	var got []int64
	for _, w := range writes {
		got = append(got, w.ClockOffset)
	}
	if d := cmp.Diff([]int64{0, 0, 691200, 2678400}, got); d != "" {
		t.Errorf("TagWrites offsets (-want +got)\n%s", d)
	}
}

func FuzzParsePhasedTrace(f *testing.F) {
	m := "rollgate: " + testNonce + " phase "
	f.Add([]byte(m + "install 0 1\n" + lBeaconExe + "\n" + m + "run 691200 2\n" + lNoPidNat + "\n"))
	f.Add([]byte(m + "run 9999999999999999999 1\n" + m))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr := ParsePhasedTrace(b, testNonce)
		if len(tr.DLLLoads) > MaxEvents || len(tr.Processes) > MaxEvents {
			t.Fatalf("ParsePhasedTrace kept %d loads, %d processes", len(tr.DLLLoads), len(tr.Processes))
		}
		if ps := ParsePhases(b, testNonce); len(ps) > maxPhases {
			t.Fatalf("ParsePhases kept %d phases", len(ps))
		}
	})
}
