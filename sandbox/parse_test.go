package sandbox

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/rollgate/rollgate/inventory"
)

func TestParseNet(t *testing.T) {
	in := strings.Join([]string{
		`{"ms":9436,"proto":"dns","name":"c2.beacon.invalid","addr":"192.0.2.53","port":53,"qtype":"A"}`,
		`{"ms":9427,"proto":"dns","name":"updates.beacon.test","addr":"192.0.2.53","port":53,"qtype":"A"}`,
		`{"ms":9439,"proto":"tcp","name":"c2.beacon.invalid","addr":"198.51.100.23","port":8443,"http":"GET /p.ico HTTP/1.1","host":"c2.beacon.invalid"}`,
		`{"ms":9441,"proto":"udp","addr":"::ffff:203.0.113.5","port":53535,"clock_offset":99}`,
		`not json`,
		`{"ms":1,"proto":"icmp","addr":"192.0.2.1"}`,
		`{"ms":1,"proto":"tcp","addr":"192.0.2.1","port":70000}`,
		`{"ms":1,"proto":"tcp","addr":"not-an-ip","port":80}`,
		`{"ms":-5,"proto":"tcp","addr":"192.0.2.1","port":80}`,
		`{"ms":1,"proto":"tcp","addr":"192.0.2.1","port":"80"}`,
		`time=2026-11-26T11:03:52Z level=INFO msg="sinkhole serving"`,
		`{"ms":9500,"proto":"dns","name":"` + strings.Repeat("a", 3000) + `","qtype":"TXT"}`,
	}, "\n")
	got, trunc := ParseNet(strings.NewReader(in))
	want := []inventory.NetEvent{
		{MS: 9427, Proto: "dns", Name: "updates.beacon.test", Addr: "192.0.2.53", Port: 53, QType: "A"},
		{MS: 9436, Proto: "dns", Name: "c2.beacon.invalid", Addr: "192.0.2.53", Port: 53, QType: "A"},
		{MS: 9439, Proto: "tcp", Name: "c2.beacon.invalid", Addr: "198.51.100.23", Port: 8443, HTTP: "GET /p.ico HTTP/1.1", Host: "c2.beacon.invalid"},
		{MS: 9441, Proto: "udp", Addr: "203.0.113.5", Port: 53535},
		{MS: 9500, Proto: "dns", Name: strings.Repeat("a", maxField), QType: "TXT"},
	}
	if !slices.Equal(got, want) || trunc {
		t.Errorf("ParseNet(%q) = %+v, %v, want %+v, false", in, got, trunc, want)
	}
	var b bytes.Buffer
	for i := 0; i < MaxEvents+5; i++ {
		b.WriteString(`{"ms":1,"proto":"udp","addr":"203.0.113.5","port":9}` + "\n")
	}
	if got, trunc := ParseNet(&b); len(got) != MaxEvents || !trunc {
		t.Errorf("ParseNet(%d events) = %d events, truncated %v, want %d, true", MaxEvents+5, len(got), trunc, MaxEvents)
	}
	if got, _ := ParseNet(strings.NewReader("")); got == nil {
		t.Errorf("ParseNet(\"\") = nil, want an empty list (JSON [])")
	}
}

func FuzzParseNet(f *testing.F) {
	f.Add([]byte(`{"ms":9439,"proto":"tcp","name":"c2.beacon.invalid","addr":"198.51.100.23","port":8443}`))
	f.Add([]byte(`{"ms":1,"proto":"dns","name":"x.test","qtype":"AAAA"}` + "\n{\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, _ := ParseNet(bytes.NewReader(b))
		for _, e := range evs {
			if e.Port < 0 || e.Port > 65535 || len(e.Name) > maxField {
				t.Fatalf("ParseNet kept %+v", e)
			}
		}
	})
}

