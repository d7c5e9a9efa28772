// Package inventory holds the one type that flows through rollgate end to end: unpack fills an
// Inventory, verify annotates its entries, baselines store it, diff compares two of them and the
// report encoders print it. It depends on nothing else in rollgate.
package inventory

import (
	"sort"
)

// Schema is the version of the stored inventory and baseline JSON.
const Schema = "rollgate.inventory/v1"

// InstallerPath is the inventory path of the installer file itself, so that the installer's own
// signature is diffed by the same rules as every file inside it.
const InstallerPath = "(installer)"

// Kind classifies an entry's content.
type Kind string

const (
	KindPE      Kind = "pe"
	KindMachO   Kind = "macho"
	KindScript  Kind = "script"
	KindArchive Kind = "archive"
	KindData    Kind = "data"
)

// IsCode reports whether entries of this kind run.
func (k Kind) IsCode() bool { return k == KindPE || k == KindMachO || k == KindScript }

// SigState is the outcome of a signature check.
type SigState string

const (
	SigSigned   SigState = "signed"
	SigUnsigned SigState = "unsigned"
	SigInvalid  SigState = "invalid"
	SigAdhoc    SigState = "adhoc"
	// SigNotChecked: the analyzer was built without verifiers (analyze.Options
	// SkipSignaturesUnsafe). It is never read as unsigned.
	SigNotChecked SigState = "not-checked"
)

// Inventory is everything rollgate knows statically about one installer.
type Inventory struct {
	Schema  string  `json:"schema"`
	Format  string  `json:"format"` // msi, dmg, pkg, pe, macho, cab, ...
	Product Product `json:"product"`
	// Entries holds the installer itself (Path == InstallerPath) and every file inside it,
	// sorted by Path.
	Entries       []Entry        `json:"entries"`
	CustomActions []CustomAction `json:"custom_actions,omitempty"`
	Shortcuts     []Shortcut     `json:"shortcuts,omitempty"`
	// MSI holds the MSI tables beyond File that write the registry, install services, copy
	// files or register code. Non-nil (possibly empty) whenever the tables were read, so a
	// baseline recorded before they were read (nil) is told apart from one without rows.
	MSI *MSITables `json:"msi,omitempty"`
	// Notes are facts about the analysis a reader must know (for example that a macOS
	// installer got static analysis only).
	Notes []string `json:"notes,omitempty"`
	// Skipped lists parts of the input a reader or analyzer did not look at (a stream it
	// cannot place, a payload it cannot open). Each one is an analysis.incomplete finding:
	// a gap must never read as a pass.
	Skipped []Skip `json:"skipped,omitempty"`
	// FileKeys carries MSI File and Component keys by install path from the MSI reader to
	// the entries (analyze moves them onto Entry.MSIFile/MSIComponent); not serialised.
	FileKeys map[string]FileKey `json:"-"`
}

// FileKey is an MSI File table key and the Component that installs it.
type FileKey struct{ File, Component string }

