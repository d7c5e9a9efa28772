package sinkhole

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rollgate/rollgate/unpack"
)

// captureClientHello returns the bytes crypto/tls sends first, over an in-memory pipe.
func captureClientHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		tls.Client(c, cfg).Handshake()
		c.Close()
	}()
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	var hdr [5]byte
	if _, err := io.ReadFull(s, hdr[:]); err != nil {
		t.Fatalf("reading ClientHello record header: %v", err)
	}
	body := make([]byte, binary.BigEndian.Uint16(hdr[3:]))
	if _, err := io.ReadFull(s, body); err != nil {
		t.Fatalf("reading ClientHello record: %v", err)
	}
	return append(hdr[:], body...)
}

// helloFields builds ClientHellos field by field for cases crypto/tls will not produce.
type helloFields struct {
	sessionID   []byte
	suites      []byte
	compression []byte
	noExt       bool
	ext         [][]byte // whole extensions, type and length included
	trailing    []byte   // after the extensions block, inside the message
}

func ext(typ uint16, body []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

func sniExt(entries ...[]byte) []byte {
	var list []byte
	for _, e := range entries {
		list = append(list, e...)
	}
	return ext(0, append(binary.BigEndian.AppendUint16(nil, uint16(len(list))), list...))
}

func sniEntry(typ byte, name string) []byte {
	return append(binary.BigEndian.AppendUint16([]byte{typ}, uint16(len(name))), name...)
}

func (h helloFields) message() []byte {
	if h.suites == nil {
		h.suites = []byte{0x13, 0x01}
	}
	if h.compression == nil {
		h.compression = []byte{0}
	}
	b := []byte{3, 3}
	b = append(b, make([]byte, 32)...)
	b = append(b, byte(len(h.sessionID)))
	b = append(b, h.sessionID...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.suites)))
	b = append(b, h.suites...)
	b = append(b, byte(len(h.compression)))
	b = append(b, h.compression...)
	if !h.noExt {
		var e []byte
		for _, x := range h.ext {
			e = append(e, x...)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(e)))
		b = append(b, e...)
	}
	b = append(b, h.trailing...)
	return append([]byte{1, byte(len(b) >> 16), byte(len(b) >> 8), byte(len(b))}, b...)
}

// records frames a handshake message in TLS records of at most size bytes each.
func records(msg []byte, size int) []byte {
	var out []byte
	for len(msg) > 0 {
		n := min(size, len(msg))
		out = append(out, 22, 3, 1, byte(n>>8), byte(n))
		out = append(out, msg[:n]...)
		msg = msg[n:]
	}
	return out
}

