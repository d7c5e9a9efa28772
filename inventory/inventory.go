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
	// Notes are facts about the analysis a reader must know (for example that a macOS
	// installer got static analysis only).
	Notes []string `json:"notes,omitempty"`
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
	// Error records why a fact could not be read (a malformed PE header, say) without
	// failing the whole inventory.
	Error string `json:"error,omitempty"`
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
	Slices       []string `json:"slices,omitempty"` // architectures
	InstallName  string   `json:"install_name,omitempty"`
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