func TestParseDiff(t *testing.T) {
	ch := func(kind container.ChangeType, p string) container.FilesystemChange {
		return container.FilesystemChange{Kind: kind, Path: p}
	}
	in := []container.FilesystemChange{
		ch(container.ChangeModify, "/home/rollgate"),
		ch(container.ChangeModify, "/home/rollgate/.wine"),
		ch(container.ChangeModify, "/home/rollgate/.wine/drive_c"),
		ch(container.ChangeModify, "/home/rollgate/.wine/drive_c/Program Files"),
		ch(container.ChangeAdd, "/home/rollgate/.wine/drive_c/Program Files/Beacon"),
		ch(container.ChangeAdd, "/home/rollgate/.wine/drive_c/Program Files/Beacon/beacon.exe"),
		ch(container.ChangeModify, "/home/rollgate/.wine/system.reg"),
		ch(container.ChangeDelete, "/home/rollgate/.wine/drive_c/users/root/Temp/x.tmp"),
		ch(container.ChangeAdd, "/rollgate"),
		ch(container.ChangeAdd, "/rollgate/installer.msi"),
		ch(container.ChangeAdd, "/tmp/.wine-0"),
		ch(container.ChangeModify, "/etc/resolv.conf"),
		ch(container.ChangeAdd, "/home/rollgate/.wine/.update-timestamp"),
		ch(container.ChangeAdd, "/etc/cron.d/evil"),
		ch(container.ChangeAdd, "/home/rollgate/.wine/drive_c/../../../../etc/passwd"),
		ch(container.ChangeType(9), "/odd"),
		ch(container.ChangeAdd, "/home/rollgate/.wine/drive_c/Program Files/Beacon/beacon.exe"),
	}
	got, trunc := ParseDiff(in)
	want := []inventory.FileWrite{
		{Path: `Z:\etc\cron.d\evil`, Kind: "added"},
		{Path: `Z:\etc\passwd`, Kind: "added"},
		{Path: `C:\Program Files\Beacon`, Kind: "added"},
		{Path: `C:\Program Files\Beacon\beacon.exe`, Kind: "added"},
		{Path: `C:\users\root\Temp\x.tmp`, Kind: "deleted"},
		{Path: `Z:\home\rollgate\.wine\system.reg`, Kind: "changed"},
	}
	if !slices.Equal(got, want) || trunc {
		t.Errorf("ParseDiff(%v) =\n%+v, %v\nwant\n%+v, false", in, got, trunc, want)
	}
}

