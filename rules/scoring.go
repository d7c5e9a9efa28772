package rules

// Scoring: one finding for a changed code file from several weak signals, and the
// signing-coverage regression.
//
// content.changed-suspicious — a code file (PE, Mach-O, script) paired with its baseline
// whose hash changed and whose version string is not the baseline's (equal versions are
// content.changed-same-version's). Each reason adds points:
//
//	signals (at least one is needed for a finding)
//	  version-backwards    2  the dotted version is lower than the baseline's
//	  version-removed      2  the baseline had a version, the candidate has none
//	  company-changed      2  VERSIONINFO CompanyName differs from the baseline's
//	  original-name-changed 2 VERSIONINFO OriginalFilename differs from the baseline's
//	  signer-changed       2  signed by another publisher than the baseline (or no longer signed)
//	  network-imports      1  now imports a network DLL (ws2_32, winhttp, wininet, urlmon, dnsapi, ...)
//	  endpoints-added      1  embeds a URL or host no file of the baseline contained
//	context (adds points only together with a signal)
//	  version-bumped       1  the version changed: the attacker writes the version string
//	  third-party          1  CompanyName (the baseline's if the candidate has none) is not
//	                          the product's Manufacturer: the supply-chain target
//
// Severity: score ≥ 3 high (fails the default gate), 2 medium, 1 low. Every reason is in the
// evidence. So a trojanised third-party DLL whose version was bumped and that gained an
// endpoint scores 3 (high); the same DLL with its version resource removed scores 4; a
// first-party rebuild that bumps its version and gains an endpoint scores 2 (medium, as
// strings.endpoint-added alone already was); a third-party update with a new version and no
// other signal raises nothing.
//
// sig.coverage-regressed — when every code file of the baseline (PE, Mach-O and scripts a
// Windows SIP can sign: .ps1 .psm1 .psd1 .vbs .vbe .js .jse .wsf) carried a valid signature
// chaining to a trusted root, each new or changed such file that is unsigned, invalid, or
// signed (trusted or not) by a publisher no baseline file had is high. A file signed by one of
// the baseline's publishers (same subject, issuer and public key) is not escalated even when
// its chain is untrusted in this run: the key is the vendor's, and sig.untrusted (medium)
// reports the chain; a look-alike certificate carries another key. In a product that never
// signed everything the existing rules keep their defaults (file.added-unsigned-code and
// sig.untrusted medium).

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/rollgate/rollgate/inventory"
)

// networkDLLs are DLLs whose import gives code network reach.
var networkDLLs = map[string]bool{
	"ws2_32.dll": true, "wsock32.dll": true, "mswsock.dll": true, "winhttp.dll": true, "wininet.dll": true,
	"urlmon.dll": true, "dnsapi.dll": true, "websocket.dll": true, "httpapi.dll": true, "winhttpcom.dll": true,
	"bitsproxy.dll": true, "netapi32.dll": true, "mpr.dll": true,
}

// reason is one scored signal of a suspicious change.
type reason struct {
	Code   string `json:"code"`
	Points int    `json:"points"`
	Detail string `json:"detail"`
}

