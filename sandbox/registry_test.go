package sandbox

import (
	"archive/tar"
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
)

// Literal wine 8.0 user.reg / system.reg text (shapes copied from a fresh prefix).
const (
	userRegBase = `WINE REGISTRY Version 2
;; All keys relative to REGISTRY\\User\\S-1-5-21-0-0-0-1000

#arch=win64

[Control Panel\\Desktop] 1796164007
#time=1dd81e30d4fa686
"Wallpaper"=""

[Software\\Microsoft\\Windows\\CurrentVersion\\Run] 1796164012
`
	userRegAfter = userRegBase + `"AcmeHelper"="\"C:\\Program Files\\Acme Softphone\\AcmePhone.exe\" --tray"
`
	systemRegBase = `WINE REGISTRY Version 2
;; All keys relative to REGISTRY\\Machine

#arch=win64

[Software\\Borland\\Database Engine\\Settings\\SYSTEM\\INIT] 1796164012
#time=1dd81e3104c5f0a
"SHAREDMEMLOCATION"="9000"

[System\\CurrentControlSet\\Services\\Tcpip\\Parameters] 1796164012
"Hostname"="old"
"Blob"=hex:00,01,\
  02,03
@="default"
`
)

func parseHive(t *testing.T, s string) *Hive {
	t.Helper()
	h, err := ParseHive(strings.NewReader(s))
	if err != nil {
		t.Fatalf("ParseHive = %v", err)
	}
	return h
}

func TestParseHive(t *testing.T) {
	h := parseHive(t, systemRegBase)
	want := map[regID]regValue{
		{`hklm\software\borland\database engine\settings\system\init`, "sharedmemlocation"}: {
			`HKLM\Software\Borland\Database Engine\Settings\SYSTEM\INIT`, "SHAREDMEMLOCATION", `"9000"`},
		{`hklm\system\currentcontrolset\services\tcpip\parameters`, "hostname"}: {
			`HKLM\System\CurrentControlSet\Services\Tcpip\Parameters`, "Hostname", `"old"`},
		{`hklm\system\currentcontrolset\services\tcpip\parameters`, "blob"}: {
			`HKLM\System\CurrentControlSet\Services\Tcpip\Parameters`, "Blob", `hex:00,01,02,03`},
		{`hklm\system\currentcontrolset\services\tcpip\parameters`, ""}: {
			`HKLM\System\CurrentControlSet\Services\Tcpip\Parameters`, "", `"default"`},
	}
	if d := cmp.Diff(want, h.values, cmp.AllowUnexported(regID{}, regValue{})); d != "" || h.Truncated {
		t.Errorf("ParseHive (-want +got)\n%s truncated %v", d, h.Truncated)
	}
	u := parseHive(t, userRegAfter)
	if v := u.values[regID{`hkcu\software\microsoft\windows\currentversion\run`, "acmehelper"}]; v.data != `"\"C:\\Program Files\\Acme Softphone\\AcmePhone.exe\" --tray"` {
		t.Errorf("ParseHive(user.reg) Run value = %+v", v)
	}
}

func TestParseHiveHostile(t *testing.T) {
	long := strings.Repeat("x", MaxLineBytes*2)
	tests := []struct {
		name      string
		in        string
		err       error
		values    int
		truncated bool
	}{
		{"no header", "[a] 1\n\"x\"=\"y\"\n", ErrHiveFormat, 0, false},
		{"empty", "", ErrHiveFormat, 0, false},
		{"long line", "WINE REGISTRY Version 2\n[k] 1\n\"v\"=\"" + long + "\"\n\"w\"=dword:1\n", nil, 2, true},
		{"unterminated key", "WINE REGISTRY Version 2\n[k\n\"v\"=\"y\"\n", nil, 0, false},
		{"value before any key", "WINE REGISTRY Version 2\n\"v\"=\"y\"\n", nil, 0, false},
		{"hex continues to EOF", "WINE REGISTRY Version 2\n[k] 1\n\"v\"=hex:00,\\\n", nil, 1, false},
		{"unterminated name", "WINE REGISTRY Version 2\n[k] 1\n\"v=1\n", nil, 0, false},
	}
	for _, tt := range tests {
		h, err := ParseHive(strings.NewReader(tt.in))
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: ParseHive error = %v, want %v", tt.name, err, tt.err)
			continue
		}
		if h.Len() != tt.values || h.Truncated != tt.truncated {
			t.Errorf("%s: ParseHive = %d values (truncated %v), want %d (%v)", tt.name, h.Len(), h.Truncated, tt.values, tt.truncated)
		}
	}
	// The value cap holds.
	var b strings.Builder
	b.WriteString("WINE REGISTRY Version 2\n[k] 1\n")
	for i := 0; i < MaxHiveValues+10; i++ {
		b.WriteString("\"v" + strconv.Itoa(i) + "\"=dword:1\n")
	}
	h, err := ParseHive(strings.NewReader(b.String()))
	if err != nil || h.Len() > MaxHiveValues {
		t.Errorf("ParseHive(%d values) = %d values, %v; want at most %d", MaxHiveValues+10, h.Len(), err, MaxHiveValues)
	}
}

