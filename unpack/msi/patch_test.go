package msi

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
)

const hotfixMSP = "testdata/transform/acme-hotfix.msp"

func openPatchBytes(t *testing.T, b []byte) (*Patch, error) {
	t.Helper()
	return OpenPatch(bytes.NewReader(b), int64(len(b)), "acme-hotfix.msp")
}

// TestPatch applies acme-hotfix.msp (testdata/transform/gen.sh) to acme-1.1.msi: the tables
// equal Wine's application of its two transforms, the patch's cabinet gives the file it adds
// and the one it replaces, the binary delta is listed, the Run value and custom action are
// the package's.
func TestPatch(t *testing.T) {
	pt, err := openPatchBytes(t, readFile(t, hotfixMSP))
	if err != nil {
		t.Fatalf("OpenPatch = %v", err)
	}
	if pt.Code != "{7D3F2B1A-4C5E-4F60-8A9B-0C1D2E3F4A5B}" {
		t.Errorf("Code = %q", pt.Code)
	}
	if d := cmp.Diff([]string{"{6D0C1B0A-3C10-4E4B-9A77-3CC0DE00A110}"}, pt.Targets); d != "" {
		t.Errorf("Targets (-want +got)\n%s", d)
	}
	var names []string
	for _, tr := range pt.Transforms {
		names = append(names, tr.Name)
	}
	if d := cmp.Diff([]string{"acme-hotfix.msp:acmehf1", "acme-hotfix.msp:#acmehf1"}, names); d != "" {
		t.Errorf("Transforms (-want +got)\n%s", d)
	}

	p, err := newReader(readFile(t, transformMSI), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ApplyPatch(pt); err != nil {
		t.Fatalf("ApplyPatch = %v", err)
	}
	checkOracle(t, p, filepath.Join(transformDir, "oracle", "acme-hotfix"))

	plugin := readFile(t, "../../testdata/fixtures/win/pe/acmeplugin.dll")
	core := readFile(t, "../../testdata/fixtures/win/pe/acmeplugin.unsigned.dll")
	got := map[string][]byte{}
	err = p.Walk(func(path string, size int64, r io.Reader) error {
		b, err := io.ReadAll(r)
		got[path] = b
		return err
	})
	if err != nil {
		t.Fatalf("Walk = %v", err)
	}
	for path, want := range map[string][]byte{
		acmeDir + "/hotfix.dll": plugin,
		acmeDir + "/core.dll":   core,
	} {
		if !bytes.Equal(got[path], want) {
			t.Errorf("%s: %d bytes, not the patch's (%d bytes)", path, len(got[path]), len(want))
		}
	}
	if _, ok := got["Cabinet/#acme.cab/core.dll"]; !ok {
		t.Errorf("the replaced core.dll of the package's cabinet is not listed: %v", keys(got))
	}
	pf, err := p.PatchedFiles()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]PatchedFile{{FileKey: "ffmpeg.dll", InstallPath: acmeDir + "/ffmpeg.dll", Sequence: 102}}, pf); d != "" {
		t.Errorf("PatchedFiles (-want +got)\n%s", d)
	}
	cas, err := p.CustomActions()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]inventory.CustomAction{{Action: "HotfixCA", Type: 18, Source: "hotfix.dll", Target: "/install"}}, cas); d != "" {
		t.Errorf("CustomActions (-want +got)\n%s", d)
	}
	reg, err := p.Registry()
	if err != nil {
		t.Fatal(err)
	}
	if len(reg) != 1 || reg[0].Value != `"`+acmeDir+`/hotfix.dll"` {
		t.Errorf("Registry = %+v", reg)
	}
	if d := cmp.Diff([]string{"acme-hotfix.msp:acmehf1", "acme-hotfix.msp:#acmehf1"}, p.Applied()); d != "" {
		t.Errorf("Applied (-want +got)\n%s", d)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestPatchOtherProduct: a patch for another product is not applied (ErrUnsupported).
func TestPatchOtherProduct(t *testing.T) {
	pt, err := openPatchBytes(t, readFile(t, hotfixMSP))
	if err != nil {
		t.Fatal(err)
	}
	p, err := newReader(readFile(t, "../../testdata/fixtures/win/acme-1.0.msi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if pc := p.Property("ProductCode"); pt.TargetsProduct(pc) {
		t.Fatalf("acme-1.0.msi has the patch's target product code %s", pc)
	}
	if err := p.ApplyPatch(pt); !errors.Is(err, unpack.ErrUnsupported) {
		t.Errorf("ApplyPatch = %v, want ErrUnsupported", err)
	}
}

// TestPatchHostile: a summary naming a missing substorage or no transform is ErrFormat.
func TestPatchHostile(t *testing.T) {
	b := readFile(t, hotfixMSP)
	tests := []struct{ name, old, new string }{
		{"missing substorage", ":acmehf1;:#acmehf1", ":acmehfX;:#acmehf1"},
		{"not a substorage item", ":acmehf1;:#acmehf1", "acmehf1;;:#acmehf1"},
		{"no transforms", ":acmehf1;:#acmehf1", ";;;;;;;;;;;;;;;;;;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if bytes.Count(b, []byte(tt.old)) != 1 {
				t.Fatalf("%q is not in the patch exactly once", tt.old)
			}
			_, err := openPatchBytes(t, bytes.Replace(b, []byte(tt.old), []byte(tt.new), 1))
			if !errors.Is(err, unpack.ErrFormat) {
				t.Errorf("OpenPatch = %v, want ErrFormat", err)
			}
		})
	}
}

