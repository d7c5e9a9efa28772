package rules

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/rollgate/rollgate/inventory"
)

// Static returns the findings of the static rules for cand. With a nil baseline only the rules
// that need no baseline run (signature integrity, padding, trust, system-named DLLs, broken
// seals, hijackable dylibs, incomplete analysis, overlays), so `inspect` can judge an installer
// on its own.
//
// Candidate files are paired with baseline files by identity (pairEntries): a file that moved
// or was renamed is judged as changed, with every content rule, not as a new file.
func Static(base, cand *inventory.Inventory) []Finding {
	c := &collector{}
	var baseEndpoints map[string]bool
	var pairs map[*inventory.Entry]pairing
	var cov coverage
	if base != nil {
		baseEndpoints = map[string]bool{}
		for _, e := range base.Entries {
			for _, ep := range e.Endpoints {
				baseEndpoints[ep] = true
			}
		}
		pairs = pairEntries(base, cand)
		cov = signingCoverage(base)
	}
	manufacturer := cand.Product.Manufacturer
	if manufacturer == "" && base != nil {
		manufacturer = base.Product.Manufacturer
	}
	for i := range cand.Entries {
		e := &cand.Entries[i]
		p := pairs[e]
		b := p.base
		intrinsic(e, cand, b, base != nil, c)
		if base == nil {
			continue
		}
		var fresh []string
		if e.Kind.IsCode() {
			for _, ep := range e.Endpoints {
				if !baseEndpoints[ep] {
					fresh = append(fresh, ep)
				}
			}
		}
		if b == nil {
			added(e, c)
		} else {
			if b.Path != e.Path {
				c.add(FileMoved, e.Path, fmt.Sprintf("moved from %s (paired by %s); judged as a changed file", b.Path, p.by),
					map[string]any{"baseline_path": b.Path, "paired_by": p.by, "baseline_sha256": b.SHA256, "sha256": e.SHA256})
			}
			changed(b, e, c)
			suspiciousChange(b, e, manufacturer, fresh, c)
		}
		cov.judge(b, e, c)
		if len(fresh) > 0 {
			c.add(StringsEndpointAdded, e.Path, fmt.Sprintf("embeds %d endpoint(s) no file of the baseline contained: %s", len(fresh), clip(fresh, 5)),
				map[string]any{"endpoints": fresh})
		}
	}
	for _, sk := range cand.Skipped {
		c.add(AnalysisIncomplete, sk.Path, "part of the input was not analysed: "+sk.Reason, map[string]any{"reason": sk.Reason})
	}
	if base != nil {
		paired := map[*inventory.Entry]bool{}
		for _, p := range pairs {
			paired[p.base] = true
		}
		for i := range base.Entries {
			b := &base.Entries[i]
			if !paired[b] {
				c.add(FileRemoved, b.Path, "file is not in the candidate", map[string]any{"sha256": b.SHA256})
			}
		}
		c.out = append(c.out, customActions(base, cand)...)
	}
	// The MSI tables that place or run code are static rules too; they judge a first
	// installer (base nil) on their own terms (msi.go).
	c.out = append(c.out, MSITables(base, cand)...)
	Sort(c.out)
	return c.out
}

// pairing is the baseline entry a candidate entry was paired with, and by which identity.
type pairing struct {
	base *inventory.Entry
	by   string // "path", "msi-file-key", "msi-component", "original-name", "file-name"
}

