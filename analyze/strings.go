package analyze

import (
	"regexp"
	"sort"
	"strings"
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
	found map[string]int64 // endpoint -> first offset
}

type strRun struct {
	buf   []byte
	start int64
}

func newEndpointScanner() *endpointScanner {
	return &endpointScanner{found: make(map[string]int64)}
}

func printable(b byte) bool { return b >= 0x20 && b < 0x7f }

func (s *endpointScanner) Write(p []byte) (int, error) {
	for _, b := range p {
		// ASCII runs.
		if printable(b) {
			if len(s.ascii.buf) == 0 {
				s.ascii.start = s.off
			}
			s.ascii.buf = append(s.ascii.buf, b)
			if len(s.ascii.buf) >= MaxStringLen {
				s.flush(&s.ascii)
			}
		} else {
			s.flush(&s.ascii)
		}
		// UTF-16LE runs: a printable byte followed by a zero byte, at either parity.
		if s.odd {
			if b == 0 && printable(s.prev) {
				if len(s.utf16.buf) == 0 {
					s.utf16.start = s.off - 1
				}
				s.utf16.buf = append(s.utf16.buf, s.prev)
				if len(s.utf16.buf) >= MaxStringLen {
					s.flush(&s.utf16)
				}
				s.odd = false
			} else {
				s.flush(&s.utf16)
				// this byte may start a new pair
				s.prev = b
				s.odd = true
			}
		} else {
			s.prev = b
			s.odd = true
		}
		s.off++
	}
	return len(p), nil
}

func (s *endpointScanner) flush(r *strRun) {
	if len(r.buf) >= MinStringLen && len(s.found) < MaxEndpointsFile {
		s.scan(string(r.buf), r.start)
	}
	r.buf = r.buf[:0]
}

func (s *endpointScanner) scan(str string, at int64) {
	if !strings.Contains(str, ".") {
		return
	}
	for _, loc := range urlRE.FindAllStringIndex(str, -1) {
		s.add(normalizeURL(str[loc[0]:loc[1]]), at+int64(loc[0]))
	}
	for _, loc := range hostRE.FindAllStringIndex(str, -1) {
		// a host inside a URL already recorded is not a second endpoint
		if loc[0] >= 3 && str[loc[0]-3:loc[0]] == "://" {
			continue
		}
		if loc[0] > 0 && (str[loc[0]-1] == '@' || str[loc[0]-1] == '.') {
			continue
		}
		host := strings.ToLower(str[loc[0]:loc[1]])
		if first, _, _ := strings.Cut(host, "."); reverseDNS[first] {
			continue // com.apple.security.app: an identifier, not a host
		}
		s.add(host, at+int64(loc[0]))
	}
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
// certificate table, whose CRL and OCSP URLs belong to the CA, not to the code), sorted.
func (s *endpointScanner) Endpoints(skip ...[2]int64) []string {
	s.flush(&s.ascii)
	s.flush(&s.utf16)
	var out []string
next:
	for e, at := range s.found {
		for _, r := range skip {
			if at >= r[0] && at < r[1] {
				continue next
			}
		}
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}
