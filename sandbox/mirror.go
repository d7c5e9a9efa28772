package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxSourcesBytes bounds how much of one apt sources file is read.
const maxSourcesBytes = 1 << 20

// ErrNoMirror reports that the host's apt sources name no mirror for the guest's suite.
var ErrNoMirror = errors.New("sandbox: no Debian mirror for the suite in the host's apt sources")

// aptSource is one "deb" source: where and which suites.
type aptSource struct {
	URIs   []string
	Suites []string
}

// parseOneLine parses the classic one-line format of sources.list:
//
//	deb [ option=value ... ] uri suite [component ...]
func parseOneLine(data []byte) []aptSource {
	var out []aptSource
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") {
			// Options run up to the field that ends with "]".
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) == 0 {
				continue
			}
			f = f[1:]
		}
		if len(f) < 2 {
			continue
		}
		out = append(out, aptSource{URIs: []string{f[0]}, Suites: []string{f[1]}})
	}
	return out
}

// parseDeb822 parses the deb822 format of *.sources files: stanzas separated by blank lines,
// fields "Types", "URIs", "Suites" and "Enabled" (continuation lines start with a space).
func parseDeb822(data []byte) []aptSource {
	var out []aptSource
	fields := map[string]string{}
	last := ""
	flush := func() {
		if len(fields) > 0 && !strings.EqualFold(strings.TrimSpace(fields["enabled"]), "no") &&
			contains(strings.Fields(fields["types"]), "deb") {
			u, s := strings.Fields(fields["uris"]), strings.Fields(fields["suites"])
			if len(u) > 0 && len(s) > 0 {
				out = append(out, aptSource{URIs: u, Suites: s})
			}
		}
		fields = map[string]string{}
		last = ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "#"):
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				fields[last] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			fields[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// pickMirror returns the first http(s) URI of a source that carries suite itself (not
// suite-updates or suite-security, which are not complete archives).
func pickMirror(sources []aptSource, suite string) (string, error) {
	for _, s := range sources {
		if !contains(s.Suites, suite) {
			continue
		}
		for _, u := range s.URIs {
			if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
				return strings.TrimRight(u, "/"), nil
			}
		}
	}
	return "", fmt.Errorf("%w %q", ErrNoMirror, suite)
}

// HostMirror reads the apt sources under root ("/" on a real host): sources.list and
// sources.list.d/*.list (one-line format) and sources.list.d/*.sources (deb822), and returns the
// first mirror that serves suite. Nothing is hard-coded: the guest is built from whatever
// archive the host already trusts and reaches.
func HostMirror(root, suite string) (string, error) {
	dir := filepath.Join(root, "etc", "apt")
	var sources []aptSource
	read := func(p string) []byte {
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(io.LimitReader(f, maxSourcesBytes))
		return b.Bytes()
	}
	sources = append(sources, parseOneLine(read(filepath.Join(dir, "sources.list")))...)
	lists, _ := filepath.Glob(filepath.Join(dir, "sources.list.d", "*.list"))
	for _, p := range lists {
		sources = append(sources, parseOneLine(read(p))...)
	}
	d822, _ := filepath.Glob(filepath.Join(dir, "sources.list.d", "*.sources"))
	for _, p := range d822 {
		sources = append(sources, parseDeb822(read(p))...)
	}
	return pickMirror(sources, suite)
}
