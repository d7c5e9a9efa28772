package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/rollgate/rollgate/internal/version"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/rules"
)

// SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format, the errata-01 schema that
// GitHub code scanning accepts; vendored under testdata/schemas and checked by the tests).
// Plain structs: the subset rollgate emits is small and a dependency would not make it more
// correct than the schema test does.
//
// One run for one or several installers (GitHub code scanning refuses several runs of one
// tool and category in an upload). Locations never carry an absolute path of the machine
// that ran rollgate (SARIF1004): each installer's folder is an originalUriBaseIds entry
// (INSTALLER_DIR, INSTALLER_DIR_2, … one per distinct folder) and the installer's URI is its
// file name relative to it. A relative folder ("dist/") is itself relative to %SRCROOT%, the
// working directory (the repository checkout in CI), whose absolute URI is left out; an
// absolute folder ($RUNNER_TEMP/…) is described but has no uri. driver.version is the
// numeric core of rollgate's version and driver.semanticVersion its SemVer form.
const (
	SARIFVersion = "2.1.0"
	SARIFSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	// InformationURI is the tool's home page in SARIF and CycloneDX output.
	InformationURI = "https://github.com/rollgate/rollgate"
	// MaxSARIFResults is GitHub code scanning's limit on results per run; a report with more
	// keeps its most severe ones and says how many it left out.
	MaxSARIFResults = 25000
	// FingerprintKey names rollgate's partial fingerprint; bump the suffix if the recipe changes.
	FingerprintKey = "rollgate/v1"
)

// Options carries what the encoders need beyond the report itself.
type Options struct {
	// Version is rollgate's version, written as the tool version; empty means
	// version.String() (stamped at build, else module information). SARIF and CycloneDX write its numeric core as the
	// version and its SemVer form as the semantic version (see package version).
	Version string
	// Time is when the run started, written as JUnit's required timestamp; zero writes the
	// Unix epoch so output stays reproducible unless the caller asks for the wall clock.
	Time time.Time
	// Hostname is JUnit's required hostname; empty writes DefaultHostname.
	Hostname string
	// Inventory is the candidate's inventory, used for file hashes and kinds when the report
	// does not carry one (verify without --include-inventory). May be nil.
	Inventory *inventory.Inventory
	// Batch asks for the batch form even for one report (a folder holding one installer).
	Batch bool
	// FailOn is the batch's gate, written in the batch summary; nil takes the first report's.
	FailOn *rules.Severity
}

func (o Options) version() string {
	if o.Version != "" {
		return o.Version
	}
	return version.String()
}

func (o Options) inventory(r *Report) *inventory.Inventory {
	if r.Inventory != nil {
		return r.Inventory
	}
	return o.Inventory
}

// SecuritySeverity maps a severity to GitHub's security-severity score (a CVSS-like 0.0–10.0
// string: over 9.0 critical, 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low).
func SecuritySeverity(s rules.Severity) string {
	switch s {
	case rules.Critical:
		return "9.5"
	case rules.High:
		return "8.0"
	case rules.Medium:
		return "5.5"
	case rules.Low:
		return "3.0"
	default:
		return "0.0"
	}
}

