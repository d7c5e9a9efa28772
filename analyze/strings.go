package analyze

import (
	"encoding/binary"
	"io"
	"net"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Limits of the embedded-endpoint scan.
const (
	MinStringLen      = 6    // shortest printable strRun considered
	MaxStringLen      = 4096 // longer runs are cut into pieces of this size
	MaxEndpointsFile  = 256  // endpoints kept per file
	maxEndpointLength = 512
)

var (
	urlRE = regexp.MustCompile(`(?i)\b(?:https?|ftp|wss?)://[a-z0-9._~%-]+(?::[0-9]{1,5})?(?:/[!#$&-;=?-\[\]_a-z~%]*)?`)
	// hostRE matches dotted names ending in a top-level domain that real endpoints use; bare
	// "name.dll" style tokens are not host names.
	hostRE = regexp.MustCompile(`(?i)\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:` + tlds + `)\b`)
)

// tlds is deliberately short: the generic and country domains that malware and vendors use,
// plus the reserved test names. A longer list mostly adds false positives from code symbols.
const tlds = `com|net|org|io|info|biz|co|me|app|dev|cloud|online|site|xyz|top|club|ru|cn|de|uk|us|fr|jp|kr|nl|br|in|it|pl|es|se|ch|au|ca|eu|tk|cc|tv|ws|su|ir|kp|onion|invalid|test|example|localhost`

// reservedSuffixes are the top-level names RFC 2606 and RFC 6761 reserve for tests and
// documentation; they are not in the public suffix list, but fixtures use them and a name
// under them is worth reporting.
var reservedSuffixes = map[string]bool{"test": true, "invalid": true, "example": true, "localhost": true}

// fileExtensions are top-level domains that are also source or build file extensions: a bare
// two-label name under them ("agent.cc", "makefile.in", "main.rs", "Squirrel.app") is a file
// name far more often than a host. Names with more labels, and URLs, are still reported.
var fileExtensions = map[string]bool{"cc": true, "in": true, "rs": true, "py": true, "sh": true, "pl": true, "md": true, "so": true, "app": true, "ps": true, "cs": true}

// MinBareLabel is the shortest registrable label (the one left of the public suffix) a bare
// host name may have: one- and two-letter names ("v.jp", "p.it") are what random bytes in
// compressed data spell. URLs are not held to it.
const MinBareLabel = 3

// hostDelims may border a bare host name; a name glued to other printable bytes ("x#p.it{")
// is noise from binary data, not a string the code uses.
const hostDelims = " \t\"'<>()[]{},;=/\\:|`*"

// validHost reports whether host (lower case, no port) ends in a real public suffix (ICANN
// section of the public suffix list, or a reserved test name) below which there is a
// registrable label, or is an IP address. It returns that registrable label.
func validHost(host string) (label string, ok bool) {
	if net.ParseIP(host) != nil {
		return host, true
	}
	suffix, icann := publicsuffix.PublicSuffix(host)
	if !icann && !reservedSuffixes[suffix] {
		return "", false
	}
	if len(host) <= len(suffix)+1 || host[len(host)-len(suffix)-1] != '.' {
		return "", false // the host is only a suffix ("co.uk")
	}
	rest := host[:len(host)-len(suffix)-1]
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		rest = rest[i+1:]
	}
	return rest, rest != ""
}

// codeIdentifier reports whether a dotted name as written in the binary is a code namespace
// or type name rather than a host: a label with an upper-case letter ("System.IO",
// "Microsoft.NET", "ASP.NET", "readArea.top"). Host names in code are written in lower case.
func codeIdentifier(name string) bool {
	return strings.ToLower(name) != name
}

// reverseDNS are first labels that mark reverse-DNS identifiers (bundle ids, entitlement
// keys, Java packages) rather than host names.
var reverseDNS = map[string]bool{"com": true, "org": true, "net": true, "io": true, "edu": true, "gov": true}

// endpointScanner extracts URLs and host names from printable ASCII and UTF-16LE runs of a
// byte stream, in a single pass and bounded memory. It is an io.Writer so it can sit in an
// io.MultiWriter beside the hash.
type endpointScanner struct {
	off   int64 // stream offset of the next byte
	ascii strRun
	utf16 strRun // little-endian code units with a zero high byte
	odd   bool
	prev  byte
	last  [3]byte          // the three bytes before the current one, most recent last
	found map[string]int64 // endpoint -> first offset
}

type strRun struct {
	buf   []byte
	start int64
	// derLen is the length a DER header just before the run announces (tag, length), 0 when
	// there is none; tagBefore says the byte before the run is a DER string tag, so the run's
	// first byte may be the length.
	derLen    int
	tagBefore bool
}

// derStringTags are the ASN.1 tags of strings in certificates: UTF8String, PrintableString,
// IA5String, VisibleString, and the context tags of GeneralName's rfc822Name, dNSName and
// uniformResourceIdentifier (CRL, OCSP and CPS URLs).
// A table, not a map: it is consulted at the start of every printable run of every byte
// stream the inventory scans.
var derStringTags = [256]bool{0x0c: true, 0x13: true, 0x16: true, 0x1a: true, 0x81: true, 0x82: true, 0x86: true}

