// Command mac builds rollgate's macOS fixtures from the Mach-O files gen.sh compiles: it signs
// them (its own CodeDirectory + CMS writer, with the test CA under keys/), wraps them in
// Acme.app with Info.plist and a _CodeSignature/CodeResources seal, and packs the app into a
// signed flat .pkg (odc cpio payload, pbzx or gzip, inside a xar it writes itself).
//
// Usage: go run ./testdata/gen/mac -build DIR -keys DIR -out DIR (gen.sh does this).
package main

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sassoftware/relic/v7/lib/pkcs7"
	"github.com/ulikunitz/xz"
)

// fixed is the timestamp every archive entry carries, so output depends on inputs only
// (the CMS signing time is the one exception).
var fixed = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type identity struct {
	key   crypto.Signer
	chain []*x509.Certificate // leaf first
}

type fixture struct {
	name         string
	version      string
	main         string // build file of the main executable
	dylib        string // build file of libffmpeg.dylib
	adhoc        bool   // main executable ad-hoc signed
	entitlements []string
	payload      string // "pbzx" or "gzip"
	breakSeal    bool   // change a sealed resource after sealing
}

var fixtures = []fixture{
	{name: "acme-mac-1.0.pkg", version: "1.0", main: "Acme-1.0", dylib: "libffmpeg-1.0.dylib", entitlements: []string{"com.apple.security.network.client"}, payload: "pbzx"},
	{name: "acme-mac-1.1.pkg", version: "1.1", main: "Acme-1.1", dylib: "libffmpeg-1.1.dylib", entitlements: []string{"com.apple.security.network.client"}, payload: "pbzx"},
	{name: "acme-mac-1.1-dylib.pkg", version: "1.1", main: "Acme-1.1", dylib: "libffmpeg-trojan.dylib", entitlements: []string{"com.apple.security.network.client"}, payload: "gzip"},
	{name: "acme-mac-1.1-adhoc.pkg", version: "1.1", main: "Acme-1.1", dylib: "libffmpeg-1.1.dylib", adhoc: true, entitlements: []string{"com.apple.security.network.client"}, payload: "gzip"},
	{name: "acme-mac-1.1-entitlement.pkg", version: "1.1", main: "Acme-1.1", dylib: "libffmpeg-1.1.dylib", entitlements: []string{"com.apple.security.cs.disable-library-validation", "com.apple.security.network.client"}, payload: "gzip"},
	{name: "acme-mac-1.1-seal.pkg", version: "1.1", main: "Acme-1.1", dylib: "libffmpeg-1.1.dylib", entitlements: []string{"com.apple.security.network.client"}, payload: "gzip", breakSeal: true},
}