// pairEntries pairs candidate entries with baseline entries by identity, strongest first:
// install path (case-folded for Windows formats), then the MSI File table key, then the MSI
// Component, then the VERSIONINFO OriginalFilename, then the file name. A key pairs two
// entries only when it is unique among the still unpaired entries on both sides and both are
// of one kind: an ambiguous key pairs nothing, and the files stay added and removed.
func pairEntries(base, cand *inventory.Inventory) map[*inventory.Entry]pairing {
	out := map[*inventory.Entry]pairing{}
	used := map[*inventory.Entry]bool{}
	idx := newPathIndex(base)
	for i := range cand.Entries {
		e := &cand.Entries[i]
		if b := idx.lookup(e.Path); b != nil && !used[b] {
			out[e] = pairing{b, "path"}
			used[b] = true
		}
	}
	keys := []struct {
		by  string
		key func(e *inventory.Entry) string
	}{
		{"msi-file-key", func(e *inventory.Entry) string { return e.MSIFile }},
		{"msi-component", func(e *inventory.Entry) string { return e.MSIComponent }},
		{"original-name", func(e *inventory.Entry) string { return strings.ToLower(e.OriginalName) }},
		{"file-name", func(e *inventory.Entry) string { return strings.ToLower(path.Base(e.Path)) }},
	}
	for _, k := range keys {
		bs := map[string][]*inventory.Entry{}
		for i := range base.Entries {
			b := &base.Entries[i]
			if kv := k.key(b); kv != "" && !used[b] && b.Path != inventory.InstallerPath {
				bs[kv] = append(bs[kv], b)
			}
		}
		cs := map[string][]*inventory.Entry{}
		for i := range cand.Entries {
			e := &cand.Entries[i]
			if _, ok := out[e]; ok || e.Path == inventory.InstallerPath {
				continue
			}
			if kv := k.key(e); kv != "" {
				cs[kv] = append(cs[kv], e)
			}
		}
		for kv, es := range cs {
			b := bs[kv]
			if len(es) != 1 || len(b) != 1 || es[0].Kind != b[0].Kind {
				continue
			}
			out[es[0]] = pairing{b[0], k.by}
			used[b[0]] = true
		}
	}
	return out
}

// collector gathers findings.
type collector struct{ out []Finding }

// add records a finding at the rule's default severity.
func (c *collector) add(rule, path, msg string, ev map[string]any) {
	c.out = append(c.out, Finding{Rule: rule, Severity: Default(rule), Path: path, Message: msg, Evidence: ev})
}

// intrinsic runs the rules that judge an entry on its own. hasBase says a baseline exists;
// b is the baseline's entry at the same path, if any.
func intrinsic(e *inventory.Entry, inv *inventory.Inventory, b *inventory.Entry, hasBase bool, c *collector) {
	if s := e.Signature; s != nil {
		switch s.State {
		case inventory.SigInvalid:
			c.add(SigInvalid, e.Path, "signature does not verify: "+orDefault(s.IntegrityError, "unparsable signature"),
				map[string]any{"integrity_error": s.IntegrityError, "signer": s.Signer})
		case inventory.SigSigned:
			if !s.Trusted {
				c.add(SigUntrusted, e.Path, "signature does not chain to a trusted root: "+orDefault(s.TrustError, "untrusted"),
					map[string]any{"trust_error": s.TrustError, "signer": s.Signer, "issuer": s.Issuer})
			}
		}
		if len(s.Anomalies) > 0 {
			var n int64
			for _, a := range s.Anomalies {
				n += a.Length
			}
			c.add(SigPadding, e.Path, fmt.Sprintf("%d byte(s) hidden in or after the signature (the CVE-2013-3900 pattern); the digest does not cover them", n),
				map[string]any{"anomalies": s.Anomalies})
		}
	}
	// A system-named DLL the baseline already shipped there was accepted with the baseline;
	// one that is new, or moved or renamed into the name, is judged.
	if isSystemNamedDLL(e.Path) && (!hasBase || b == nil || !isSystemNamedDLL(b.Path)) {
		c.add(SideloadSystemName, e.Path, fmt.Sprintf("ships %s, the name of a Windows system DLL, in an application folder: programs there load it instead of the system's", path.Base(e.Path)),
			map[string]any{"name": strings.ToLower(path.Base(e.Path)), "sha256": e.SHA256})
	}
	incomplete(e, inv, c)
	if o := e.Overlay; o != nil && o.Format == "" && unsigned(e) && (b == nil || b.SHA256 != e.SHA256) {
		c.add(PEOverlay, e.Path, fmt.Sprintf("%d byte(s) appended after the last section of an unsigned PE (offset %d), in no format rollgate unpacks", o.Size, o.Offset),
			map[string]any{"offset": o.Offset, "size": o.Size, "sha256": e.SHA256})
	}
	if m := e.MachO; m != nil {
		if len(m.SealBroken) > 0 {
			c.add(BundleSealBroken, e.Path, fmt.Sprintf("the bundle's CodeResources does not match %d file(s): %s", len(m.SealBroken), clip(m.SealBroken, 5)),
				map[string]any{"files": m.SealBroken})
		}
		for _, d := range hijackable(e, inv) {
			if b != nil && slices.Contains(hijackable(b, nil), d) {
				continue
			}
			c.add(MachoDylibHijackable, e.Path, fmt.Sprintf("loads %s weakly or through @rpath and nothing in the bundle provides it: a file placed there is loaded", d),
				map[string]any{"dylib": d, "rpaths": m.RPaths})
		}
	}
}