// Skip is one part of the input that was not analysed, and why.
type Skip struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Product identifies what an installer installs; Identity keys baselines.
type Product struct {
	// Identity is "msi-upgrade:{GUID}", "msi-name:NAME", "bundle:ID" or "pkg:ID".
	Identity     string `json:"identity"`
	Name         string `json:"name,omitempty"`
	Version      string `json:"version,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	UpgradeCode  string `json:"upgrade_code,omitempty"`
	ProductCode  string `json:"product_code,omitempty"`
	BundleID     string `json:"bundle_id,omitempty"`
}

// Entry is one file: the installer, a file it installs, or a file nested further inside.
type Entry struct {
	Path           string `json:"path"`
	Size           int64  `json:"size"`
	SHA256         string `json:"sha256"`
	Kind           Kind   `json:"kind"`
	Version        string `json:"version,omitempty"`
	ProductVersion string `json:"product_version,omitempty"`
	Company        string `json:"company,omitempty"`
	ProductName    string `json:"product_name,omitempty"`
	OriginalName   string `json:"original_name,omitempty"`
	Machine        string `json:"machine,omitempty"`
	// Imports are imported DLL names (PE, lower-cased) or loaded dylib paths (Mach-O).
	Imports []string `json:"imports,omitempty"`
	// Endpoints are URLs and host names found in the file's bytes (code only).
	Endpoints []string `json:"endpoints,omitempty"`
	// Container names the format when this entry is itself unpacked further (cab, asar, pkg...).
	Container string     `json:"container,omitempty"`
	Signature *Signature `json:"signature,omitempty"`
	MachO     *MachO     `json:"macho,omitempty"`
	// CopyOf is the inventory path of the file whose bytes this entry is (an MSI
	// DuplicateFile or MoveFile row copies an installed file here); its facts are that file's.
	CopyOf string `json:"copy_of,omitempty"`
	// Error records why a fact could not be read (a malformed PE header, say) without
	// failing the whole inventory.
	Error string `json:"error,omitempty"`
	// MSIFile and MSIComponent are the File and Component table keys of the row that
	// installs this file (MSI only): they identify a file across releases even when its
	// install path changes.
	MSIFile      string `json:"msi_file,omitempty"`
	MSIComponent string `json:"msi_component,omitempty"`
	// Overlay describes data appended after a PE's last section (the certificate table of a
	// signed PE is not an overlay).
	Overlay *Overlay `json:"overlay,omitempty"`
}

// Overlay is data after the end of a PE image's last section, before any certificate table.
type Overlay struct {
	Offset int64 `json:"offset"`
	Size   int64 `json:"size"`
	// Format names a container the overlay starts with ("msi" for a compound file, "cab",
	// "zip", "7z"); empty when it is not one rollgate recognises.
	Format string `json:"format,omitempty"`
	// StubSHA256 is the SHA-256 of the bytes before a recognised container overlay: the
	// launcher stub that runs it, whose version resource is the stub's own.
	StubSHA256 string `json:"stub_sha256,omitempty"`
}

// Signature is a code signature's integrity and trust, both always computed.
type Signature struct {
	State  SigState `json:"state"`
	Signer string   `json:"signer,omitempty"` // leaf subject, RFC 2253
	Issuer string   `json:"issuer,omitempty"` // leaf issuer, RFC 2253
	TeamID string   `json:"team_id"`
	// Trusted: the chain reaches a trusted root at the signing (timestamp) time.
	Trusted bool `json:"trusted"`
	// Fingerprint is the SHA-256 of the leaf certificate; PublicKey the SHA-256 of its SPKI.
	Fingerprint string `json:"fingerprint,omitempty"`
	PublicKey   string `json:"public_key,omitempty"`
	// Serial (hex), NotBefore and NotAfter (RFC 3339) of the leaf: what a renewal changes.
	Serial    string `json:"serial,omitempty"`
	NotBefore string `json:"not_before,omitempty"`
	NotAfter  string `json:"not_after,omitempty"`
	// Timestamp is the countersignature's signing time (RFC 3339), if any.
	Timestamp       string `json:"timestamp,omitempty"`
	DigestAlgorithm string `json:"digest_algorithm,omitempty"`
	// IntegrityError says why the digest or the signature did not verify; empty when it did.
	IntegrityError string `json:"integrity_error,omitempty"`
	// TrustError says why the chain did not verify; empty when Trusted.
	TrustError string    `json:"trust_error,omitempty"`
	Anomalies  []Anomaly `json:"anomalies,omitempty"`
	// Source says where in the file this signature sits when there are several, e.g.
	// "certificate entry 1" or "certificate entry 0, nested 1" (Authenticode).
	Source string `json:"source,omitempty"`
	// Nested lists the file's further signatures (more WIN_CERTIFICATE entries, signatures
	// nested in an unauthenticated attribute), each verified on its own; the fields above
	// describe the primary one, or the first trusted one when the primary is not.
	Nested []Signature `json:"nested,omitempty"`
}

// Anomaly is a structural oddity of a signature, such as bytes hidden after the PKCS#7 blob.
type Anomaly struct {
	Kind   string `json:"kind"` // e.g. "padding-after-pkcs7", "data-after-cert-table"
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
	Detail string `json:"detail,omitempty"`
}

// Anomaly kinds.
const (
	AnomalyPaddingAfterPKCS7 = "padding-after-pkcs7"
	AnomalyDataAfterTable    = "data-after-cert-table"
	// AnomalyUnauthenticatedData: bytes in the part of a PKCS#7 signature that no signature
	// covers (certificate and CRL sets, digest algorithm set, unauthenticated attributes)
	// that are not well-formed DER of a known type, or a bundled certificate altered.
	AnomalyUnauthenticatedData = "unauthenticated-data"
	// AnomalyUnhashedGap: bytes between the PE headers and sections, or between sections,
	// that the Authenticode digest leaves out.
	AnomalyUnhashedGap = "unhashed-gap"
)

// MachO holds facts specific to Mach-O files and app bundles.
type MachO struct {
	Slices      []string `json:"slices,omitempty"` // architectures
	InstallName string   `json:"install_name,omitempty"`
	// Identifier is the code signature's identifier (the primary CodeDirectory's, as
	// codesign prints it), empty when unsigned; a bare tool's product is named by it.
	Identifier   string   `json:"identifier,omitempty"`
	WeakDylibs   []string `json:"weak_dylibs,omitempty"`
	RPaths       []string `json:"rpaths,omitempty"`
	Entitlements []string `json:"entitlements,omitempty"` // keys whose value is true
	CodeFlags    []string `json:"code_flags,omitempty"`
	Notarized    bool     `json:"notarized,omitempty"` // a stapled ticket is present
	SealBroken   []string `json:"seal_broken,omitempty"`
}

// CustomAction is an MSI CustomAction row.
type CustomAction struct {
	Action string `json:"action"`
	Type   int    `json:"type"`
	Source string `json:"source,omitempty"`
	Target string `json:"target,omitempty"`
}

// Shortcut is an MSI Shortcut row resolved to install paths.
type Shortcut struct {
	Name      string `json:"name"`
	Directory string `json:"directory,omitempty"`
	Target    string `json:"target"` // install path of the target file, or a feature
	Arguments string `json:"arguments,omitempty"`
}

// MSITables are MSI table rows resolved to install paths where they name files or folders
// (formatted "[#file]" / "[DIR]" references expanded; anything else kept as written).
type MSITables struct {
	Registry        []RegistryRow    `json:"registry,omitempty"`
	Services        []Service        `json:"services,omitempty"`
	ServiceControls []ServiceControl `json:"service_controls,omitempty"`
	// FileCopies are DuplicateFile and MoveFile rows.
	FileCopies  []FileCopy   `json:"file_copies,omitempty"`
	IniFiles    []IniEdit    `json:"ini_files,omitempty"`
	RemoveFiles []RemoveFile `json:"remove_files,omitempty"`
	SelfReg     []SelfReg    `json:"self_reg,omitempty"`
	// COMServers are the server registrations of the Class, TypeLib and AppId tables.
	COMServers  []COMServer  `json:"com_servers,omitempty"`
	Environment []EnvVar     `json:"environment,omitempty"`
	Fonts       []Font       `json:"fonts,omitempty"`
	ODBCDrivers []ODBCDriver `json:"odbc_drivers,omitempty"`
	// OrphanStreams are the inventory paths of compound-file streams nothing references.
	OrphanStreams []string `json:"orphan_streams,omitempty"`
}

// RegistryRow is a Registry table row. Root: -1 HKLM for a per-machine and HKCU for a
// per-user install, 0 HKCR, 1 HKCU, 2 HKLM, 3 HKU.
type RegistryRow struct {
	ID        string `json:"id"`
	Root      int    `json:"root"`
	Key       string `json:"key"`
	Name      string `json:"name,omitempty"`
	Value     string `json:"value,omitempty"`
	Component string `json:"component,omitempty"`
}

// Service is a ServiceInstall row; Binary is the install path of the file it runs.
// ServiceType 0x10 own process, 0x20 shared, 0x1 kernel driver, 0x2 file-system driver;
// StartType 0 boot, 1 system, 2 auto, 3 demand, 4 disabled; an empty Account is LocalSystem.
type Service struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	DisplayName  string `json:"display_name,omitempty"`
	ServiceType  int    `json:"service_type"`
	StartType    int    `json:"start_type"`
	ErrorControl int    `json:"error_control"`
	Account      string `json:"account,omitempty"`
	Arguments    string `json:"arguments,omitempty"`
	Dependencies string `json:"dependencies,omitempty"`
	Component    string `json:"component,omitempty"`
	Binary       string `json:"binary,omitempty"`
}

// ServiceControl is a ServiceControl row (Event bits: 1 start, 2 stop, 8 delete on install;
// 16, 32, 128 the same on uninstall).
type ServiceControl struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Event     int    `json:"event"`
	Arguments string `json:"arguments,omitempty"`
	Component string `json:"component,omitempty"`
}

// FileCopy is a DuplicateFile or MoveFile row: Source is the install path of the package's
// file (or "[FOLDER]name" for a file already on the machine), Destination where it lands.
type FileCopy struct {
	Table       string `json:"table"`
	ID          string `json:"id"`
	Source      string `json:"source"`
	Destination string `json:"destination,omitempty"`
	Move        bool   `json:"move,omitempty"`
	Component   string `json:"component,omitempty"`
}

// IniEdit is an IniFile row.
type IniEdit struct {
	ID        string `json:"id"`
	File      string `json:"file"`
	Section   string `json:"section"`
	Key       string `json:"key"`
	Value     string `json:"value,omitempty"`
	Action    int    `json:"action"`
	Component string `json:"component,omitempty"`
}

// RemoveFile is a RemoveFile row (InstallMode 1 install, 2 uninstall, 3 both).
type RemoveFile struct {
	ID          string `json:"id"`
	Folder      string `json:"folder"`
	FileName    string `json:"file_name,omitempty"`
	InstallMode int    `json:"install_mode"`
	Component   string `json:"component,omitempty"`
}

// SelfReg is a SelfReg row: the installer calls the file's DllRegisterServer.
type SelfReg struct {
	FileKey string `json:"file_key"`
	File    string `json:"file"`
	Cost    int    `json:"cost,omitempty"`
}

// COMServer is a Class, TypeLib or AppId row's server registration.
type COMServer struct {
	Table     string `json:"table"`
	ID        string `json:"id"`
	Context   string `json:"context,omitempty"`
	Server    string `json:"server,omitempty"`
	Component string `json:"component,omitempty"`
}

// EnvVar is an Environment row; Name keeps its action prefix ('=', '+', '-', '!', '*').
type EnvVar struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Value     string `json:"value,omitempty"`
	Component string `json:"component,omitempty"`
}

// Font is a Font row.
type Font struct {
	File  string `json:"file"`
	Title string `json:"title,omitempty"`
}

// ODBCDriver is an ODBCDriver row with its driver and setup DLLs' install paths.
type ODBCDriver struct {
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
	File        string `json:"file"`
	Setup       string `json:"setup,omitempty"`
	Component   string `json:"component,omitempty"`
}

// Sort puts entries and tables into their canonical order.
func (inv *Inventory) Sort() {
	sort.Slice(inv.Entries, func(i, j int) bool { return inv.Entries[i].Path < inv.Entries[j].Path })
	sort.Slice(inv.CustomActions, func(i, j int) bool { return inv.CustomActions[i].Action < inv.CustomActions[j].Action })
	sort.Slice(inv.Shortcuts, func(i, j int) bool {
		a, b := inv.Shortcuts[i], inv.Shortcuts[j]
		if a.Target != b.Target {
			return a.Target < b.Target
		}
		return a.Name < b.Name
	})
	for i := range inv.Entries {
		sort.Strings(inv.Entries[i].Imports)
		sort.Strings(inv.Entries[i].Endpoints)
	}
}

// Lookup returns the entry at path.
func (inv *Inventory) Lookup(path string) (*Entry, bool) {
	i := sort.Search(len(inv.Entries), func(i int) bool { return inv.Entries[i].Path >= path })
	if i < len(inv.Entries) && inv.Entries[i].Path == path {
		return &inv.Entries[i], true
	}
	for i := range inv.Entries { // unsorted inventory
		if inv.Entries[i].Path == path {
			return &inv.Entries[i], true
		}
	}
	return nil, false
}