// SARIFLevel maps a severity to a SARIF result level.
func SARIFLevel(s rules.Severity) string {
	switch {
	case s >= rules.High:
		return "error"
	case s == rules.Medium:
		return "warning"
	default:
		return "note"
	}
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                        `json:"tool"`
	Invocations        []sarifInvocation                `json:"invocations"`
	OriginalURIBaseIDs map[string]sarifArtifactLocation `json:"originalUriBaseIds,omitempty"`
	Artifacts          []sarifArtifact                  `json:"artifacts,omitempty"`
	Results            []sarifResult                    `json:"results"`
	Properties         map[string]any                   `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name            string      `json:"name"`
	Version         string      `json:"version"`
	SemanticVersion string      `json:"semanticVersion"`
	InformationURI  string      `json:"informationUri"`
	Rules           []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifHelp      `json:"help"`
	HelpURI              string         `json:"helpUri,omitempty"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	Properties                 map[string]any      `json:"properties,omitempty"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level   string    `json:"level"`
	Message sarifText `json:"message"`
}

type sarifArtifact struct {
	Location sarifArtifactLocation `json:"location"`
	Hashes   map[string]string     `json:"hashes,omitempty"`
}

type sarifArtifactLocation struct {
	URI         string     `json:"uri,omitempty"`
	URIBaseID   string     `json:"uriBaseId,omitempty"`
	Index       *int       `json:"index,omitempty"`
	Description *sarifText `json:"description,omitempty"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	Message          *sarifText     `json:"message,omitempty"`
	Properties       map[string]any `json:"properties,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           sarifRegion           `json:"region"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification"`
}

// ArtifactURI turns a relative path into a SARIF URI reference: slashes for separators,
// everything a URI cannot hold percent-encoded, and ':' too (in a first segment it would read
// as a scheme).
func ArtifactURI(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	return strings.ReplaceAll((&url.URL{Path: p}).EscapedPath(), ":", "%3A")
}

