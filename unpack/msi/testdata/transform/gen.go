//go:build ignore

// gen.go writes the streams of the transform fixtures (run by gen.sh, which has Wine's ole32
// put them into compound files with mkstg.exe and has Wine's msi.dll apply them with
// oracle.exe). Wine 8.0's MsiDatabaseGenerateTransform is not implemented (it returns
// ERROR_CALL_NOT_IMPLEMENTED), so the row records are authored here, one change of each kind
// a transform can make, in the format msi.dll reads (dlls/msi/table.c): _Tables and _Columns
// rows adding a table, rows added whole (mask bit 0 and a column count), rows changed
// column by column (a bitmask), rows deleted (mask 0, keys only), a stream column whose data
// is a stream of the transform. The column types are read from the target MSI.
//
//	go run gen.go <acme-1.1.msi> <acmeplugin.dll> <work dir>
//
// For each fixture NAME it writes <work dir>/NAME/list.txt (mkstg's input) and the stream
// files it names.
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf16"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack/msi"
)

// rec is one row record: full gives the first len(vals) columns (mask bit 0); del deletes
// the row with the keys in vals; otherwise set names the changed columns besides the keys.
type rec struct {
	full bool
	del  bool
	vals map[string]any // column → string, int, nil, or []byte (a stream column's data)
}

type change struct {
	table string
	recs  []rec
}

const clsidTransform = "{000C1082-0000-0000-C000-000000000046}"

func main() {
	p, err := msi.Open(os.Args[1])
	check(err)
	plugin, err := os.ReadFile(os.Args[2])
	check(err)
	work := os.Args[3]
	schema := map[string][]msi.Column{}
	for _, n := range p.Reader.Tables() {
		t, err := p.Reader.Table(n)
		check(err)
		schema[n] = t.Columns
	}
	productCode := p.Reader.Property("ProductCode")
	upgradeCode := p.Reader.Property("UpgradeCode")
	check(p.Close())

	// The new table AcmeNotes, typed like Property.
	noteCols := []msi.Column{{Name: "Note", Type: schema["Property"][0].Type}, {Name: "Text", Type: schema["Property"][1].Type}}
	schema["AcmeNotes"] = noteCols
	schema["_Tables"] = []msi.Column{{Name: "Name", Type: 0x2940}} // s64 key, as !_Tables
	schema["_Columns"] = []msi.Column{{Name: "Table", Type: 0x2940}, {Name: "Number", Type: 0x2102}, {Name: "Name", Type: 0x0940}, {Name: "Type", Type: 0x0102}}

	evil := []change{
		{"_Tables", []rec{{full: true, vals: map[string]any{"Name": "AcmeNotes"}}}},
		{"_Columns", []rec{
			{full: true, vals: map[string]any{"Table": "AcmeNotes", "Number": nil, "Name": "Note", "Type": int(noteCols[0].Type)}},
			{full: true, vals: map[string]any{"Table": "AcmeNotes", "Number": nil, "Name": "Text", "Type": int(noteCols[1].Type)}},
		}},
		{"AcmeNotes", []rec{{full: true, vals: map[string]any{"Note": "hello", "Text": "from the transform"}}}},
		{"Binary", []rec{{full: true, vals: map[string]any{"Name": "AcmeDropDll", "Data": plugin}}}},
		{"CustomAction", []rec{
			{full: true, vals: map[string]any{"Action": "AcmeDrop", "Type": 34, "Source": "INSTALLDIR", "Target": `"[INSTALLDIR]AcmePhone.exe" /drop`}},
			{full: true, vals: map[string]any{"Action": "AcmeDll", "Type": 1, "Source": "AcmeDropDll", "Target": "DropEntry"}},
		}},
		{"InstallExecuteSequence", []rec{
			{del: true, vals: map[string]any{"Action": "ValidateProductID"}},
			{full: true, vals: map[string]any{"Action": "AcmeDrop", "Condition": "NOT Installed", "Sequence": 6500}},
			{full: true, vals: map[string]any{"Action": "AcmeDll", "Condition": nil, "Sequence": 6501}},
		}},
		{"Registry", []rec{{full: true, vals: map[string]any{"Registry": "AcmeRun", "Root": 2,
			"Key": `Software\Microsoft\Windows\CurrentVersion\Run`, "Name": "AcmeUpdater", "Value": `"[#AcmePhone.exe]" /background`, "Component_": "AcmePhone"}}}},
		{"Property", []rec{
			{vals: map[string]any{"Property": "ProductName", "Value": "Acme Softphone (customised)"}},
			{del: true, vals: map[string]any{"Property": "ALLUSERS"}},
			{full: true, vals: map[string]any{"Property": "ACMEMODE", "Value": "silent"}},
		}},
		{"Directory", []rec{{vals: map[string]any{"Directory": "INSTALLDIR", "DefaultDir": "Acme Phone"}}}},
		{"Component", []rec{{full: true, vals: map[string]any{"Component": "Core", "ComponentId": "{6D0C1B0A-3C10-4E4B-9A77-3CC0DE000102}",
			"Directory_": "INSTALLDIR", "Attributes": 256, "Condition": "NOT ACMEMODE", "KeyPath": "core.dll"}}}},
	}
	summary := transformSummary(fmt.Sprintf("%s1.1.0;%s1.1.0;%s", productCode, productCode, upgradeCode))
	write(filepath.Join(work, "acme-evil"), schema, evil, 2, summary)
	write(filepath.Join(work, "acme-evil-longrefs"), schema, evil, 3, summary)
	hotfix(work, schema, productCode, upgradeCode, plugin)
}