func TestDiffHives(t *testing.T) {
	before, after := parseHive(t, userRegBase), parseHive(t, userRegAfter)
	got := DiffHives(before, after, "run", 691200)
	want := []inventory.RegistryValue{{Key: `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`, Name: "AcmeHelper",
		Value: `"\"C:\\Program Files\\Acme Softphone\\AcmePhone.exe\" --tray"`, Kind: "added", Phase: "run", ClockOffset: 691200}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("DiffHives (-want +got)\n%s", d)
	}
	changed := parseHive(t, strings.Replace(systemRegBase, `"Hostname"="old"`, `"Hostname"="new"`, 1))
	got = DiffHives(parseHive(t, systemRegBase), changed, "install", 0)
	want = []inventory.RegistryValue{{Key: `HKLM\System\CurrentControlSet\Services\Tcpip\Parameters`, Name: "Hostname",
		Value: `"new"`, Kind: "changed", Phase: "install"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("DiffHives(changed) (-want +got)\n%s", d)
	}
}

// hiveTar builds the tar CopyFromContainer returns for /rollgate/reg.
func hiveTar(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "reg/", Typeflag: tar.TypeDir, Mode: 0o755})
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: "reg/" + name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	return b.Bytes()
}

func TestRegistryChanges(t *testing.T) {
	files := map[string]string{
		"base-0-system.reg": systemRegBase, "base-0-user.reg": userRegBase,
		"install-0-system.reg": systemRegBase, "install-0-user.reg": userRegBase,
		"run-0-system.reg": systemRegBase, "run-0-user.reg": userRegBase,
		"run-691200-system.reg": systemRegBase, "run-691200-user.reg": userRegAfter,
		"run-2678400-system.reg": systemRegBase, "run-2678400-user.reg": userRegAfter,
		"run-691200-files.txt": guestPrefix + "/drive_c/a.txt\n\n" + guestPrefix + "/drive_c/b.txt\n",
	}
	gc, err := readHiveTar(bytes.NewReader(hiveTar(t, files)))
	if err != nil || len(gc.hives) != len(files)-1 {
		t.Fatalf("readHiveTar = %d hives, %v", len(gc.hives), err)
	}
	if d := cmp.Diff(map[string][]string{"run-691200": {guestPrefix + "/drive_c/a.txt", guestPrefix + "/drive_c/b.txt"}}, gc.written); d != "" {
		t.Errorf("readHiveTar file lists (-want +got)\n%s", d)
	}
	hives := gc.hives
	t0 := time.UnixMilli(1_000_000)
	phases := []Phase{{"install", 0, t0}, {"run", 0, t0.Add(time.Second)},
		{"run", 691200, t0.Add(2 * time.Second)}, {"run", 2678400, t0.Add(3 * time.Second)}}
	got := RegistryChanges(hives, phases)
	want := []inventory.RegistryValue{{Key: `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`, Name: "AcmeHelper",
		Value: `"\"C:\\Program Files\\Acme Softphone\\AcmePhone.exe\" --tray"`, Kind: "added", Phase: "run", ClockOffset: 691200}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("RegistryChanges (-want +got)\n%s", d)
	}
	// A missing copy leaves its steps out instead of reporting the whole hive as added.
	delete(hives, "run-0-user")
	if got := RegistryChanges(hives, phases); len(got) != 0 {
		t.Errorf("RegistryChanges(run-0 user.reg missing) = %+v, want nothing", got)
	}
}

func TestReadHiveTarLimits(t *testing.T) {
	files := map[string]string{}
	for i := 0; i < maxHiveFiles+1; i++ {
		files[strings.Repeat("r", i+1)+"-0-user.reg"] = userRegBase
	}
	if _, err := readHiveTar(bytes.NewReader(hiveTar(t, files))); err == nil {
		t.Errorf("readHiveTar(%d hives) = nil error, want the cap", len(files))
	}
	if _, err := readHiveTar(bytes.NewReader(hiveTar(t, map[string]string{"base-0-user.reg": "not a hive"}))); !errors.Is(err, ErrHiveFormat) {
		t.Errorf("readHiveTar(not a hive) = %v, want ErrHiveFormat", err)
	}
}

func FuzzParseHive(f *testing.F) {
	for _, s := range []string{systemRegBase, userRegBase, userRegAfter, "WINE REGISTRY Version 2\n[a\\\\b] 1\n\"x\"=hex:01,\\\n 02\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHive(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, v := range h.values {
			if len(v.key) > maxField+8 || len(v.name) > maxField || len(v.data) > maxRegData+len("…") {
				t.Fatalf("ParseHive kept an oversized value: %d/%d/%d bytes", len(v.key), len(v.name), len(v.data))
			}
		}
		DiffHives(h, h, "run", 0)
	})
}

func TestHiveCopiesVerified(t *testing.T) {
	files := map[string]string{"run-0-user.reg": userRegBase, "run-691200-user.reg": userRegAfter, "base-0-user.reg": userRegBase}
	gc, err := readHiveTar(bytes.NewReader(hiveTar(t, files)))
	if err != nil {
		t.Fatal(err)
	}
	stdout := "rollgate: " + testNonce + " hive run-0-user " + sha256Hex(userRegBase) + "\n" +
		// the copy was rewritten after it was taken
		"rollgate: " + testNonce + " hive run-691200-user " + sha256Hex(userRegBase) + "\n" +
		// a program's forgery without the nonce
		"rollgate: 00000000000000000000000000000000 hive base-0-user " + sha256Hex(userRegBase) + "\n"
	reasons := gc.verify(ParseHiveSums([]byte(stdout), testNonce))
	var kept []string
	for k := range gc.hives {
		kept = append(kept, k)
	}
	if d := cmp.Diff([]string{"run-0-user"}, kept); d != "" || len(reasons) != 1 || !strings.Contains(reasons[0], "base-0-user, run-691200-user") {
		t.Errorf("verify kept (-want +got)\n%s reasons %q", d, reasons)
	}
}
