package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/policy"
	"github.com/rollgate/rollgate/rules"
	"github.com/rollgate/rollgate/winpath"
)

// The HTML review report: one self-contained file a reviewer opens offline. html/template
// escapes every vendor-controlled string for its context; no vendor string ever becomes an
// attribute that loads or links (every href is a fragment rollgate computes), and the
// Content-Security-Policy forbids scripts, fetches, fonts, images, frames and forms, so a
// string that slipped through could still not run or call out.

// CSP is the page's Content-Security-Policy: nothing may load; only the inline style runs.
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; font-src 'none'; connect-src 'none'; script-src 'none'; frame-src 'none'; form-action 'none'; base-uri 'none'"

//go:embed html.tmpl
var htmlTemplate string

//go:embed html.css
var htmlCSS string

var htmlPage = template.Must(template.New("page").Funcs(template.FuncMap{
	"list": func(s ...string) []string { return s },
	"rowSet": func(title, class string, rows []diffRow) rowSet {
		return rowSet{Title: title, Class: class, Rows: rows}
	},
	"eventSet": func(title string, headers []string, rows []eventRow) eventSet {
		return eventSet{Title: title, Headers: headers, Rows: rows}
	},
}).Parse(htmlTemplate))

type rowSet struct {
	Title, Class string
	Rows         []diffRow
}

type eventSet struct {
	Title   string
	Headers []string
	Rows    []eventRow
}

// WriteHTML writes r as a self-contained HTML page.
func WriteHTML(w io.Writer, r *Report, opt Options) error {
	return writeHTML(w, []*Report{r}, opt)
}