// suspiciousChange scores a changed code file (see the package comment above) and adds a
// content.changed-suspicious finding when a signal is present.
func suspiciousChange(b, e *inventory.Entry, manufacturer string, freshEndpoints []string, c *collector) {
	if !e.Kind.IsCode() || b.SHA256 == e.SHA256 {
		return
	}
	if e.Version != "" && e.Version == b.Version {
		return // content.changed-same-version
	}
	var rs []reason
	signal := false
	add := func(code string, points int, isSignal bool, detail string) {
		rs = append(rs, reason{code, points, detail})
		signal = signal || isSignal
	}
	switch {
	case b.Version != "" && e.Version == "":
		add("version-removed", 2, true, fmt.Sprintf("the baseline's version %s is gone", b.Version))
	case b.Version != "" && e.Version != "":
		if cmpVersion(e.Version, b.Version) < 0 {
			add("version-backwards", 2, true, fmt.Sprintf("version went from %s back to %s", b.Version, e.Version))
		} else {
			add("version-bumped", 1, false, fmt.Sprintf("version went from %s to %s", b.Version, e.Version))
		}
	}
	if b.Company != "" && e.Company != "" && !sameOrganisation(b.Company, e.Company) {
		add("company-changed", 2, true, fmt.Sprintf("CompanyName %q was %q", e.Company, b.Company))
	}
	if b.OriginalName != "" && e.OriginalName != "" && !strings.EqualFold(b.OriginalName, e.OriginalName) {
		add("original-name-changed", 2, true, fmt.Sprintf("OriginalFilename %q was %q", e.OriginalName, b.OriginalName))
	}
	if bs := b.Signature; bs != nil && bs.State == inventory.SigSigned {
		switch cs := e.Signature; {
		case cs == nil || cs.State != inventory.SigSigned:
			add("signer-changed", 2, true, fmt.Sprintf("the baseline was signed by %s, the candidate is not validly signed", bs.Signer))
		case !samePublisher(bs, cs):
			add("signer-changed", 2, true, fmt.Sprintf("signed by %s, the baseline by %s", cs.Signer, bs.Signer))
		}
	}
	var netImports []string
	for _, imp := range e.Imports {
		if networkDLLs[strings.ToLower(path.Base(imp))] && !slices.Contains(b.Imports, imp) {
			netImports = append(netImports, imp)
		}
	}
	if len(netImports) > 0 {
		add("network-imports", 1, true, "now imports "+strings.Join(netImports, ", "))
	}
	if len(freshEndpoints) > 0 {
		add("endpoints-added", 1, true, "embeds "+clip(freshEndpoints, 3))
	}
	company := e.Company
	if company == "" {
		company = b.Company
	}
	if company != "" && manufacturer != "" && !sameOrganisation(company, manufacturer) {
		add("third-party", 1, false, fmt.Sprintf("CompanyName %q is not the product's manufacturer %q", company, manufacturer))
	}
	if !signal {
		return
	}
	score := 0
	codes := make([]string, len(rs))
	for i, r := range rs {
		score += r.Points
		codes[i] = r.Code
	}
	sev := Low
	switch {
	case score >= 3:
		sev = High
	case score == 2:
		sev = Medium
	}
	c.out = append(c.out, Finding{Rule: ContentChangedSuspicious, Severity: sev, Path: e.Path,
		Message: fmt.Sprintf("content changed with score %d: %s", score, strings.Join(codes, ", ")),
		Evidence: map[string]any{"score": score, "reasons": rs, "version": e.Version, "baseline_version": b.Version,
			"baseline_sha256": b.SHA256, "sha256": e.SHA256}})
}

// cmpVersion compares dotted numeric versions ("4.4.0.1" > "4.4.0.0"); a part that is not a
// number compares as text. Missing parts count as 0.
func cmpVersion(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		x, y := "0", "0"
		if i < len(as) {
			x = as[i]
		}
		if i < len(bs) {
			y = bs[i]
		}
		xn, xerr := strconv.ParseUint(x, 10, 64)
		yn, yerr := strconv.ParseUint(y, 10, 64)
		switch {
		case xerr == nil && yerr == nil:
			if xn != yn {
				if xn < yn {
					return -1
				}
				return 1
			}
		case x != y:
			return strings.Compare(x, y)
		}
	}
	return 0
}

// legalSuffixes are the company-form words left out when comparing organisation names.
var legalSuffixes = map[string]bool{"ltd": true, "limited": true, "inc": true, "incorporated": true, "llc": true,
	"corp": true, "corporation": true, "co": true, "company": true, "gmbh": true, "ag": true, "sa": true, "sas": true,
	"bv": true, "nv": true, "plc": true, "oy": true, "ab": true, "as": true, "srl": true, "spa": true, "kk": true, "pty": true}