func TestParseClientHelloSNI(t *testing.T) {
	goTLS13 := captureClientHello(t, &tls.Config{ServerName: "c2.beacon.invalid"})
	goTLS12 := captureClientHello(t, &tls.Config{ServerName: "update.example.test", MaxVersion: tls.VersionTLS12})
	noSNI := captureClientHello(t, &tls.Config{InsecureSkipVerify: true})
	long := make([]byte, 300)
	for i := range long {
		long[i] = 'a'
	}

	tests := []struct {
		name string
		in   []byte
		want string
		err  error
	}{
		{"crypto/tls 1.3", goTLS13, "c2.beacon.invalid", nil},
		{"crypto/tls 1.2", goTLS12, "update.example.test", nil},
		{"crypto/tls no SNI", noSNI, "", nil},
		{"trailing data after hello", append(append([]byte{}, goTLS13...), 23, 3, 3, 0, 1, 0), "c2.beacon.invalid", nil},
		{"built", records(helloFields{ext: [][]byte{ext(10, []byte{0, 2, 0, 29}), sniExt(sniEntry(0, "a.test"))}}.message(), 1<<14), "a.test", nil},
		{"split in 7-byte records", records(helloFields{ext: [][]byte{sniExt(sniEntry(0, "split.test"))}}.message(), 7), "split.test", nil},
		{"no extensions block", records(helloFields{noExt: true}.message(), 1<<14), "", nil},
		{"unknown name type first", records(helloFields{ext: [][]byte{sniExt(sniEntry(7, "x"), sniEntry(0, "b.test"))}}.message(), 1<<14), "b.test", nil},

		{"empty", nil, "", io.ErrUnexpectedEOF},
		{"record header only", goTLS13[:5], "", io.ErrUnexpectedEOF},
		{"half", goTLS13[:len(goTLS13)/2], "", io.ErrUnexpectedEOF},
		{"missing last byte", goTLS13[:len(goTLS13)-1], "", io.ErrUnexpectedEOF},
		{"not handshake", []byte{23, 3, 3, 0, 1, 0}, "", unpack.ErrFormat},
		{"HTTP", []byte("GET / HTTP/1.1\r\n\r\n"), "", unpack.ErrFormat},
		{"SSLv2-style version", []byte{22, 2, 0, 0, 1, 1}, "", unpack.ErrFormat},
		{"zero-length record", []byte{22, 3, 1, 0, 0}, "", unpack.ErrFormat},
		{"record over 16 KiB", []byte{22, 3, 1, 0x40, 1}, "", unpack.ErrFormat},
		{"server hello", records([]byte{2, 0, 0, 40}, 100), "", unpack.ErrFormat},
		{"server hello, partial record", []byte{22, 3, 3, 0, 50, 2, 0, 0, 46}, "", unpack.ErrFormat},
		{"hello too short", records([]byte{1, 0, 0, 4, 3, 3, 0, 0}, 100), "", unpack.ErrFormat},
		{"hello over limit", records([]byte{1, 1, 0, 0}, 100), "", unpack.ErrLimit},
		{"odd cipher suites", records(helloFields{suites: []byte{1, 2, 3}}.message(), 1<<14), "", unpack.ErrFormat},
		{"no compression", records(helloFields{compression: []byte{}}.message(), 1<<14), "", unpack.ErrFormat},
		{"session id over 32 bytes", records(helloFields{sessionID: make([]byte, 33)}.message(), 1<<14), "", unpack.ErrFormat},
		{"bytes after extensions", records(helloFields{trailing: []byte{1}}.message(), 1<<14), "", unpack.ErrFormat},
		{"extension overruns", records(helloFields{ext: [][]byte{{0, 0, 0, 9, 0}}}.message(), 1<<14), "", unpack.ErrFormat},
		{"repeated SNI", records(helloFields{ext: [][]byte{sniExt(sniEntry(0, "a")), sniExt(sniEntry(0, "b"))}}.message(), 1<<14), "a", nil},
		{"repeated other extension", records(helloFields{ext: [][]byte{ext(10, nil), ext(10, nil), sniExt(sniEntry(0, "a"))}}.message(), 1<<14), "", unpack.ErrFormat},
		{"empty server name list", records(helloFields{ext: [][]byte{ext(0, []byte{0, 0})}}.message(), 1<<14), "", unpack.ErrFormat},
		{"empty host name", records(helloFields{ext: [][]byte{sniExt(sniEntry(0, ""))}}.message(), 1<<14), "", unpack.ErrFormat},
		{"host name too long", records(helloFields{ext: [][]byte{sniExt(sniEntry(0, string(long)))}}.message(), 1<<14), "", unpack.ErrFormat},
		{"host name with NUL", records(helloFields{ext: [][]byte{sniExt(sniEntry(0, "a\x00.test"))}}.message(), 1<<14), "", unpack.ErrFormat},
		{"host name with space", records(helloFields{ext: [][]byte{sniExt(sniEntry(0, "a .test"))}}.message(), 1<<14), "", unpack.ErrFormat},
		{"list length lies", records(helloFields{ext: [][]byte{ext(0, []byte{0, 9, 0, 0, 1, 'a'})}}.message(), 1<<14), "", unpack.ErrFormat},
		{"record type changes mid-hello", append(records(helloFields{ext: [][]byte{sniExt(sniEntry(0, "a.test"))}}.message(), 20)[:25], 21, 3, 3, 0, 2, 2, 40), "", unpack.ErrFormat},
	}
	// The first repeated server_name wins: the parser returns at the first one it meets.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClientHelloSNI(tt.in)
			if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Errorf("ParseClientHelloSNI(%q) = %q, %v, want %q, %v", tt.in, got, err, tt.want, tt.err)
			}
			var fe *unpack.FormatError
			if err != nil && !errors.As(err, &fe) {
				t.Errorf("ParseClientHelloSNI(%q) error %v is not a *unpack.FormatError", tt.in, err)
			}
		})
	}
}