func main() {
	build := flag.String("build", "", "folder with the compiled Mach-O files")
	keys := flag.String("keys", "", "folder with the test CA and identities")
	out := flag.String("out", "", "output folder")
	flag.Parse()
	if *build == "" || *keys == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	app, err := loadIdentity(filepath.Join(*keys, "app"), filepath.Join(*keys, "ca.pem"))
	if err != nil {
		log.Fatal(err)
	}
	inst, err := loadIdentity(filepath.Join(*keys, "installer"), filepath.Join(*keys, "ca.pem"))
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range fixtures {
		b, err := makePkg(f, *build, app, inst)
		if err != nil {
			log.Fatalf("%s: %v", f.name, err)
		}
		if err := os.WriteFile(filepath.Join(*out, f.name), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

func loadIdentity(base, caPath string) (*identity, error) {
	kb, err := os.ReadFile(base + ".key")
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(kb)
	if blk == nil {
		return nil, errors.New("no PEM key in " + base + ".key")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	id := &identity{key: k.(crypto.Signer)}
	for _, p := range []string{base + ".pem", caPath} {
		cb, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		cblk, _ := pem.Decode(cb)
		c, err := x509.ParseCertificate(cblk.Bytes)
		if err != nil {
			return nil, err
		}
		id.chain = append(id.chain, c)
	}
	return id, nil
}

// file is one file of the app bundle, path relative to Acme.app.
type file struct {
	path string
	data []byte
	mode uint32
}

func makePkg(f fixture, build string, app, inst *identity) ([]byte, error) {
	read := func(n string) []byte {
		b, err := os.ReadFile(filepath.Join(build, n))
		if err != nil {
			log.Fatal(err)
		}
		return b
	}
	info := infoPlist(f.version)
	dylib, err := signMachO(read(f.dylib), signOpts{ident: "libffmpeg", id: app})
	if err != nil {
		return nil, fmt.Errorf("signing the dylib: %w", err)
	}
	resource := []byte("Acme Softphone resources v" + f.version + "\n")
	files := []file{
		{"Contents/Info.plist", info, 0o644},
		{"Contents/PkgInfo", []byte("APPL????"), 0o644},
		{"Contents/Frameworks/libffmpeg.dylib", dylib, 0o755},
		{"Contents/Resources/app.txt", resource, 0o644},
	}
	seal := codeResources(files)
	ents := entitlementsPlist(f.entitlements)
	o := signOpts{ident: "com.acme.softphone", id: app, info: info, resources: seal, entitlements: ents, main: true}
	if f.adhoc {
		o.id = nil
	}
	mainBin, err := signMachO(read(f.main), o)
	if err != nil {
		return nil, fmt.Errorf("signing the main executable: %w", err)
	}
	if f.breakSeal {
		files[3].data = []byte("Acme Softphone resources v" + f.version + " (patched after signing)\n")
	}
	files = append(files,
		file{"Contents/MacOS/Acme", mainBin, 0o755},
		file{"Contents/_CodeSignature/CodeResources", seal, 0o644},
		file{"Contents/CodeResources", []byte("fake stapled notarization ticket for rollgate tests\n"), 0o644},
	)
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })

	payloadCpio := cpioArchive("./Acme.app", files)
	var payload []byte
	switch f.payload {
	case "pbzx":
		payload, err = pbzx(payloadCpio)
	default:
		payload, err = gzipBytes(payloadCpio)
	}
	if err != nil {
		return nil, err
	}
	scripts, err := gzipBytes(cpioArchive(".", []file{{"postinstall", []byte("#!/bin/sh\n# Acme Softphone " + f.version + " postinstall\nexit 0\n"), 0o755}}))
	if err != nil {
		return nil, err
	}
	pkgInfo := fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<pkg-info overwrite-permissions="true" relocatable="false" identifier="com.acme.softphone.app" postinstall-action="none" version="%s" format-version="2" install-location="/Applications" auth="root">
    <payload numberOfFiles="%d" installKBytes="%d"/>
    <bundle path="./Acme.app" id="com.acme.softphone" CFBundleShortVersionString="%s" CFBundleVersion="%s"/>
    <scripts>
        <postinstall file="./postinstall"/>
    </scripts>
</pkg-info>
`, f.version, len(files)+1, len(payloadCpio)/1024+1, f.version, f.version)
	dist := fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<installer-gui-script minSpecVersion="2">
    <title>Acme Softphone</title>
    <product id="com.acme.softphone" version="%s"/>
    <pkg-ref id="com.acme.softphone.app" version="%s" onConclusion="none">#acme.pkg</pkg-ref>
    <choices-outline>
        <line choice="default"><line choice="com.acme.softphone.app"/></line>
    </choices-outline>
    <choice id="default"/>
    <choice id="com.acme.softphone.app" visible="false"><pkg-ref id="com.acme.softphone.app"/></choice>
</installer-gui-script>
`, f.version, f.version)
	return xarArchive([]xarEntry{
		{name: "Distribution", data: []byte(dist), compress: true},
		{name: "acme.pkg", dir: true, children: []xarEntry{
			{name: "PackageInfo", data: []byte(pkgInfo), compress: true},
			{name: "Payload", data: payload},
			{name: "Scripts", data: scripts},
		}},
	}, inst)
}

func infoPlist(version string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>CFBundleExecutable</key>
	<string>Acme</string>
	<key>CFBundleIdentifier</key>
	<string>com.acme.softphone</string>
	<key>CFBundleName</key>
	<string>Acme Softphone</string>
	<key>CFBundlePackageType</key>
	<string>APPL</string>
	<key>CFBundleShortVersionString</key>
	<string>` + version + `</string>
	<key>CFBundleVersion</key>
	<string>` + version + `.0</string>
	<key>LSMinimumSystemVersion</key>
	<string>11.0</string>
</dict>
</plist>
`)
}

func entitlementsPlist(keys []string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
`)
	for _, k := range keys {
		fmt.Fprintf(&b, "\t<key>%s</key>\n\t<true/>\n", k)
	}
	b.WriteString("</dict>\n</plist>\n")
	return []byte(b.String())
}

