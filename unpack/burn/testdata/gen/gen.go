//go:build ignore

// gen.go assembles rollgate's synthetic Burn bundle fixtures (run by gen.sh, which builds the
// stub first): the stub with its .wixburn header filled in, the UX container (a cabinet
// holding the manifest as "0" and the bootstrapper application's payloads as "u0", "u1"),
// and the attached container (a cabinet holding the package payloads as "a0", "a1", …), laid
// out as WiX's BurnWriter does for an unsigned bundle. Cabinets are MSZIP, written here.
//
//	go run gen.go <stub.exe> <testdata/fixtures/win> <out dir>
//
// For the signed fixture it also writes, into the out dir, acme-bundle-1.1.engine.exe (the
// stub and UX container, the .wixburn header already naming the attached container) and
// acme-bundle-1.1.attached.cab; once gen.sh has signed the engine,
//
//	go run gen.go reattach <signed engine> <attached.cab> <out.exe>
//
// does what WiX's `insignia -ab` does (BurnWriter.RememberThenResetSignature, then
// AppendContainer): it records the engine's checksum and certificate table in the .wixburn
// header as the original signature, clears the PE's checksum and certificate directory, and
// appends the attached container, for gen.sh to sign the whole bundle again.
package main

import (
	"bytes"
	"compress/flate"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

type payload struct {
	id, filePath, source string
	data                 []byte
	packaging            string // "" embedded, "external", "download"
	layoutOnly           bool   // LayoutOnly="yes"
}

type bundle struct {
	name, version string
	ux            []payload
	packages      []payload
	chain         string // the <Chain> body
}

func main() {
	if os.Args[1] == "reattach" {
		reattach(os.Args[2], os.Args[3], os.Args[4])
		return
	}
	stub, err := os.ReadFile(os.Args[1])
	check(err)
	fix, out := os.Args[2], os.Args[3]
	read := func(p string) []byte {
		b, err := os.ReadFile(filepath.Join(fix, p))
		check(err)
		return b
	}
	baData := []byte("<BootstrapperApplicationData xmlns=\"http://schemas.microsoft.com/wix/2010/BootstrapperApplicationData\"/>\r\n")
	ba := read("pe/core-1.1.dll") // stands in for the bootstrapper application DLL
	uxFor := func() []payload {
		return []payload{
			{id: "uxTxfB2b6eOLqKAhGyQwNU2lvVyU", filePath: "mbapreq.dll", source: "u0", data: ba},
			{id: "uxBAData", filePath: "BootstrapperApplicationData.xml", source: "u1", data: baData},
		}
	}
	msiChain := `<MsiPackage Id="AcmePhone" Cache="yes" CacheId="acme" InstallSize="1" Size="1" PerMachine="yes" Permanent="no" Vital="yes" ProductCode="{6E2B6A5B-1C9D-4E55-9D3C-2B7C6A1E0F11}" Language="1033" Version="%s" DisplayInternalUI="no"><MsiProperty Id="ARPSYSTEMCOMPONENT" Value="1"/><PayloadRef Id="AcmePhone"/></MsiPackage>`
	exeChain := `<ExePackage Id="AcmeHelper" Cache="yes" CacheId="helper" InstallSize="1" Size="1" PerMachine="yes" Permanent="yes" Vital="yes" DetectCondition="AcmeHelperInstalled" InstallArguments="/quiet /autostart" RepairArguments="" Repairable="no" Protocol="none"><PayloadRef Id="AcmeHelper"/></ExePackage>`
	bundles := []bundle{
		{name: "acme-bundle-1.0.exe", version: "1.0.0.0", packages: []payload{{id: "AcmePhone", filePath: "AcmePhone.msi", data: read("acme-1.0.msi")}},
			chain: fmt.Sprintf(msiChain, "1.0.0.0")},
		{name: "acme-bundle-1.1.exe", version: "1.1.0.0", packages: []payload{{id: "AcmePhone", filePath: "AcmePhone.msi", data: read("acme-1.1.msi")}},
			chain: fmt.Sprintf(msiChain, "1.1.0.0")},
		{name: "acme-bundle-1.1-runkey.exe", version: "1.1.0.0", packages: []payload{{id: "AcmePhone", filePath: "AcmePhone.msi", data: read("msitables/acme-1.1-runkey.msi")}},
			chain: fmt.Sprintf(msiChain, "1.1.0.0")},
		{name: "acme-bundle-1.1-exepackage.exe", version: "1.1.0.0", packages: []payload{
			{id: "AcmePhone", filePath: "AcmePhone.msi", data: read("acme-1.1.msi")},
			{id: "AcmeHelper", filePath: `redist\AcmeHelper.exe`, data: read("pe/AcmePhone-1.1.exe")}},
			chain: fmt.Sprintf(msiChain, "1.1.0.0") + exeChain},
		{name: "acme-bundle-1.1-external.exe", version: "1.1.0.0", packages: []payload{
			{id: "AcmePhone", filePath: "AcmePhone.msi", data: read("acme-1.1.msi")},
			{id: "AcmeHelper", filePath: `redist\AcmeHelper.exe`, packaging: "external"}},
			chain: fmt.Sprintf(msiChain, "1.1.0.0") + exeChain},
	}
	// The MSI payload renamed with its version (as many vendors name it), once with a new
	// custom action in it.
	renamed := fmt.Sprintf(msiChain, "1.1.0.0")
	bundles = append(bundles,
		bundle{name: "acme-bundle-1.1-renamed.exe", version: "1.1.0.0", packages: []payload{{id: "AcmePhone", filePath: "AcmePhone-1.1.0.msi", data: read("acme-1.1.msi")}}, chain: renamed},
		bundle{name: "acme-bundle-1.1-customaction.exe", version: "1.1.0.0", packages: []payload{{id: "AcmePhone", filePath: "AcmePhone-1.1.0.msi", data: read("acme-1.1-customaction.msi")}}, chain: renamed})
	// A bundle that carries another bundle as an ExePackage (as application bundles carry
	// vc_redist): the runkey bundle, built first.
	bundles = append(bundles, bundle{name: "acme-bundle-1.1-nested.exe", version: "1.1.0.0", packages: []payload{
		{id: "AcmePhone", filePath: "AcmePhone.msi", data: read("acme-1.1.msi")},
		{id: "AcmeRuntime", filePath: `redist\AcmeRuntime.exe`}},
		chain: fmt.Sprintf(msiChain, "1.1.0.0") + strings.NewReplacer("AcmeHelper", "AcmeRuntime", "/quiet /autostart", "/quiet /norestart").Replace(exeChain)})
	// What the engine installs that rollgate must not wave through: the MSI downloaded though
	// marked LayoutOnly (the chain references it, so the engine installs it); a transform
	// passed as TRANSFORMS; a patch as an MspPackage; a payload whose name Win32 trims
	// (redist\version.dll. is created as redist\version.dll, a system DLL's name).
	// A transform adding a Run value and custom actions, a patch adding a file, a Run value and
	// a custom action (unpack/msi/testdata/transform/gen.sh).
	mst, err := os.ReadFile("../../../msi/testdata/transform/acme-evil.mst")
	check(err)
	mspData, err := os.ReadFile("../../../msi/testdata/transform/acme-hotfix.msp")
	check(err)
	msp := `<MspPackage Id="AcmeHotfix" Cache="yes" CacheId="hotfix" InstallSize="1" Size="1" PerMachine="yes" Permanent="no" Vital="yes" PatchCode="{7D3F2B1A-4C5E-4F60-8A9B-0C1D2E3F4A5B}" PatchXml="" DisplayInternalUI="no"><PayloadRef Id="AcmeHotfix"/></MspPackage>`
	bundles = append(bundles,
		bundle{name: "acme-bundle-1.1-layoutonly.exe", version: "1.1.0.0", packages: []payload{
			{id: "AcmePhone", filePath: "AcmePhone.msi", packaging: "download", layoutOnly: true},
			{id: "AcmeHelper", filePath: `redist\AcmeHelper.exe`, data: read("pe/AcmePhone-1.1.exe")}},
			chain: fmt.Sprintf(msiChain, "1.1.0.0") + exeChain},
		bundle{name: "acme-bundle-1.1-transform.exe", version: "1.1.0.0", packages: []payload{
			{id: "AcmePhone", filePath: "AcmePhone.msi", data: read("acme-1.1.msi")},
			{id: "AcmeMst", filePath: "acme.mst", data: mst}},
			chain: strings.Replace(fmt.Sprintf(msiChain, "1.1.0.0"), `<PayloadRef Id="AcmePhone"/>`,
				`<MsiProperty Id="TRANSFORMS" Value="acme.mst"/><PayloadRef Id="AcmePhone"/><PayloadRef Id="AcmeMst"/>`, 1)},
		bundle{name: "acme-bundle-1.1-msp.exe", version: "1.1.0.0", packages: []payload{
			{id: "AcmePhone", filePath: "AcmePhone.msi", data: read("acme-1.1.msi")},
			{id: "AcmeHotfix", filePath: "hotfix.msp", data: mspData}},
			chain: fmt.Sprintf(msiChain, "1.1.0.0") + msp},
		bundle{name: "acme-bundle-1.1-trailingdot.exe", version: "1.1.0.0", packages: []payload{
			{id: "AcmePhone", filePath: "AcmePhone.msi", data: read("acme-1.1.msi")},
			{id: "AcmeHelper", filePath: `redist\AcmeHelper.exe`, data: read("pe/AcmePhone-1.1.exe")},
			{id: "AcmeVersion", filePath: `redist\version.dll.`, data: ba}},
			chain: fmt.Sprintf(msiChain, "1.1.0.0") + strings.Replace(exeChain, `<PayloadRef Id="AcmeHelper"/>`, `<PayloadRef Id="AcmeHelper"/><PayloadRef Id="AcmeVersion"/>`, 1)})
	check(os.MkdirAll(out, 0o755))
	built := map[string][]byte{}
	for _, b := range bundles {
		b.ux = uxFor()
		if b.name == "acme-bundle-1.1-nested.exe" {
			b.packages[1].data = built["acme-bundle-1.1-runkey.exe"]
		}
		data, engine := build(stub, b)
		built[b.name] = data
		check(os.WriteFile(filepath.Join(out, b.name), data, 0o644))
		fmt.Fprintf(os.Stderr, "gen.go: %s (%d bytes)\n", b.name, len(data))
		if b.name == "acme-bundle-1.1.exe" {
			base := strings.TrimSuffix(b.name, ".exe")
			check(os.WriteFile(filepath.Join(os.Args[4], base+".engine.exe"), data[:engine], 0o644))
			check(os.WriteFile(filepath.Join(os.Args[4], base+".attached.cab"), data[engine:], 0o644))
		}
	}
}

// reattach is insignia -ab on a signed engine: see the package comment.
func reattach(enginePath, cabPath, outPath string) {
	eng, err := os.ReadFile(enginePath)
	check(err)
	att, err := os.ReadFile(cabPath)
	check(err)
	le := binary.LittleEndian
	nt := int(le.Uint32(eng[0x3c:]))
	opt := nt + 24
	checksumOff := opt + 64
	certDir := opt + 128 // PE32
	if le.Uint16(eng[opt:]) == 0x20b {
		certDir = opt + 144
	}
	sec := wixburnOffset(eng)
	le.PutUint32(eng[sec+28:], le.Uint32(eng[checksumOff:]))
	le.PutUint32(eng[sec+32:], le.Uint32(eng[certDir:]))
	le.PutUint32(eng[sec+36:], le.Uint32(eng[certDir+4:]))
	le.PutUint32(eng[checksumOff:], 0)
	le.PutUint32(eng[certDir:], 0)
	le.PutUint32(eng[certDir+4:], 0)
	check(os.WriteFile(outPath, append(eng, att...), 0o644))
}

// build returns the bundle and the size of its engine (stub and UX container).
func build(stub []byte, b bundle) ([]byte, int) {
	var m strings.Builder
	m.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\r\n")
	m.WriteString(`<BurnManifest xmlns="http://schemas.microsoft.com/wix/2008/Burn">`)
	m.WriteString(`<Log PathVariable="WixBundleLog" Prefix="Acme" Extension=".log"/>`)
	m.WriteString(`<RelatedBundle Id="{5B1C2D4E-7A8F-4C3B-9E1D-0A2B3C4D5E6F}" Action="Upgrade"/>`)
	m.WriteString(`<UX>`)
	for _, p := range b.ux {
		fmt.Fprintf(&m, `<Payload Id="%s" FilePath="%s" FileSize="%d" Hash="%s" Packaging="embedded" SourcePath="%s"/>`, p.id, p.filePath, len(p.data), sha1hex(p.data), p.source)
	}
	m.WriteString(`</UX>`)
	m.WriteString(`<Container Id="WixAttachedContainer" FileSize="0" Hash="0" FilePath="` + b.name + `" AttachedIndex="1" Attached="yes" Primary="yes"/>`)
	var attached []payload
	for _, p := range b.packages {
		if p.packaging == "external" {
			fmt.Fprintf(&m, `<Payload Id="%s" FilePath="%s" FileSize="1" Hash="0" Packaging="external" SourcePath="%s"/>`, p.id, p.filePath, p.filePath)
			continue
		}
		if p.packaging == "download" {
			fmt.Fprintf(&m, `<Payload Id="%s" FilePath="%s" FileSize="1" Hash="0" Packaging="download" DownloadUrl="https://acme.test/%s"`, p.id, p.filePath, p.filePath)
			if p.layoutOnly {
				m.WriteString(` LayoutOnly="yes"`)
			}
			m.WriteString(`/>`)
			continue
		}
		p.source = fmt.Sprintf("a%d", len(attached))
		attached = append(attached, p)
		fmt.Fprintf(&m, `<Payload Id="%s" FilePath="%s" FileSize="%d" Hash="%s" Packaging="embedded" SourcePath="%s" Container="WixAttachedContainer"/>`, p.id, p.filePath, len(p.data), sha1hex(p.data), p.source)
	}
	m.WriteString(`<Registration Id="{0F7E3B6C-2A1D-4B8E-9C5F-3D2E1A0B9C8D}" ExecutableName="acme-setup.exe" PerMachine="yes" Tag="" Version="` + b.version + `" ProviderKey="{0F7E3B6C-2A1D-4B8E-9C5F-3D2E1A0B9C8D}">`)
	m.WriteString(`<Arp Register="yes" DisplayName="Acme Softphone" DisplayVersion="` + b.version + `" Publisher="Acme Softphone Ltd"/></Registration>`)
	m.WriteString(`<Chain>` + b.chain + `</Chain></BurnManifest>`)

	ux := []cabFile{{"0", []byte(m.String())}}
	for _, p := range b.ux {
		ux = append(ux, cabFile{p.source, p.data})
	}
	var att []cabFile
	for _, p := range attached {
		att = append(att, cabFile{p.source, p.data})
	}
	uxCab, attCab := writeCab(ux), writeCab(att)

	out := append([]byte(nil), stub...)
	sec := wixburnOffset(out)
	le := binary.LittleEndian
	le.PutUint32(out[sec+8:], 0x0F7E3B6C) // bundle id {0F7E3B6C-2A1D-4B8E-9C5F-3D2E1A0B9C8D}
	le.PutUint16(out[sec+12:], 0x2A1D)
	le.PutUint16(out[sec+14:], 0x4B8E)
	copy(out[sec+16:], []byte{0x9C, 0x5F, 0x3D, 0x2E, 0x1A, 0x0B, 0x9C, 0x8D})
	le.PutUint32(out[sec+24:], uint32(len(stub)))
	le.PutUint32(out[sec+44:], 2)
	le.PutUint32(out[sec+48:], uint32(len(uxCab)))
	le.PutUint32(out[sec+52:], uint32(len(attCab)))
	out = append(out, uxCab...)
	engine := len(out)
	return append(out, attCab...), engine
}

// wixburnOffset finds the raw data of the .wixburn section.
func wixburnOffset(pe []byte) int {
	le := binary.LittleEndian
	nt := int(le.Uint32(pe[0x3c:]))
	n := int(le.Uint16(pe[nt+6:]))
	tab := nt + 24 + int(le.Uint16(pe[nt+20:]))
	for i := 0; i < n; i++ {
		h := pe[tab+40*i:]
		if string(h[:8]) == ".wixburn" {
			return int(le.Uint32(h[20:]))
		}
	}
	panic("no .wixburn section in the stub")
}

type cabFile struct {
	name string
	data []byte
}

// writeCab writes a one-folder MSZIP cabinet ([MS-CAB]): each CFDATA block is "CK" and a
// complete deflate stream of up to 32 KiB whose dictionary is the previous block's output.
// Dates are fixed (2026-01-01 00:00); checksums are left 0 (not computed, allowed).
func writeCab(files []cabFile) []byte {
	var all []byte
	for _, f := range files {
		all = append(all, f.data...)
	}
	var blocks [][]byte
	var ulens []int
	var prev []byte
	for off := 0; off < len(all) || off == 0; off += 32768 {
		chunk := all[off:min(off+32768, len(all))]
		var buf bytes.Buffer
		buf.WriteString("CK")
		// Level 1: libmspack (cabextract, the oracle) rejects some level 6 and 9 streams that use
		// the previous block as dictionary, which 7-Zip and unpack/cab read.
		w, err := flate.NewWriterDict(&buf, flate.BestSpeed, prev)
		check(err)
		w.Write(chunk)
		check(w.Close())
		blocks = append(blocks, buf.Bytes())
		ulens = append(ulens, len(chunk))
		prev = chunk
		if len(all) == 0 {
			break
		}
	}
	le := binary.LittleEndian
	hdrLen, folderLen := 36, 8
	filesLen := 0
	for _, f := range files {
		filesLen += 16 + len(f.name) + 1
	}
	dataStart := hdrLen + folderLen + filesLen
	var out bytes.Buffer
	h := make([]byte, hdrLen)
	copy(h, "MSCF")
	total := dataStart
	for _, b := range blocks {
		total += 8 + len(b)
	}
	le.PutUint32(h[8:], uint32(total))
	le.PutUint32(h[16:], uint32(hdrLen+folderLen))
	h[24], h[25] = 3, 1
	le.PutUint16(h[26:], 1)
	le.PutUint16(h[28:], uint16(len(files)))
	out.Write(h)
	fo := make([]byte, folderLen)
	le.PutUint32(fo, uint32(dataStart))
	le.PutUint16(fo[4:], uint16(len(blocks)))
	le.PutUint16(fo[6:], 1) // MSZIP
	out.Write(fo)
	off := 0
	for _, f := range files {
		e := make([]byte, 16)
		le.PutUint32(e, uint32(len(f.data)))
		le.PutUint32(e[4:], uint32(off))
		le.PutUint16(e[10:], (2026-1980)<<9|1<<5|1)
		le.PutUint16(e[14:], 0x20) // archive
		out.Write(e)
		out.WriteString(f.name)
		out.WriteByte(0)
		off += len(f.data)
	}
	for i, b := range blocks {
		d := make([]byte, 8)
		le.PutUint16(d[4:], uint16(len(b)))
		le.PutUint16(d[6:], uint16(ulens[i]))
		out.Write(d)
		out.Write(b)
	}
	return out.Bytes()
}

// sha1hex is a payload's Hash as WiX 3 writes it: SHA-1, upper-case hex.
func sha1hex(b []byte) string {
	s := sha1.Sum(b)
	return strings.ToUpper(hex.EncodeToString(s[:]))
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
