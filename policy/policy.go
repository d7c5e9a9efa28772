// Package policy reads rollgate.yaml: the gate's threshold, per-rule severity overrides and
// allow entries. Every allow entry must say why (reason) and may expire; an expired entry stops
// suppressing and the finding comes back with a warning, so an exception cannot outlive its
// review silently.
package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rollgate/rollgate/rules"
)

// FileName is the policy file looked for beside the baselines.
const FileName = "rollgate.yaml"

// MaxSize bounds a policy file.
const MaxSize = 1 << 20

// ErrConfig wraps every policy error; the CLI exits 2 on it.
var ErrConfig = errors.New("policy")

// Policy is a parsed rollgate.yaml.
type Policy struct {
	FailOnSeverity string            `yaml:"fail-on"`
	Severity       map[string]string `yaml:"severity"`
	Allow          []Allow           `yaml:"allow"`

	severity map[string]rules.Severity
	file     string
}

// Allow suppresses the findings it matches. Rule and Reason are required; Path is a glob over
// the finding's path ("*" within a segment, "**" across segments); SHA256 pins the file's
// content; Domain matches sandbox.network destinations ("*.example.test" for a suffix).
type Allow struct {
	Rule    string `yaml:"rule" json:"rule"`
	Path    string `yaml:"path,omitempty" json:"path,omitempty"`
	SHA256  string `yaml:"sha256,omitempty" json:"sha256,omitempty"`
	Domain  string `yaml:"domain,omitempty" json:"domain,omitempty"`
	Reason  string `yaml:"reason" json:"reason"`
	Expires string `yaml:"expires,omitempty" json:"expires,omitempty"`
	Ticket  string `yaml:"ticket,omitempty" json:"ticket,omitempty"`

	expires time.Time
	pathRE  *regexp.Regexp
}

// Suppressed is a finding an allow entry silenced, with the entry that did it.
type Suppressed struct {
	Finding rules.Finding `json:"finding"`
	Allow   Allow         `json:"allow"`
}

// Load reads and validates a policy file.
func Load(p string) (*Policy, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s: %v", ErrConfig, p, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrConfig, p, MaxSize)
	}
	pol, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	pol.file = p
	return pol, nil
}

// Find loads rollgate.yaml from the baseline folder, or returns an empty policy if there is none.
func Find(dir string) (*Policy, error) {
	p := filepath.Join(dir, FileName)
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return &Policy{}, nil
	}
	return Load(p)
}

// Parse parses and validates policy YAML. Unknown keys are errors: a typo must not silently
// widen or drop an exception.
func Parse(data []byte) (*Policy, error) {
	var p Policy
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if p.FailOnSeverity != "" {
		if _, err := rules.ParseSeverity(p.FailOnSeverity); err != nil {
			return nil, fmt.Errorf("%w: fail-on: %v", ErrConfig, err)
		}
	}
	p.severity = map[string]rules.Severity{}
	for id, s := range p.Severity {
		if !knownRule(id) {
			return nil, fmt.Errorf("%w: severity: unknown rule %q", ErrConfig, id)
		}
		sev, err := rules.ParseSeverity(s)
		if err != nil {
			return nil, fmt.Errorf("%w: severity of %s: %v", ErrConfig, id, err)
		}
		p.severity[id] = sev
	}
	for i := range p.Allow {
		a := &p.Allow[i]
		where := fmt.Sprintf("allow entry %d", i+1)
		if a.Rule == "" {
			return nil, fmt.Errorf("%w: %s: rule is required", ErrConfig, where)
		}
		if !knownRule(a.Rule) {
			return nil, fmt.Errorf("%w: %s: unknown rule %q", ErrConfig, where, a.Rule)
		}
		if strings.TrimSpace(a.Reason) == "" {
			return nil, fmt.Errorf("%w: %s (%s): a reason is required", ErrConfig, where, a.Rule)
		}
		if a.Path == "" && a.SHA256 == "" && a.Domain == "" {
			return nil, fmt.Errorf("%w: %s (%s): give a path, sha256 or domain; an entry may not silence a rule everywhere", ErrConfig, where, a.Rule)
		}
		if a.Expires != "" {
			t, err := time.Parse("2006-01-02", a.Expires)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: expires %q: want YYYY-MM-DD", ErrConfig, where, a.Expires)
			}
			a.expires = t.AddDate(0, 0, 1) // valid through the whole named day (UTC)
		}
		if a.Path != "" {
			a.pathRE = globRE(a.Path)
		}
		a.SHA256 = strings.ToLower(a.SHA256)
	}
	return &p, nil
}

func knownRule(id string) bool {
	for _, r := range rules.Catalog {
		if r.ID == id {
			return true
		}
	}
	return false
}

// globRE compiles a path glob: "**" matches across '/', "*" and "?" within a segment.
func globRE(g string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(g); i++ {
		switch c := g[i]; {
		case c == '*' && i+1 < len(g) && g[i+1] == '*':
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// FailOn returns the policy's threshold, or def when the policy sets none.
func (p *Policy) FailOn(def rules.Severity) rules.Severity {
	if p.FailOnSeverity == "" {
		return def
	}
	s, _ := rules.ParseSeverity(p.FailOnSeverity)
	return s
}

// HasFailOn reports whether the policy sets a threshold.
func (p *Policy) HasFailOn() bool { return p.FailOnSeverity != "" }

// Apply overrides severities, then removes the findings an unexpired allow entry matches.
// Findings matched only by an expired entry stay, and a warning says so.
func (p *Policy) Apply(fs []rules.Finding, now time.Time) (kept []rules.Finding, suppressed []Suppressed, warnings []string) {
	kept = []rules.Finding{}
	warned := map[int]bool{}
	for _, f := range fs {
		if s, ok := p.severity[f.Rule]; ok {
			f.Severity = s
		}
		var by *Allow
		for i := range p.Allow {
			a := &p.Allow[i]
			if !a.matches(f) {
				continue
			}
			if !a.expires.IsZero() && !now.Before(a.expires) {
				if !warned[i] {
					warned[i] = true
					warnings = append(warnings, fmt.Sprintf("allow entry for %s (%s) expired on %s; its findings count again", a.Rule, a.describe(), a.Expires))
				}
				continue
			}
			by = a
			break
		}
		if by != nil {
			suppressed = append(suppressed, Suppressed{Finding: f, Allow: *by})
			continue
		}
		kept = append(kept, f)
	}
	return kept, suppressed, warnings
}

func (a *Allow) describe() string {
	var parts []string
	for _, s := range []string{a.Path, a.Domain, a.SHA256} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

func (a *Allow) matches(f rules.Finding) bool {
	if a.Rule != f.Rule {
		return false
	}
	if a.pathRE != nil && !a.pathRE.MatchString(f.Path) {
		return false
	}
	if a.SHA256 != "" && !strings.EqualFold(evidence(f, "sha256"), a.SHA256) {
		return false
	}
	if a.Domain != "" {
		ok := false
		// Only the destination's identity: the name the sandbox's own DNS answered, or the
		// raw address. SNI and Host are what the guest claims, so they never match.
		for _, k := range []string{"name", "addr"} {
			if domainMatch(a.Domain, evidence(f, k)) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func evidence(f rules.Finding, key string) string {
	v, _ := f.Evidence[key].(string)
	return v
}

func domainMatch(pattern, name string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	pattern = strings.ToLower(pattern)
	if name == "" {
		return false
	}
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(name, "."+suffix)
	}
	return name == pattern
}