// codeResources writes a _CodeSignature/CodeResources seal over files (paths relative to the
// bundle), with codesign's default rules; Info.plist and PkgInfo are omitted by rule.
func codeResources(files []file) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>files</key>
	<dict>
`)
	var sealed []file
	for _, f := range files {
		rel := strings.TrimPrefix(f.path, "Contents/")
		if rel == "Info.plist" || rel == "PkgInfo" {
			continue
		}
		sealed = append(sealed, file{path: rel, data: f.data})
	}
	for _, f := range sealed {
		h1 := sha1.Sum(f.data)
		fmt.Fprintf(&b, "\t\t<key>%s</key>\n\t\t<data>%s</data>\n", f.path, base64.StdEncoding.EncodeToString(h1[:]))
	}
	b.WriteString("\t</dict>\n\t<key>files2</key>\n\t<dict>\n")
	for _, f := range sealed {
		h1 := sha1.Sum(f.data)
		h2 := sha256.Sum256(f.data)
		fmt.Fprintf(&b, "\t\t<key>%s</key>\n\t\t<dict>\n\t\t\t<key>hash</key>\n\t\t\t<data>%s</data>\n\t\t\t<key>hash2</key>\n\t\t\t<data>%s</data>\n\t\t</dict>\n",
			f.path, base64.StdEncoding.EncodeToString(h1[:]), base64.StdEncoding.EncodeToString(h2[:]))
	}
	b.WriteString(`	</dict>
	<key>rules</key>
	<dict>
		<key>^Resources/</key>
		<true/>
		<key>^version.plist$</key>
		<true/>
	</dict>
	<key>rules2</key>
	<dict>
		<key>.*\.dSYM($|/)</key>
		<dict>
			<key>weight</key>
			<real>11</real>
		</dict>
		<key>^(.*/)?\.DS_Store$</key>
		<dict>
			<key>omit</key>
			<true/>
			<key>weight</key>
			<real>2000</real>
		</dict>
		<key>^(Frameworks|SharedFrameworks|PlugIns|Plug-ins|XPCServices|Helpers|MacOS|Library/(Automator|Spotlight|LoginItems))/</key>
		<dict>
			<key>nested</key>
			<true/>
			<key>weight</key>
			<real>10</real>
		</dict>
		<key>^.*</key>
		<true/>
		<key>^Info\.plist$</key>
		<dict>
			<key>omit</key>
			<true/>
			<key>weight</key>
			<real>20</real>
		</dict>
		<key>^PkgInfo$</key>
		<dict>
			<key>omit</key>
			<true/>
			<key>weight</key>
			<real>20</real>
		</dict>
		<key>^Resources/</key>
		<dict>
			<key>weight</key>
			<real>20</real>
		</dict>
		<key>^[^/]+$</key>
		<dict>
			<key>nested</key>
			<true/>
			<key>weight</key>
			<real>10</real>
		</dict>
	</dict>
