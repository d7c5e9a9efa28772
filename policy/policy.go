// Package policy reads rollgate.yaml: the gate's threshold, per-rule severity overrides and
// allow entries. Every allow entry must say why (reason) and may expire; an expired entry stops
// suppressing and the finding comes back with a warning, so an exception cannot outlive its
// review silently.
//
// The file is read as a YAML node tree (gopkg.in/yaml.v3) and checked key by key, so every
// mistake is reported in the user's terms with its place — `rollgate.yaml:7: unknown key
// "paht" in allow entry 2 (did you mean path?)` — never as a Go type name.
//
// Scopes and the rules they can match (an allow entry matches when every scope it gives does):
//   - path: a glob over the finding's path ("*" within a segment, "**" across); every rule.
//   - sha256: the file content the finding is about; only the rules whose findings carry the
//     file's hash (HashRules). Elsewhere it can never match: a warning says so.
//   - domain: a host name ("*.example.test" for any name under it); sandbox.network (the
//     destination's DNS name, Host, SNI or address) and strings.endpoint-added, where the
//     entry suppresses the finding only when every endpoint the finding names is covered
//     (one unreviewed endpoint keeps the finding). Elsewhere a warning says it cannot apply.
package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rollgate/rollgate/rules"
)

// FileName is the policy file looked for beside the baselines.
const FileName = "rollgate.yaml"

// MaxSize bounds a policy file, in bytes.
const MaxSize = 1 << 20

// MaxAllow bounds the number of allow entries.
const MaxAllow = 10000

// ErrConfig wraps every policy error; the CLI exits 2 on it.
var ErrConfig = errors.New("policy")

// Error is a mistake in a policy file, at a line (0 when the whole file is at fault).
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Unwrap makes every policy error an ErrConfig.
func (e *Error) Unwrap() error { return ErrConfig }

// Policy is a parsed rollgate.yaml.
type Policy struct {
	FailOnSeverity string            `yaml:"fail-on"`
	Severity       map[string]string `yaml:"severity"`
	Allow          []Allow           `yaml:"allow"`

	severity map[string]rules.Severity
	source   string
	file     string
	// used counts, per allow entry, the findings it suppressed across every Apply (a batch
	// applies one policy from several goroutines).
	used []atomic.Int64
}

// Allow suppresses the findings it matches. Rule and Reason are required, and at least one
// scope (see the package comment).
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
	line    int
}

// Suppressed is a finding an allow entry silenced, with the entry that did it.
type Suppressed struct {
	Finding rules.Finding `json:"finding"`
	Allow   Allow         `json:"allow"`
}

// HashRules are the rules whose findings carry the file's sha256, which a sha256 scope needs.
var HashRules = map[string]bool{
	rules.FileAdded: true, rules.FileAddedUnsignedCode: true, rules.FileChanged: true, rules.FileRemoved: true,
	rules.ContentChangedSameVer: true, rules.SideloadSystemName: true,
}

// DomainRules are the rules whose findings name host names, which a domain scope needs.
var DomainRules = map[string]bool{rules.SandboxNetwork: true, rules.StringsEndpointAdded: true}

// Load reads and validates a policy file; errors name the file as p.
func Load(p string) (*Policy, error) {
	f, err := os.Open(p)
	if err != nil {
		msg := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			msg = "cannot open: " + pe.Err.Error() // the path is already the error's prefix
		}
		return nil, &Error{File: p, Msg: msg}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, &Error{File: p, Msg: "reading: " + err.Error()}
	}
	if len(data) > MaxSize {
		return nil, &Error{File: p, Msg: fmt.Sprintf("over %d bytes", MaxSize)}
	}
	pol, err := ParseFile(p, data)
	if err != nil {
		return nil, err
	}
	pol.source = p
	return pol, nil
}

// Source is the file the policy was loaded from; "" for the built-in empty policy (no
// rollgate.yaml) or one parsed from bytes. A verification summary records its digest.
func (p *Policy) Source() string { return p.source }