// sameOrganisation reports whether two organisation names are one: compared word by word on
// letters and digits, case-folded, company-form words ("Ltd", "Inc.", "GmbH") left out, one
// containing the other ("Acme" and "Acme Softphone Ltd.").
func sameOrganisation(a, b string) bool {
	norm := func(s string) string {
		var out strings.Builder
		for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if w = strings.ToLower(w); !legalSuffixes[w] {
				out.WriteString(w)
			}
		}
		return out.String()
	}
	x, y := norm(a), norm(b)
	if x == "" || y == "" {
		return false
	}
	return strings.Contains(x, y) || strings.Contains(y, x)
}

// signableScriptExt are script extensions a Windows subject interface package can sign.
var signableScriptExt = map[string]bool{
	".ps1": true, ".psm1": true, ".psd1": true, ".vbs": true, ".vbe": true, ".js": true, ".jse": true, ".wsf": true,
}

// coverageCode reports whether e is code the signing-coverage rule judges.
func coverageCode(e *inventory.Entry) bool {
	switch e.Kind {
	case inventory.KindPE, inventory.KindMachO:
		return true
	case inventory.KindScript:
		return signableScriptExt[strings.ToLower(path.Ext(e.Path))]
	}
	return false
}

// coverage is the baseline's signing coverage.
type coverage struct {
	// full: the baseline had code and every code file was validly signed and trusted.
	full    bool
	signers []*inventory.Signature
	files   int
}

func signingCoverage(base *inventory.Inventory) coverage {
	cov := coverage{full: true}
	for i := range base.Entries {
		e := &base.Entries[i]
		if !coverageCode(e) {
			continue
		}
		cov.files++
		s := e.Signature
		if s == nil || s.State != inventory.SigSigned || !s.Trusted {
			return coverage{}
		}
		if !slices.ContainsFunc(cov.signers, func(x *inventory.Signature) bool { return samePublisher(x, s) }) {
			cov.signers = append(cov.signers, s)
		}
	}
	cov.full = cov.files > 0
	return cov
}

// judge adds sig.coverage-regressed for a new (b nil) or changed code file of a fully signed
// product that is not signed by one of the baseline's trusted publishers.
func (cov coverage) judge(b, e *inventory.Entry, c *collector) {
	if !cov.full || !coverageCode(e) || (b != nil && b.SHA256 == e.SHA256) {
		return
	}
	if e.Path == inventory.InstallerPath && !e.Kind.IsCode() {
		return
	}
	var why string
	s := e.Signature
	switch {
	case s == nil || s.State == inventory.SigUnsigned || s.State == inventory.SigAdhoc:
		why = "unsigned"
	case s.State == inventory.SigInvalid:
		why = "invalid signature"
	case slices.ContainsFunc(cov.signers, func(x *inventory.Signature) bool { return samePublisher(x, s) }):
		// The baseline's own publisher (subject, issuer and key): an untrusted chain here is
		// this run's trust configuration, which sig.untrusted reports; a look-alike
		// certificate has another key and stays below.
		return
	case !s.Trusted:
		why = "untrusted signature from a new publisher, " + s.Signer + " (" + orDefault(s.TrustError, "no trusted chain") + ")"
	default:
		why = "signed by a new publisher, " + s.Signer
	}
	state := "new"
	if b != nil {
		state = "changed"
	}
	var names []string
	for _, x := range cov.signers {
		names = append(names, x.Signer)
	}
	ev := map[string]any{"reason": why, "baseline_signers": names, "baseline_code_files": cov.files, "sha256": e.SHA256}
	if s != nil {
		ev["signer"], ev["issuer"] = s.Signer, s.Issuer
	}
	c.add(SigCoverageRegressed, e.Path, fmt.Sprintf("%s %s is %s, but every code file of the baseline (%d) was signed by a trusted publisher", state, e.Kind, why, cov.files), ev)
}
