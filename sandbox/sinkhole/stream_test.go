package sinkhole

import "testing"

// TestStreamStart feeds streams byte by byte, as a trickling peer would.
func TestStreamStart(t *testing.T) {
	hello := records(helloFields{ext: [][]byte{sniExt(sniEntry(0, "split.test"))}}.message(), 9)
	for _, tt := range []struct {
		name string
		in   []byte
		at   int // length at which complete first reports true
	}{
		{"TLS", hello, len(hello)},
		{"HTTP CRLF", []byte("GET / HTTP/1.1\r\nHost: a.test\r\n\r\nbody"), 32},
		{"HTTP LF", []byte("GET / HTTP/1.1\nHost: a.test\n\n"), 29},
		{"binary", []byte{0, 1, 2}, 1},
		{"not a hello", []byte{22, 3, 3, 0, 5, 2, 0, 0, 1, 0}, 10},
	} {
		var st streamStart
		got := -1
		for i := 1; i <= len(tt.in); i++ {
			if st.complete(tt.in[:i]) {
				got = i
				break
			}
		}
		if got != tt.at {
			t.Errorf("%s: complete first at %d bytes, want %d", tt.name, got, tt.at)
		}
	}
}