// derPrefix returns the length a DER header just before a run announces (tag, short length;
// or tag, 0x81, length), or 0.
func derPrefix(last [3]byte) int {
	if derStringTags[last[1]] && last[2] > 0 && last[2] < 0x80 {
		return int(last[2])
	}
	if derStringTags[last[0]] && last[1] == 0x81 && last[2] >= 0x80 {
		return int(last[2])
	}
	return 0
}

func newEndpointScanner() *endpointScanner {
	return &endpointScanner{found: make(map[string]int64)}
}

func printable(b byte) bool { return b >= 0x20 && b < 0x7f }

func (s *endpointScanner) Write(p []byte) (int, error) {
	// The per-byte state lives in locals for the loop (the scanner sees every byte of every
	// code file and of the installer itself) and is stored back at the end.
	off, prev, odd, last := s.off, s.prev, s.odd, s.last
	for _, b := range p {
		// ASCII runs.
		if printable(b) {
			if len(s.ascii.buf) == 0 {
				s.ascii.start = off
				s.ascii.derLen = derPrefix(last)
				s.ascii.tagBefore = derStringTags[last[2]]
			}
			s.ascii.buf = append(s.ascii.buf, b)
			if len(s.ascii.buf) >= MaxStringLen {
				s.flush(&s.ascii)
			}
		} else if len(s.ascii.buf) > 0 {
			s.flushEnd(&s.ascii, b)
		}
		// UTF-16LE runs: a printable byte followed by a zero byte, at either parity.
		if odd {
			if b == 0 && printable(prev) {
				if len(s.utf16.buf) == 0 {
					s.utf16.start = off - 1
				}
				s.utf16.buf = append(s.utf16.buf, prev)
				if len(s.utf16.buf) >= MaxStringLen {
					s.flush(&s.utf16)
				}
				odd = false
			} else {
				if len(s.utf16.buf) > 0 {
					s.flush(&s.utf16)
				}
				// this byte may start a new pair
				prev = b
				odd = true
			}
		} else {
			prev = b
			odd = true
		}
		last = [3]byte{last[1], last[2], b}
		off++
	}
	s.off, s.prev, s.odd, s.last = off, prev, odd, last
	return len(p), nil
}

func (s *endpointScanner) flush(r *strRun) { s.flushEnd(r, 0) }

// jump ends the runs in progress and continues the stream at offset off: the bytes in
// between are not scanned, and no string spans the gap.
func (s *endpointScanner) jump(off int64) {
	s.flush(&s.ascii)
	s.flush(&s.utf16)
	s.off, s.prev, s.odd, s.last = off, 0, false, [3]byte{}
}

// flushEnd scans and empties a run that ended at byte end (0 when it ended for another
// reason: a NUL terminator, the length cap, the end of the stream).
func (s *endpointScanner) flushEnd(r *strRun, end byte) {
	if len(r.buf) >= MinStringLen && len(s.found) < MaxEndpointsFile {
		str := string(r.buf)
		// A run that starts with a DER string of a certificate (an embedded signature, a CA
		// certificate in a resource) holds the CA's CRL, OCSP and policy URLs: they are not
		// endpoints of the code. Only what follows the string is scanned.
		if n := derString(str, r, end); n > 0 {
			str = str[n:]
		}
		// A DER string is followed by the next element's tag, often SEQUENCE (0x30, '0') or
		// SET (0x31, '1'), and then a non-zero length byte: the string "http://ocsp.ca.com0"
		// ending in such a byte is "http://ocsp.ca.com" inside a certificate.
		if end != 0 && str != "" && (str[len(str)-1] == '0' || str[len(str)-1] == '1') {
			str = str[:len(str)-1]
		}
		s.scan(str, r.start)
	}
	r.buf = r.buf[:0]
	r.derLen, r.tagBefore = 0, false
}

// derString returns how many bytes of str (a run that ended at byte end) are a DER string of
// a certificate, or 0. The header is either before the run (its length byte not printable)
// or its length byte is str[0]. Either way the string must end where the run ends on a
// DER-like byte, or be followed by a SEQUENCE or SET tag ('0', '1'), so that a printable run
// that merely follows a tag-like byte is still scanned.
func derString(str string, r *strRun, end byte) int {
	closes := func(n int) bool {
		return n == len(str) && end != 0 || n < len(str) && (str[n] == '0' || str[n] == '1')
	}
	if r.derLen > 0 && closes(r.derLen) {
		return r.derLen
	}
	if r.tagBefore && str != "" {
		if n := 1 + int(str[0]); closes(n) {
			return n
		}
	}
	return 0
}