func writeHTML(w io.Writer, reports []*Report, opt Options) error {
	page := htmlView{CSP: CSP, CSS: template.CSS(htmlCSS), Version: opt.Version}
	if len(reports) > 1 || opt.Batch {
		sum := Summarize(reports, opt)
		for i := range sum.Installers {
			in := &sum.Installers[i]
			in.Path, in.Product, in.Version, in.Verdict = Clean(in.Path), Clean(in.Product), Clean(in.Version), Clean(in.Verdict)
		}
		page.Batch = &sum
		page.Title = fmt.Sprintf("rollgate batch: %s — %d installer(s)", strings.ToUpper(sum.Verdict), len(reports))
	}
	for i, r := range reports {
		v := reportView(r, opt.forReport(r), i)
		page.Reports = append(page.Reports, v)
		if page.Batch != nil {
			page.Batch.Installers[i].Report = "#" + v.ID // the index links to the section
		}
	}
	if page.Batch == nil {
		page.Title = fmt.Sprintf("rollgate: %s — %s", page.Reports[0].Badge, Clean(page.Reports[0].Title))
	}
	var buf bytes.Buffer
	if err := htmlPage.Execute(&buf, page); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

type htmlView struct {
	CSP     string
	CSS     template.CSS
	Title   string
	Version string
	Batch   *BatchSummary
	Reports []rView
}

type rView struct {
	ID, Title, Badge, VerdictClass string
	// R is the report; every vendor-controlled string the page shows from it is in the
	// cleaned copies below.
	R          *Report
	Installer  Installer
	Baseline   *Baseline
	Warnings   []string
	Notes      []string
	Suppressed []policy.Suppressed
	Why        []string
	Counts     []countView
	Groups     []sevGroup
	Diff       *diffView
	Sigs       []sigView
	Sandbox    *sandboxView
}

type countView struct {
	Severity string
	N        int
}

type sevGroup struct {
	Severity string
	Gate     bool // at or above fail-on
	Findings []findingView
}

type findingView struct {
	ID, Rule, Path, Message string
	Evidence                []kv
}

type kv struct{ Key, Value string }

func reportView(r *Report, opt Options, i int) rView {
	v := rView{ID: "r" + strconv.Itoa(i+1), R: r, Badge: Badge(r.Verdict), VerdictClass: "v-" + strings.ToLower(Badge(r.Verdict))}
	v.Title = r.Installer.Path
	if r.Installer.Product != "" {
		v.Title = strings.TrimSpace(r.Installer.Product + " " + r.Installer.Version)
	}
	v.Title = Clean(v.Title)
	v.Installer = Installer{Path: Clean(r.Installer.Path), SHA256: Clean(r.Installer.SHA256), Format: Clean(r.Installer.Format),
		Product: Clean(r.Installer.Product), Version: Clean(r.Installer.Version), Identity: Clean(r.Installer.Identity)}
	if b := r.Baseline; b != nil {
		v.Baseline = &Baseline{Product: Clean(b.Product), Version: Clean(b.Version), File: Clean(b.File)}
	}
	v.Warnings = cleanAll(r.Warnings)
	v.Notes = cleanAll(r.Notes)
	for _, sup := range r.Suppressed {
		sup.Finding = rules.Finding{Rule: Clean(sup.Finding.Rule), Severity: sup.Finding.Severity, Path: Clean(sup.Finding.Path), Message: Clean(sup.Finding.Message)}
		sup.Allow.Reason, sup.Allow.Expires, sup.Allow.Ticket = Clean(sup.Allow.Reason), Clean(sup.Allow.Expires), Clean(sup.Allow.Ticket)
		v.Suppressed = append(v.Suppressed, sup)
	}
	v.Why = cleanAll(why(r))
	c := r.Counts()
	for s := rules.Critical; s >= rules.Info; s-- {
		v.Counts = append(v.Counts, countView{s.String(), c[s]})
	}
	n := 0
	for s := rules.Critical; s >= rules.Info; s-- {
		g := sevGroup{Severity: s.String(), Gate: s >= r.FailOn}
		for _, f := range r.Findings {
			if f.Severity != s {
				continue
			}
			n++
			g.Findings = append(g.Findings, findingView{ID: fmt.Sprintf("%s-f%d", v.ID, n), Rule: Clean(f.Rule), Path: Clean(f.Path), Message: Clean(f.Message), Evidence: evidence(f.Evidence)})
		}
		if len(g.Findings) > 0 {
			v.Groups = append(v.Groups, g)
		}
	}
	cand := opt.inventory(r)
	v.Diff = diff(r.BaselineInventory, cand)
	v.Sigs = signatures(cand)
	v.Sandbox = sandbox(r)
	return v
}

// why says in sentences what decided the verdict.
func why(r *Report) []string {
	switch r.Verdict {
	case Inconclusive:
		return []string{"Inconclusive: " + r.Error, "An inconclusive installer never passes the gate."}
	case VerdictError:
		return []string{"The run failed: " + r.Error}
	}
	var at []string
	seen := map[string]bool{}
	n := 0
	for _, f := range r.Findings {
		if f.Severity >= r.FailOn {
			n++
			if !seen[f.Rule] {
				seen[f.Rule] = true
				at = append(at, f.Rule)
			}
		}
	}
	if n == 0 {
		return []string{fmt.Sprintf("No finding at or above %s: the gate passes.", r.FailOn)}
	}
	return []string{fmt.Sprintf("%d finding(s) at or above %s (%s): the gate fails.", n, r.FailOn, strings.Join(at, ", "))}
}

// evidence flattens a finding's evidence into sorted key/value lines; values that are not
// strings or numbers are shown as JSON.
func evidence(m map[string]any) []kv {
	var out []kv
	for k, val := range m {
		var s string
		switch x := val.(type) {
		case string:
			s = x
		case nil:
			continue
		default:
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false) // the template escapes; \u003c would hide markup from the reviewer
			if err := enc.Encode(x); err != nil {
				s = fmt.Sprint(x)
			} else {
				s = strings.TrimSuffix(b.String(), "\n")
			}
		}
		if s == "" {
			continue
		}
		out = append(out, kv{Clean(k), Clean(s)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// File diff.

type diffView struct {
	HaveBaseline                      bool
	Added, Removed, Changed           []diffRow
	Unchanged                         []diffRow
	NAdded, NRemoved, NChanged, NSame int
	// SameText is the unchanged files as aligned plain text: one text node instead of a
	// table row per file keeps a 10,000-file page quick to open.
	SameText string
}

type diffRow struct {
	Path        string
	Before      *fileSide
	After       *fileSide
	HashChanged bool
}

type fileSide struct {
	Version, Signer, SHA string
	Size                 int64
	Kind                 string
}

func side(e *inventory.Entry) *fileSide {
	s := &fileSide{Version: Clean(e.Version), Size: e.Size, SHA: Clean(short(e.SHA256)), Kind: Clean(string(e.Kind))}
	if e.Signature != nil {
		s.Signer = Clean(string(e.Signature.State))
		if e.Signature.Signer != "" {
			s.Signer = Clean(cn(e.Signature.Signer))
		}
	}
	return s
}

// diff pairs baseline and candidate entries by install path. (The rules pair moved files
// by identity too; the page shows the plain path diff and the rules' findings above it.)
func diff(base, cand *inventory.Inventory) *diffView {
	if cand == nil {
		return nil
	}
	d := &diffView{HaveBaseline: base != nil}
	before := map[string]*inventory.Entry{}
	if base != nil {
		for i := range base.Entries {
			before[base.Entries[i].Path] = &base.Entries[i]
		}
	}
	inCand := map[string]bool{}
	for i := range cand.Entries {
		e := &cand.Entries[i]
		inCand[e.Path] = true
		b, ok := before[e.Path]
		switch {
		case base == nil:
			d.Unchanged = append(d.Unchanged, diffRow{Path: e.Path, After: side(e)})
		case !ok:
			d.Added = append(d.Added, diffRow{Path: e.Path, After: side(e)})
		default:
			row := diffRow{Path: e.Path, Before: side(b), After: side(e), HashChanged: b.SHA256 != e.SHA256}
			if row.HashChanged || b.Size != e.Size || b.Version != e.Version || *row.Before != *row.After {
				d.Changed = append(d.Changed, row)
			} else {
				d.Unchanged = append(d.Unchanged, row)
			}
		}
	}
	if base != nil {
		for i := range base.Entries {
			if e := &base.Entries[i]; !inCand[e.Path] {
				d.Removed = append(d.Removed, diffRow{Path: e.Path, Before: side(e)})
			}
		}
	}
	for _, rows := range [][]diffRow{d.Added, d.Removed, d.Changed, d.Unchanged} {
		for i := range rows {
			rows[i].Path = Clean(rows[i].Path)
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].Path < rows[j].Path })
	}
	d.NAdded, d.NRemoved, d.NChanged, d.NSame = len(d.Added), len(d.Removed), len(d.Changed), len(d.Unchanged)
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "PATH\tVERSION\tSIZE\tSIGNER\tSHA-256\n")
	for _, row := range d.Unchanged {
		a := row.After
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", row.Path, dash(a.Version), a.Size, dash(a.Signer), a.SHA)
	}
	tw.Flush()
	d.SameText = b.String()
	return d
}

// Signatures.

type sigView struct {
	Path, State, Signer, Issuer, TeamID, Timestamp, Digest string
	Trusted                                                bool
	TrustError, IntegrityError                             string
	Fingerprint                                            string
	Size                                                   int64
	Anomalies                                              []anomalyView
	// More lists the other files that carry the same signature facts (no anomalies, no
	// integrity error): one block per publisher keeps a 10,000-file page readable.
	More []string
}

type anomalyView struct {
	Kind, Detail string
	Offset, Len  int64
	Hex          string
	// Style places the anomaly on the file's bar: numbers rollgate computed, nothing else.
	Style template.CSS
}

// groupKey joins the signature facts that make two files' signatures the same.
func (v sigView) groupKey() string {
	return strings.Join([]string{v.State, v.Signer, v.Issuer, v.TeamID, v.Timestamp, v.Digest,
		strconv.FormatBool(v.Trusted), v.TrustError, v.IntegrityError, v.Fingerprint}, "\x00")
}

// MinBarPercent keeps a few hidden bytes in a large file visible on the offset map.
const MinBarPercent = 0.5

func signatures(inv *inventory.Inventory) []sigView {
	if inv == nil {
		return nil
	}
	var out []sigView
	group := map[string]int{} // groupKey → index in out
	for _, e := range inv.Entries {
		s := e.Signature
		if s == nil || s.State == inventory.SigUnsigned && len(s.Anomalies) == 0 {
			continue
		}
		v := sigView{Path: Clean(e.Path), State: Clean(string(s.State)), Signer: Clean(s.Signer), Issuer: Clean(s.Issuer), TeamID: Clean(s.TeamID),
			Timestamp: Clean(s.Timestamp), Digest: Clean(s.DigestAlgorithm), Trusted: s.Trusted, TrustError: Clean(s.TrustError),
			IntegrityError: Clean(s.IntegrityError), Fingerprint: Clean(s.Fingerprint), Size: e.Size}
		for _, a := range s.Anomalies {
			av := anomalyView{Kind: Clean(a.Kind), Detail: Clean(a.Detail), Offset: a.Offset, Len: a.Length, Hex: fmt.Sprintf("0x%x", a.Offset)}
			if e.Size > 0 && a.Offset >= 0 && a.Length >= 0 {
				left := min(100, 100*float64(a.Offset)/float64(e.Size))
				width := max(MinBarPercent, min(100-left, 100*float64(a.Length)/float64(e.Size)))
				av.Style = template.CSS(fmt.Sprintf("left:%.2f%%;width:%.2f%%", left, width))
			}
			v.Anomalies = append(v.Anomalies, av)
		}
		if len(v.Anomalies) == 0 && v.IntegrityError == "" && e.Path != inventory.InstallerPath {
			if i, ok := group[v.groupKey()]; ok {
				out[i].More = append(out[i].More, v.Path)
				continue
			}
			group[v.groupKey()] = len(out)
		}
		out = append(out, v)
	}
	return out
}

// Sandbox.

type sandboxView struct {
	Ran          bool
	Reason       string
	HaveBaseline bool
	Network      []eventRow
	DLLs         []eventRow
	Processes    []eventRow
	Writes       []eventRow
	// Other lists observation kinds this encoder does not know yet (persistence, say),
	// rendered generically so a newer sandbox's evidence is never dropped.
	Other []otherKind
	// ClockOffsets: some network event carries a clock offset.
	ClockOffsets bool
}

type eventRow struct {
	Cells []string
	// Mark is "new", "baseline" or "" (no baseline run to compare with).
	Mark string
}

type otherKind struct {
	Name string
	Rows [][]kv
}

// Clock-offset keys a network event may carry (the time-travel runs); read from the
// event's JSON so this encoder works before and after the field lands in inventory.
var clockOffsetKeys = []string{"clock_offset", "clock_offset_days"}

func sandbox(r *Report) *sandboxView {
	b := r.Sandbox
	v := &sandboxView{Ran: b.Ran, Reason: Clean(b.Reason), HaveBaseline: r.BaselineBehaviour != nil}
	if !b.Ran {
		return v
	}
	base := r.BaselineBehaviour
	// Without a baseline run, an observation a finding names is new; the rest unknown.
	named := map[string]bool{}
	for _, f := range r.Findings {
		named[f.Path] = true
	}
	mark := func(inBase bool, key string) string {
		switch {
		case base != nil && inBase:
			return "baseline"
		case base != nil, named[key]:
			return "new"
		}
		return ""
	}
	baseSet := func(keys func(*inventory.Behaviour) []string) map[string]bool {
		m := map[string]bool{}
		if base != nil {
			for _, k := range keys(base) {
				m[k] = true
			}
		}
		return m
	}
	dests := baseSet(func(b *inventory.Behaviour) []string {
		var ks []string
		for _, ev := range b.Network {
			ks = append(ks, rules.Destination(ev))
		}
		return ks
	})
	for _, ev := range b.Network {
		d := rules.Destination(ev)
		dest := ev.Name
		if dest == "" {
			dest = ev.Addr
		}
		detail := ev.HTTP
		if detail == "" && ev.SNI != "" {
			detail = "TLS SNI " + ev.SNI
		}
		if ev.Host != "" && ev.HTTP != "" {
			detail += " (Host " + ev.Host + ")"
		}
		port := ""
		if ev.Port != 0 {
			port = strconv.Itoa(ev.Port)
		}
		bytesCell := ""
		if ev.Bytes != 0 {
			bytesCell = strconv.Itoa(ev.Bytes)
		}
		off := clockOffset(ev)
		if off != "" {
			v.ClockOffsets = true
		}
		v.Network = append(v.Network, eventRow{Cells: []string{ev.Proto, dest, ev.Addr, port, ev.QType, detail, bytesCell, off, strconv.FormatInt(ev.MS, 10)},
			Mark: mark(dests[d], "sandbox:network/"+d)})
	}
	loads := baseSet(func(b *inventory.Behaviour) []string {
		var ks []string
		for _, l := range b.DLLLoads {
			ks = append(ks, winpath.Normalize(l.Path))
		}
		return ks
	})
	for _, l := range b.DLLLoads {
		n := winpath.Normalize(l.Path)
		v.DLLs = append(v.DLLs, eventRow{Cells: []string{l.Process, l.Path, l.Type}, Mark: mark(loads[n], "sandbox:dll/"+n)})
	}
	procs := baseSet(func(b *inventory.Behaviour) []string {
		var ks []string
		for _, p := range b.Processes {
			ks = append(ks, winpath.Normalize(p.Image))
		}
		return ks
	})
	for _, p := range b.Processes {
		n := winpath.Normalize(p.Image)
		v.Processes = append(v.Processes, eventRow{Cells: []string{p.Image, p.Command}, Mark: mark(procs[n], "sandbox:process/"+n)})
	}
	writes := baseSet(func(b *inventory.Behaviour) []string {
		var ks []string
		for _, w := range b.FileWrites {
			ks = append(ks, winpath.Normalize(w.Path))
		}
		return ks
	})
	for _, w := range b.FileWrites {
		n := winpath.Normalize(w.Path)
		v.Writes = append(v.Writes, eventRow{Cells: []string{w.Path, w.Kind}, Mark: mark(writes[n], "sandbox:file/"+n)})
	}
	v.Other = otherObservations(b)
	for _, rows := range [][]eventRow{v.Network, v.DLLs, v.Processes, v.Writes} {
		for i := range rows {
			rows[i].Cells = cleanAll(rows[i].Cells)
		}
	}
	return v
}

func cleanAll(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = Clean(s)
	}
	return out
}

