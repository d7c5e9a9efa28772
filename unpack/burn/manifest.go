package burn

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/cab"
	"github.com/rollgate/rollgate/unpack/fstree"
)

// Manifest is the part of the bundle manifest (<BurnManifest>, WiX 3 namespace
// http://schemas.microsoft.com/wix/2008/Burn, WiX 4 http://wixtoolset.org/schemas/v4/2008/Burn;
// elements are matched by local name) rollgate reads: the payloads and containers, the
// identity and the package chain.
type Manifest struct {
	UX             []Payload       `xml:"UX>Payload"`
	Containers     []ManContainer  `xml:"Container"`
	Payloads       []Payload       `xml:"Payload"`
	RelatedBundles []RelatedBundle `xml:"RelatedBundle"`
	Registration   Registration    `xml:"Registration"`
	Chain          Chain           `xml:"Chain"`
}

// Payload is a <Payload> (payload.cpp).
type Payload struct {
	ID          string `xml:"Id,attr"`
	FilePath    string `xml:"FilePath,attr"`
	FileSize    string `xml:"FileSize,attr"`
	Hash        string `xml:"Hash,attr"`
	Packaging   string `xml:"Packaging,attr"` // embedded, external, download
	SourcePath  string `xml:"SourcePath,attr"`
	Container   string `xml:"Container,attr"`
	DownloadURL string `xml:"DownloadUrl,attr"`
	// LayoutOnly payloads are only copied by a /layout run, never installed, unless a chain
	// package references them (the engine then caches and installs them all the same).
	LayoutOnly string `xml:"LayoutOnly,attr"`
}

// ManContainer is a <Container> (container.cpp).
type ManContainer struct {
	ID            string `xml:"Id,attr"`
	FilePath      string `xml:"FilePath,attr"`
	Attached      string `xml:"Attached,attr"`
	AttachedIndex int    `xml:"AttachedIndex,attr"`
	Primary       string `xml:"Primary,attr"`
	DownloadURL   string `xml:"DownloadUrl,attr"`
}

// RelatedBundle is a <RelatedBundle>: Action "Upgrade" names the bundle's upgrade code.
// WiX 3 and 4 spell the code Id, WiX 5 Code.
type RelatedBundle struct {
	ID     string `xml:"Id,attr"`
	Code   string `xml:"Code,attr"`
	Action string `xml:"Action,attr"`
}

// Registration is <Registration> with its <Arp> (registration.cpp).
type Registration struct {
	ID             string `xml:"Id,attr"`
	Code           string `xml:"Code,attr"`
	Version        string `xml:"Version,attr"`
	ProviderKey    string `xml:"ProviderKey,attr"`
	ExecutableName string `xml:"ExecutableName,attr"`
	PerMachine     string `xml:"PerMachine,attr"`
	Tag            string `xml:"Tag,attr"`
	Arp            struct {
		DisplayName    string `xml:"DisplayName,attr"`
		DisplayVersion string `xml:"DisplayVersion,attr"`
		Publisher      string `xml:"Publisher,attr"`
	} `xml:"Arp"`
}

// Chain is the ordered list of packages the engine installs (package.cpp).
type Chain struct {
	Packages []Package `xml:",any"`
}

// Package is one package of the chain: <ExePackage>, <MsiPackage>, <MspPackage>,
// <MsuPackage> or <BundlePackage>.
type Package struct {
	XMLName            xml.Name
	ID                 string        `xml:"Id,attr"`
	InstallCondition   string        `xml:"InstallCondition,attr"`
	DetectCondition    string        `xml:"DetectCondition,attr"`
	InstallArguments   string        `xml:"InstallArguments,attr"`
	RepairArguments    string        `xml:"RepairArguments,attr"`
	UninstallArguments string        `xml:"UninstallArguments,attr"`
	Protocol           string        `xml:"Protocol,attr"`
	PerMachine         string        `xml:"PerMachine,attr"`
	Payloads           []PayloadRef  `xml:"PayloadRef"`
	CommandLines       []CommandLine `xml:"CommandLine"`
	Properties         []MsiProperty `xml:"MsiProperty"`
	// SlipstreamMsps are the patches the engine applies with an MsiPackage (PATCH=).
	SlipstreamMsps []SlipstreamMsp `xml:"SlipstreamMsp"`
	PatchCode      string          `xml:"PatchCode,attr"` // an MspPackage's patch code
}

