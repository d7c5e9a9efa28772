package analyze

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"

	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
)

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func TestEndpointScanner(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want []string
	}{
		{"ascii url", []byte("\x00\x01https://API.Acme-Softphone.test/v1/update\x00"), []string{"https://api.acme-softphone.test/v1/update"}},
		{"utf16 url", append([]byte{0xff}, utf16le("http://cdn.mallory.invalid/p.ico")...), []string{"http://cdn.mallory.invalid/p.ico"}},
		{"bare host", []byte("connect c2.beacon.invalid now"), []string{"c2.beacon.invalid"}},
		{"dll names are not hosts", []byte("kernel32.dll ffmpeg.dll version.dll"), nil},
		{"short runs ignored", []byte("a.io\x00"), nil},
		{"url host not repeated", []byte("see https://x.example.com/a and x.example.com"), []string{"https://x.example.com/a", "x.example.com"}},
		{"reverse-DNS identifiers are not hosts", []byte("com.apple.security.app-sandbox com.acme.softphone"), nil},
		{"trailing punctuation", []byte("(http://a.acme.test/x)."), []string{"http://a.acme.test/x"}},
		// Precision on real files (issue 9): what the scanner used to report as endpoints.
		{"DER tail after a URL", []byte("x\x00http://ocsp.acme.test0\x82rest"), []string{"http://ocsp.acme.test"}},
		{"NUL-terminated URL keeps its last digit", []byte("\x00http://a.acme.test/v1.0\x00"), []string{"http://a.acme.test/v1.0"}},
		{"certificate URI (tag 0x86, length)", append([]byte{0x30, 0x86, 24}, "http://ocsp.digicert.com0\\\x06"...), nil},
		{"certificate URI whose length byte is printable", append([]byte{0x02, 0x86, 0x3d}, "http://www.microsoft.com/pki/certs/MicrosoftCodeVerifRoot.crt0\r"...), nil},
		{"string after a tag-like byte is still scanned", append([]byte{0x16, 0x05}, "see http://c2.mallory.invalid/x\x00"...), []string{"http://c2.mallory.invalid/x"}},
		{"no public suffix", []byte("\x00https://wiki.debian\x00 https://www.h\x00 login.windows.local\x00"), nil},
		{".NET namespaces", []byte("\x00System.IO\x00System.Net\x002System.IO\x00Microsoft.NET\x00"), nil},
		{"short registrable label", []byte("\x00v.jp\x00 p.it \x00"), nil},
		{"glued to other bytes", []byte("xq#raspm.ru{k\x00"), nil},
		{"source file names", []byte("\x00agent.cc\x00makefile.in\x00main.rs\x00"), nil},
		{"three labels under a file-like suffix stay", []byte("\x00cdn.acme.app\x00"), []string{"cdn.acme.app"}},
		{"parent domain of another host", []byte("\x00login.live.com\x00 live.com \x00"), []string{"login.live.com"}},
		{"IP address URL", []byte("\x00http://203.0.113.7:8080/p\x00"), []string{"http://203.0.113.7:8080/p"}},
		{"reserved names", []byte("\x00c2.beacon.example\x00 api.localhost \x00"), []string{"api.localhost", "c2.beacon.example"}},
	}
	for _, tt := range tests {
		s := newEndpointScanner()
		// feed in small pieces to exercise state across writes
		for i := 0; i < len(tt.in); i += 3 {
			j := min(i+3, len(tt.in))
			s.Write(tt.in[i:j])
		}
		got := s.Endpoints()
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Endpoints(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestEndpointScannerSkip(t *testing.T) {
	s := newEndpointScanner()
	s.Write([]byte("xxxxxxxxhttp://crl.ca.test/root.crl\x00\x00http://code.acme.test/"))
	got := s.Endpoints([2]int64{0, 20})
	want := []string{"http://code.acme.test/"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Endpoints(skip cert) = %q, want %q", got, want)
	}
}

// FuzzEndpointScanner: any byte stream, split anywhere, yields the same bounded, sorted
// endpoints and never panics.
func FuzzEndpointScanner(f *testing.F) {
	f.Add([]byte("https://api.acme-softphone.test/v1/update"), 3)
	f.Add(utf16le("http://cdn.mallory.invalid/p.ico c2.beacon.invalid"), 1)
	f.Fuzz(func(t *testing.T, in []byte, step int) {
		if step <= 0 {
			step = 1
		}
		whole := newEndpointScanner()
		whole.Write(in)
		split := newEndpointScanner()
		for i := 0; i < len(in); i += step {
			split.Write(in[i:min(i+step, len(in))])
		}
		a, b := whole.Endpoints(), split.Endpoints()
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("Endpoints differ by write size: %q vs %q", a, b)
		}
		if len(a) > MaxEndpointsFile {
			t.Fatalf("%d endpoints, over the cap", len(a))
		}
	})
}

// bzImage returns a Linux boot-protocol header of the given version with setup_sects and a
// payload at off, n bytes long, padded to size.
func bzImage(version uint16, setupSects byte, off, n uint32, size int) []byte {
	b := make([]byte, size)
	copy(b[0x202:], "HdrS")
	b[0x1f1] = setupSects
	binary.LittleEndian.PutUint16(b[0x206:], version)
	binary.LittleEndian.PutUint32(b[0x248:], off)
	binary.LittleEndian.PutUint32(b[0x24c:], n)
	return b
}

func TestBzImagePayload(t *testing.T) {
	tests := []struct {
		name   string
		in     []byte
		want   [2]int64
		wantOK bool
	}{
		{"payload", bzImage(0x20f, 31, 0x100, 0x1000, 0x8000), [2]int64{32*512 + 0x100, 32*512 + 0x1100}, true},
		{"setup_sects 0 means 4", bzImage(0x20f, 0, 0, 0x10, 0x1000), [2]int64{5 * 512, 5*512 + 0x10}, true},
		{"clipped at the end of the file", bzImage(0x20f, 1, 0, 0xffffffff, 0x1000), [2]int64{1024, 0x1000}, true},
		{"protocol before 2.08", bzImage(0x207, 1, 0, 0x10, 0x1000), [2]int64{}, false},
		{"payload beyond the file", bzImage(0x20f, 1, 0x10000, 0x10, 0x1000), [2]int64{}, false},
		{"empty payload", bzImage(0x20f, 1, 0, 0, 0x1000), [2]int64{}, false},
		{"no HdrS", make([]byte, 0x1000), [2]int64{}, false},
		{"short file", []byte("MZ"), [2]int64{}, false},
	}
	for _, tt := range tests {
		got, ok := bzImagePayload(bytes.NewReader(tt.in), int64(len(tt.in)))
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: bzImagePayload = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

// FuzzBzImagePayload: any header yields no panic and a range inside the file.
func FuzzBzImagePayload(f *testing.F) {
	f.Add(bzImage(0x20f, 31, 0x100, 0x1000, 0x800))
	f.Fuzz(func(t *testing.T, in []byte) {
		rng, ok := bzImagePayload(bytes.NewReader(in), int64(len(in)))
		if ok && (rng[0] < 0 || rng[0] >= rng[1] || rng[1] > int64(len(in))) {
			t.Fatalf("bzImagePayload = %v outside [0, %d)", rng, len(in))
		}
	})
}

// TestEndpointScannerJump: the bytes skipped by jump are not scanned, a string does not span
// the gap ("https://spl" + "it.example.com/b" is no split.example.com URL; the part after the
// gap is scanned on its own), and the offsets after it are the stream's.
func TestEndpointScannerJump(t *testing.T) {
	s := newEndpointScanner()
	s.Write([]byte("\x00https://before.example.com/a\x00https://spl"))
	s.jump(1000)
	s.Write([]byte("it.example.com/b\x00https://after.example.com/c\x00"))
	got := s.Endpoints([2]int64{1017, 1018}) // the offset of the URL after the gap
	if d := cmp.Diff([]string{"https://before.example.com/a", "it.example.com"}, got); d != "" {
		t.Errorf("Endpoints (-want +got)\n%s", d)
	}
}