func (s *endpointScanner) scan(str string, at int64) {
	if !strings.Contains(str, ".") {
		return
	}
	for _, loc := range urlRE.FindAllStringIndex(str, -1) {
		u := normalizeURL(str[loc[0]:loc[1]])
		if _, ok := validHost(urlHost(u)); ok {
			s.add(u, at+int64(loc[0]))
		}
	}
	for _, loc := range hostRE.FindAllStringIndex(str, -1) {
		// a host inside a URL already recorded is not a second endpoint
		if loc[0] >= 3 && str[loc[0]-3:loc[0]] == "://" {
			continue
		}
		if loc[0] > 0 && (str[loc[0]-1] == '@' || str[loc[0]-1] == '.') {
			continue
		}
		if loc[0] > 0 && !strings.ContainsRune(hostDelims, rune(str[loc[0]-1])) ||
			loc[1] < len(str) && str[loc[1]] != '.' && !strings.ContainsRune(hostDelims, rune(str[loc[1]])) {
			continue // glued to other bytes: noise, not a string
		}
		raw := str[loc[0]:loc[1]]
		if codeIdentifier(raw) {
			continue // System.IO, Microsoft.NET: a namespace, not a host
		}
		host := strings.ToLower(raw)
		if first, _, _ := strings.Cut(host, "."); reverseDNS[first] {
			continue // com.apple.security.app: an identifier, not a host
		}
		label, ok := validHost(host)
		if !ok || len(label) < MinBareLabel {
			continue
		}
		if labels := strings.Split(host, "."); len(labels) == 2 && fileExtensions[labels[1]] {
			continue // agent.cc, makefile.in: a file name
		}
		s.add(host, at+int64(loc[0]))
	}
}

// urlHost returns the host of a normalized URL, without user info and port.
func urlHost(u string) string {
	_, rest, _ := strings.Cut(u, "://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if h, _, err := net.SplitHostPort(rest); err == nil {
		rest = h
	}
	return strings.Trim(rest, "[]")
}

func (s *endpointScanner) add(e string, at int64) {
	if len(e) > maxEndpointLength || len(s.found) >= MaxEndpointsFile {
		return
	}
	if _, ok := s.found[e]; !ok {
		s.found[e] = at
	}
}

// normalizeURL lower-cases scheme and host and trims trailing punctuation that belongs to the
// surrounding text.
func normalizeURL(u string) string {
	u = strings.TrimRight(u, ".,;:)]'\"")
	i := strings.Index(u, "://")
	rest := u[i+3:]
	j := strings.IndexByte(rest, '/')
	if j < 0 {
		j = len(rest)
	}
	return strings.ToLower(u[:i+3]) + strings.ToLower(rest[:j]) + rest[j:]
}

// Endpoints returns the endpoints found outside the byte ranges in skip (for example the
// certificate table, whose CRL and OCSP URLs belong to the CA, not to the code), sorted. A
// bare host that is the parent domain of another endpoint's host ("live.com" beside
// "login.live.com", a piece of the longer string) is left out.
func (s *endpointScanner) Endpoints(skip ...[2]int64) []string {
	s.flush(&s.ascii)
	s.flush(&s.utf16)
	var out []string
	hosts := map[string]bool{}
next:
	for e, at := range s.found {
		for _, r := range skip {
			if at >= r[0] && at < r[1] {
				continue next
			}
		}
		out = append(out, e)
		if strings.Contains(e, "://") {
			hosts[urlHost(e)] = true
		} else {
			hosts[e] = true
		}
	}
	kept := out[:0]
	for _, e := range out {
		if !strings.Contains(e, "://") && hasSubdomain(hosts, e) {
			continue
		}
		kept = append(kept, e)
	}
	sort.Strings(kept)
	if len(kept) == 0 {
		return nil
	}
	return kept
}

// hasSubdomain reports whether hosts holds a name below parent.
func hasSubdomain(hosts map[string]bool, parent string) bool {
	for h := range hosts {
		if strings.HasSuffix(h, "."+parent) {
			return true
		}
	}
	return false
}

// bzImagePayload returns the byte range of a Linux x86 kernel image's compressed payload
// (Linux x86 boot protocol, Documentation/arch/x86/boot.rst: "HdrS" at 0x202, protocol
// version at 0x206, setup_sects at 0x1f1, payload_offset and payload_length at 0x248 and
// 0x24c from protocol 2.08 on, relative to the protected-mode code after the setup sectors).
// Compressed data holds no strings the code uses, only fragments of them that the scanner
// would report ("http://www.abit.com.tw0", "https://www.h"); a signed kernel is a PE file,
// so it comes through the PE path.
func bzImagePayload(r io.ReaderAt, size int64) ([2]int64, bool) {
	var hdr [0x250]byte
	if size < int64(len(hdr)) {
		return [2]int64{}, false
	}
	if _, err := r.ReadAt(hdr[:], 0); err != nil || string(hdr[0x202:0x206]) != "HdrS" {
		return [2]int64{}, false
	}
	if binary.LittleEndian.Uint16(hdr[0x206:]) < 0x208 {
		return [2]int64{}, false
	}
	setupSects := int64(hdr[0x1f1])
	if setupSects == 0 {
		setupSects = 4
	}
	start := (setupSects+1)*512 + int64(binary.LittleEndian.Uint32(hdr[0x248:]))
	end := start + int64(binary.LittleEndian.Uint32(hdr[0x24c:]))
	if start >= size || end <= start {
		return [2]int64{}, false
	}
	return [2]int64{start, min(end, size)}, true
}