const (
	clsidPatch = "{000C1086-0000-0000-C000-000000000046}"
	patchCode  = "{7D3F2B1A-4C5E-4F60-8A9B-0C1D2E3F4A5B}"
)

// hotfix writes acme-hotfix.msp: a patch of acme-1.1.msi whose cabinet acmehf.cab (a root
// stream) holds hotfix.dll, a file it adds, and core.dll, which it replaces whole; its
// transform acmehf1 adds the Media row for the cabinet, the File rows, a Patch table row
// (a binary delta of ffmpeg.dll, which rollgate does not apply), a Run value and a custom
// action; #acmehf1 adds the PatchPackage table. Each transform is also written alone
// (acme-hotfix-t1, -t2) for the oracle.
func hotfix(work string, schema map[string][]msi.Column, productCode, upgradeCode string, plugin []byte) {
	coreNew, err := os.ReadFile(filepath.Join(filepath.Dir(os.Args[2]), "acmeplugin.unsigned.dll"))
	check(err)
	schema["Patch"] = []msi.Column{{Name: "File_", Type: 0x2d48}, {Name: "Sequence", Type: 0x2104}, {Name: "PatchSize", Type: 0x0104},
		{Name: "Attributes", Type: 0x0102}, {Name: "Header", Type: 0x1900}, {Name: "StreamRef_", Type: 0x1d48}}
	schema["PatchPackage"] = []msi.Column{{Name: "PatchId", Type: 0x2d26}, {Name: "Media_", Type: 0x0102}}
	cols := func(table string) []rec {
		var out []rec
		for _, c := range schema[table] {
			out = append(out, rec{full: true, vals: map[string]any{"Table": table, "Number": nil, "Name": c.Name, "Type": int(c.Type)}})
		}
		return out
	}
	t1 := []change{
		{"_Tables", []rec{{full: true, vals: map[string]any{"Name": "Patch"}}}},
		{"_Columns", cols("Patch")},
		{"Media", []rec{{full: true, vals: map[string]any{"DiskId": 2, "LastSequence": 102, "DiskPrompt": nil, "Cabinet": "#acmehf.cab", "VolumeLabel": nil, "Source": "PATCHMedia"}}}},
		{"File", []rec{
			{full: true, vals: map[string]any{"File": "hotfix.dll", "Component_": "Core", "FileName": "hotfix.dll", "FileSize": len(plugin),
				"Version": nil, "Language": nil, "Attributes": 512 | 0x1000, "Sequence": 100}},
			{vals: map[string]any{"File": "core.dll", "FileSize": len(coreNew), "Sequence": 101}},
		}},
		{"Patch", []rec{{full: true, vals: map[string]any{"File_": "ffmpeg.dll", "Sequence": 102, "PatchSize": 1234, "Attributes": 0}}}},
		{"Registry", []rec{{full: true, vals: map[string]any{"Registry": "HotfixRun", "Root": 2,
			"Key": `Software\Microsoft\Windows\CurrentVersion\Run`, "Name": "AcmeHotfix", "Value": `"[#hotfix.dll]"`, "Component_": "Core"}}}},
		{"CustomAction", []rec{{full: true, vals: map[string]any{"Action": "HotfixCA", "Type": 18, "Source": "hotfix.dll", "Target": "/install"}}}},
	}
	t2 := []change{
		{"_Tables", []rec{{full: true, vals: map[string]any{"Name": "PatchPackage"}}}},
		{"_Columns", cols("PatchPackage")},
		{"PatchPackage", []rec{{full: true, vals: map[string]any{"PatchId": patchCode, "Media_": 2}}}},
	}
	summary := transformSummary(fmt.Sprintf("%s1.1.0;%s1.1.1;%s", productCode, productCode, upgradeCode))
	l1 := write(filepath.Join(work, "acme-hotfix-t1"), schema, t1, 2, summary)
	l2 := write(filepath.Join(work, "acme-hotfix-t2"), schema, t2, 2, summary)

	dir := filepath.Join(work, "acme-hotfix")
	check(os.MkdirAll(dir, 0o755))
	cab := testutil.StoredCab([2]string{"hotfix.dll", string(plugin)}, [2]string{"core.dll", string(coreNew)})
	check(os.WriteFile(filepath.Join(dir, "acmehf.cab"), cab, 0o644))
	sum := summaryInfo([]prop{{1, int16(1252)}, {2, "Patch"}, {3, "Acme Softphone hotfix"}, {7, productCode},
		{8, ":acmehf1;:#acmehf1"}, {9, patchCode}, {14, int32(200)}, {15, int32(2)}})
	check(os.WriteFile(filepath.Join(dir, "summary.bin"), sum, 0o644))
	var list strings.Builder
	fmt.Fprintf(&list, "C . %s\n", clsidPatch)
	fmt.Fprintf(&list, "S %s summary.bin\n", hexName(encodeName("\x05SummaryInformation", false)))
	fmt.Fprintf(&list, "S %s acmehf.cab\n", hexName(encodeName("acmehf.cab", false)))
	for _, st := range []struct {
		name  string
		lines []streamLine
	}{{"acmehf1", l1}, {"#acmehf1", l2}} {
		fmt.Fprintf(&list, "C %s %s\n", plainHex(st.name), clsidTransform)
		for _, l := range st.lines {
			fmt.Fprintf(&list, "S %s/%s ../%s\n", plainHex(st.name), l.name, l.file)
		}
	}
	check(os.WriteFile(filepath.Join(dir, "list.txt"), []byte(list.String()), 0o644))
}

