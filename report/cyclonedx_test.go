package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/rules"
)

func TestCycloneDXSchema(t *testing.T) {
	const base = "http://cyclonedx.org/schema/"
	s := compileSchema(t, base+"bom-1.6.schema.json", map[string]string{
		base + "bom-1.6.schema.json":  "cyclonedx/bom-1.6.schema.json",
		base + "spdx.schema.json":     "cyclonedx/spdx.schema.json",
		base + "jsf-0.82.schema.json": "cyclonedx/jsf-0.82.schema.json",
	})
	if err := validateJSON(t, s, []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"urn:uuid:not-one"}`)); err == nil {
		t.Fatal("the CycloneDX schema accepted a malformed serialNumber")
	}
	r, opt := sampleReport()
	var b bytes.Buffer
	if err := WriteCycloneDX(&b, r, opt); err != nil {
		t.Fatal(err)
	}
	if err := validateJSON(t, s, b.Bytes()); err != nil {
		t.Errorf("schema validation: %v", err)
	}
	if err := WriteCycloneDX(&b, New("x.msi", rules.High), Options{}); !errors.Is(err, ErrNoInventory) {
		t.Errorf("WriteCycloneDX(no inventory) = %v, want %v", err, ErrNoInventory)
	}
}

func TestCycloneDXContent(t *testing.T) {
	r, opt := sampleReport()
	var b bytes.Buffer
	if err := WriteCycloneDX(&b, r, opt); err != nil {
		t.Fatal(err)
	}
	type prop struct{ Name, Value string }
	type comp struct {
		BOMRef     string `json:"bom-ref"`
		Name       string
		Version    string
		Properties []prop
	}
	var bom struct {
		SpecVersion  string
		SerialNumber string
		Metadata     struct {
			Tools     struct{ Components []comp }
			Component comp
		}
		Components      []comp
		Vulnerabilities []any
	}
	if err := json.Unmarshal(b.Bytes(), &bom); err != nil {
		t.Fatal(err)
	}
	if bom.SpecVersion != "1.6" || bom.Vulnerabilities != nil {
		t.Errorf("specVersion %q, vulnerabilities %v; want 1.6 and none", bom.SpecVersion, bom.Vulnerabilities)
	}
	if want := SerialNumber(shaInstaller, "v0.0.0-test"); bom.SerialNumber != want {
		t.Errorf("serialNumber = %q, want %q", bom.SerialNumber, want)
	}
	if tools := bom.Metadata.Tools.Components; len(tools) != 1 || tools[0].Name != "rollgate" || tools[0].Version != "0.0.0-test" {
		t.Errorf("tools = %+v, want rollgate 0.0.0-test", tools)
	}
	var ffmpeg []prop
	for _, c := range bom.Components {
		if c.Name == "ProgramFiles64Folder/Acme Softphone/ffmpeg.dll" {
			for _, p := range c.Properties {
				if len(p.Name) > len(PropFinding) && p.Name[:len(PropFinding)] == PropFinding {
					ffmpeg = append(ffmpeg, p)
				}
			}
		}
	}
	want := []prop{
		{PropFinding + rules.ContentChangedSameVer, "high: content changed but the version is still 4.4.0.0"},
		{PropFinding + rules.StringsEndpointAdded, "medium: embeds 1 endpoint(s) no file of the baseline contained: https://cdn.mallory.invalid/*.ico"},
		{PropFinding + rules.PEImportAdded, "low: imports ws2_32.dll, which the baseline's version did not"},
	}
	if d := cmp.Diff(want, ffmpeg); d != "" {
		t.Errorf("ffmpeg.dll finding properties (-want +got)\n%s", d)
	}
	meta := map[string]string{}
	for _, p := range bom.Metadata.Component.Properties {
		meta[p.Name] = p.Value
	}
	if meta[PropVerdict] != Fail || meta[PropFailOn] != "high" {
		t.Errorf("metadata.component properties = %v, want verdict fail, fail-on high", meta)
	}
}

func TestSerialNumber(t *testing.T) {
	uuid := regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a := SerialNumber(shaInstaller, "1.4.0")
	tests := []struct {
		name string
		got  string
		same bool
	}{
		{"same installer, same version", SerialNumber(shaInstaller, "v1.4.0"), true},
		{"upper-case hash", SerialNumber("C8882EA463ACC5C001ED74654E3B954AD1B3C425049667F5EEB74CA4090D3C25", "1.4.0"), true},
		{"another installer", SerialNumber(shaD3D, "1.4.0"), false},
		{"another rollgate", SerialNumber(shaInstaller, "1.5.0"), false},
	}
	if !uuid.MatchString(a) {
		t.Fatalf("SerialNumber = %q, not a version-5 urn:uuid", a)
	}
	for _, tt := range tests {
		if (tt.got == a) != tt.same {
			t.Errorf("%s: %q vs %q, same = %v, want %v", tt.name, tt.got, a, tt.got == a, tt.same)
		}
	}
	if got := SerialNumber("", "1.4.0"); got != "" {
		t.Errorf("SerialNumber without a hash = %q, want empty", got)
	}
	// RFC 9562 Appendix A: the version-5 UUID of "www.example.com" in the DNS namespace.
	dns := [16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	u := uuidV5(dns, []byte("www.example.com"))
	if got, want := u, [16]byte{0x2e, 0xd6, 0x65, 0x7d, 0xe9, 0x27, 0x56, 0x8b, 0x95, 0xe1, 0x26, 0x65, 0xa8, 0xae, 0xa6, 0xa2}; got != want {
		t.Errorf("uuidV5(DNS, www.example.com) = %x, want %x", got, want)
	}
}
