package sandbox

import (
	"bytes"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rollgate/rollgate/inventory"
)

// Literal wine 8.0 (Debian 8.0~repack-4) lines, as printed with WINEDEBUG=+pid,+loaddll,+process.
const (
	lStartExe   = `0020:0024:trace:loaddll:build_module Loaded L"C:\\windows\\system32\\start.exe" at 0000000140000000: builtin`
	lStartK32   = `0020:0024:trace:loaddll:build_module Loaded L"C:\\windows\\system32\\kernel32.dll" at 000000007B600000: builtin`
	lCreateApp  = `0020:0024:trace:process:CreateProcessInternalW app L"C:\\windows\\system32\\msiexec.exe" cmdline L"\"C:\\windows\\system32\\msiexec.exe\" /i Z:\\in\\beacon-1.0.msi /qn"`
	lNtCreate   = `0020:0024:trace:process:NtCreateUserProcess L"\\??\\C:\\windows\\system32\\msiexec.exe" image L"C:\\windows\\system32\\msiexec.exe" cmdline L"\"C:\\windows\\system32\\msiexec.exe\" /i Z:\\in\\beacon-1.0.msi /qn" parent (nil)`
	lNtCreated  = `0020:0024:trace:process:NtCreateUserProcess L"\\??\\C:\\windows\\system32\\msiexec.exe" pid 0108 tid 010c handles 0x60/0x64`
	lMsiExe     = `0108:010c:trace:loaddll:build_module Loaded L"C:\\windows\\system32\\msiexec.exe" at 0000000140000000: builtin`
	lMsiComctl  = `0108:010c:trace:loaddll:build_module Loaded L"C:\\windows\\winsxs\\amd64_microsoft.windows.common-controls_6595b64144ccf1df_6.0.2600.2982_none_deadbeef\\comctl32.dll" at 00000003A2E40000: builtin`
	lBeaconExe  = `0118:011c:trace:loaddll:build_module Loaded L"C:\\Program Files\\Beacon\\beacon.exe" at 0000000140000000: native`
	lBeaconWs2  = `0118:011c:trace:loaddll:build_module Loaded L"C:\\windows\\system32\\ws2_32.dll" at 0000000370F70000: builtin`
	lQueryInfo  = `0028:002c:trace:process:NtQueryInformationProcess (0xffffffffffffffff,0x00000025,0x21fa70,0x00000040,(nil))`
	lMenuErr    = `0110:0114:err:menubuilder:InvokeShellLinker failed to extract icon from L"C:\\Program Files\\Beacon\\beacon.exe"`
	lNoPidBuilt = `0024:trace:loaddll:build_module Loaded L"C:\\windows\\system32\\kernelbase.dll" at 00007FFFF7F70000: builtin`
	lNoPidNat   = `0024:trace:loaddll:build_module Loaded L"C:\\users\\root\\AppData\\Roaming\\Beacon\\helper.dll" at 0000000180000000: native`
	lUnloaded   = `0108:010c:trace:loaddll:free_modref Unloaded module L"C:\\windows\\system32\\msi.dll" : builtin`
)

