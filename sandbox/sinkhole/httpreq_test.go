package sinkhole

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseHTTPRequest(t *testing.T) {
	tests := []struct {
		in         string
		line, host string
		ok         bool
	}{
		{"GET / HTTP/1.1\r\nHost: c2.beacon.invalid\r\n\r\n", "GET / HTTP/1.1", "c2.beacon.invalid", true},
		{"POST /beacon?id=1 HTTP/1.0\r\nUser-Agent: x\r\nhOsT:   203.0.113.9:8080 \r\n\r\nbody", "POST /beacon?id=1 HTTP/1.0", "203.0.113.9:8080", true},
		{"GET http://a.test/ HTTP/1.1\nHost: a.test\n\n", "GET http://a.test/ HTTP/1.1", "a.test", true},
		{"CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n", "CONNECT a.test:443 HTTP/1.1", "a.test:443", true},
		{"GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n", "GET / HTTP/1.1", "[2001:db8::1]:80", true},
		{"GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1", "", true},
		{"GET / HTTP/1.1\r\nHost: first.test\r\nHost: second.test\r\n\r\n", "GET / HTTP/1.1", "first.test", true},
		{"GET / HTTP/1.1\r\nX: y\r\n\r\nHost: body.test\r\n", "GET / HTTP/1.1", "", true},
		{"GET / HTTP/1.1\r\nHost: partial.te", "GET / HTTP/1.1", "", true},
		{"GET / HTTP/1.1\r\nHost: bad host\r\n\r\n", "GET / HTTP/1.1", "", true},
		{"GET / HTTP/1.1\r\nHost: \x01x\r\n\r\n", "GET / HTTP/1.1", "", true},
		{"GET / HTTP/1.1\r\nHost:\r\n\r\n", "GET / HTTP/1.1", "", true},
		{"GET / HTTP/1.1\r\nHost: " + strings.Repeat("a", 300) + "\r\n\r\n", "GET / HTTP/1.1", "", true},

		{"", "", "", false},
		{"GET / HTTP/1.1", "", "", false},
		{"GET / HTTP/1.1 \r\n\r\n", "", "", false},
		{"GET  / HTTP/1.1\r\n\r\n", "", "", false},
		{"GET /\r\n\r\n", "", "", false},
		{"GET / HTTP/11\r\n\r\n", "", "", false},
		{"GET / FTP/1.1\r\n\r\n", "", "", false},
		{"G(T / HTTP/1.1\r\n\r\n", "", "", false},
		{"GET /a\x00b HTTP/1.1\r\n\r\n", "", "", false},
		{"GET /\xff HTTP/1.1\r\n\r\n", "", "", false},
		{"VERYLONGMETHODNAMEX / HTTP/1.1\r\n\r\n", "", "", false},
		{"\x16\x03\x01\x00\x05hello", "", "", false},
		{"SSH-2.0-OpenSSH_9.6\r\n", "", "", false},
		{"GET /" + strings.Repeat("a", MaxRequestLineBytes) + " HTTP/1.1\r\n\r\n", "", "", false},
	}
	for _, tt := range tests {
		line, host, ok := ParseHTTPRequest([]byte(tt.in))
		if line != tt.line || host != tt.host || ok != tt.ok {
			t.Errorf("ParseHTTPRequest(%q) = %q, %q, %v, want %q, %q, %v", tt.in, line, host, ok, tt.line, tt.host, tt.ok)
		}
	}
}

func FuzzHTTPRequest(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: c2.beacon.invalid\r\n\r\n",
		"POST /x HTTP/1.0\nhost: a.test:80\n\n",
		"GET / HTTP/1.1\r\nHost: partial",
		"\x16\x03\x01\x00\x05hello",
	} {
		f.Add([]byte(s))
	}
	addTestdata(f, "http")
	f.Fuzz(func(t *testing.T, b []byte) {
		line, host, ok := ParseHTTPRequest(b)
		if !ok {
			if line != "" || host != "" {
				t.Fatalf("ParseHTTPRequest(%q) = %q, %q, false", b, line, host)
			}
			return
		}
		if len(line) > MaxRequestLineBytes || strings.ContainsAny(line, "\r\n\x00") {
			t.Fatalf("ParseHTTPRequest(%q) line = %q", b, line)
		}
		if !bytes.HasPrefix(b, []byte(line)) {
			t.Fatalf("ParseHTTPRequest(%q) line %q is not the input's start", b, line)
		}
		for _, c := range []byte(host) {
			if c <= ' ' || c >= 0x7f {
				t.Fatalf("ParseHTTPRequest(%q) host = %q, unprintable", b, host)
			}
		}
		// More bytes never change the request line.
		line2, _, ok2 := ParseHTTPRequest(append(append([]byte{}, b...), "X: y\r\n"...))
		if !ok2 || line2 != line {
			t.Fatalf("ParseHTTPRequest(%q + more) = %q, %v, want %q, true", b, line2, ok2, line)
		}
	})
}

func TestHTTPRequestTestdata(t *testing.T) {
	for file, want := range map[string][2]string{
		"curl-get.txt":     {"GET /beacon?x=1 HTTP/1.1", "c2.beacon.invalid"},
		"connect.txt":      {"CONNECT c2.beacon.invalid:443 HTTP/1.1", "c2.beacon.invalid:443"},
		"winhttp-post.txt": {"POST /gate.php HTTP/1.1", "update.example.test"},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", "http", file))
		if err != nil {
			t.Fatal(err)
		}
		if line, host, ok := ParseHTTPRequest(b); line != want[0] || host != want[1] || !ok {
			t.Errorf("ParseHTTPRequest(%s) = %q, %q, %v, want %q, %q, true", file, line, host, ok, want[0], want[1])
		}
	}
}