// TestClientHelloPrefixes: every proper prefix of a real hello asks for more data.
func TestClientHelloPrefixes(t *testing.T) {
	for _, in := range [][]byte{
		captureClientHello(t, &tls.Config{ServerName: "c2.beacon.invalid"}),
		records(helloFields{ext: [][]byte{sniExt(sniEntry(0, "split.test"))}}.message(), 5),
	} {
		for i := range len(in) {
			if _, err := ParseClientHelloSNI(in[:i]); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("ParseClientHelloSNI(%q) = %v, want %v", in[:i], err, io.ErrUnexpectedEOF)
			}
		}
	}
}

func FuzzClientHello(f *testing.F) {
	for _, cfg := range []*tls.Config{
		{ServerName: "c2.beacon.invalid"},
		{ServerName: "a.test", MaxVersion: tls.VersionTLS12},
		{ServerName: "b.test", MaxVersion: tls.VersionTLS10, MinVersion: tls.VersionTLS10},
		{InsecureSkipVerify: true},
		{ServerName: "alpn.test", NextProtos: []string{"h2", "http/1.1"}},
	} {
		f.Add(captureClientHello(f, cfg))
	}
	f.Add(records(helloFields{ext: [][]byte{sniExt(sniEntry(0, "split.test"))}}.message(), 7))
	f.Add(records(helloFields{noExt: true}.message(), 100))
	addTestdata(f, "clienthello")
	f.Fuzz(func(t *testing.T, b []byte) {
		sni, err := ParseClientHelloSNI(b)
		if err != nil {
			if sni != "" {
				t.Fatalf("ParseClientHelloSNI(%q) = %q with error %v", b, sni, err)
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, unpack.ErrFormat) && !errors.Is(err, unpack.ErrLimit) {
				t.Fatalf("ParseClientHelloSNI(%q) error %v wraps no known sentinel", b, err)
			}
			return
		}
		if len(sni) > maxHostNameBytes {
			t.Fatalf("ParseClientHelloSNI(%q) = %d-byte name", b, len(sni))
		}
		for _, c := range []byte(sni) {
			if c <= ' ' || c >= 0x7f {
				t.Fatalf("ParseClientHelloSNI(%q) = %q, unprintable", b, sni)
			}
		}
		// A complete hello does not change with what follows it.
		more := append(append([]byte{}, b...), 0x16, 3, 3, 0xff, 0xff)
		if sni2, err := ParseClientHelloSNI(more); sni2 != sni || err != nil {
			t.Fatalf("ParseClientHelloSNI(%q + more) = %q, %v, want %q, nil", b, sni2, err, sni)
		}
	})
}

// addTestdata seeds a fuzzer with every file under testdata/<dir>.
func addTestdata(f *testing.F, dir string) {
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func TestLooksLikeTLS(t *testing.T) {
	for _, tt := range []struct {
		in   []byte
		want bool
	}{
		{[]byte{22, 3, 1}, true},
		{[]byte{22, 3, 3, 0}, true},
		{[]byte{22, 3}, false},
		{[]byte("GET"), false},
		{[]byte{22, 2, 0}, false},
	} {
		if got := LooksLikeTLS(tt.in); got != tt.want {
			t.Errorf("LooksLikeTLS(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestClientHelloTestdata(t *testing.T) {
	for file, want := range map[string]string{
		"curl-openssl-tls13.bin": "c2.beacon.invalid",
		"curl-openssl-tls12.bin": "update.example.test",
	} {
		b, err := os.ReadFile(filepath.Join("testdata", "clienthello", file))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := ParseClientHelloSNI(b); got != want || err != nil {
			t.Errorf("ParseClientHelloSNI(%s) = %q, %v, want %q, nil", file, got, err, want)
		}
	}
}