// incomplete reports what of e was not analysed: a code file whose facts could not be parsed,
// a nested container that was not opened, a container appended to a PE that nothing unpacked.
// Each is analysis.incomplete, which makes the verdict inconclusive (MakesInconclusive).
func incomplete(e *inventory.Entry, inv *inventory.Inventory, c *collector) {
	switch {
	case (e.Kind == inventory.KindPE || e.Kind == inventory.KindMachO) && e.Error != "":
		c.add(AnalysisIncomplete, e.Path, fmt.Sprintf("%s file could not be fully analysed: %s", e.Kind, e.Error),
			map[string]any{"error": e.Error, "kind": e.Kind, "sha256": e.SHA256})
	case e.Kind == inventory.KindArchive && e.Container == "" && e.Path != inventory.InstallerPath:
		c.add(AnalysisIncomplete, e.Path, "looks like a container but was not opened: its contents were not inventoried",
			map[string]any{"sha256": e.SHA256, "size": e.Size})
	}
	if o := e.Overlay; o != nil && o.Format != "" && !hasEntriesUnder(inv, e.Path) {
		c.add(AnalysisIncomplete, e.Path, fmt.Sprintf("a %s container is appended to the PE (offset %d, %d bytes) and was not unpacked", o.Format, o.Offset, o.Size),
			map[string]any{"overlay_format": o.Format, "offset": o.Offset, "size": o.Size})
	}
}

// hasEntriesUnder reports whether inv holds entries nested under p (p + "/...").
func hasEntriesUnder(inv *inventory.Inventory, p string) bool {
	prefix := p + "/"
	for i := range inv.Entries {
		if strings.HasPrefix(inv.Entries[i].Path, prefix) {
			return true
		}
	}
	return false
}

// unsigned reports whether e carries no signature (adhoc counts as none).
func unsigned(e *inventory.Entry) bool {
	return e.Signature == nil || e.Signature.State == inventory.SigUnsigned || e.Signature.State == inventory.SigAdhoc
}

// added judges a file the baseline did not have.
func added(e *inventory.Entry, c *collector) {
	if e.Path == inventory.InstallerPath {
		return
	}
	c.add(FileAdded, e.Path, fmt.Sprintf("new %s file", e.Kind), map[string]any{"sha256": e.SHA256, "size": e.Size})
	if e.Kind.IsCode() && (e.Signature == nil || e.Signature.State == inventory.SigUnsigned) {
		c.add(FileAddedUnsignedCode, e.Path, fmt.Sprintf("new %s carries no signature", e.Kind), map[string]any{"sha256": e.SHA256})
	}
	if m := e.MachO; m != nil {
		entitlements(nil, e, c)
	}
}

// changed judges a file both inventories have.
func changed(b, e *inventory.Entry, c *collector) {
	signatureChange(b, e, c)
	if e.Path == inventory.InstallerPath && !e.Kind.IsCode() {
		return // a container's hash changes with every release; a bare PE installer is the code
	}
	if b.SHA256 != e.SHA256 {
		c.add(FileChanged, e.Path, "content changed", map[string]any{"baseline_sha256": b.SHA256, "sha256": e.SHA256})
		if bo, eo := b.Overlay, e.Overlay; bo != nil && eo != nil && bo.StubSHA256 != "" && eo.StubSHA256 != "" {
			// A launcher carrying a container whose files are judged one by one: its version
			// resource is the stub's (an InstallShield setup.exe keeps the engine's version
			// across releases), so the stub, not the carried payload, must be unchanged.
			if bo.StubSHA256 != eo.StubSHA256 && e.Version != "" && e.Version == b.Version {
				c.add(ContentChangedSameVer, e.Path, fmt.Sprintf("the stub before the %s overlay changed but its version is still %s", eo.Format, e.Version),
					map[string]any{"version": e.Version, "baseline_stub_sha256": bo.StubSHA256, "stub_sha256": eo.StubSHA256})
			}
		} else if e.Version != "" && e.Version == b.Version {
			c.add(ContentChangedSameVer, e.Path, fmt.Sprintf("content changed but the version is still %s", e.Version),
				map[string]any{"version": e.Version, "baseline_sha256": b.SHA256, "sha256": e.SHA256})
		}
	}
	if e.Kind == inventory.KindPE || e.Kind == inventory.KindMachO {
		var fresh []string
		for _, imp := range e.Imports {
			if !slices.Contains(b.Imports, imp) {
				fresh = append(fresh, imp)
			}
		}
		if len(fresh) > 0 {
			c.add(PEImportAdded, e.Path, "now imports "+strings.Join(fresh, ", "), map[string]any{"imports": fresh})
		}
	}
	entitlements(b, e, c)
	if b.MachO != nil && b.MachO.Notarized && (e.MachO == nil || !e.MachO.Notarized) {
		c.add(NotarizationMissing, e.Path, "the baseline carried a stapled notarization ticket, the candidate does not", nil)
	}
}