func FuzzPatch(f *testing.F) {
	b, err := os.ReadFile(hotfixMSP)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	base, err := os.ReadFile(transformMSI)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pt, err := OpenPatch(bytes.NewReader(b), int64(len(b)), "f.msp")
		if err != nil {
			return
		}
		if q, err := OpenPatchAlone(pt); err == nil {
			_, _ = q.MSITables()
			_ = q.Walk(func(string, int64, io.Reader) error { return nil })
		}
		p, err := newReader(base, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.ApplyPatch(pt); err != nil {
			return
		}
		_, _ = p.MSITables()
		_, _ = p.PatchedFiles()
		_ = p.Walk(func(string, int64, io.Reader) error { return nil })
	})
}

// TestPatchAlone reads acme-hotfix.msp without its target: the rows its transforms add whole
// are the package's (the Run value, the custom action, the Media row for its cabinet), its
// cabinet's files are walked under Cabinet/, and what only the target places (core.dll's
// changed row, hotfix.dll's component) is listed by Unplaced.
func TestPatchAlone(t *testing.T) {
	pt, err := openPatchBytes(t, readFile(t, hotfixMSP))
	if err != nil {
		t.Fatal(err)
	}
	p, err := OpenPatchAlone(pt)
	if err != nil {
		t.Fatalf("OpenPatchAlone = %v", err)
	}
	wantUnplaced := []string{
		"File/core.dll: the target's row changed: FileSize=4608, Sequence=101",
		`File/hotfix.dll: installed by the target's component "Core", whose folder only the target defines`,
	}
	if d := cmp.Diff(wantUnplaced, p.Unplaced()); d != "" {
		t.Errorf("Unplaced (-want +got)\n%s", d)
	}
	cas, err := p.CustomActions()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]inventory.CustomAction{{Action: "HotfixCA", Type: 18, Source: "hotfix.dll", Target: "/install"}}, cas); d != "" {
		t.Errorf("CustomActions (-want +got)\n%s", d)
	}
	reg, err := p.Registry()
	if err != nil {
		t.Fatal(err)
	}
	if len(reg) != 1 || reg[0].Key != `Software\Microsoft\Windows\CurrentVersion\Run` {
		t.Errorf("Registry = %+v", reg)
	}
	got := map[string]int{}
	err = p.Walk(func(path string, size int64, r io.Reader) error {
		n, err := io.Copy(io.Discard, r)
		got[path] = int(n)
		return err
	})
	if err != nil {
		t.Fatalf("Walk = %v", err)
	}
	want := map[string]int{
		"Cabinet/#acmehf.cab/hotfix.dll": len(readFile(t, "../../testdata/fixtures/win/pe/acmeplugin.dll")),
		"Cabinet/#acmehf.cab/core.dll":   len(readFile(t, "../../testdata/fixtures/win/pe/acmeplugin.unsigned.dll")),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Walk (-want +got)\n%s", d)
	}
	pf, err := p.PatchedFiles()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]PatchedFile{{FileKey: "ffmpeg.dll", Sequence: 102}}, pf); d != "" {
		t.Errorf("PatchedFiles (-want +got)\n%s", d)
	}
}

func TestTransformList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  error
	}{
		{":a;:#a", []string{"a", "#a"}, nil},
		{";:a;;", []string{"a"}, nil},
		{"a", nil, unpack.ErrFormat},
		{":", nil, unpack.ErrFormat},
		{strings.Repeat(":x;", MaxPatchTransforms), nil, nil},
		{strings.Repeat(":x;", MaxPatchTransforms+1), nil, unpack.ErrLimit},
	}
	db := &Package{errEntry: "t.msp:"}
	for _, tt := range tests {
		got, err := db.transformList(tt.in)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("transformList(%.20q) = %v, want %v", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("transformList(%.20q) = %v", tt.in, err)
			continue
		}
		if tt.want != nil {
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("transformList(%q) (-want +got)\n%s", tt.in, d)
			}
		} else if len(got) != MaxPatchTransforms {
			t.Errorf("transformList: %d items, want %d", len(got), MaxPatchTransforms)
		}
	}
}
