package apple

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rollgate/rollgate/inventory"
)

const sealRules = `<key>rules2</key><dict>
<key>^.*</key><true/>
<key>^Info\.plist$</key><dict><key>omit</key><true/><key>weight</key><real>20</real></dict>
<key>^(.*/)?\.DS_Store$</key><dict><key>omit</key><true/><key>weight</key><real>2000</real></dict>
<key>^(Frameworks|MacOS)/</key><dict><key>nested</key><true/><key>weight</key><real>10</real></dict>
</dict>`

func sealEntry(data string, sha1Only, optional bool) string {
	h1 := sha1.Sum([]byte(data))
	h2 := sha256.Sum256([]byte(data))
	if sha1Only {
		return "<data>" + base64.StdEncoding.EncodeToString(h1[:]) + "</data>"
	}
	opt := ""
	if optional {
		opt = "<key>optional</key><true/>"
	}
	return "<dict><key>hash2</key><data>" + base64.StdEncoding.EncodeToString(h2[:]) + "</data>" + opt + "</dict>"
}

func TestSeal(t *testing.T) {
	files := map[string]string{"Resources/a.txt": "alpha", "Resources/b.txt": "beta"}
	type sealed struct {
		rel, data      string
		sha1, optional bool
		raw            string
	}
	tests := []struct {
		name    string
		present map[string]string // files shipped (relative to Contents/)
		seal    []sealed
		broken  []string
		note    bool
	}{
		{"intact", files, []sealed{{rel: "Resources/a.txt", data: "alpha"}, {rel: "Resources/b.txt", data: "beta"}}, nil, false},
		{"changed", files, []sealed{{rel: "Resources/a.txt", data: "ALPHA"}, {rel: "Resources/b.txt", data: "beta"}}, []string{"Resources/a.txt"}, false},
		{"missing", map[string]string{"Resources/a.txt": "alpha"}, []sealed{{rel: "Resources/a.txt", data: "alpha"}, {rel: "Resources/b.txt", data: "beta"}}, []string{"Resources/b.txt"}, false},
		{"optional missing", map[string]string{"Resources/a.txt": "alpha"}, []sealed{{rel: "Resources/a.txt", data: "alpha"}, {rel: "Resources/b.txt", data: "beta", optional: true}}, nil, false},
		{"extra", files, []sealed{{rel: "Resources/a.txt", data: "alpha"}}, []string{"Resources/b.txt"}, false},
		{"extra dylib", map[string]string{"Frameworks/evil.dylib": "x"}, nil, []string{"Frameworks/evil.dylib"}, false},
		{"omitted", map[string]string{".DS_Store": "x", "Resources/.DS_Store": "y"}, nil, nil, false},
		{"nested code", map[string]string{"Frameworks/X.framework/Versions/A/X": "code"}, []sealed{{rel: "Frameworks/X.framework", raw: "<dict><key>cdhash</key><data>AAAA</data><key>requirement</key><string>x</string></dict>"}}, nil, false},
		{"sha1 only", files, []sealed{{rel: "Resources/a.txt", data: "alpha", sha1: true}, {rel: "Resources/b.txt", data: "beta", sha1: true}}, nil, true},
	}
	for _, tt := range tests {
		inv := &inventory.Inventory{}
		inv.Entries = append(inv.Entries, inventory.Entry{Path: "A.app/Contents/MacOS/A", Kind: inventory.KindMachO})
		for rel, data := range tt.present {
			h := sha256.Sum256([]byte(data))
			inv.Entries = append(inv.Entries, inventory.Entry{Path: "A.app/Contents/" + rel, SHA256: hex.EncodeToString(h[:])})
		}
		inv.Sort()
		var b strings.Builder
		b.WriteString(`<?xml version="1.0"?><plist version="1.0"><dict><key>files2</key><dict>`)
		for _, s := range tt.seal {
			v := s.raw
			if v == "" {
				v = sealEntry(s.data, s.sha1, s.optional)
			}
			fmt.Fprintf(&b, "<key>%s</key>%s", s.rel, v)
		}
		b.WriteString("</dict>" + sealRules + "</dict></plist>")
		plists := map[string][]byte{
			"A.app/Contents/Info.plist":                   []byte(`<plist version="1.0"><dict><key>CFBundleExecutable</key><string>A</string><key>CFBundleIdentifier</key><string>a</string></dict></plist>`),
			"A.app/Contents/_CodeSignature/CodeResources": []byte(b.String()),
		}
		if err := Bundles(inv, plists); err != nil {
			t.Fatal(err)
		}
		m, _ := inv.Lookup("A.app/Contents/MacOS/A")
		var want []string
		for _, w := range tt.broken {
			want = append(want, "A.app/Contents/"+w)
		}
		if !slices.Equal(m.MachO.SealBroken, want) {
			t.Errorf("Bundles(%s).SealBroken = %v, want %v", tt.name, m.MachO.SealBroken, want)
		}
		if got := strings.Contains(m.Error, "SHA-1"); got != tt.note {
			t.Errorf("Bundles(%s).Error = %q, want SHA-1 note %v", tt.name, m.Error, tt.note)
		}
	}
}

func TestBundlesNotes(t *testing.T) {
	inv := &inventory.Inventory{}
	plists := map[string][]byte{
		"A.app/Contents/Info.plist": []byte(`<plist version="1.0"><dict><key>CFBundleExecutable</key><string>A</string></dict></plist>`),
		"B.app/Contents/Info.plist": []byte(`not a plist <<<`),
		"C.app/Contents/Info.plist": []byte(`<plist version="1.0"><dict><key>CFBundleExecutable</key><string>../../x</string></dict></plist>`),
	}
	if err := Bundles(inv, plists); err != nil {
		t.Fatalf("Bundles = %v, want nil", err)
	}
	if len(inv.Notes) != 3 {
		t.Errorf("Bundles notes = %q, want 3", inv.Notes)
	}
}