func TestParseTrace(t *testing.T) {
	tests := []struct {
		name      string
		in        []string
		loads     []inventory.DLLLoad
		processes []inventory.Process
	}{
		{"no pid prefix", []string{lNoPidBuilt, lNoPidNat}, []inventory.DLLLoad{
			{Path: `C:\users\root\AppData\Roaming\Beacon\helper.dll`, Type: "native"},
			{Path: `C:\windows\system32\kernelbase.dll`, Type: "builtin"},
		}, []inventory.Process{}},
		{"start.exe creates msiexec", []string{lStartExe, lStartK32, lCreateApp, lNtCreate, lNtCreated, lMsiExe, lMsiComctl, lQueryInfo, lUnloaded},
			[]inventory.DLLLoad{
				{Process: `C:\windows\system32\msiexec.exe`, Path: `C:\windows\system32\msiexec.exe`, Type: "builtin"},
				{Process: `C:\windows\system32\msiexec.exe`, Path: `C:\windows\winsxs\amd64_microsoft.windows.common-controls_6595b64144ccf1df_6.0.2600.2982_none_deadbeef\comctl32.dll`, Type: "builtin"},
				{Process: `C:\windows\system32\start.exe`, Path: `C:\windows\system32\kernel32.dll`, Type: "builtin"},
				{Process: `C:\windows\system32\start.exe`, Path: `C:\windows\system32\start.exe`, Type: "builtin"},
			}, []inventory.Process{
				{Image: `C:\windows\system32\msiexec.exe`, Command: `"C:\windows\system32\msiexec.exe" /i Z:\in\beacon-1.0.msi /qn`},
				{Image: `C:\windows\system32\start.exe`},
			}},
		{"program started by the loader", []string{lBeaconExe, lBeaconWs2, lMenuErr}, []inventory.DLLLoad{
			{Process: `C:\Program Files\Beacon\beacon.exe`, Path: `C:\Program Files\Beacon\beacon.exe`, Type: "native"},
			{Process: `C:\Program Files\Beacon\beacon.exe`, Path: `C:\windows\system32\ws2_32.dll`, Type: "builtin"},
		}, []inventory.Process{{Image: `C:\Program Files\Beacon\beacon.exe`}}},
		{"start.exe then the program in one process", []string{
			strings.Replace(lStartExe, "0020:0024", "0118:011c", 1), lBeaconExe, lBeaconWs2},
			[]inventory.DLLLoad{
				{Process: `C:\Program Files\Beacon\beacon.exe`, Path: `C:\Program Files\Beacon\beacon.exe`, Type: "native"},
				{Process: `C:\Program Files\Beacon\beacon.exe`, Path: `C:\windows\system32\ws2_32.dll`, Type: "builtin"},
				{Process: `C:\windows\system32\start.exe`, Path: `C:\windows\system32\start.exe`, Type: "builtin"},
			}, []inventory.Process{
				{Image: `C:\Program Files\Beacon\beacon.exe`},
				{Image: `C:\windows\system32\start.exe`},
			}},
		{"duplicates collapse", []string{lNoPidBuilt, lNoPidBuilt, "\r", lNoPidBuilt + "\r"}, []inventory.DLLLoad{
			{Path: `C:\windows\system32\kernelbase.dll`, Type: "builtin"},
		}, []inventory.Process{}},
		{"garbage", []string{"", "trace:loaddll:build_module Loaded", "zz:trace:loaddll:x", "0024:trace:loaddll:build_module Loaded L\"unterminated",
			"0024:trace:loaddll:build_module Loaded L\"C:\\\\x.dll\" at 0: weird", "0024:0028:0030:trace:process:NtCreateUserProcess L\"x\" image L\"y\""},
			[]inventory.DLLLoad{{Path: `C:\x.dll`}}, []inventory.Process{}},
	}
	for _, tt := range tests {
		in := strings.Join(tt.in, "\n")
		got := ParseTrace(strings.NewReader(in))
		if !slices.Equal(got.DLLLoads, tt.loads) {
			t.Errorf("%s: ParseTrace(%q).DLLLoads = %+v, want %+v", tt.name, in, got.DLLLoads, tt.loads)
		}
		if !slices.Equal(got.Processes, tt.processes) {
			t.Errorf("%s: ParseTrace(%q).Processes = %+v, want %+v", tt.name, in, got.Processes, tt.processes)
		}
		if got.Truncated {
			t.Errorf("%s: ParseTrace(%q).Truncated = true, want false", tt.name, in)
		}
	}
}

func TestDebugStr(t *testing.T) {
	tests := []struct{ in, val, rest string }{
		{`L"C:\\a b\\c.dll" at 0`, `C:\a b\c.dll`, ` at 0`},
		{`"ansi \"q\"\n\t" x`, "ansi \"q\"\n\t", ` x`},
		{`L"caf\00e9\x41" y`, "caf\u00e9A", ` y`},
		{`L"cut"... rest`, "cut", ` rest`},
		{`(null) z`, "", ` z`},
	}
	for _, tt := range tests {
		v, rest, ok := debugStr(tt.in)
		if !ok || v != tt.val || rest != tt.rest {
			t.Errorf("debugStr(%q) = %q, %q, %v, want %q, %q, true", tt.in, v, rest, ok, tt.val, tt.rest)
		}
	}
	for _, in := range []string{`L"open`, `x"y"`, `L"` + strings.Repeat("a", maxField+10) + `"`} {
		if v, _, ok := debugStr(in); ok {
			t.Errorf("debugStr(%q) = %q, true, want false", in, v)
		}
	}
}