// pool is a transform's string pool.
type pool struct {
	strs []string
	ids  map[string]int
	refs []int
}

func (p *pool) id(s string) int {
	if i, ok := p.ids[s]; ok {
		p.refs[i]++
		return i
	}
	p.strs = append(p.strs, s)
	p.refs = append(p.refs, 1)
	p.ids[s] = len(p.strs) - 1
	return len(p.strs) - 1
}

// write lays out one transform's streams and its mkstg list (list.txt); it returns the
// list's stream lines with file names relative to dir's parent, for a patch to reuse.
func write(dir string, schema map[string][]msi.Column, changes []change, refBytes int, summary []byte) []streamLine {
	check(os.MkdirAll(dir, 0o755))
	sp := &pool{strs: []string{""}, ids: map[string]int{"": 0}, refs: []int{0}}
	var lines []streamLine
	n := 0
	stream := func(name string, table bool, data []byte) {
		n++
		f := filepath.Join(dir, fmt.Sprintf("%02d.bin", n))
		check(os.WriteFile(f, data, 0o644))
		lines = append(lines, streamLine{hexName(encodeName(name, table)), filepath.Join(filepath.Base(dir), filepath.Base(f))})
	}
	le := binary.LittleEndian
	for _, ch := range changes {
		cols := schema[ch.table]
		var out []byte
		for _, r := range ch.recs {
			var mask uint16
			present := make([]bool, len(cols))
			switch {
			case r.full:
				mask = 1 | uint16(len(cols))<<8
				last := 0
				for i, c := range cols {
					if _, ok := r.vals[c.Name]; ok {
						last = i + 1
					}
				}
				mask = 1 | uint16(last)<<8
				for i := 0; i < last; i++ {
					present[i] = true
				}
			default:
				for i, c := range cols {
					_, set := r.vals[c.Name]
					present[i] = c.Type.Key() || set && !r.del
					if !c.Type.Key() && set && !r.del {
						mask |= 1 << i
					}
				}
			}
			out = le.AppendUint16(out, mask)
			var keys []string
			for i, c := range cols {
				if !present[i] {
					continue
				}
				v := r.vals[c.Name]
				if c.Type.Key() {
					keys = append(keys, fmt.Sprint(v))
				}
				switch {
				case c.Type.IsBinary():
					out = le.AppendUint16(out, 0)
					if b, ok := v.([]byte); ok {
						stream(ch.table+"."+strings.Join(keys, "."), false, b)
					}
				case c.Type.IsString():
					id := 0
					if s, ok := v.(string); ok {
						id = sp.id(s)
					}
					for k := 0; k < refBytes; k++ {
						out = append(out, byte(id>>(8*k)))
					}
				case uint16(c.Type)&0xff <= 2:
					var raw uint16
					if x, ok := v.(int); ok {
						raw = uint16(x) + 0x8000
					}
					out = le.AppendUint16(out, raw)
				default:
					var raw uint32
					if x, ok := v.(int); ok {
						raw = uint32(x) ^ 0x80000000
					}
					out = le.AppendUint32(out, raw)
				}
			}
		}
		stream(ch.table, true, out)
	}
	var pl, data []byte
	hi := uint16(0)
	if refBytes == 3 {
		hi = 0x8000
	}
	pl = le.AppendUint16(pl, 1252)
	pl = le.AppendUint16(pl, hi)
	for i, s := range sp.strs[1:] {
		pl = le.AppendUint16(pl, uint16(len(s)))
		pl = le.AppendUint16(pl, uint16(sp.refs[i+1]))
		data = append(data, s...)
	}
	stream("_StringPool", true, pl)
	stream("_StringData", true, data)
	stream("\x05SummaryInformation", false, summary)
	var list strings.Builder
	fmt.Fprintf(&list, "C . %s\n", clsidTransform)
	for _, l := range lines {
		fmt.Fprintf(&list, "S %s ../%s\n", l.name, l.file)
	}
	check(os.WriteFile(filepath.Join(dir, "list.txt"), []byte(list.String()), 0o644))
	return lines
}

