package winpath

import "testing"

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{`C:\Program Files\Acme\app.exe`, `c:\program files\acme\app.exe`},
		{`C:\ProgramData\{6D0C1B0A-3C10-4E4B-9A77-3CC0DE000002}\setup.ini`, `c:\programdata\{guid}\setup.ini`},
		{`C:\windows\Installer\{6d0c1b0a-3c10-4e4b-9a77-3cc0de000002}x\a`, `c:\windows\installer\{guid}x\a`},
		{`C:\windows\Installer\457e.msi`, `c:\windows\installer\<tmp>`},
		{`C:\users\root\AppData\Local\Temp\~DF1A2B.tmp`, `c:\users\<user>\appdata\local\temp\<tmp>`},
		{`C:\users\root\AppData\Local\Temp\MSI3F2.tmp`, `c:\users\<user>\appdata\local\temp\<tmp>`},
		{`C:\users\root\AppData\Local\Temp\_is1234\x.dll`, `c:\users\<user>\appdata\local\temp\<tmp>\x.dll`},
		{`C:\users\Public\Desktop\a.lnk`, `c:\users\public\desktop\a.lnk`},
		{`C:\Program Files\Acme\app-1.2.3\core.dll`, `c:\program files\acme\app-<ver>\core.dll`},
		{`C:\Program Files\Acme\5.2.0.0\core.dll`, `c:\program files\acme\<ver>\core.dll`},
		{`C:\ProgramData\Acme\cache\3f2a9b7c8d1e\blob`, `c:\programdata\acme\cache\<hex>\blob`},
		{`C:\ProgramData\Acme\deadbeefcafe\blob`, `c:\programdata\acme\deadbeefcafe\blob`},
		{`C:\windows\system32\d3dcompiler_47.dll`, `c:\windows\system32\d3dcompiler_47.dll`},
		{`C:\windows\system32\msvcp140.dll`, `c:\windows\system32\msvcp140.dll`},
		{`Z:/root/.wine/system.reg`, `z:\root\.wine\system.reg`},
		{``, ``},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// The same file in two runs compares equal.
	a := Normalize(`C:\users\root\AppData\Local\Temp\MSI3F2.tmp`)
	b := Normalize(`C:\Users\ROOT\AppData\Local\Temp\msi9a0.TMP`)
	if a != b {
		t.Errorf("Normalize: %q != %q for two temp names", a, b)
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add(`C:\users\root\AppData\Local\Temp\~DF1A2B.tmp`)
	f.Fuzz(func(t *testing.T, s string) {
		// Normalising a normalised path changes nothing: two runs compare equal however
		// often their paths went through it.
		n := Normalize(s)
		if m := Normalize(n); m != n {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q", s, n, n, m)
		}
	})
}

func TestGuest(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"ProgramFiles64Folder/Beacon/beacon.exe", `C:\Program Files\Beacon\beacon.exe`, true},
		{"ProgramFilesFolder/Acme/a.exe", `C:\Program Files (x86)\Acme\a.exe`, true},
		{"LocalAppDataFolder/Acme/app.exe", `C:\users\root\AppData\Local\Acme\app.exe`, true},
		{"ProgramFiles64Folder/../../windows/x.exe", "", false},
		{"ProgramFiles64Folder/a\\..\\b.exe", "", false},
		{"ProgramFiles64Folder", "", false},
		{"INSTALLDIR/app.exe", "", false},
		{"/etc/passwd", "", false},
	}
	for _, tt := range tests {
		got, ok := Guest(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Guest(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCandidates(t *testing.T) {
	got := Candidates("ProgramMenuFolder/Acme/Acme.lnk")
	if len(got) != 2 || got[1] != `C:\ProgramData\Microsoft\Windows\Start Menu\Programs\Acme\Acme.lnk` {
		t.Errorf("Candidates(ProgramMenuFolder/...) = %q", got)
	}
	if got := Candidates("INSTALLDIR/x.exe"); got != nil {
		t.Errorf("Candidates(unknown folder) = %q, want nil", got)
	}
}
