package apple

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
	"howett.net/plist"
)

// Limits for bundle seals.
const (
	// MaxSealRules bounds the rules2 patterns of one CodeResources file.
	MaxSealRules = 256
	// MaxSealPattern bounds one rules2 pattern.
	MaxSealPattern = 1024
	// MaxSealFiles bounds the files2 entries of one CodeResources file.
	MaxSealFiles = 1 << 18
)

// bundleSuffixes are the bundle kinds laid out as X/Contents/{Info.plist,MacOS,...}.
var bundleSuffixes = []string{".app", ".appex", ".xpc", ".bundle", ".plugin", ".prefPane", ".systemextension"}

// Bundles is a post-pass over a finished inventory. For every macOS bundle whose
// Contents/Info.plist is in plists (content keyed by inventory path) it sets the main
// executable's Version (CFBundleShortVersionString, else CFBundleVersion), compares
// Contents/_CodeSignature/CodeResources (files2, rules2) with the inventory's SHA-256 of each
// file and lists mismatched, missing and unsealed files in the main executable's
// MachO.SealBroken, and sets MachO.Notarized when a stapled ticket (Contents/CodeResources)
// is present. The outermost .app gives inv.Product a "bundle:<CFBundleIdentifier>" identity
// when it has none. A bundle that cannot be judged (unreadable Info.plist, main executable
// missing, unreadable seal) gets a line in inv.Notes, or in its main executable's Error; it
// does not fail the inventory. The error is reserved for internal failures.
func Bundles(inv *inventory.Inventory, plists map[string][]byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("apple: internal error in Bundles: %v\n%s", p, debug.Stack())
		}
	}()
	var roots []string
	for p := range plists {
		root, ok := strings.CutSuffix(p, "/Contents/Info.plist")
		if !ok || !isBundle(root) {
			continue
		}
		roots = append(roots, root)
	}
	// Outermost first: fewest components, then lexical.
	sort.Slice(roots, func(i, j int) bool {
		ci, cj := strings.Count(roots[i], "/"), strings.Count(roots[j], "/")
		if ci != cj {
			return ci < cj
		}
		return roots[i] < roots[j]
	})
	for _, root := range roots {
		if err := bundle(inv, plists, root); err != nil {
			inv.Notes = append(inv.Notes, "bundle "+err.Error())
		}
	}
	return nil
}

func isBundle(root string) bool {
	base := path.Base(root)
	for _, s := range bundleSuffixes {
		if strings.HasSuffix(base, s) && len(base) > len(s) {
			return true
		}
	}
	return false
}

// infoPlist is the part of Info.plist rollgate reads.
type infoPlist struct {
	Executable   string `plist:"CFBundleExecutable"`
	Identifier   string `plist:"CFBundleIdentifier"`
	ShortVersion string `plist:"CFBundleShortVersionString"`
	Version      string `plist:"CFBundleVersion"`
	Name         string `plist:"CFBundleName"`
}