// Fingerprint is the stable identity of a finding across runs: the rule, the inner path and
// the file's content hash, so an alert survives a re-run and a changed file is a new alert.
func Fingerprint(rule, innerPath, sha string) string {
	h := sha256.New()
	for _, s := range []string{rule, innerPath, sha} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// findingHash is the content hash a finding is about: the evidence's sha256, else the
// inventory entry's.
func findingHash(f rules.Finding, inv *inventory.Inventory) string {
	if s, ok := f.Evidence["sha256"].(string); ok && s != "" {
		return s
	}
	if inv != nil {
		if e, ok := inv.Lookup(f.Path); ok {
			return e.SHA256
		}
	}
	return ""
}

// logicalKind says whether an inner path is code (a module) or anything else (a resource).
func logicalKind(p string, inv *inventory.Inventory) string {
	if inv != nil {
		if e, ok := inv.Lookup(p); ok {
			if e.Kind.IsCode() {
				return "module"
			}
			return "resource"
		}
	}
	switch strings.ToLower(path.Ext(p)) {
	case ".dll", ".exe", ".sys", ".ocx", ".dylib", ".so", ".cpl", ".scr":
		return "module"
	}
	return "resource"
}

// SARIF base ids: the installers' folders, and the working directory relative ones hang off.
const (
	SARIFInstallerDir = "INSTALLER_DIR"
	SARIFSourceRoot   = "%SRCROOT%"
)

// isAbsPath reports whether a slash-separated path is absolute on any system rollgate reads
// paths from: "/x", "//server/share", "C:/x".
func isAbsPath(p string) bool {
	if strings.HasPrefix(p, "/") {
		return true
	}
	return len(p) >= 3 && p[1] == ':' && p[2] == '/' && (p[0]|0x20 >= 'a' && p[0]|0x20 <= 'z')
}

// installerLocation splits an installer path as given on the command line into its folder's
// base entry and the file's URI relative to that folder.
func installerLocation(p string) (dir string, base sarifArtifactLocation, file string) {
	p = strings.ReplaceAll(p, `\`, "/")
	dir, name := path.Split(p)
	if name == "" {
		name = "installer"
	}
	switch {
	case isAbsPath(dir):
		base = sarifArtifactLocation{Description: &sarifText{Text: "The folder the installer was read from: an absolute path on the machine that ran rollgate, left out of the report."}}
	case dir == "":
		dir = "./"
		base = sarifArtifactLocation{URI: "./", URIBaseID: SARIFSourceRoot}
	default:
		base = sarifArtifactLocation{URI: ArtifactURI(dir), URIBaseID: SARIFSourceRoot}
	}
	return dir, base, ArtifactURI(name)
}

// WriteSARIF encodes r as a SARIF 2.1.0 log.
func WriteSARIF(w io.Writer, r *Report, opt Options) error {
	return WriteSARIFWith(w, opt, r)
}

// WriteSARIFWith encodes one or more reports as a SARIF 2.1.0 log with one run: an artifact
// and an invocation per installer (in argument order), each result located in its
// installer. opt.Inventory is consulted only for a single report.
func WriteSARIFWith(w io.Writer, opt Options, reports ...*Report) error {
	ruleIndex := map[string]int{}
	v := opt.version()
	driver := sarifDriver{Name: "rollgate", Version: version.Numeric(v), SemanticVersion: version.Semantic(v),
		InformationURI: InformationURI, Rules: []sarifRule{}}
	for i, rule := range rules.Catalog {
		ruleIndex[rule.ID] = i
		driver.Rules = append(driver.Rules, sarifRuleFor(rule))
	}
	run := sarifRun{
		Tool:               sarifTool{Driver: driver},
		Invocations:        []sarifInvocation{},
		OriginalURIBaseIDs: map[string]sarifArtifactLocation{},
		Results:            []sarifResult{},
		Properties:         map[string]any{},
	}
	baseFor := map[string]string{} // folder → base id
	var verdicts []map[string]any
	for ai, r := range reports {
		inv := r.Inventory
		if inv == nil && len(reports) == 1 {
			inv = opt.Inventory
		}
		dir, base, uri := installerLocation(r.Installer.Path)
		id, ok := baseFor[dir]
		if !ok {
			id = SARIFInstallerDir
			if n := len(baseFor); n > 0 {
				id = fmt.Sprintf("%s_%d", SARIFInstallerDir, n+1)
			}
			baseFor[dir] = id
			run.OriginalURIBaseIDs[id] = base
			if base.URIBaseID == SARIFSourceRoot {
				run.OriginalURIBaseIDs[SARIFSourceRoot] = sarifArtifactLocation{Description: &sarifText{Text: "The working directory rollgate ran in (in CI, the repository checkout)."}}
			}
		}
		art := sarifArtifact{Location: sarifArtifactLocation{URI: uri, URIBaseID: id}}
		if r.Installer.SHA256 != "" {
			art.Hashes = map[string]string{"sha-256": r.Installer.SHA256}
		}
		run.Artifacts = append(run.Artifacts, art)
		inv0 := sarifInvocation{ExecutionSuccessful: r.Verdict != Inconclusive,
			Properties: map[string]any{"rollgate/installer": uri, "rollgate/verdict": r.Verdict}}
		if r.Error != "" {
			inv0.ToolExecutionNotifications = []sarifNotification{{Level: "error", Message: sarifText{Text: r.Error}}}
		}
		run.Invocations = append(run.Invocations, inv0)
		// The artifact's relative URI, never the path as given, which may be the runner's.
		verdicts = append(verdicts, map[string]any{"installer": uri, "artifact": ai, "verdict": r.Verdict, "fail-on": r.FailOn.String()})

		index := ai
		result := func(f rules.Finding) sarifResult {
			idx, ok := ruleIndex[f.Rule]
			if !ok {
				idx = -1 // a rule the catalog lacks: still reported, without an index
			}
			name := path.Base(f.Path)
			res := sarifResult{
				RuleID:    f.Rule,
				RuleIndex: idx,
				Level:     SARIFLevel(f.Severity),
				Message:   sarifText{Text: f.Path + ": " + f.Message},
				Locations: []sarifLocation{{
					PhysicalLocation: sarifPhysical{
						ArtifactLocation: sarifArtifactLocation{URI: uri, URIBaseID: id, Index: &index},
						Region:           sarifRegion{StartLine: 1},
					},
					LogicalLocations: []sarifLogical{{Name: name, FullyQualifiedName: f.Path, Kind: logicalKind(f.Path, inv)}},
				}},
				PartialFingerprints: map[string]string{FingerprintKey: Fingerprint(f.Rule, f.Path, findingHash(f, inv))},
				Properties:          map[string]any{"severity": f.Severity.String(), "security-severity": SecuritySeverity(f.Severity)},
			}
			if f.Path == "" {
				res.Locations[0].LogicalLocations = nil
				res.Message.Text = f.Message
			}
			return res
		}
		for _, f := range r.Findings {
			run.Results = append(run.Results, result(f))
		}
		for _, s := range r.Suppressed {
			res := result(s.Finding)
			just := s.Allow.Reason
			if s.Allow.Ticket != "" {
				just += " (" + s.Allow.Ticket + ")"
			}
			if s.Allow.Expires != "" {
				just += fmt.Sprintf(" [expires %s]", s.Allow.Expires)
			}
			res.Suppressions = []sarifSuppression{{Kind: "external", Justification: just}}
			run.Results = append(run.Results, res)
		}
	}
	if len(reports) == 1 {
		run.Properties["rollgate/verdict"] = reports[0].Verdict
		run.Properties["rollgate/fail-on"] = reports[0].FailOn.String()
	} else {
		run.Properties["rollgate/installers"] = verdicts
	}
	if n := len(run.Results); n > MaxSARIFResults {
		// Each report's findings come sorted by severity, suppressed ones last; with several
		// installers the cut keeps the most severe overall.
		if len(reports) > 1 {
			sortResultsBySeverity(run.Results)
		}
		run.Results = run.Results[:MaxSARIFResults]
		run.Properties["rollgate/results-omitted"] = n - MaxSARIFResults
	}
	return writeIndentedJSON(w, sarifLog{Schema: SARIFSchema, Version: SARIFVersion, Runs: []sarifRun{run}})
}

// sortResultsBySeverity orders results most severe first, unsuppressed before suppressed,
// keeping the order within a rank.
func sortResultsBySeverity(rs []sarifResult) {
	rank := func(r sarifResult) int {
		sev, _ := rules.ParseSeverity(fmt.Sprint(r.Properties["severity"]))
		k := int(sev) * 2
		if len(r.Suppressions) == 0 {
			k++
		}
		return -k
	}
	sort.SliceStable(rs, func(i, j int) bool { return rank(rs[i]) < rank(rs[j]) })
}

func sarifRuleFor(rule rules.Rule) sarifRule {
	fires := "Fires when " + rule.FiresFor + "."
	md := fmt.Sprintf("**%s** (`%s`, default severity %s)\n\nFires when %s.\n\nSuppress a reviewed finding with an `allow` entry in `rollgate.yaml` (rule, path or sha256, reason, expiry).",
		rule.Summary, rule.ID, rule.Default, rule.FiresFor)
	return sarifRule{
		ID:                   rule.ID,
		Name:                 ruleName(rule.ID),
		ShortDescription:     sarifText{Text: rule.Summary},
		FullDescription:      sarifText{Text: fires},
		Help:                 sarifHelp{Text: rule.Summary + ". " + fires, Markdown: md},
		HelpURI:              InformationURI + "#finding-rules",
		DefaultConfiguration: sarifConfig{Level: SARIFLevel(rule.Default)},
		Properties: map[string]any{
			"security-severity": SecuritySeverity(rule.Default),
			"tags":              []string{"security", "supply-chain", strings.SplitN(rule.ID, ".", 2)[0]},
			"precision":         "high",
		},
	}
}

// ruleName turns "sig.signer-changed" into "SigSignerChanged" (SARIF's rule name is an
// identifier-like, human-readable name).
func ruleName(id string) string {
	var b strings.Builder
	up := true
	for _, r := range id {
		if r == '.' || r == '-' || r == '_' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

// writeIndentedJSON writes v as two-space-indented JSON with HTML characters unescaped.
func writeIndentedJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}