func TestWindowsGuestPath(t *testing.T) {
	for in, want := range map[string]string{
		"/home/rollgate/.wine/drive_c":                  `C:\`,
		"/home/rollgate/.wine/drive_c/windows/x.dll":    `C:\windows\x.dll`,
		"/home/rollgate/.wine/drive_cx/y":               `Z:\home\rollgate\.wine\drive_cx\y`,
		"/":                                             `Z:\`,
		"/etc/hosts":                                    `Z:\etc\hosts`,
		"root/.wine/drive_c/../../../../x":              `Z:\x`,
		"/home/rollgate/.wine/drive_c/a/./b//c":         `C:\a\b\c`,
		"/home/rollgate/.wine/drive_c/users/root/a b.c": `C:\users\root\a b.c`,
	} {
		if got := WindowsGuestPath(in); got != want {
			t.Errorf("WindowsGuestPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAptSources(t *testing.T) {
	tests := []struct {
		name, file, data, want string
	}{
		{"one-line", "sources.list", "# comment\ndeb-src http://src.example.invalid/debian bookworm main\n" +
			"deb [signed-by=/usr/share/keyrings/k.gpg arch=amd64] http://mirror.example.invalid/debian/ bookworm main\n",
			"http://mirror.example.invalid/debian"},
		{"one-line security first", "sources.list",
			"deb http://security.example.invalid/debian-security bookworm-security main\ndeb https://m.example.invalid/debian bookworm main contrib\n",
			"https://m.example.invalid/debian"},
		{"deb822", "sources.list.d/debian.sources",
			"Types: deb\n# http://snapshot.example.invalid\nURIs: http://deb.example.invalid/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n" +
				"Types: deb\nURIs: http://deb.example.invalid/debian-security\nSuites: bookworm-security\n",
			"http://deb.example.invalid/debian"},
		{"deb822 disabled and src", "sources.list.d/x.sources",
			"Types: deb\nEnabled: no\nURIs: http://off.example.invalid/debian\nSuites: bookworm\n\n" +
				"Types: deb-src\nURIs: http://src.example.invalid/debian\nSuites: bookworm\n\n" +
				"Types: deb deb-src\nURIs:\n http://cont.example.invalid/debian\nSuites: bookworm\n",
			"http://cont.example.invalid/debian"},
		{"disabled suffix ignored", "sources.list.d/old.list.disabled", "deb http://no.example.invalid/debian bookworm main\n", ""},
		{"only other suites", "sources.list", "deb http://m.example.invalid/debian bullseye main\ndeb cdrom:[x]/ bookworm main\n", ""},
	}
	for _, tt := range tests {
		root := t.TempDir()
		p := filepath.Join(root, "etc", "apt", tt.file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(tt.data), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := HostMirror(root, "bookworm")
		if tt.want == "" {
			if !errors.Is(err, ErrNoMirror) {
				t.Errorf("%s: HostMirror = %q, %v, want ErrNoMirror", tt.name, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: HostMirror = %q, %v, want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestShortcutPrograms(t *testing.T) {
	sc := []inventory.Shortcut{
		{Name: "Beacon", Target: "ProgramFiles64Folder/Beacon/beacon.exe"},
		{Name: "Again", Target: "ProgramFiles64Folder/Beacon/BEACON.exe"},
		{Name: "Readme", Target: "ProgramFiles64Folder/Beacon/readme.txt"},
		{Name: "Feature", Target: "MainFeature"},
		{Name: "Climb", Target: "ProgramFiles64Folder/../x.exe"},
	}
	if got := ShortcutPrograms(sc); !slices.Equal(got, []string{`C:\Program Files\Beacon\beacon.exe`}) {
		t.Errorf("ShortcutPrograms(%+v) = %q, want [beacon.exe]", sc, got)
	}
}

func TestScriptReasons(t *testing.T) {
	tests := []struct {
		out    string
		exited bool
		code   int64
		want   []string
	}{
		{"rollgate: network ready\nrollgate: install exit 0\nrollgate: done\n", true, 0, nil},
		{"rollgate: network missing\nrollgate: install exit 1603\nrollgate: done\n", true, 0,
			[]string{"the sinkhole's network was not ready", "installer exited with 1603"}},
		{"rollgate: install start\n", true, 137, []string{"the guest script stopped early (exit 137)"}},
		{"rollgate: install start\n", false, -1, nil},
	}
	for _, tt := range tests {
		if got := scriptReasons([]byte(tt.out), tt.exited, tt.code); !slices.Equal(got, tt.want) {
			t.Errorf("scriptReasons(%q) = %q, want %q", tt.out, got, tt.want)
		}
	}
}

func TestCheckStatic(t *testing.T) {
	if err := CheckStatic("/bin/sh"); !errors.Is(err, ErrNotStatic) {
		t.Errorf("CheckStatic(/bin/sh) = %v, want ErrNotStatic", err)
	}
	p := filepath.Join(t.TempDir(), "x")
	os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755)
	if err := CheckStatic(p); err == nil || errors.Is(err, ErrNotStatic) {
		t.Errorf("CheckStatic(script) = %v, want a read error", err)
	}
}

func TestLastStep(t *testing.T) {
	for _, tt := range []struct{ out, want string }{
		{"", "none (the script printed no marker)"},
		{"wine noise\n", "none (the script printed no marker)"},
		{"rollgate: network ready\nrollgate: N1 phase run 691200 1700000000000\nprogram output\n", "<nonce> phase run 691200 1700000000000"},
	} {
		if got := lastStep([]byte(tt.out), "N1"); got != tt.want {
			t.Errorf("lastStep(%q) = %q, want %q", tt.out, got, tt.want)
		}
	}
}
