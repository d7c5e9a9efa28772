package sinkhole

import (
	"fmt"
	"io"

	"github.com/rollgate/rollgate/unpack"
)

// Limits of the ClientHello parser.
const (
	// MaxClientHelloBytes is the most a ClientHello may span, records included. Real ones are
	// under 2 KiB (4 KiB with post-quantum key shares); the record layer allows 16 KiB per record.
	MaxClientHelloBytes = 32 << 10
	// maxTLSRecordBytes is the largest TLSPlaintext fragment RFC 8446 §5.1 allows.
	maxTLSRecordBytes = 1 << 14
	// maxHostNameBytes is the longest DNS name (RFC 1035 §3.1, presentation form).
	maxHostNameBytes = 253
)

const (
	tlsRecordHandshake   = 22
	tlsHandshakeHello    = 1
	tlsExtServerName     = 0
	tlsServerNameHost    = 0
	tlsRecordHeaderBytes = 5
)

// tlsAlertHandshakeFailure is a TLS 1.2-framed fatal handshake_failure alert (RFC 8446 §6),
// the sinkhole's only answer to a ClientHello.
var tlsAlertHandshakeFailure = []byte{21, 3, 3, 0, 2, 2, 40}

// LooksLikeTLS reports whether b starts like a TLS handshake record.
func LooksLikeTLS(b []byte) bool {
	return len(b) >= 3 && b[0] == tlsRecordHandshake && b[1] == 3 && b[2] <= 4
}

// ParseClientHelloSNI returns the host_name of the server_name extension (RFC 6066 §3) of
// the TLS ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) at the start of b, which holds the
// first bytes a client sent. The handshake message may be split over several handshake
// records (RFC 8446 §5.1 allows it); they are reassembled up to MaxClientHelloBytes.
//
// A well-formed ClientHello without the extension gives "", nil. When b ends before the
// ClientHello does, the error wraps io.ErrUnexpectedEOF (read more and retry); malformed
// input gives an error wrapping unpack.ErrFormat, and a hello over the limit unpack.ErrLimit.
func ParseClientHelloSNI(b []byte) (string, error) {
	msg, err := reassembleHandshake(b)
	if err != nil {
		return "", err
	}
	// msg is the whole handshake message body (after the 4-byte header), complete.
	p := parser{b: msg, base: 4}
	p.skip(2 + 32) // legacy_version, random
	if n := p.u8(); n > 32 {
		return "", p.fail("legacy_session_id length %d", n)
	} else {
		p.skip(int(n))
	}
	if n := p.u16(); p.err == nil && (n == 0 || n%2 != 0) {
		return "", p.fail("cipher_suites length %d", n)
	} else {
		p.skip(int(n))
	}
	if n := p.u8(); p.err == nil && n == 0 {
		return "", p.fail("no legacy_compression_methods")
	} else {
		p.skip(int(n))
	}
	if p.err != nil {
		return "", p.err
	}
	if p.len() == 0 {
		return "", nil // TLS 1.0-era hello without extensions
	}
	ext := p.sub(int(p.u16()))
	if p.err != nil {
		return "", p.err
	}
	if p.len() != 0 {
		return "", p.fail("%d bytes after extensions", p.len())
	}
	seen := map[uint16]bool{}
	for ext.len() > 0 && ext.err == nil {
		typ := ext.u16()
		body := ext.sub(int(ext.u16()))
		if ext.err != nil {
			return "", ext.err
		}
		if seen[typ] {
			return "", ext.fail("extension %d repeated", typ)
		}
		seen[typ] = true
		if typ != tlsExtServerName {
			continue
		}
		return parseServerName(body)
	}
	return "", ext.err
}

// parseServerName reads a ServerNameList and returns its host_name entry.
func parseServerName(p parser) (string, error) {
	list := p.sub(int(p.u16()))
	if p.err != nil {
		return "", p.err
	}
	if p.len() != 0 || list.len() == 0 {
		return "", p.fail("server_name extension: bad list length")
	}
	for list.len() > 0 {
		typ := list.u8()
		name := list.sub(int(list.u16()))
		if list.err != nil {
			return "", list.err
		}
		if typ != tlsServerNameHost {
			continue
		}
		host := name.b
		if len(host) == 0 || len(host) > maxHostNameBytes {
			return "", name.fail("host_name length %d", len(host))
		}
		for i, c := range host {
			if c <= ' ' || c >= 0x7f {
				return "", (&parser{base: name.base + i}).fail("host_name byte 0x%02x", c)
			}
		}
		return string(host), nil
	}
	return "", nil
}

