package sinkhole

import (
	"bytes"
)

// Limits of the HTTP request parser.
const (
	// MaxRequestLineBytes caps the request line (RFC 9112 §3 recommends supporting at least 8000 octets).
	MaxRequestLineBytes = 8 << 10
	// MaxHeaderBytes caps the header section searched for Host.
	MaxHeaderBytes = 16 << 10
	maxMethodBytes = 16
)

// ParseHTTPRequest reads the request line and Host header of the HTTP/1.x request at the start
// of b (RFC 9112 §3, §3.2). ok is false unless b starts with a complete, well-formed request
// line. host is the first Host field's value, "" when the header section in b has none or the
// value is not a plausible authority (printable ASCII, no spaces, at most 261 bytes).
// Header lines past MaxHeaderBytes are not looked at.
func ParseHTTPRequest(b []byte) (line, host string, ok bool) {
	i := bytes.IndexByte(b[:min(len(b), MaxRequestLineBytes+2)], '\n')
	if i < 0 {
		return "", "", false
	}
	raw := bytes.TrimSuffix(b[:i], []byte{'\r'})
	if !validRequestLine(raw) {
		return "", "", false
	}
	line = string(raw)

	rest := b[i+1:]
	rest = rest[:min(len(rest), MaxHeaderBytes)]
	for len(rest) > 0 {
		j := bytes.IndexByte(rest, '\n')
		if j < 0 {
			break // incomplete header line: do not report a partial value
		}
		h := bytes.TrimSuffix(rest[:j], []byte{'\r'})
		rest = rest[j+1:]
		if len(h) == 0 {
			break // end of the header section
		}
		name, value, found := bytes.Cut(h, []byte{':'})
		if !found || !bytes.EqualFold(name, []byte("Host")) {
			continue
		}
		value = bytes.Trim(value, " \t")
		if validAuthority(value) {
			host = string(value)
		}
		break
	}
	return line, host, true
}

// validRequestLine checks method SP request-target SP HTTP-version.
func validRequestLine(l []byte) bool {
	method, rest, ok := bytes.Cut(l, []byte{' '})
	if !ok || len(method) == 0 || len(method) > maxMethodBytes {
		return false
	}
	for _, c := range method {
		if !isTokenChar(c) {
			return false
		}
	}
	target, version, ok := bytes.Cut(rest, []byte{' '})
	if !ok || len(target) == 0 {
		return false
	}
	for _, c := range target {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	// HTTP-version = "HTTP/" DIGIT "." DIGIT
	return len(version) == 8 && string(version[:5]) == "HTTP/" &&
		isDigit(version[5]) && version[6] == '.' && isDigit(version[7])
}

// validAuthority accepts what a Host value can be: host[:port], printable, no spaces.
func validAuthority(v []byte) bool {
	if len(v) == 0 || len(v) > maxHostNameBytes+8 {
		return false
	}
	for _, c := range v {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isTokenChar reports whether c is a tchar (RFC 9110 §5.6.2).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', isDigit(c):
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
