package report

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/rollgate/rollgate/internal/version"
	"github.com/rollgate/rollgate/inventory"
)

// CycloneDX 1.6 JSON for inspect (validated by the tests against the vendored bom-1.6 schema):
// the installer product as metadata.component, every file inside it as a "file" component
// with its SHA-256 and rollgate's facts as properties, rollgate itself in metadata.tools.
//
// Reproducible: no timestamp, and the serialNumber is a name-based UUID (version 5, RFC 9562
// §5.5) of "rollgate/<semantic version>/sha256:<installer sha256>" under SerialNamespace, so
// the same installer judged by the same rollgate always gives the same bytes, and a newer
// rollgate (whose inventory may say more) gives a new serial. Without an installer hash the
// serial is left out rather than invented.
//
// Findings are properties, not vulnerabilities (they are not CVEs) and not annotations (which
// require a timestamp): each finding adds "rollgate:finding:<rule>" = "<severity>: <message>"
// to the file component it is about, or to metadata.component when it has no path; a finding
// the policy allowed adds "rollgate:suppressed:<rule>" = "<severity>: <message> (allowed:
// <reason>)". metadata.component also carries rollgate:verdict and rollgate:fail-on.

// CycloneDX property names.
const (
	PropKind             = "rollgate:kind"
	PropVersion          = "rollgate:version"
	PropProductVersion   = "rollgate:product-version"
	PropSignatureState   = "rollgate:signature:state"
	PropSignatureSigner  = "rollgate:signature:signer"
	PropSignatureIssuer  = "rollgate:signature:issuer"
	PropSignatureTeamID  = "rollgate:signature:team-id"
	PropSignatureTrusted = "rollgate:signature:trusted"
	PropIdentity         = "rollgate:identity"
	PropFormat           = "rollgate:format"
	PropVerdict          = "rollgate:verdict"
	PropFailOn           = "rollgate:fail-on"
	// PropFinding and PropSuppressed are prefixes; the rule id follows.
	PropFinding    = "rollgate:finding:"
	PropSuppressed = "rollgate:suppressed:"
)

// SerialNamespace is the UUID namespace of rollgate's BOM serial numbers: the version-5 UUID
// of rollgate's home page under RFC 9562's URL namespace.
var SerialNamespace = uuidV5(uuidNamespaceURL, []byte(InformationURI))

// uuidNamespaceURL is RFC 9562's NameSpace_URL, 6ba7b811-9dad-11d1-80b4-00c04fd430c8.
var uuidNamespaceURL = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

// uuidV5 is RFC 9562 §5.5: SHA-1 of namespace and name, version 5, variant 10.
func uuidV5(ns [16]byte, name []byte) [16]byte {
	h := sha1.New()
	h.Write(ns[:])
	h.Write(name)
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return u
}

