package msi

// Patches (.msp) and their application to a package.
//
// A patch is a compound file whose root storage has the class MsiPatch; its summary
// information names the products it targets (PID_TEMPLATE, ';'-separated product codes), its
// patch code (PID_REVNUMBER: the GUID, then any patch codes it obsoletes) and its transforms
// (PID_LASTAUTHOR: ';'-separated ":name" items, each a substorage holding a transform,
// usually pairs of the patch's transform and the "#"-prefixed one that adds the patch
// registration tables). The transforms' Media rows name the cabinets of the patch, which are
// streams of the patch's root storage. This reader follows Wine's msi.dll (dlls/msi/patch.c,
// msi_apply_patch_db): the substorage transforms are applied in order, each only when its own
// summary names the package's product code, and the patch's streams join the package's so
// the Media rows find its cabinets.
//
// Deviations: the language and platform of a transform's PID_TEMPLATE are not checked; the
// File sequence renumbering msi.dll does for files a patch adds (set_patch_offsets) is not
// done: a file is found in the cabinet its Media row names and, failing that, in any cabinet
// holding its key. Binary delta patches (Patch table rows: a file patched in place rather than
// replaced whole) are not applied; Package.PatchedFiles lists them for the caller to report.

import (
	"fmt"
	"io"
	"strings"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/cfb"
)

// MaxPatchTransforms bounds the transform substorages one patch lists.
const MaxPatchTransforms = 64

// Patch is an open MSI patch.
type Patch struct {
	Name    string
	Summary Summary
	// Code is the patch code; Targets the product codes it applies to (upper case).
	Code    string
	Targets []string
	// Transforms are the patch's transforms in the order Windows applies them.
	Transforms []*Transform

	cfb     *cfb.Reader
	streams map[string]*cfb.Entry // root streams: cabinets
}

// OpenPatch reads the patch held by r (size bytes); name is how errors name it.
func OpenPatch(r io.ReaderAt, size int64, name string) (*Patch, error) {
	c, err := cfb.NewReader(r, size)
	if err != nil {
		return nil, err
	}
	db := &Package{CFB: c, streams: map[string]*cfb.Entry{}, tables: map[string]*Table{}, errEntry: name + ":"}
	if err := db.indexStreams(c.Root().Children); err != nil {
		return nil, err
	}
	if _, ok := db.streams[streamSummary]; !ok {
		return nil, db.formatErr(streamSummary, -1, "missing: a patch names its transforms there")
	}
	b, err := db.readStream(streamSummary, MaxSummaryBytes)
	if err != nil {
		return nil, err
	}
	if err := db.parseSummary(b); err != nil {
		return nil, err
	}
	pt := &Patch{Name: name, Summary: db.Summary, cfb: c, streams: db.streams}
	code := db.Summary.RevisionNumber
	if i := strings.IndexByte(code, '}'); strings.HasPrefix(code, "{") && i > 0 {
		pt.Code = strings.ToUpper(code[:i+1])
	} else {
		return nil, db.formatErr(streamSummary, -1, "patch code %q is not a GUID", code)
	}
	for _, t := range strings.Split(db.Summary.Template, ";") {
		if t = strings.TrimSpace(t); t != "" {
			pt.Targets = append(pt.Targets, strings.ToUpper(t))
		}
	}
	storages := map[string]*cfb.Entry{}
	for _, e := range c.Root().Children {
		if e.Type == cfb.TypeStorage {
			storages[e.Name] = e
		}
	}
	subs, err := db.transformList(db.Summary.LastSavedBy)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		e, ok := storages[sub]
		if !ok {
			return nil, db.formatErr(sub, -1, "transform substorage missing")
		}
		t, err := readTransform(c, e.Children, name+":"+sub)
		if err != nil {
			return nil, err
		}
		pt.Transforms = append(pt.Transforms, t)
	}
	if len(pt.Transforms) == 0 {
		return nil, db.formatErr(streamSummary, -1, "the patch lists no transforms")
	}
	return pt, nil
}

// transformList splits a patch's PID_LASTAUTHOR into substorage names: ';'-separated
// ":name" items, at most MaxPatchTransforms.
func (db *Package) transformList(v string) ([]string, error) {
	var out []string
	for _, item := range strings.Split(v, ";") {
		if item == "" {
			continue
		}
		if len(out) >= MaxPatchTransforms {
			return nil, db.limitErr(streamSummary, "more than %d transforms", MaxPatchTransforms)
		}
		sub, ok := strings.CutPrefix(item, ":")
		if !ok || sub == "" {
			return nil, db.formatErr(streamSummary, -1, "transform %q is not a substorage (\":name\")", item)
		}
		out = append(out, sub)
	}
	return out, nil
}

// TargetsProduct reports whether the patch targets the product code.
func (pt *Patch) TargetsProduct(productCode string) bool {
	productCode = strings.ToUpper(strings.TrimSpace(productCode))
	for _, t := range pt.Targets {
		if t == productCode {
			return true
		}
	}
	return false
}

// ApplyPatch applies the patch to the package as msiexec does with PATCH=: every transform
// whose summary names the package's ProductCode, in order, with the patch's streams (its
// cabinets) added to the package's. A patch that does not target the package's product is
// ErrUnsupported; one none of whose transforms applies is a FormatError.
func (p *Package) ApplyPatch(pt *Patch) error {
	pc := strings.ToUpper(p.Property("ProductCode"))
	if !pt.TargetsProduct(pc) {
		return &unpack.FormatError{Format: "msi", Entry: pt.Name, Offset: -1, Err: unpack.ErrUnsupported,
			Msg: fmt.Sprintf("the patch targets %s, not this package's product %s", strings.Join(pt.Targets, ";"), pc)}
	}
	if p.foreign == nil {
		p.foreign = map[*cfb.Entry]*cfb.Reader{}
	}
	for n, e := range pt.streams {
		if strings.HasPrefix(n, "!") || knownStreams[n] {
			continue
		}
		p.streams[n] = e
		p.foreign[e] = pt.cfb
	}
	applied := 0
	for _, t := range pt.Transforms {
		if pc == "" || !strings.Contains(strings.ToUpper(t.Summary.RevisionNumber), pc) {
			continue // msi.dll skips a transform for another product
		}
		if err := p.ApplyTransform(t); err != nil {
			return err
		}
		applied++
	}
	if applied == 0 {
		return &unpack.FormatError{Format: "msi", Entry: pt.Name, Offset: -1,
			Msg: fmt.Sprintf("no transform of the patch names the product %s", pc)}
	}
	return nil
}

// PatchedFile is a Patch table row: a binary delta that patches an installed file in place.
type PatchedFile struct {
	FileKey     string
	InstallPath string // "" when no File row has the key
	Sequence    int32
}

// PatchedFiles lists the Patch table's rows: files a patch changes by binary delta, whose
// patched content this reader does not produce (Walk gives the file as the package's
// cabinet holds it, or the patch's whole-file replacement when it has one).
func (p *Package) PatchedFiles() ([]PatchedFile, error) {
	t, err := p.rowsOf("Patch")
	if t == nil || err != nil {
		return nil, err
	}
	out := make([]PatchedFile, 0, len(t.Rows))
	for i := range t.Rows {
		key := t.Str(i, "File_")
		seq, _ := t.Int(i, "Sequence")
		pf := PatchedFile{FileKey: key, Sequence: seq}
		if f, ok := p.layout.byKey[key]; ok {
			pf.InstallPath = f.InstallPath
		}
		out = append(out, pf)
	}
	return out, nil
}
