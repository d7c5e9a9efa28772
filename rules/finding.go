// Package rules turns inventories (and sandbox behaviour) into findings. Rule ids, their
// default severities and when they fire are a contract (DESIGN.md "Finding rules"); each rule
// is a small function over a candidate, its baseline, or both.
package rules

import (
	"fmt"
	"sort"
	"strings"
)

// Severity orders findings: info < low < medium < high < critical.
type Severity int

const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = []string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity parses a severity name.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want one of %s)", s, strings.Join(severityNames, ", "))
}

func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// Rule ids — contract.
const (
	SigInvalid            = "sig.invalid"
	SigPadding            = "sig.padding"
	SigRemoved            = "sig.removed"
	SigSignerChanged      = "sig.signer-changed"
	SigUntrusted          = "sig.untrusted"
	SigCertificateRenewed = "sig.certificate-renewed"
	ContentChangedSameVer = "content.changed-same-version"
	FileAddedUnsignedCode = "file.added-unsigned-code"
	SideloadSystemName    = "sideload.system-name"
	MSICustomActionAdded  = "msi.custom-action-added"
	PEImportAdded         = "pe.import-added"
	StringsEndpointAdded  = "strings.endpoint-added"
	FileAdded             = "file.added"
	FileRemoved           = "file.removed"
	FileChanged           = "file.changed"
	SandboxNetwork        = "sandbox.network"
	SandboxDLLLoad        = "sandbox.dll-load"
	SandboxFileWrite      = "sandbox.file-write"
	SandboxProcess        = "sandbox.process"
	SandboxPersistence    = "sandbox.persistence"
	MachoEntitlementAdded = "macho.entitlement-added"
	MachoDylibHijackable  = "macho.dylib-hijackable"
	BundleSealBroken      = "bundle.seal-broken"
	NotarizationMissing   = "notarization.missing"

	// Added by issue 10 (evasions of the static gate).
	ContentChangedSuspicious = "content.changed-suspicious"
	SigCoverageRegressed     = "sig.coverage-regressed"
	AnalysisIncomplete       = "analysis.incomplete"
	PEOverlay                = "pe.overlay"
	FileMoved                = "file.moved"
	MSIAutostartAdded        = "msi.autostart-added"
	MSIServiceAdded          = "msi.service-added"
	MSIOrphanCode            = "msi.orphan-code"
	MSISelfRegAdded          = "msi.selfreg-added"
	MSICOMServerAdded        = "msi.com-server-added"
	MSIPathPrepended         = "msi.path-prepended"
)

// Rule describes one rule for documentation and report formats (SARIF rule metadata).
type Rule struct {
	ID       string
	Default  Severity
	Summary  string
	FiresFor string
}

