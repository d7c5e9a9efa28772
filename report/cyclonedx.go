package report

import (
	"bytes"
	"errors"
	"io"
	"strconv"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/rollgate/rollgate/inventory"
)

// CycloneDX 1.5 JSON for inspect: the installer product as metadata.component, every file
// inside it as a "file" component with its SHA-256 and rollgate's facts as properties. No
// serial number and no timestamp, so the same installer always gives the same bytes.

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
)

// ErrNoInventory: the format needs an inventory the report does not carry.
var ErrNoInventory = errors.New("report has no inventory")

// CycloneDX builds the BOM for r's inventory.
func CycloneDX(r *Report, opt Options) (*cdx.BOM, error) {
	inv := opt.inventory(r)
	if inv == nil {
		return nil, ErrNoInventory
	}
	bom := cdx.NewBOM()
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
	var components []cdx.Component
	for _, e := range inv.Entries {
		if e.Path == inventory.InstallerPath {
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
		c.Properties = &fp
		components = append(components, c)
	}
	product.Properties = &props
	bom.Metadata = &cdx.Metadata{
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type:               cdx.ComponentTypeApplication,
			Name:               "rollgate",
			Version:            opt.Version,
			ExternalReferences: &[]cdx.ExternalReference{{URL: InformationURI, Type: cdx.ERTypeWebsite}},
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

// WriteCycloneDX writes r's inventory as a CycloneDX 1.5 JSON BOM.
func WriteCycloneDX(w io.Writer, r *Report, opt Options) error {
	bom, err := CycloneDX(r, opt)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON)
	enc.SetPretty(true).SetEscapeHTML(false)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_5); err != nil {
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