// SlipstreamMsp names an MspPackage the engine applies together with an MsiPackage.
type SlipstreamMsp struct {
	ID string `xml:"Id,attr"`
}

// Kind is the package element's name: "ExePackage", "MsiPackage", ...
func (p Package) Kind() string { return p.XMLName.Local }

// PayloadRef names one payload of a package; the first is the package itself.
type PayloadRef struct {
	ID string `xml:"Id,attr"`
}

// CommandLine is an ExePackage's conditional extra argument.
type CommandLine struct {
	InstallArgument   string `xml:"InstallArgument,attr"`
	UninstallArgument string `xml:"UninstallArgument,attr"`
	RepairArgument    string `xml:"RepairArgument,attr"`
	Condition         string `xml:"Condition,attr"`
}

// MsiProperty is a property the engine passes to msiexec for an MsiPackage.
type MsiProperty struct {
	ID    string `xml:"Id,attr"`
	Value string `xml:"Value,attr"`
}

// UpgradeCode is the bundle's upgrade code: the Id (Code) of the RelatedBundle whose Action
// is Upgrade, upper-cased; empty when there is none.
func (m *Manifest) UpgradeCode() string {
	for _, rb := range m.RelatedBundles {
		if strings.EqualFold(rb.Action, "Upgrade") {
			return strings.ToUpper(strings.TrimSpace(orElse(rb.ID, rb.Code)))
		}
	}
	return ""
}

// PayloadPath returns the exposed path of a payload id ("" when it is not carried).
func (r *Reader) PayloadPath(id string) string {
	for _, f := range r.files {
		if f.PayloadID == id {
			return f.Path
		}
	}
	return ""
}

func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// manifestName is the UX container's file holding the manifest (section.cpp
// MANIFEST_CABINET_TOKEN).
const manifestName = "0"