// Catalog lists every rule with its default severity, in DESIGN.md order.
var Catalog = []Rule{
	{SigInvalid, Critical, "Signature does not verify", "a signature is present but its digest does not match or it cannot be parsed"},
	{SigPadding, Critical, "Data hidden in or after the signature", "bytes (other than ≤ 7 zero bytes of alignment) follow the PKCS#7 blob inside the PE certificate table, or follow the table itself"},
	{SigRemoved, High, "Signature removed", "the baseline's file (or installer) was signed, the candidate's is not"},
	{SigSignerChanged, High, "Signer changed", "the publisher (subject organisation + common name, issuing CA; Apple team ID) is not the one the baseline had for that file"},
	{SigCertificateRenewed, Info, "Certificate renewed", "the publisher and issuing CA are the baseline's but the leaf certificate is new (serial, key, validity named)"},
	{SigUntrusted, Medium, "Signature not trusted", "the chain does not reach a trusted root at the signing (timestamp) time"},
	{ContentChangedSameVer, High, "Content changed, version did not", "a file's hash differs from the baseline while its version is identical"},
	{FileAddedUnsignedCode, Medium, "New unsigned code", "a new PE / Mach-O / script file that carries no signature"},
	{SideloadSystemName, High, "DLL named like a Windows system DLL", "a DLL shipped in an application folder under the name of a Windows system DLL"},
	{MSICustomActionAdded, High, "MSI custom action added or changed", "a CustomAction row (or its type, source, target) that the baseline did not have"},
	{PEImportAdded, Low, "New imported DLL", "an executable imports a DLL that its baseline version did not"},
	{StringsEndpointAdded, Medium, "New embedded endpoint", "a URL or host name embedded in code that the baseline's code did not contain"},
	{FileAdded, Info, "File added", "plain inventory difference"},
	{FileRemoved, Info, "File removed", "plain inventory difference"},
	{FileChanged, Info, "File changed", "plain inventory difference"},
	{SandboxNetwork, High, "New network destination", "a DNS query, connection or datagram to a destination not in the baseline behaviour or the policy allow-list"},
	{SandboxDLLLoad, High, "DLL loaded from an unexpected place", "a DLL loaded from outside the system folders that the installer did not ship, or from a path the baseline run never loaded from"},
	{SandboxFileWrite, Medium, "New file written outside the install folder", "a file written outside the install folder that the baseline run did not write"},
	{SandboxProcess, Medium, "New process", "a process started that the baseline run did not start"},
	{SandboxPersistence, High, "New autostart entry", "a registry value, service, scheduled task or Startup entry in an autostart location that the baseline run did not create"},
	{MachoEntitlementAdded, High, "Entitlement added", "a new entitlement that weakens the hardened runtime — medium for others"},
	{MachoDylibHijackable, High, "Hijackable dylib load", "a weak or @rpath dylib load that resolves to nothing inside the bundle"},
	{BundleSealBroken, Critical, "Bundle seal broken", "CodeResources does not match the bundle's files"},
	{NotarizationMissing, Medium, "Notarization ticket missing", "the baseline carried a stapled ticket, the candidate does not"},
	{ContentChangedSuspicious, High, "Changed library with suspicious signals", "a changed code file whose version went backwards, vanished or changed together with other signals (identity mismatch, new network imports or endpoints, third-party origin); severity from the combined score (scoring.go): high ≥ 3, medium 2, low 1"},
	{SigCoverageRegressed, High, "Signing coverage regressed", "every code file of the baseline was signed by a trusted publisher; a new or changed code file is unsigned, invalid, or signed (trusted or not) by a publisher the baseline did not have"},
	{AnalysisIncomplete, High, "Analysis incomplete", "a code file or nested container could not be parsed, or part of the input was skipped: the verdict is inconclusive unless a policy entry accepts it with a reason"},
	{PEOverlay, Medium, "Data appended to an unsigned PE", "an unsigned PE carries data after its last section that is not a container rollgate recognises"},
	{FileMoved, Info, "File moved", "a file paired with its baseline by MSI key, original or file name at a new install path; every content rule judges it as changed"},
	// MSI tables (rules/msi.go documents the severities without a baseline).
	{MSIAutostartAdded, High, "MSI autostart added", "the Registry table writes an autostart location (Run/RunOnce, Winlogon, IFEO Debugger, AppInit_DLLs, services, shell extensions, Active Setup), a Shortcut row lands in a Startup folder, or a custom action's command line visibly creates a scheduled task, service or Run value, which the baseline did not"},
	{MSIServiceAdded, High, "MSI service added", "a ServiceInstall row the baseline did not have (or had with another account, start type, binary or arguments)"},
	{MSIOrphanCode, Medium, "Code in an unreferenced MSI stream", "a compound-file stream that no table, cabinet reference or binary column names holds PE, Mach-O or script code"},
	{MSISelfRegAdded, High, "MSI self-registration added", "a SelfReg row for a file the baseline did not self-register: the installer runs its DllRegisterServer"},
	{MSICOMServerAdded, Medium, "COM server registration added", "a Class, TypeLib or AppId row, or a Registry row writing a CLSID's InprocServer32/LocalServer32, registers a server the baseline did not"},
	{MSIPathPrepended, High, "Install folder put first in PATH", "an Environment row puts folders before the existing PATH (or replaces it) that the baseline did not; medium for a user's PATH"},
}

// MakesInconclusive reports whether a finding means the input was not fully judged: the
// verdict must be inconclusive (exit 3), not pass or fail, unless a policy entry accepts the
// finding with a reason.
func MakesInconclusive(f Finding) bool { return f.Rule == AnalysisIncomplete }

// Default returns the default severity of a rule id.
func Default(id string) Severity {
	for _, r := range Catalog {
		if r.ID == id {
			return r.Default
		}
	}
	return Medium
}

// Finding is one rule firing on one path — contract (report JSON "findings").
type Finding struct {
	Rule     string         `json:"rule"`
	Severity Severity       `json:"severity"`
	Path     string         `json:"path"`
	Message  string         `json:"message"`
	Evidence map[string]any `json:"evidence,omitempty"`
}

// Sort orders findings by severity (highest first), then rule, then path.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Message < b.Message
	})
}
