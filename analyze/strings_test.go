package analyze

import (
	"reflect"
	"testing"
	"unicode/utf16"
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