// Find loads rollgate.yaml from the baseline folder, or returns an empty policy if there is none.
func Find(dir string) (*Policy, error) {
	p := filepath.Join(dir, FileName)
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return &Policy{}, nil
	}
	return Load(p)
}

// Parse parses and validates policy YAML, naming it rollgate.yaml in errors.
func Parse(data []byte) (*Policy, error) { return ParseFile(FileName, data) }

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// ParseFile parses and validates policy YAML read from name. Unknown keys are errors: a typo
// must not silently widen or drop an exception.
func ParseFile(name string, data []byte) (*Policy, error) {
	p := &Policy{file: name, severity: map[string]rules.Severity{}}
	fail := func(n *yaml.Node, format string, args ...any) error {
		line := 0
		if n != nil {
			line = n.Line
		}
		return &Error{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.used = make([]atomic.Int64, 0)
			return p, nil
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, &Error{File: name, Line: line, Msg: m[2]}
		}
		return nil, &Error{File: name, Msg: msg}
	}
	var extra yaml.Node
	if dec.Decode(&extra) == nil {
		return nil, fail(&extra, "a policy file holds one YAML document; found a second")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return p, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fail(root, "the policy must be a mapping of fail-on, severity and allow")
	}
	fields, err := mapping(root, "the policy", []string{"fail-on", "severity", "allow"}, fail)
	if err != nil {
		return nil, err
	}
	if n := fields["fail-on"]; n != nil {
		v, err := scalar(n, "fail-on", fail)
		if err != nil {
			return nil, err
		}
		if _, err := rules.ParseSeverity(v); err != nil {
			return nil, fail(n, "fail-on: unknown severity %q (want info, low, medium, high or critical)", v)
		}
		p.FailOnSeverity = v
	}
	if n := fields["severity"]; n != nil {
		if n.Kind != yaml.MappingNode {
			return nil, fail(n, "severity must map rule ids to severities (sig.untrusted: high)")
		}
		p.Severity = map[string]string{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if !knownRule(k.Value) {
				return nil, fail(k, "severity: unknown rule %q%s", k.Value, suggest(k.Value, ruleIDs()))
			}
			if _, dup := p.Severity[k.Value]; dup {
				return nil, fail(k, "severity: rule %q given twice", k.Value)
			}
			s, err := scalar(v, "the severity of "+k.Value, fail)
			if err != nil {
				return nil, err
			}
			sev, err := rules.ParseSeverity(s)
			if err != nil {
				return nil, fail(v, "severity of %s: unknown severity %q (want info, low, medium, high or critical)", k.Value, s)
			}
			p.Severity[k.Value] = s
			p.severity[k.Value] = sev
		}
	}
	if n := fields["allow"]; n != nil {
		if n.Kind != yaml.SequenceNode {
			return nil, fail(n, "allow must be a list of entries (- rule: ..., reason: ..., path: ...)")
		}
		if len(n.Content) > MaxAllow {
			return nil, fail(n, "allow has %d entries, over the limit of %d", len(n.Content), MaxAllow)
		}
		for i, en := range n.Content {
			a, err := parseAllow(en, i+1, fail)
			if err != nil {
				return nil, err
			}
			p.Allow = append(p.Allow, a)
		}
	}
	p.used = make([]atomic.Int64, len(p.Allow))
	return p, nil
}

type failFunc func(n *yaml.Node, format string, args ...any) error

var allowKeys = []string{"rule", "path", "sha256", "domain", "reason", "expires", "ticket"}