</dict>
</plist>
`)
	return []byte(b.String())
}

// Mach-O signing.

type signOpts struct {
	ident        string
	id           *identity // nil: ad hoc
	info         []byte    // Info.plist bound in special slot 1
	resources    []byte    // CodeResources bound in special slot 3
	entitlements []byte
	main         bool
}

const (
	pageLog2    = 12
	cmsReserve  = 12 << 10
	lcCodeSig   = 0x1d
	lcSegment64 = 0x19
)

func blob(magic uint32, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint32(b, magic)
	binary.BigEndian.PutUint32(b[4:], uint32(8+len(payload)))
	return append(b, payload...)
}

// signMachO replaces the (linker's ad hoc) signature of a thin 64-bit Mach-O with a new one.
func signMachO(bin []byte, o signOpts) ([]byte, error) {
	le := binary.LittleEndian
	if len(bin) < 32 || le.Uint32(bin) != 0xfeedfacf {
		return nil, errors.New("not a thin 64-bit little-endian Mach-O")
	}
	ncmds := le.Uint32(bin[16:])
	var sigCmd, linkedit, text int = -1, -1, -1
	off := 32
	for i := uint32(0); i < ncmds; i++ {
		cmd, size := le.Uint32(bin[off:]), int(le.Uint32(bin[off+4:]))
		switch cmd {
		case lcCodeSig:
			sigCmd = off
		case lcSegment64:
			name := strings.TrimRight(string(bin[off+8:off+24]), "\x00")
			if name == "__LINKEDIT" {
				linkedit = off
			}
			if name == "__TEXT" {
				text = off
			}
		}
		off += size
	}
	if sigCmd < 0 || linkedit < 0 || text < 0 {
		return nil, errors.New("no LC_CODE_SIGNATURE, __TEXT or __LINKEDIT")
	}
	sigOff := int(le.Uint32(bin[sigCmd+8:]))
	out := append([]byte(nil), bin[:sigOff]...)

	requirements := blob(0xfade0c01, []byte{0, 0, 0, 0}) // empty requirement set
	var ents []byte
	if o.entitlements != nil {
		ents = blob(0xfade7171, o.entitlements)
	}
	team := ""
	flags := uint32(0x10000) // hardened runtime
	if o.id == nil {
		flags |= 0x2
	} else {
		team = o.id.chain[0].Subject.OrganizationalUnit[0]
	}
	nSpecial := 3
	if ents != nil {
		nSpecial = 5
	}
	nCode := (sigOff + (1 << pageLog2) - 1) >> pageLog2
	identOff := 88
	teamOff := 0
	strs := append([]byte(o.ident), 0)
	if team != "" {
		teamOff = identOff + len(strs)
		strs = append(strs, append([]byte(team), 0)...)
	}
	hashOff := identOff + len(strs) + nSpecial*32
	cdLen := hashOff + nCode*32
	sigSize := 12 + 4*8 + cdLen + len(requirements) + len(ents) + 8 + cmsReserve
	sigSize = (sigSize + 15) &^ 15

	// Grow the signature and __LINKEDIT before hashing: the header is in the first page.
	le.PutUint32(out[sigCmd+12:], uint32(sigSize))
	leOff := le.Uint64(out[linkedit+40:])
	fileSize := uint64(sigOff+sigSize) - leOff
	le.PutUint64(out[linkedit+48:], fileSize)
	le.PutUint64(out[linkedit+32:], (fileSize+0x3fff)&^0x3fff)

	cd := make([]byte, cdLen)
	be := binary.BigEndian
	be.PutUint32(cd[0:], 0xfade0c02)
	be.PutUint32(cd[4:], uint32(cdLen))
	be.PutUint32(cd[8:], 0x20400)
	be.PutUint32(cd[12:], flags)
	be.PutUint32(cd[16:], uint32(hashOff))
	be.PutUint32(cd[20:], uint32(identOff))
	be.PutUint32(cd[24:], uint32(nSpecial))
	be.PutUint32(cd[28:], uint32(nCode))
	be.PutUint32(cd[32:], uint32(sigOff))
	cd[36], cd[37], cd[38], cd[39] = 32, 2, 0, pageLog2
	be.PutUint32(cd[48:], uint32(teamOff))
	be.PutUint64(cd[64:], le.Uint64(out[text+40:]))
	be.PutUint64(cd[72:], le.Uint64(out[text+48:]))
	if o.main {
		be.PutUint64(cd[80:], 1) // CS_EXECSEG_MAIN_BINARY
	}
	copy(cd[identOff:], strs)
	special := func(slot int, data []byte) {
		if data == nil {
			return
		}
		h := sha256.Sum256(data)
		copy(cd[hashOff-slot*32:], h[:])
	}
	special(1, o.info)
	special(2, requirements)
	special(3, o.resources)
	special(5, ents)
	for i := 0; i < nCode; i++ {
		end := min((i+1)<<pageLog2, sigOff)
		h := sha256.Sum256(out[i<<pageLog2 : end])
		copy(cd[hashOff+i*32:], h[:])
	}
	var cms []byte
	if o.id != nil {
		var err error
		cms, err = signCMS(cd, o.id)
		if err != nil {
			return nil, err
		}
	}
	type item struct {
		slot uint32
		data []byte
	}
	items := []item{{0, cd}, {2, requirements}}
	if ents != nil {
		items = append(items, item{5, ents})
	}
	items = append(items, item{0x10000, blob(0xfade0b01, cms)})
	sb := make([]byte, 12+8*len(items))
	be.PutUint32(sb, 0xfade0cc0)
	be.PutUint32(sb[8:], uint32(len(items)))
	for i, it := range items {
		be.PutUint32(sb[12+8*i:], it.slot)
		be.PutUint32(sb[16+8*i:], uint32(len(sb)))
		sb = append(sb, it.data...)
	}
	be.PutUint32(sb[4:], uint32(len(sb)))
	if len(sb) > sigSize {
		return nil, fmt.Errorf("signature of %d bytes overflows the %d reserved", len(sb), sigSize)
	}
	out = append(out, sb...)
	out = append(out, make([]byte, sigSize-len(sb))...)
	return out, nil
}

var oidSigningTime = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}

// signCMS makes the detached CMS signature of a CodeDirectory.
func signCMS(cd []byte, id *identity) ([]byte, error) {
	d := sha256.Sum256(cd)
	b := pkcs7.NewBuilder(id.key, id.chain, crypto.SHA256)
	if err := b.SetDetachedContent(pkcs7.OidData, d[:]); err != nil {
		return nil, err
	}
	if err := b.AddAuthenticatedAttribute(oidSigningTime, fixed); err != nil {
		return nil, err
	}
	psd, err := b.Sign()
	if err != nil {
		return nil, err
	}
	return psd.Marshal()
}

// Archives.

// cpioArchive writes an odc cpio archive of files under prefix, with their directories.
func cpioArchive(prefix string, files []file) []byte {
	var b bytes.Buffer
	ino := 1
	hdr := func(name string, mode uint32, data []byte) {
		fmt.Fprintf(&b, "070707%06o%06o%06o%06o%06o%06o%06o%011o%06o%011o", 0, ino, mode, 0, 80, 1, 0, fixed.Unix(), len(name)+1, len(data))
		b.WriteString(name)
		b.WriteByte(0)
		b.Write(data)
		ino++
	}
	dirs := map[string]bool{}
	var dirList []string
	if prefix != "." {
		dirList = append(dirList, prefix)
		dirs[prefix] = true
	} else {
		hdr(".", 0o40755, nil)
	}
	for _, f := range files {
		parts := strings.Split(f.path, "/")
		for i := 1; i < len(parts); i++ {
			d := prefix + "/" + strings.Join(parts[:i], "/")
			if !dirs[d] {
				dirs[d] = true
				dirList = append(dirList, d)
			}
		}
	}
	sort.Strings(dirList)
	for _, d := range dirList {
		hdr(d, 0o40755, nil)
	}
	for _, f := range files {
		hdr(prefix+"/"+f.path, 0o100000|f.mode, f.data)
	}
	hdr("TRAILER!!!", 0, nil)
	return b.Bytes()
}

func gzipBytes(data []byte) ([]byte, error) {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	w.ModTime = fixed
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// pbzx writes Apple's chunked xz format with 1 MiB chunks.
func pbzx(data []byte) ([]byte, error) {
	const chunk = 1 << 20
	var b bytes.Buffer
	b.WriteString("pbzx")
	binary.Write(&b, binary.BigEndian, uint64(chunk|1<<24))
	for off := 0; off < len(data); off += chunk {
		part := data[off:min(off+chunk, len(data))]
		var z bytes.Buffer
		w, err := xz.WriterConfig{DictCap: 1 << 20}.NewWriter(&z)
		if err != nil {
			return nil, err
		}
		w.Write(part)
		if err := w.Close(); err != nil {
			return nil, err
		}
		flags := uint64(len(part))
		if off+chunk < len(data) {
			flags |= 1 << 24
		}
		binary.Write(&b, binary.BigEndian, flags)
		binary.Write(&b, binary.BigEndian, uint64(z.Len()))
		b.Write(z.Bytes())
	}
	return b.Bytes(), nil
}

type xarEntry struct {
	name     string
	dir      bool
	data     []byte
	compress bool
	children []xarEntry
}

// xarArchive writes a xar with a SHA-1 TOC checksum, signed by id (RSA over the checksum).
func xarArchive(entries []xarEntry, id *identity) ([]byte, error) {
	var heap bytes.Buffer
	heap.Write(make([]byte, 20)) // TOC checksum, filled in below
	sigLen := id.key.Public().(*rsa.PublicKey).Size()
	heap.Write(make([]byte, sigLen))
	var toc strings.Builder
	nextID := 1
	var write func(es []xarEntry, indent string) error
	write = func(es []xarEntry, indent string) error {
		for _, e := range es {
			fmt.Fprintf(&toc, "%s<file id=\"%d\">\n", indent, nextID)
			nextID++
			fmt.Fprintf(&toc, "%s <name>%s</name>\n", indent, e.name)
			fmt.Fprintf(&toc, "%s <mtime>%s</mtime>\n", indent, fixed.Format(time.RFC3339))
			if e.dir {
				fmt.Fprintf(&toc, "%s <type>directory</type>\n%s <mode>0755</mode>\n", indent, indent)
				if err := write(e.children, indent+" "); err != nil {
					return err
				}
				fmt.Fprintf(&toc, "%s</file>\n", indent)
				continue
			}
			stored, enc := e.data, "application/octet-stream"
			if e.compress {
				var z bytes.Buffer
				w, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
				w.Write(e.data)
				w.Close()
				stored, enc = z.Bytes(), "application/x-gzip"
			}
			ext, arc := sha1.Sum(e.data), sha1.Sum(stored)
			fmt.Fprintf(&toc, "%s <type>file</type>\n%s <mode>0644</mode>\n", indent, indent)
			fmt.Fprintf(&toc, "%s <data>\n%s  <length>%d</length>\n%s  <offset>%d</offset>\n%s  <size>%d</size>\n", indent, indent, len(stored), indent, heap.Len(), indent, len(e.data))
			fmt.Fprintf(&toc, "%s  <encoding style=\"%s\"/>\n", indent, enc)
			fmt.Fprintf(&toc, "%s  <extracted-checksum style=\"sha1\">%s</extracted-checksum>\n", indent, hex.EncodeToString(ext[:]))
			fmt.Fprintf(&toc, "%s  <archived-checksum style=\"sha1\">%s</archived-checksum>\n%s </data>\n", indent, hex.EncodeToString(arc[:]), indent)
			fmt.Fprintf(&toc, "%s</file>\n", indent)
			heap.Write(stored)
		}
		return nil
	}
	var body strings.Builder
	body.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xar>\n <toc>\n")
	fmt.Fprintf(&body, "  <creation-time>%s</creation-time>\n", fixed.Format("2006-01-02T15:04:05"))
	body.WriteString("  <checksum style=\"sha1\">\n   <offset>0</offset>\n   <size>20</size>\n  </checksum>\n")
	fmt.Fprintf(&body, "  <signature style=\"RSA\">\n   <offset>20</offset>\n   <size>%d</size>\n   <KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\">\n    <X509Data>\n", sigLen)
	for _, c := range id.chain {
		fmt.Fprintf(&body, "     <X509Certificate>%s</X509Certificate>\n", base64.StdEncoding.EncodeToString(c.Raw))
	}
	body.WriteString("    </X509Data>\n   </KeyInfo>\n  </signature>\n")
	if err := write(entries, "  "); err != nil {
		return nil, err
	}
	body.WriteString(toc.String())
	body.WriteString(" </toc>\n</xar>\n")
	tocXML := []byte(body.String())
	var ztoc bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&ztoc, zlib.BestCompression)
	zw.Write(tocXML)
	zw.Close()
	sum := sha1.Sum(ztoc.Bytes())
	sig, err := id.key.Sign(rand.Reader, sum[:], crypto.SHA1)
	if err != nil {
		return nil, err
	}
	h := heap.Bytes()
	copy(h, sum[:])
	copy(h[20:], sig)
	var out bytes.Buffer
	out.WriteString("xar!")
	binary.Write(&out, binary.BigEndian, uint16(28))
	binary.Write(&out, binary.BigEndian, uint16(1))
	binary.Write(&out, binary.BigEndian, uint64(ztoc.Len()))
	binary.Write(&out, binary.BigEndian, uint64(len(tocXML)))
	binary.Write(&out, binary.BigEndian, uint32(1))
	out.Write(ztoc.Bytes())
	out.Write(h)
	return out.Bytes(), nil
}