func (r *Reader) readManifest() error {
	var mf *cab.File
	for _, f := range r.cabs[0].Files() {
		if f.RawName == manifestName {
			if mf != nil {
				return errs.Format("UX container", -1, "two files named %q", manifestName)
			}
			mf = f
		}
	}
	if mf == nil {
		return errs.Format("UX container", r.Section.Containers[0].Offset, "no manifest (file %q)", manifestName)
	}
	if mf.Size > MaxManifestBytes {
		return errs.Limit("(manifest)", -1, "manifest of %d bytes (limit %d)", mf.Size, MaxManifestBytes)
	}
	rc, err := mf.Open()
	if err != nil {
		return fmt.Errorf("burn: reading the manifest: %w", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(fstree.ExactReader(rc, mf.Size, "burn", "(manifest)"))
	if err != nil {
		return fmt.Errorf("burn: reading the manifest: %w", err)
	}
	m, err := parseManifest(data)
	if err != nil {
		return err
	}
	r.Manifest = m
	return nil
}

// parseManifest decodes the manifest XML. It refuses a document whose root is not
// BurnManifest and bounds the number of elements it keeps.
func parseManifest(data []byte) (*Manifest, error) {
	// Count the elements first, so a manifest of a million empty elements is refused before
	// anything is allocated for them.
	c := xml.NewDecoder(bytes.NewReader(data))
	for n := 0; ; {
		tok, err := c.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errs.Format("(manifest)", c.InputOffset(), "XML: %v", err)
		}
		if _, ok := tok.(xml.StartElement); ok {
			if n++; n > MaxManifestElements {
				return nil, errs.Limit("(manifest)", c.InputOffset(), "more than %d elements", MaxManifestElements)
			}
		}
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var root struct {
		XMLName xml.Name
		Manifest
	}
	if err := d.Decode(&root); err != nil {
		return nil, errs.Format("(manifest)", d.InputOffset(), "XML: %v", err)
	}
	if root.XMLName.Local != "BurnManifest" {
		return nil, errs.Format("(manifest)", 0, "root element <%s>, want <BurnManifest>", root.XMLName.Local)
	}
	m := &root.Manifest
	n := len(m.UX) + len(m.Payloads) + len(m.Containers) + len(m.Chain.Packages) + len(m.RelatedBundles)
	if n > MaxPayloads {
		return nil, errs.Limit("(manifest)", -1, "%d payloads, containers and packages (limit %d)", n, MaxPayloads)
	}
	return m, nil
}

// place maps every payload to its container file and exposed path, and lists what is missing.
func (r *Reader) place() error {
	m := r.Manifest
	r.tree = fstree.New(MaxFiles)
	r.tree.SetDirPerm(0o555)
	cabNames := make([]map[string]*cabEntry, len(r.cabs))
	for i, c := range r.cabs {
		r.byCab[i] = map[string]*File{}
		if c == nil {
			continue
		}
		cabNames[i] = map[string]*cabEntry{}
		for _, f := range c.Files() {
			if _, dup := cabNames[i][f.RawName]; dup {
				return errs.Format(fmt.Sprintf("container %d", i), -1, "two files named %q", f.RawName)
			}
			cabNames[i][f.RawName] = &cabEntry{f: f}
		}
	}
	taken := map[string]int{}
	add := func(p string, pl *Payload, ci int, ce *cabEntry) error {
		var payload string
		if pl != nil {
			payload = pl.ID
			if n, err := strconv.ParseInt(strings.TrimSpace(pl.FileSize), 10, 64); pl.FileSize != "" && (err != nil || n != ce.f.Size) {
				return errs.Format(p, -1, "payload %q is %d bytes in container %d, the manifest says %s", payload, ce.f.Size, ci, pl.FileSize)
			}
		}
		if ce.used {
			return errs.Format(p, -1, "payload %q names container %d's file %q, which another payload already names", payload, ci, ce.f.RawName)
		}
		ce.used = true
		base := p
		taken[base]++
		if k := taken[base]; k > 1 {
			p = fmt.Sprintf("%s~%d", base, k)
		}
		f := &File{Path: p, PayloadID: payload, Container: ci, Source: ce.f.RawName, Size: ce.f.Size, cf: ce.f}
		if pl != nil && newHash(pl.Hash) != nil {
			f.Hash = strings.ToLower(pl.Hash)
		}
		n, err := r.tree.Add(p, 0o444, f.Size, ce.f.ModTime(), f)
		if err != nil {
			return errs.Format(p, -1, "payload %q: %v", payload, err)
		}
		n.Sys = f
		r.files = append(r.files, f)
		r.byCab[ci][ce.f.Name] = f
		return nil
	}
	if err := add(ManifestPath, nil, 0, cabNames[0][manifestName]); err != nil {
		return err
	}
	for _, p := range m.UX {
		ce := cabNames[0][p.SourcePath]
		if ce == nil {
			return errs.Format(p.ID, -1, "UX payload %q (%q) is not in the UX container", p.ID, p.SourcePath)
		}
		dst, err := installPath(p)
		if err != nil {
			return err
		}
		if err := add(UXRoot+"/"+dst, &p, 0, ce); err != nil {
			return err
		}
	}
	containers := map[string]ManContainer{}
	for _, c := range m.Containers {
		if _, dup := containers[c.ID]; !dup { // the engine's ContainerFindById takes the first
			containers[c.ID] = c
		}
	}
	// The engine (plan.cpp) caches and runs every payload a chain package references, whatever
	// its LayoutOnly says: only a payload no package references is copied by /layout alone.
	// Like the engine's XmlGetYesNoAttribute, only the exact value "yes" is true.
	referenced := map[string]bool{}
	for _, pk := range m.Chain.Packages {
		for _, ref := range pk.Payloads {
			referenced[ref.ID] = true
		}
	}
	layoutOnly := func(p Payload) bool { return p.LayoutOnly == "yes" && !referenced[p.ID] }
	for _, p := range m.Payloads {
		if !strings.EqualFold(p.Packaging, "embedded") || p.Container == "" {
			r.Missing = append(r.Missing, Missing{Payload: p.ID, FilePath: p.FilePath, Packaging: orElse(strings.ToLower(p.Packaging), "external"), URL: p.DownloadURL,
				LayoutOnly: layoutOnly(p)})
			continue
		}
		c, ok := containers[p.Container]
		if !ok {
			return errs.Format(p.ID, -1, "payload %q names container %q, which the manifest does not declare", p.ID, p.Container)
		}
		if c.Attached != "yes" { // the engine's XmlGetYesNoAttribute: "Yes" is not attached
			r.Missing = append(r.Missing, Missing{Payload: p.ID, FilePath: p.FilePath, Packaging: "detached container " + c.FilePath, URL: orElse(p.DownloadURL, c.DownloadURL),
				LayoutOnly: layoutOnly(p)})
			continue
		}
		ci := c.AttachedIndex
		if ci <= 0 || ci >= len(r.cabs) {
			return errs.Format(p.ID, -1, "container %q has AttachedIndex %d; the bundle declares %d containers", c.ID, ci, len(r.cabs))
		}
		if r.cabs[ci] == nil {
			r.Missing = append(r.Missing, Missing{Payload: p.ID, FilePath: p.FilePath, Packaging: fmt.Sprintf("absent container %d", ci),
				LayoutOnly: layoutOnly(p)})
			continue
		}
		ce := cabNames[ci][p.SourcePath]
		if ce == nil {
			return errs.Format(p.ID, -1, "payload %q (%q) is not in container %d", p.ID, p.SourcePath, ci)
		}
		dst, err := installPath(p)
		if err != nil {
			return err
		}
		if err := add(dst, &p, ci, ce); err != nil {
			return err
		}
	}
	// Files no payload names are exposed too: nothing in the bundle goes uninventoried.
	for ci, c := range r.cabs {
		if c == nil {
			continue
		}
		for _, f := range c.Files() {
			ce := cabNames[ci][f.RawName]
			if ce.used {
				continue
			}
			if err := add(fmt.Sprintf("%s/%d/%s", UnlistedRoot, ci, f.Name), nil, ci, ce); err != nil {
				return err
			}
		}
	}
	return nil
}

type cabEntry struct {
	f    *cab.File
	used bool
}

// installPath is a payload's FilePath as a local slash-separated path, its components spelled
// as Win32 creates them (unpack.WinComponents: "version.dll." is version.dll). A FilePath whose
// last component Win32 trims away is refused.
func installPath(p Payload) (string, error) {
	fp := strings.ReplaceAll(p.FilePath, `\`, "/")
	if fp == "" {
		return "", errs.Format(p.ID, -1, "payload %q has no FilePath", p.ID)
	}
	if len(fp) >= 2 && fp[1] == ':' || strings.HasPrefix(fp, "/") {
		return "", fmt.Errorf("burn: payload %q FilePath %q is absolute: %w", p.ID, p.FilePath, unpack.ErrInsecurePath)
	}
	comps := strings.Split(fp, "/")
	last := comps[len(comps)-1]
	if unpack.WinComponents(comps); last != "" && comps[len(comps)-1] == "" {
		return "", fmt.Errorf("burn: payload %q FilePath %q names no file once Win32 trims it: %w", p.ID, p.FilePath, unpack.ErrInsecurePath)
	}
	c, err := fstree.Clean(strings.Join(comps, "/"))
	if err != nil || c == "." {
		return "", fmt.Errorf("burn: payload %q FilePath %q: %w", p.ID, p.FilePath, unpack.ErrInsecurePath)
	}
	return path.Clean(c), nil
}