func parseAllow(n *yaml.Node, i int, fail failFunc) (Allow, error) {
	where := fmt.Sprintf("allow entry %d", i)
	if n.Kind != yaml.MappingNode {
		return Allow{}, fail(n, "%s must be a mapping (rule:, reason:, path: ...)", where)
	}
	fields, err := mapping(n, where, allowKeys, fail)
	if err != nil {
		return Allow{}, err
	}
	v := map[string]string{}
	for _, k := range allowKeys {
		if f := fields[k]; f != nil {
			s, err := scalar(f, fmt.Sprintf("%q in %s", k, where), fail)
			if err != nil {
				return Allow{}, err
			}
			v[k] = s
		}
	}
	a := Allow{Rule: v["rule"], Path: v["path"], SHA256: strings.ToLower(v["sha256"]), Domain: v["domain"],
		Reason: v["reason"], Expires: v["expires"], Ticket: v["ticket"], line: n.Line}
	switch {
	case a.Rule == "":
		return Allow{}, fail(n, "%s: rule is required", where)
	case !knownRule(a.Rule):
		return Allow{}, fail(fields["rule"], "%s: unknown rule %q%s", where, a.Rule, suggest(a.Rule, ruleIDs()))
	case strings.TrimSpace(a.Reason) == "":
		return Allow{}, fail(n, "%s (%s): a reason is required", where, a.Rule)
	case a.Path == "" && a.SHA256 == "" && a.Domain == "":
		return Allow{}, fail(n, "%s (%s): give a path, sha256 or domain; an entry may not silence a rule everywhere", where, a.Rule)
	}
	if a.SHA256 != "" && !isHex64(a.SHA256) {
		return Allow{}, fail(fields["sha256"], "%s: sha256 %q is not 64 hexadecimal digits", where, v["sha256"])
	}
	if a.Expires != "" {
		t, err := time.Parse("2006-01-02", a.Expires)
		if err != nil {
			return Allow{}, fail(fields["expires"], "%s: expires %q: want a date, YYYY-MM-DD", where, a.Expires)
		}
		a.expires = t.AddDate(0, 0, 1) // valid through the whole named day (UTC)
	}
	if a.Path != "" {
		a.pathRE = globRE(a.Path)
	}
	return a, nil
}

// mapping returns a mapping node's values by key, refusing unknown and repeated keys.
func mapping(n *yaml.Node, where string, keys []string, fail failFunc) (map[string]*yaml.Node, error) {
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode {
			return nil, fail(k, "a key in %s is not a plain name", where)
		}
		known := false
		for _, want := range keys {
			known = known || k.Value == want
		}
		if !known {
			return nil, fail(k, "unknown key %q in %s%s", k.Value, where, suggest(k.Value, keys))
		}
		if _, dup := out[k.Value]; dup {
			return nil, fail(k, "key %q given twice in %s", k.Value, where)
		}
		out[k.Value] = n.Content[i+1]
	}
	return out, nil
}

// scalar returns a single value, refusing lists and mappings.
func scalar(n *yaml.Node, what string, fail failFunc) (string, error) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "", nil
		}
		return n.Value, nil
	case yaml.SequenceNode:
		return "", fail(n, "%s must be a single value, not a list", what)
	default:
		return "", fail(n, "%s must be a single value, not a mapping", what)
	}
}

