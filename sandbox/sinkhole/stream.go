package sinkhole

import (
	"bytes"
	"errors"
	"io"
	"net"

	"github.com/rollgate/rollgate/unpack"
)

// readFirst reads until what arrived is a complete ClientHello or HTTP header section, the
// peer stops, the deadline passes or max bytes are in.
func readFirst(conn net.Conn, max int) []byte {
	buf := make([]byte, 0, min(max, 4<<10))
	var st streamStart
	for len(buf) < max {
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, min(cap(buf), max-len(buf)))...)[:len(buf)]
		}
		n, err := conn.Read(buf[len(buf):min(cap(buf), max)])
		buf = buf[:len(buf)+n]
		if st.complete(buf) || err != nil {
			break
		}
	}
	return buf
}

// streamStart decides when the start of a stream holds all the sinkhole wants to see. It
// keeps its place between calls so a peer trickling bytes costs linear work, not quadratic.
type streamStart struct {
	need    int // TLS: no use parsing before this many bytes
	scanned int // HTTP: bytes already searched for the end of the header section
}

// complete is called with the same growing buffer each time.
func (s *streamStart) complete(b []byte) bool {
	switch {
	case len(b) == 0:
		return false
	case b[0] == tlsRecordHandshake:
		if len(b) < max(3, s.need) {
			return false
		}
		_, err := ParseClientHelloSNI(b)
		var fe *unpack.FormatError
		if errors.Is(err, io.ErrUnexpectedEOF) && errors.As(err, &fe) {
			s.need = max(len(b)+1, int(fe.Offset))
			return false
		}
		return true
	case isTokenChar(b[0]):
		from := max(0, s.scanned-3) // "\r\n\r\n" may straddle the previous read
		s.scanned = len(b)
		return bytes.Contains(b[from:], []byte("\r\n\r\n")) || bytes.Contains(b[from:], []byte("\n\n"))
	default:
		return true // neither TLS nor HTTP: nothing more to learn
	}
}