// SerialNumber is the BOM serial number for an installer's SHA-256 and a rollgate version, or
// "" when the hash is unknown.
func SerialNumber(installerSHA256, toolVersion string) string {
	if installerSHA256 == "" {
		return ""
	}
	u := uuidV5(SerialNamespace, []byte("rollgate/"+version.Semantic(toolVersion)+"/sha256:"+strings.ToLower(installerSHA256)))
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// ErrNoInventory: the format needs an inventory the report does not carry.
var ErrNoInventory = errors.New("report has no inventory")

// CycloneDX builds the BOM for r's inventory.
func CycloneDX(r *Report, opt Options) (*cdx.BOM, error) {
	inv := opt.inventory(r)
	if inv == nil {
		return nil, ErrNoInventory
	}
	bom := cdx.NewBOM()
	v := opt.version()
	product := cdx.Component{
		BOMRef:  "installer",
		Type:    cdx.ComponentTypeApplication,
		Name:    nonEmptyOr(inv.Product.Name, r.Installer.Path),
		Version: inv.Product.Version,
	}
	if inv.Product.Manufacturer != "" {
		product.Supplier = &cdx.OrganizationalEntity{Name: inv.Product.Manufacturer}
	}
	props := []cdx.Property{{Name: PropFormat, Value: inv.Format}}
	if inv.Product.Identity != "" {
		props = append(props, cdx.Property{Name: PropIdentity, Value: inv.Product.Identity})
	}
	if r.Verdict != "" {
		props = append(props, cdx.Property{Name: PropVerdict, Value: r.Verdict})
	}
	if r.Verdict != "" {
		props = append(props, cdx.Property{Name: PropFailOn, Value: r.FailOn.String()})
	}
	// Findings by path, in report order.
	findingProps := map[string][]cdx.Property{}
	for _, f := range r.Findings {
		findingProps[f.Path] = append(findingProps[f.Path], cdx.Property{Name: PropFinding + f.Rule, Value: f.Severity.String() + ": " + f.Message})
	}
	for _, sup := range r.Suppressed {
		f := sup.Finding
		findingProps[f.Path] = append(findingProps[f.Path], cdx.Property{Name: PropSuppressed + f.Rule,
			Value: f.Severity.String() + ": " + f.Message + " (allowed: " + sup.Allow.Reason + ")"})
	}
	placed := map[string]bool{}
	var components []cdx.Component
	installerSHA := r.Installer.SHA256
	for _, e := range inv.Entries {
		if e.Path == inventory.InstallerPath {
			if installerSHA == "" {
				installerSHA = e.SHA256
			}
			if e.SHA256 != "" {
				product.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: e.SHA256}}
			}
			props = append(props, signatureProps(e.Signature)...)
			continue
		}
		c := cdx.Component{BOMRef: "file:" + e.Path, Type: cdx.ComponentTypeFile, Name: e.Path, Version: e.Version}
		if e.SHA256 != "" {
			c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: e.SHA256}}
		}
		fp := []cdx.Property{{Name: PropKind, Value: string(e.Kind)}}
		if e.Version != "" {
			fp = append(fp, cdx.Property{Name: PropVersion, Value: e.Version})
		}
		if e.ProductVersion != "" {
			fp = append(fp, cdx.Property{Name: PropProductVersion, Value: e.ProductVersion})
		}
		fp = append(fp, signatureProps(e.Signature)...)
		fp = append(fp, findingProps[e.Path]...)
		placed[e.Path] = true
		c.Properties = &fp
		components = append(components, c)
	}
	// Findings on the installer itself, or on a path the inventory lacks, go on the product
	// (in path order, so output stays deterministic).
	var rest []string
	for p := range findingProps {
		if !placed[p] {
			rest = append(rest, p)
		}
	}
	sort.Strings(rest)
	for _, p := range rest {
		props = append(props, findingProps[p]...)
	}
	product.Properties = &props
	bom.SerialNumber = SerialNumber(installerSHA, v)
	bom.Metadata = &cdx.Metadata{
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type:        cdx.ComponentTypeApplication,
			Name:        "rollgate",
			Version:     version.Semantic(v),
			Description: "decides whether an installer update may roll out",
			ExternalReferences: &[]cdx.ExternalReference{
				{URL: InformationURI, Type: cdx.ERTypeWebsite},
				{URL: InformationURI + ".git", Type: cdx.ERTypeVCS},
			},
		}}},
		Component: &product,
	}
	if components == nil {
		components = []cdx.Component{}
	}
	bom.Components = &components
	return bom, nil
}

func signatureProps(s *inventory.Signature) []cdx.Property {
	if s == nil {
		return nil
	}
	out := []cdx.Property{{Name: PropSignatureState, Value: string(s.State)}}
	if s.Signer != "" {
		out = append(out, cdx.Property{Name: PropSignatureSigner, Value: s.Signer})
	}
	if s.Issuer != "" {
		out = append(out, cdx.Property{Name: PropSignatureIssuer, Value: s.Issuer})
	}
	if s.TeamID != "" {
		out = append(out, cdx.Property{Name: PropSignatureTeamID, Value: s.TeamID})
	}
	return append(out, cdx.Property{Name: PropSignatureTrusted, Value: strconv.FormatBool(s.Trusted)})
}

// WriteCycloneDX writes r's inventory as a CycloneDX 1.6 JSON BOM.
func WriteCycloneDX(w io.Writer, r *Report, opt Options) error {
	bom, err := CycloneDX(r, opt)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON)
	enc.SetPretty(true).SetEscapeHTML(false)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

func nonEmptyOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