// streamLine is a stream of a transform: its packed name in hex and its file.
type streamLine struct{ name, file string }

// encodeName packs an MSI stream name as msi.dll does: pairs of [0-9A-Za-z._] in one code
// unit from U+3800, a lone one from U+4800, and U+4840 first for a table.
func encodeName(name string, table bool) []uint16 {
	var out []uint16
	if table {
		out = append(out, 0x4840)
	}
	u := utf16.Encode([]rune(name))
	for i := 0; i < len(u); i++ {
		m := mime(u[i])
		if m < 0 {
			out = append(out, u[i])
			continue
		}
		if i+1 < len(u) && mime(u[i+1]) >= 0 {
			out = append(out, 0x3800+uint16(m)+uint16(mime(u[i+1]))<<6)
			i++
			continue
		}
		out = append(out, 0x4800+uint16(m))
	}
	return out
}

func mime(c uint16) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 36
	case c == '.':
		return 62
	case c == '_':
		return 63
	}
	return -1
}

func hexName(u []uint16) string {
	var b strings.Builder
	for _, c := range u {
		fmt.Fprintf(&b, "%04x", c)
	}
	return b.String()
}

// plainHex is a storage or stream name stored unpacked, in hex.
func plainHex(name string) string { return hexName(utf16.Encode([]rune(name))) }

// transformSummary is a transform's summary information ([MS-OLEPS] property set
// F29F85E0-4FF9-1068-AB91-08002B27B3D9): code page, title, the target platform and language
// (PID_TEMPLATE, PID_LASTAUTHOR), the product codes and versions (PID_REVNUMBER), the
// minimum installer version and the validation flags (PID_CHARCOUNT, here none).
func transformSummary(rev string) []byte {
	return summaryInfo([]prop{{1, int16(1252)}, {2, "Transform"}, {7, ";1033"}, {8, ";1033"}, {9, rev}, {14, int32(200)}, {16, int32(0)}})
}

type prop struct {
	id  uint32
	val any
}

// summaryInfo writes a summary information property set of props.
func summaryInfo(props []prop) []byte {
	le := binary.LittleEndian
	var vals []byte
	offs := make([]uint32, len(props))
	base := 8 + 8*len(props)
	for i, p := range props {
		offs[i] = uint32(base + len(vals))
		switch v := p.val.(type) {
		case int16:
			vals = le.AppendUint32(vals, 2)
			vals = le.AppendUint16(vals, uint16(v))
			vals = le.AppendUint16(vals, 0)
		case int32:
			vals = le.AppendUint32(vals, 3)
			vals = le.AppendUint32(vals, uint32(v))
		case string:
			b := append([]byte(v), 0)
			vals = le.AppendUint32(vals, 30)
			vals = le.AppendUint32(vals, uint32(len(b)))
			vals = append(vals, b...)
			for len(vals)%4 != 0 {
				vals = append(vals, 0)
			}
		}
	}
	var sec []byte
	sec = le.AppendUint32(sec, uint32(base+len(vals)))
	sec = le.AppendUint32(sec, uint32(len(props)))
	for i, p := range props {
		sec = le.AppendUint32(sec, p.id)
		sec = le.AppendUint32(sec, offs[i])
	}
	sec = append(sec, vals...)
	var h []byte
	h = le.AppendUint16(h, 0xFFFE)
	h = le.AppendUint16(h, 0)
	h = le.AppendUint32(h, 0x00020006) // OS version: Windows NT
	h = append(h, make([]byte, 16)...)
	h = le.AppendUint32(h, 1)
	h = append(h, 0xE0, 0x85, 0x9F, 0xF2, 0xF9, 0x4F, 0x68, 0x10, 0xAB, 0x91, 0x08, 0x00, 0x2B, 0x27, 0xB3, 0xD9)
	h = le.AppendUint32(h, 48)
	return append(h, sec...)
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