func signatureChange(b, e *inventory.Entry, c *collector) {
	bs, cs := b.Signature, e.Signature
	if bs == nil || bs.State != inventory.SigSigned {
		return
	}
	if cs == nil || cs.State == inventory.SigUnsigned || cs.State == inventory.SigAdhoc {
		state := inventory.SigUnsigned
		if cs != nil {
			state = cs.State
		}
		c.add(SigRemoved, e.Path, fmt.Sprintf("the baseline was signed by %s; the candidate is %s", bs.Signer, state),
			map[string]any{"baseline_signer": bs.Signer, "state": state})
		return
	}
	if cs.State != inventory.SigSigned {
		return // sig.invalid speaks for it
	}
	rule, diffs := publisherChange(bs, cs)
	switch rule {
	case SigSignerChanged:
		c.add(SigSignerChanged, e.Path, fmt.Sprintf("signed by another publisher: %s", strings.Join(diffs, "; ")),
			map[string]any{"changes": diffs, "signer": cs.Signer, "issuer": cs.Issuer, "public_key": cs.PublicKey, "team_id": cs.TeamID,
				"baseline_signer": bs.Signer, "baseline_issuer": bs.Issuer, "baseline_public_key": bs.PublicKey, "baseline_team_id": bs.TeamID})
	case SigCertificateRenewed:
		c.add(SigCertificateRenewed, e.Path, fmt.Sprintf("same publisher, renewed certificate: %s", strings.Join(diffs, "; ")),
			map[string]any{"changes": diffs, "serial": cs.Serial, "baseline_serial": bs.Serial, "public_key": cs.PublicKey,
				"baseline_public_key": bs.PublicKey, "not_after": cs.NotAfter, "baseline_not_after": bs.NotAfter, "issuer": cs.Issuer})
	}
}

// weakeningEntitlements relax the hardened runtime.
var weakeningEntitlements = map[string]bool{
	"com.apple.security.cs.disable-library-validation":         true,
	"com.apple.security.cs.allow-dyld-environment-variables":   true,
	"com.apple.security.cs.allow-unsigned-executable-memory":   true,
	"com.apple.security.cs.disable-executable-page-protection": true,
	"com.apple.security.cs.allow-jit":                          true,
	"com.apple.security.get-task-allow":                        true,
}

func entitlements(b, e *inventory.Entry, c *collector) {
	if e.MachO == nil {
		return
	}
	var had []string
	if b != nil && b.MachO != nil {
		had = b.MachO.Entitlements
	}
	for _, ent := range e.MachO.Entitlements {
		if slices.Contains(had, ent) {
			continue
		}
		sev := Medium
		msg := "new entitlement " + ent
		if weakeningEntitlements[ent] {
			sev = Default(MachoEntitlementAdded)
			msg += ", which weakens the hardened runtime"
		}
		c.out = append(c.out, Finding{Rule: MachoEntitlementAdded, Severity: sev, Path: e.Path, Message: msg, Evidence: map[string]any{"entitlement": ent}})
	}
}