// suggest returns ` (did you mean X?)` for the candidate nearest to s, if one is close.
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), c); d < bestD && d < len(c) {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// editDistance is the optimal-string-alignment distance: insertions, deletions,
// substitutions and adjacent transpositions ("paht" is one step from "path"). Inputs are
// bounded by MaxSize, and only short keys reach here in practice; longer ones are not
// compared.
func editDistance(a, b string) int {
	const maxLen = 64
	if len(a) > maxLen || len(b) > maxLen {
		return maxLen
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func ruleIDs() []string {
	ids := make([]string, len(rules.Catalog))
	for i, r := range rules.Catalog {
		ids[i] = r.ID
	}
	return ids
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
// Findings matched only by an expired entry stay, and a warning says so. Apply may be called
// concurrently; it counts what each entry suppressed for Warnings.
func (p *Policy) Apply(fs []rules.Finding, now time.Time) (kept []rules.Finding, suppressed []Suppressed, warnings []string) {
	kept = []rules.Finding{}
	warned := map[int]bool{}
	for _, f := range fs {
		if s, ok := p.severity[f.Rule]; ok {
			f.Severity = s
		}
		by := -1
		for i := range p.Allow {
			a := &p.Allow[i]
			if !a.matches(f) {
				continue
			}
			if a.expired(now) {
				if !warned[i] {
					warned[i] = true
					warnings = append(warnings, fmt.Sprintf("%s: allow entry for %s (%s) expired on %s; its findings count again", p.where(a), a.Rule, a.describe(), a.Expires))
				}
				continue
			}
			by = i
			break
		}
		if by >= 0 {
			if by < len(p.used) {
				p.used[by].Add(1)
			}
			suppressed = append(suppressed, Suppressed{Finding: f, Allow: p.Allow[by]})
			continue
		}
		kept = append(kept, f)
	}
	return kept, suppressed, warnings
}

// Warnings are about the policy itself, for the end of a run: entries whose scope cannot
// apply to their rule, entries that expired, and unexpired entries that matched no finding in
// any Apply so far. Sorted by line.
func (p *Policy) Warnings(now time.Time) []string {
	type w struct {
		line int
		msg  string
	}
	var ws []w
	for i := range p.Allow {
		a := &p.Allow[i]
		add := func(format string, args ...any) {
			ws = append(ws, w{a.line, p.where(a) + ": " + fmt.Sprintf(format, args...)})
		}
		switch {
		case a.SHA256 != "" && !HashRules[a.Rule]:
			add("allow entry for %s: sha256 cannot apply (%s findings carry no file hash); the entry matches nothing", a.Rule, a.Rule)
		case a.Domain != "" && !DomainRules[a.Rule]:
			add("allow entry for %s: domain cannot apply (only sandbox.network and strings.endpoint-added findings name hosts); the entry matches nothing", a.Rule)
		case a.expired(now):
			add("allow entry for %s (%s) expired on %s; renew it after review or remove it", a.Rule, a.describe(), a.Expires)
		case i < len(p.used) && p.used[i].Load() == 0:
			add("allow entry for %s (%s) matched no finding; remove it or fix its scope", a.Rule, a.describe())
		}
	}
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].line < ws[j].line })
	out := make([]string, len(ws))
	for i, x := range ws {
		out[i] = x.msg
	}
	return out
}

func (p *Policy) where(a *Allow) string {
	name := p.file
	if name == "" {
		name = FileName
	}
	if a.line > 0 {
		return fmt.Sprintf("%s:%d", name, a.line)
	}
	return name
}

func (a *Allow) expired(now time.Time) bool {
	return !a.expires.IsZero() && !now.Before(a.expires)
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
	if a.Domain != "" && !a.domainMatches(f) {
		return false
	}
	return true
}

func (a *Allow) domainMatches(f rules.Finding) bool {
	switch f.Rule {
	case rules.StringsEndpointAdded:
		eps := endpoints(f)
		if len(eps) == 0 {
			return false
		}
		for _, ep := range eps {
			if !domainMatch(a.Domain, endpointHost(ep)) {
				return false
			}
		}
		return true
	case rules.SandboxNetwork:
		// Only the destination's identity: the name the sandbox's own DNS answered, or the
		// raw address. SNI and Host are what the guest claims, so they never match.
		for _, k := range []string{"name", "addr"} {
			if domainMatch(a.Domain, evidence(f, k)) {
				return true
			}
		}
	}
	return false
}

// endpoints reads the finding's endpoint list, as built ([]string) or read back from JSON.
func endpoints(f rules.Finding) []string {
	switch v := f.Evidence["endpoints"].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	return nil
}

// endpointHost is the host of an embedded endpoint: a URL's host, or a bare name without
// port or path.
func endpointHost(ep string) string {
	if strings.Contains(ep, "://") {
		if u, err := url.Parse(ep); err == nil {
			return u.Hostname()
		}
		return ""
	}
	ep, _, _ = strings.Cut(ep, "/")
	if h, _, ok := strings.Cut(ep, ":"); ok && strings.Count(ep, ":") == 1 {
		ep = h
	}
	return ep
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