// The captured trace of a real run: `wine64 msiexec /i beacon-1.0.msi /qn`, then beacon.exe.
func TestParseTraceCaptured(t *testing.T) {
	f, err := os.Open("testdata/wine8-beacon-install.trace")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := ParseTrace(f)
	wantProc := []string{`C:\Program Files\Beacon\beacon.exe`, `C:\windows\system32\msiexec.exe`, `C:\windows\system32\wineboot.exe`}
	for _, w := range wantProc {
		if !slices.ContainsFunc(tr.Processes, func(p inventory.Process) bool { return p.Image == w }) {
			t.Errorf("ParseTrace(captured).Processes = %+v, want one with image %q", tr.Processes, w)
		}
	}
	want := inventory.DLLLoad{Process: `C:\Program Files\Beacon\beacon.exe`, Path: `C:\windows\system32\WS2_32.dll`, Type: "builtin"}
	if !slices.Contains(tr.DLLLoads, want) {
		t.Errorf("ParseTrace(captured).DLLLoads lacks %+v", want)
	}
}

func TestParseTraceCaps(t *testing.T) {
	// One endless line, then a real one: the long line is cut, the next still parsed.
	long := strings.Repeat("x", 3*MaxLineBytes)
	tr := ParseTrace(strings.NewReader(long + "\n" + lNoPidBuilt + "\n"))
	if !tr.Truncated || len(tr.DLLLoads) != 1 {
		t.Errorf("ParseTrace(long line + load) = %d loads, truncated %v, want 1, true", len(tr.DLLLoads), tr.Truncated)
	}
	// More distinct loads than MaxEvents.
	var b bytes.Buffer
	for i := 0; i < MaxEvents+10; i++ {
		b.WriteString(strings.Replace(lNoPidBuilt, "kernelbase", "k"+strings.Repeat("x", i%7)+itoa(i), 1) + "\n")
	}
	tr = ParseTrace(&b)
	if !tr.Truncated || len(tr.DLLLoads) > MaxEvents {
		t.Errorf("ParseTrace(%d loads) = %d loads, truncated %v, want ≤ %d, true", MaxEvents+10, len(tr.DLLLoads), tr.Truncated, MaxEvents)
	}
	// More bytes than MaxTraceBytes: the load after the cap is not seen.
	filler := io.LimitReader(repeatReader('#'), MaxTraceBytes)
	tr = ParseTrace(io.MultiReader(filler, strings.NewReader("\n"+lNoPidBuilt+"\n")))
	if !tr.Truncated || len(tr.DLLLoads) != 0 {
		t.Errorf("ParseTrace(>MaxTraceBytes) = %d loads, truncated %v, want 0, true", len(tr.DLLLoads), tr.Truncated)
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
		if i%4096 == 4095 {
			p[i] = '\n'
		}
	}
	return len(p), nil
}

func itoa(i int) string { return string(rune('a'+i%26)) + fmtInt(i) }

func fmtInt(i int) string {
	if i == 0 {
		return "0"
	}
	var d []byte
	for ; i > 0; i /= 10 {
		d = append([]byte{byte('0' + i%10)}, d...)
	}
	return string(d)
}

func FuzzParseTrace(f *testing.F) {
	for _, l := range []string{lStartExe, lNtCreate, lNtCreated, lMsiExe, lBeaconExe, lNoPidNat, lUnloaded, lMenuErr} {
		f.Add([]byte(l))
	}
	if b, err := os.ReadFile("testdata/wine8-beacon-install.trace"); err == nil {
		f.Add(b[:min(len(b), 8192)])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tr := ParseTrace(bytes.NewReader(b))
		for _, d := range tr.DLLLoads {
			if len(d.Path) > maxField || len(d.Process) > maxField {
				t.Fatalf("ParseTrace: field longer than %d", maxField)
			}
		}
	})
}