// hijackable lists the weak or @rpath dylib loads of e that resolve to no file of inv (nil inv:
// only the list of weak/@rpath loads, for comparison with a baseline).
func hijackable(e *inventory.Entry, inv *inventory.Inventory) []string {
	m := e.MachO
	if m == nil {
		return nil
	}
	var cands []string
	for _, d := range e.Imports {
		if strings.HasPrefix(d, "@rpath/") || slices.Contains(m.WeakDylibs, d) {
			cands = append(cands, d)
		}
	}
	var out []string
	for _, d := range cands {
		if strings.HasPrefix(d, "/System/") || strings.HasPrefix(d, "/usr/lib/") {
			continue // the OS provides it; SIP protects it
		}
		if inv != nil && resolves(d, e, inv) {
			continue
		}
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// resolves reports whether a dylib load path names a file of the inventory, expanding
// @rpath with each LC_RPATH and @executable_path/@loader_path with the binary's folder.
func resolves(d string, e *inventory.Entry, inv *inventory.Inventory) bool {
	dir := path.Dir(e.Path)
	expand := func(p string) string {
		p = strings.ReplaceAll(p, "@executable_path", dir)
		p = strings.ReplaceAll(p, "@loader_path", dir)
		return path.Clean(p)
	}
	var tries []string
	if rest, ok := strings.CutPrefix(d, "@rpath/"); ok {
		for _, rp := range e.MachO.RPaths {
			tries = append(tries, expand(rp+"/"+rest))
		}
	} else {
		tries = append(tries, expand(d))
	}
	for _, t := range tries {
		if _, ok := inv.Lookup(strings.TrimPrefix(t, "/")); ok {
			return true
		}
		if _, ok := inv.Lookup(t); ok {
			return true
		}
	}
	return false
}

// systemFolders are MSI folder ids whose contents are the system's own.
var systemFolders = map[string]bool{"SystemFolder": true, "System64Folder": true, "System16Folder": true, "WindowsFolder": true}

// isSystemNamedDLL reports whether p is a DLL in an application folder under a system DLL's name.
func isSystemNamedDLL(p string) bool {
	// Binary/ holds custom-action DLLs, Cabinet/ files no File row installs and
	// (orphan-stream)/ streams nothing references: none lands in an application folder
	// (msi.orphan-code judges the last).
	if p == inventory.InstallerPath || strings.HasPrefix(p, "Binary/") || strings.HasPrefix(p, "Cabinet/") ||
		strings.HasPrefix(p, "(orphan-stream)/") {
		return false
	}
	first, _, _ := strings.Cut(p, "/")
	if systemFolders[first] {
		return false
	}
	return systemDLLs[strings.ToLower(path.Base(p))]
}

func customActions(base, cand *inventory.Inventory) []Finding {
	had := map[string]inventory.CustomAction{}
	for _, ca := range base.CustomActions {
		had[ca.Action] = ca
	}
	var out []Finding
	for _, ca := range cand.CustomActions {
		ev := map[string]any{"action": ca.Action, "type": ca.Type, "source": ca.Source, "target": ca.Target}
		old, ok := had[ca.Action]
		switch {
		case !ok:
			out = append(out, Finding{Rule: MSICustomActionAdded, Severity: Default(MSICustomActionAdded), Path: "CustomAction/" + ca.Action,
				Message: fmt.Sprintf("new custom action %s (type %d, source %s, target %s)", ca.Action, ca.Type, ca.Source, ca.Target), Evidence: ev})
		case old != ca:
			ev["baseline"] = map[string]any{"type": old.Type, "source": old.Source, "target": old.Target}
			out = append(out, Finding{Rule: MSICustomActionAdded, Severity: Default(MSICustomActionAdded), Path: "CustomAction/" + ca.Action,
				Message: fmt.Sprintf("custom action %s changed (type %d→%d, source %s→%s, target %s→%s)", ca.Action, old.Type, ca.Type, old.Source, ca.Source, old.Target, ca.Target), Evidence: ev})
		}
	}
	return out
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// clip joins at most n items for a one-line message.
func clip(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}

// pathIndex finds entries by path; for Windows inventories also by case-folded path, since
// Windows folders and file names are case-insensitive: a candidate that only re-cases a folder
// installs over the baseline's files and must be compared with them. (unpack/msi refuses two
// files of one package that fold to one path, so a folded match is unique.)
type pathIndex struct {
	inv  *inventory.Inventory
	fold map[string]*inventory.Entry
}

func newPathIndex(inv *inventory.Inventory) *pathIndex {
	x := &pathIndex{inv: inv}
	if inv == nil || (inv.Format != "msi" && inv.Format != "cab" && inv.Format != "pe") {
		return x
	}
	x.fold = make(map[string]*inventory.Entry, len(inv.Entries))
	for i := range inv.Entries {
		x.fold[strings.ToUpper(inv.Entries[i].Path)] = &inv.Entries[i]
	}
	return x
}

func (x *pathIndex) lookup(p string) *inventory.Entry {
	if e, ok := x.inv.Lookup(p); ok {
		return e
	}
	return x.fold[strings.ToUpper(p)]
}
