package msi

// A patch read without its target (rollgate inspect x.msp): an empty database whose tables
// take the standard Windows Installer columns (stdSchema, the Windows Installer SDK table
// reference as wixl writes it), with the patch's transforms applied. What the transforms
// add whole is placed; what they change or delete in rows of the target, tables whose
// columns only the target defines, and files whose component only the target defines cannot
// be placed and are listed by Unplaced, for the caller to report as not inventoried.

import (
	"fmt"
	"strings"

	"github.com/rollgate/rollgate/unpack/cfb"
)

// stdSchema holds the columns of the standard tables a patch commonly changes.
var stdSchema = map[string][]Column{
	"AdminExecuteSequence":   {{"Action", 0x2d48}, {"Condition", 0x1dff}, {"Sequence", 0x1502}},
	"AdminUISequence":        {{"Action", 0x2d48}, {"Condition", 0x1dff}, {"Sequence", 0x1502}},
	"AdvtExecuteSequence":    {{"Action", 0x2d48}, {"Condition", 0x1dff}, {"Sequence", 0x1502}},
	"AppSearch":              {{"Property", 0x2d48}, {"Signature_", 0x2d48}},
	"Binary":                 {{"Name", 0x2d48}, {"Data", 0x0900}},
	"Component":              {{"Component", 0x2d48}, {"ComponentId", 0x1d26}, {"Directory_", 0x0d48}, {"Attributes", 0x0502}, {"Condition", 0x1dff}, {"KeyPath", 0x1d48}},
	"CreateFolder":           {{"Directory_", 0x2d48}, {"Component_", 0x2d48}},
	"CustomAction":           {{"Action", 0x2d48}, {"Type", 0x0502}, {"Source", 0x1d48}, {"Target", 0x1dff}, {"ExtendedType", 0x1104}},
	"Directory":              {{"Directory", 0x2d48}, {"Directory_Parent", 0x1d48}, {"DefaultDir", 0x0fff}},
	"Error":                  {{"Error", 0x2502}, {"Message", 0x1f00}},
	"Feature":                {{"Feature", 0x2d26}, {"Feature_Parent", 0x1d26}, {"Title", 0x1f40}, {"Description", 0x1fff}, {"Display", 0x1502}, {"Level", 0x0502}, {"Directory_", 0x1d48}, {"Attributes", 0x0502}},
	"FeatureComponents":      {{"Feature_", 0x2d26}, {"Component_", 0x2d48}},
	"File":                   {{"File", 0x2d48}, {"Component_", 0x0d48}, {"FileName", 0x0fff}, {"FileSize", 0x0104}, {"Version", 0x1d48}, {"Language", 0x1d14}, {"Attributes", 0x1502}, {"Sequence", 0x0104}},
	"Icon":                   {{"Name", 0x2d48}, {"Data", 0x0900}},
	"InstallExecuteSequence": {{"Action", 0x2d48}, {"Condition", 0x1dff}, {"Sequence", 0x1502}},
	"InstallUISequence":      {{"Action", 0x2d48}, {"Condition", 0x1dff}, {"Sequence", 0x1502}},
	"LaunchCondition":        {{"Condition", 0x2dff}, {"Description", 0x0fff}},
	"Media":                  {{"DiskId", 0x2502}, {"LastSequence", 0x0104}, {"DiskPrompt", 0x1f40}, {"Cabinet", 0x1dff}, {"VolumeLabel", 0x1d20}, {"Source", 0x1d48}},
	"MsiFileHash":            {{"File_", 0x2d48}, {"Options", 0x0502}, {"HashPart1", 0x0104}, {"HashPart2", 0x0104}, {"HashPart3", 0x0104}, {"HashPart4", 0x0104}},
	"Property":               {{"Property", 0x2d48}, {"Value", 0x0f00}},
	"RegLocator":             {{"Signature_", 0x2d48}, {"Root", 0x0502}, {"Key", 0x0dff}, {"Name", 0x1dff}, {"Type", 0x1502}},
	"Registry":               {{"Registry", 0x2d48}, {"Root", 0x0502}, {"Key", 0x0fff}, {"Name", 0x1fff}, {"Value", 0x1f00}, {"Component_", 0x0d48}},
	"RemoveFile":             {{"FileKey", 0x2d48}, {"Component_", 0x0d48}, {"FileName", 0x1fff}, {"DirProperty", 0x0d48}, {"InstallMode", 0x0502}},
	"ServiceControl":         {{"ServiceControl", 0x2d48}, {"Name", 0x0fff}, {"Event", 0x0502}, {"Arguments", 0x1fff}, {"Wait", 0x1502}, {"Component_", 0x0d48}},
	"ServiceInstall":         {{"ServiceInstall", 0x2d48}, {"Name", 0x0dff}, {"DisplayName", 0x1fff}, {"ServiceType", 0x0104}, {"StartType", 0x0104}, {"ErrorControl", 0x0104}, {"LoadOrderGroup", 0x1dff}, {"Dependencies", 0x1dff}, {"StartName", 0x1dff}, {"Password", 0x1dff}, {"Arguments", 0x1dff}, {"Component_", 0x0d48}, {"Description", 0x1fff}},
	"Shortcut":               {{"Shortcut", 0x2d48}, {"Directory_", 0x0d48}, {"Name", 0x0f80}, {"Component_", 0x0d48}, {"Target", 0x0d48}, {"Arguments", 0x1dff}, {"Description", 0x1fff}, {"Hotkey", 0x1502}, {"Icon_", 0x1d48}, {"IconIndex", 0x1502}, {"ShowCmd", 0x1502}, {"WkDir", 0x1d48}, {"DisplayResourceDLL", 0x1dff}, {"DisplayResourceId", 0x1502}, {"DescriptionResourceDLL", 0x1dff}, {"DescriptionResourceId", 0x1502}},
	"Signature":              {{"Signature", 0x2d48}, {"FileName", 0x0dff}, {"MinVersion", 0x1d14}, {"MaxVersion", 0x1d14}, {"MinSize", 0x1104}, {"MaxSize", 0x1104}, {"MinDate", 0x1104}, {"MaxDate", 0x1104}, {"Languages", 0x1dff}},
	"Upgrade":                {{"UpgradeCode", 0x2d26}, {"VersionMin", 0x3d14}, {"VersionMax", 0x3d14}, {"Language", 0x3dff}, {"Attributes", 0x2104}, {"Remove", 0x1dff}, {"ActionProperty", 0x0d48}},
	"Patch":                  {{"File_", 0x2d48}, {"Sequence", 0x2104}, {"PatchSize", 0x0104}, {"Attributes", 0x0102}, {"Header", 0x1900}, {"StreamRef_", 0x1d48}},
	"PatchPackage":           {{"PatchId", 0x2d26}, {"Media_", 0x0102}},
}