func clockOffset(ev inventory.NetEvent) string {
	raw, err := json.Marshal(ev)
	if err != nil {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	return clockOffsetFrom(m)
}

// clockOffsetFrom reads the clock offset from a network event's JSON object.
func clockOffsetFrom(m map[string]any) string {
	for _, k := range clockOffsetKeys {
		switch x := m[k].(type) {
		case string:
			return x
		case float64:
			if x != 0 {
				return strconv.FormatFloat(x, 'f', -1, 64)
			}
		}
	}
	return ""
}

// knownBehaviourKeys are the behaviour fields the page renders by name.
var knownBehaviourKeys = map[string]bool{"ran": true, "reason": true, "network": true, "dll_loads": true, "processes": true, "file_writes": true}

// MaxOtherRows bounds the rows shown per unknown observation kind.
const MaxOtherRows = 10000

func otherObservations(b inventory.Behaviour) []otherKind {
	raw, err := json.Marshal(b)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return otherFrom(m)
}

// otherFrom renders the lists of a behaviour's JSON object that the page has no table for.
func otherFrom(m map[string]json.RawMessage) []otherKind {
	var out []otherKind
	for name, val := range m {
		if knownBehaviourKeys[name] {
			continue
		}
		var list []map[string]any
		if json.Unmarshal(val, &list) != nil || len(list) == 0 {
			continue
		}
		k := otherKind{Name: Clean(name)}
		for i, item := range list {
			if i == MaxOtherRows {
				break
			}
			k.Rows = append(k.Rows, evidence(item))
		}
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