func bundle(inv *inventory.Inventory, plists map[string][]byte, root string) error {
	raw := plists[root+"/Contents/Info.plist"]
	if len(raw) > MaxPlistBytes {
		return fmt.Errorf("%q: Info.plist of %d bytes: %w", root, len(raw), unpack.ErrLimit)
	}
	var info infoPlist
	if _, err := plist.Unmarshal(raw, &info); err != nil {
		return fmt.Errorf("%q: Info.plist: %v", root, err)
	}
	version := info.ShortVersion
	if version == "" {
		version = info.Version
	}
	if inv.Product.Identity == "" && info.Identifier != "" && strings.HasSuffix(root, ".app") {
		inv.Product.Identity = "bundle:" + info.Identifier
		inv.Product.BundleID = info.Identifier
		inv.Product.Version = version
		inv.Product.Name = strings.TrimSuffix(path.Base(root), ".app")
		if info.Name != "" {
			inv.Product.Name = info.Name
		}
	}
	exe := info.Executable
	if exe == "" || strings.ContainsAny(exe, "/\x00") || exe == "." || exe == ".." {
		return fmt.Errorf("%q: Info.plist has no usable CFBundleExecutable", root)
	}
	mainPath := root + "/Contents/MacOS/" + exe
	main, ok := inv.Lookup(mainPath)
	if !ok {
		return fmt.Errorf("%q: main executable %q is not in the inventory", root, mainPath)
	}
	if version != "" {
		main.Version = version
	}
	if main.MachO == nil {
		main.MachO = &inventory.MachO{}
	}
	if _, ok := inv.Lookup(root + "/Contents/CodeResources"); ok {
		main.MachO.Notarized = true
	}
	sealPath := root + "/Contents/_CodeSignature/CodeResources"
	seal, ok := plists[sealPath]
	if !ok {
		if _, inInv := inv.Lookup(sealPath); inInv {
			main.Error = joinNote(main.Error, "seal: CodeResources was not captured (larger than the capture limit?)")
		}
		return nil
	}
	broken, note, err := checkSeal(inv, root, mainPath, seal)
	if err != nil {
		main.Error = joinNote(main.Error, "seal: "+err.Error())
		// An unreadable seal on a signed bundle is itself a broken seal.
		main.MachO.SealBroken = append(main.MachO.SealBroken, sealPath)
		return nil
	}
	if note != "" {
		main.Error = joinNote(main.Error, "seal: "+note)
	}
	main.MachO.SealBroken = broken
	return nil
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// sealRule is one rules2 entry.
type sealRule struct {
	re       *regexp.Regexp
	omit     bool
	optional bool
	nested   bool
	exclude  bool // value false: the pattern excludes files from the seal
	weight   float64
}

// sealedFile is one files2 entry.
type sealedFile struct {
	sha256   []byte // hash2
	sha1     []byte // hash (legacy)
	optional bool
	symlink  bool
	nested   bool // nested code (cdhash/requirement): sealed by its own signature
}

// checkSeal compares a CodeResources plist with the inventory's files of the bundle.
func checkSeal(inv *inventory.Inventory, root, mainPath string, raw []byte) (broken []string, note string, err error) {
	if len(raw) > MaxPlistBytes {
		return nil, "", fmt.Errorf("CodeResources of %d bytes: %w", len(raw), unpack.ErrLimit)
	}
	var cr struct {
		Files2 map[string]any `plist:"files2"`
		Files  map[string]any `plist:"files"`
		Rules2 map[string]any `plist:"rules2"`
	}
	if _, err := plist.Unmarshal(raw, &cr); err != nil {
		return nil, "", fmt.Errorf("CodeResources: %v", err)
	}
	files := cr.Files2
	if files == nil {
		files = cr.Files
	}
	if len(files) > MaxSealFiles || len(cr.Rules2) > MaxSealRules {
		return nil, "", fmt.Errorf("CodeResources with %d files and %d rules: %w", len(files), len(cr.Rules2), unpack.ErrLimit)
	}
	rules, err := parseRules(cr.Rules2)
	if err != nil {
		return nil, "", err
	}
	sealed := map[string]sealedFile{}
	for k, v := range files {
		var sf sealedFile
		switch x := v.(type) {
		case []byte:
			sf.sha1 = x
		case map[string]any:
			if b, ok := x["hash2"].([]byte); ok {
				sf.sha256 = b
			}
			if b, ok := x["hash"].([]byte); ok {
				sf.sha1 = b
			}
			if b, ok := x["optional"].(bool); ok {
				sf.optional = b
			}
			if _, ok := x["symlink"]; ok {
				sf.symlink = true
			}
			_, cd := x["cdhash"]
			_, req := x["requirement"]
			sf.nested = cd || req
		default:
			return nil, "", fmt.Errorf("files2 entry %q has an unexpected type", k)
		}
		sealed[k] = sf
	}
	contents := root + "/Contents/"
	present := map[string]bool{}
	var sha1Only int
	for i := range inv.Entries {
		e := &inv.Entries[i]
		rel, ok := strings.CutPrefix(e.Path, contents)
		if !ok || e.Path == mainPath || rel == "_CodeSignature/CodeResources" || rel == "CodeResources" {
			continue
		}
		present[rel] = true
		if sf, ok := sealed[rel]; ok {
			switch {
			case sf.symlink:
				broken = append(broken, e.Path) // sealed as a link, shipped as a file
			case sf.sha256 != nil:
				if !bytes.Equal(sf.sha256, mustHex(e.SHA256)) {
					broken = append(broken, e.Path)
				}
			default:
				sha1Only++
			}
			continue
		}
		if underNested(rel, sealed) {
			continue // inside nested code, which its own signature seals
		}
		r := bestRule(rules, rel)
		if (r == nil && len(rules) > 0) || (r != nil && (r.omit || r.exclude)) {
			continue // no rule seals it, or a rule leaves it out
		}
		broken = append(broken, e.Path) // shipped but not sealed
	}
	for rel, sf := range sealed {
		if sf.optional || sf.symlink {
			continue
		}
		if sf.nested {
			if !present[rel] && !anyUnder(present, rel) {
				broken = append(broken, contents+rel)
			}
			continue
		}
		if !present[rel] {
			broken = append(broken, contents+rel) // sealed but missing
		}
	}
	sort.Strings(broken)
	if sha1Only > 0 {
		note = fmt.Sprintf("%d file(s) sealed with SHA-1 only were not verified", sha1Only)
	}
	return broken, note, nil
}

func mustHex(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}

func underNested(rel string, sealed map[string]sealedFile) bool {
	for dir := path.Dir(rel); dir != "." && dir != "/"; dir = path.Dir(dir) {
		if sf, ok := sealed[dir]; ok && sf.nested {
			return true
		}
	}
	return false
}

func anyUnder(present map[string]bool, dir string) bool {
	for p := range present {
		if strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

func parseRules(m map[string]any) ([]sealRule, error) {
	var out []sealRule
	for pat, v := range m {
		if len(pat) > MaxSealPattern {
			return nil, fmt.Errorf("rules2 pattern of %d bytes: %w", len(pat), unpack.ErrLimit)
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			continue // POSIX syntax RE2 does not take; such a rule is not applied
		}
		r := sealRule{re: re, weight: 1}
		switch x := v.(type) {
		case bool:
			r.exclude = !x
		case map[string]any:
			r.omit, _ = x["omit"].(bool)
			r.optional, _ = x["optional"].(bool)
			r.nested, _ = x["nested"].(bool)
			switch w := x["weight"].(type) {
			case float64:
				r.weight = w
			case uint64:
				r.weight = float64(w)
			case int64:
				r.weight = float64(w)
			}
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].re.String() < out[j].re.String() })
	return out, nil
}

// bestRule is the matching rule of highest weight (codesign's resource rule selection).
func bestRule(rules []sealRule, rel string) *sealRule {
	var best *sealRule
	for i := range rules {
		r := &rules[i]
		if r.re.MatchString(rel) && (best == nil || r.weight > best.weight) {
			best = r
		}
	}
	return best
}