// OpenPatchAlone returns the package a patch makes of an empty database: every transform of
// the patch applied in order (none is checked against a product), the patch's cabinets
// joined, so Files, Walk and the table readers give what the patch adds.
func OpenPatchAlone(pt *Patch) (*Package, error) {
	p := &Package{streams: map[string]*cfb.Entry{}, tables: map[string]*Table{}, schema: map[string][]Column{},
		pool: &stringPool{refBytes: 2, strings: []string{""}}, standalone: true, Summary: pt.Summary, CFB: pt.cfb}
	p.Summary.WordCount = wcCompressed // a patch's files are in its cabinets
	p.foreign = map[*cfb.Entry]*cfb.Reader{}
	for n, e := range pt.streams {
		if strings.HasPrefix(n, "!") || knownStreams[n] {
			continue
		}
		p.streams[n] = e
		p.foreign[e] = pt.cfb
	}
	for _, t := range pt.Transforms {
		if err := p.ApplyTransform(t); err != nil {
			return nil, err
		}
	}
	if len(pt.Transforms) == 0 {
		return p, p.buildLayout()
	}
	return p, nil
}

// Unplaced lists, for a patch read alone, what its transforms change that only its target
// defines: each a table and key or file, with what is changed.
func (p *Package) Unplaced() []string {
	return append(append([]string(nil), p.unplaced...), p.unplacedFiles...)
}

// unplace records what a standalone patch cannot place, bounded by MaxTableRows entries.
func (p *Package) unplace(format string, args ...any) {
	if len(p.unplaced) < MaxTableRows {
		p.unplaced = append(p.unplaced, fmt.Sprintf(format, args...))
	}
}

// keyText names a row by its key columns ("a/b").
func keyText(cols []Column, vals []Value) string {
	var ks []string
	for i, c := range cols {
		if c.Type.Key() {
			ks = append(ks, fmt.Sprint(vals[i]))
		}
	}
	return strings.Join(ks, "/")
}