// reassembleHandshake returns the body of the first handshake message in b, which must be a
// ClientHello, joining the fragments of consecutive handshake records.
func reassembleHandshake(b []byte) ([]byte, error) {
	var (
		msg  []byte
		want = -1 // body length once the handshake header is known
		off  int
	)
	for {
		if len(b)-off < tlsRecordHeaderBytes {
			return nil, truncated(off + tlsRecordHeaderBytes)
		}
		h := b[off : off+tlsRecordHeaderBytes]
		if h[0] != tlsRecordHandshake {
			return nil, formatErr(off, "record type %d, want handshake", h[0])
		}
		if h[1] != 3 {
			return nil, formatErr(off+1, "record version 0x%02x%02x", h[1], h[2])
		}
		n := int(h[3])<<8 | int(h[4])
		if n == 0 || n > maxTLSRecordBytes {
			return nil, formatErr(off+3, "record length %d", n)
		}
		off += tlsRecordHeaderBytes
		if off+n > MaxClientHelloBytes {
			return nil, &unpack.FormatError{Format: "tls", Offset: int64(off), Msg: "ClientHello larger than MaxClientHelloBytes", Err: unpack.ErrLimit}
		}
		if len(b)-off < n {
			// Parse what there is so a hello with a bad header fails early, not at the limit.
			if want < 0 && len(msg)+len(b)-off >= 4 {
				if _, err := handshakeHeader(append(msg, b[off:]...), off-len(msg)); err != nil {
					return nil, err
				}
			}
			return nil, truncated(off + n)
		}
		msg = append(msg, b[off:off+n]...)
		off += n
		if want < 0 && len(msg) >= 4 {
			l, err := handshakeHeader(msg, off-len(msg))
			if err != nil {
				return nil, err
			}
			want = l
		}
		if want >= 0 && len(msg)-4 >= want {
			// Anything after the hello in the same record is another message; ignore it.
			return msg[4 : 4+want], nil
		}
	}
}

// handshakeHeader checks the 4-byte handshake header at the start of msg and returns the body length.
func handshakeHeader(msg []byte, at int) (int, error) {
	if msg[0] != tlsHandshakeHello {
		return 0, formatErr(at, "handshake type %d, want client_hello", msg[0])
	}
	l := int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3])
	if l+4 > MaxClientHelloBytes {
		return 0, &unpack.FormatError{Format: "tls", Offset: int64(at + 1), Msg: fmt.Sprintf("ClientHello length %d over MaxClientHelloBytes", l), Err: unpack.ErrLimit}
	}
	if l < 2+32+1+2+2+1 {
		return 0, formatErr(at+1, "ClientHello length %d too short", l)
	}
	return l, nil
}

// truncated reports input that stops inside a record; end is where that record (or its
// header) ends, so a caller knows how many bytes to wait for.
func truncated(end int) error {
	return &unpack.FormatError{Format: "tls", Offset: int64(end), Msg: "ClientHello truncated; input needed up to", Err: io.ErrUnexpectedEOF}
}

func formatErr(off int, format string, args ...any) error {
	return &unpack.FormatError{Format: "tls", Offset: int64(off), Msg: fmt.Sprintf(format, args...)}
}

// parser reads big-endian fields from a complete message; the first failure sticks.
// base is b's offset in the handshake message, for error positions.
type parser struct {
	b    []byte
	base int
	err  error
}

func (p *parser) len() int { return len(p.b) }

func (p *parser) fail(format string, args ...any) error {
	if p.err == nil {
		p.err = &unpack.FormatError{Format: "tls", Entry: "ClientHello", Offset: int64(p.base), Msg: fmt.Sprintf(format, args...)}
	}
	return p.err
}

func (p *parser) take(n int) []byte {
	if p.err != nil {
		return nil
	}
	if n < 0 || n > len(p.b) {
		p.fail("field of %d bytes overruns the %d left", n, len(p.b))
		return nil
	}
	v := p.b[:n]
	p.b = p.b[n:]
	p.base += n
	return v
}

func (p *parser) skip(n int) { p.take(n) }

func (p *parser) u8() uint8 {
	if v := p.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (p *parser) u16() uint16 {
	if v := p.take(2); v != nil {
		return uint16(v[0])<<8 | uint16(v[1])
	}
	return 0
}

// sub splits off the next n bytes as their own parser; on failure both carry the error.
func (p *parser) sub(n int) parser {
	base := p.base
	v := p.take(n)
	return parser{b: v, base: base, err: p.err}
}
