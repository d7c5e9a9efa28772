// Package apple reads the facts rollgate needs from macOS code: Mach-O load commands (the
// dylibs a binary loads, weakly or through @rpath, its rpaths and its LC_ID_DYLIB version),
// the embedded code signature (CodeDirectory flags, team ID and page hashes, entitlements, the
// CMS signature over the CodeDirectory and its chain), the bundle seal
// (_CodeSignature/CodeResources against the bundle's files) and xar (.pkg) signatures.
//
// It follows Apple's open-source xnu and Security headers (osfmk/kern/cs_blobs.h,
// codedirectory.h, CSCommon.h) for the signature SuperBlob and CodeDirectory layouts, RFC 5652
// for CMS, and the xar format description for flat packages. Load commands are read with the
// standard library's debug/macho, which is hardened for hostile input; the SuperBlob and
// CodeDirectory are parsed here with every offset bounded (relic's csblob parser indexes
// with unchecked offsets). relic (github.com/sassoftware/relic/v7) supplies PKCS#7 and the
// RFC 3161 timestamp checks.
//
// Errata handled: Apple's CMS blobs are BER with indefinite lengths (re-encoded as DER before
// parsing); Apple's intermediate certificates carry critical extensions Go does not know
// (marked handled before the chain is built); Go's own linker signs darwin/arm64 binaries
// ad hoc with the linker-signed flag, which is an ad-hoc signature, not a signing identity.
package apple

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	_ "crypto/sha1"   // CodeDirectory hash type 1
	_ "crypto/sha512" // CodeDirectory hash type 4 (SHA-384)
	"crypto/x509"
	"debug/macho"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/verify/trust"
	"github.com/sassoftware/relic/v7/lib/pkcs7"
	"github.com/sassoftware/relic/v7/lib/pkcs9"
	"howett.net/plist"
)

// Limits.
const (
	// MaxSignatureBytes bounds one LC_CODE_SIGNATURE blob. Real ones are a few hundred KiB at
	// most (page hashes of a large binary plus a CMS blob with its chain).
	MaxSignatureBytes = 16 << 20
	// MaxBlobIndex bounds the SuperBlob's index entries.
	MaxBlobIndex = 64
	// MaxSlices bounds the architectures of a universal binary.
	MaxSlices = 16
	// MaxPlistBytes bounds an entitlements plist, an Info.plist or a CodeResources file.
	MaxPlistBytes = 1 << 20
	// MaxLoadPaths bounds the dylib and rpath load commands kept per slice.
	MaxLoadPaths = 4096
)

// Load command numbers (mach-o/loader.h) that debug/macho leaves as raw bytes.
const (
	lcIDDylib        = 0xd
	lcLoadDylib      = 0xc
	lcLoadWeakDylib  = 0x80000018
	lcRpath          = 0x8000001c
	lcReexportDylib  = 0x8000001f
	lcLazyLoadDylib  = 0x20
	lcLoadUpward     = 0x80000023
	lcCodeSignature  = 0x1d
	fatMagic         = 0xcafebabe
	fatMagic64       = 0xcafebabf
	csSuperBlob      = 0xfade0cc0
	csCodeDirectory  = 0xfade0c02
	csEntitlements   = 0xfade7171
	csBlobWrapper    = 0xfade0b01
	slotCodeDir      = 0
	slotRequirements = 2
	slotEntitlements = 5
	slotRepSpecific  = 6
	slotEntDER       = 7
	slotAltCodeDir   = 0x1000
	slotSignature    = 0x10000
)

// Code signature flags (CSCommon.h / cs_blobs.h) and the names CodeFlags reports.
var codeFlagNames = []struct {
	bit  uint32
	name string
}{
	{0x1, "host"}, {0x2, "adhoc"}, {0x100, "hard"}, {0x200, "kill"}, {0x400, "expires"},
	{0x800, "restrict"}, {0x1000, "enforcement"}, {0x2000, "library-validation"},
	{0x10000, "runtime"}, {0x20000, "linker-signed"},
}

const flagAdhoc = 0x2

// Options configure a Verifier; see trust.Options. The zero value is strict.
type Options = trust.Options

// Verifier checks Apple code signatures against one trust set. Safe for concurrent use.
type Verifier struct {
	roots *x509.CertPool
	now   func() time.Time
}

// NewVerifier builds a Verifier; it fails when no trust set can be formed (no Roots, no
// system pool and no ExtraRoots).
func NewVerifier(opts Options) (*Verifier, error) {
	set, err := trust.NewSet(opts)
	if err != nil {
		return nil, fmt.Errorf("apple: %w", err)
	}
	return &Verifier{roots: set.Roots, now: set.Now}, nil
}

// defaultVerifier uses the system roots (or an empty pool when there are none, so every
// chain is untrusted rather than the call failing).
func defaultVerifier() *Verifier {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	return &Verifier{roots: pool, now: time.Now}
}

// MachOFacts annotates e (a thin or universal Mach-O) with its load commands, version and code
// signature, checked against the system roots. See Verifier.MachOFacts.
func MachOFacts(e *inventory.Entry, ra io.ReaderAt, size int64) error {
	return defaultVerifier().MachOFacts(e, ra, size)
}

// MachOFacts annotates e with the facts of every slice of the Mach-O in ra: Slices, the
// union of dylib loads (Imports, WeakDylibs), RPaths, InstallName and Version from
// LC_ID_DYLIB, CodeFlags and Entitlements from the signature, and Signature. A universal
// binary's signature state is the worst of its slices (invalid, unsigned, adhoc, signed).
// It never panics: a panic in a parser below is returned as an error with its stack.
func (v *Verifier) MachOFacts(e *inventory.Entry, ra io.ReaderAt, size int64) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("apple: internal error reading Mach-O %q: %v\n%s", e.Path, p, debug.Stack())
		}
	}()
	slices, err := sliceRanges(ra, size)
	if err != nil {
		return err
	}
	m := e.MachO
	if m == nil {
		m = &inventory.MachO{}
	}
	var sigs []*inventory.Signature
	imports := map[string]bool{}
	weak, rpaths, ents, flags := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	var firstErr error
	for _, s := range slices {
		sr := io.NewSectionReader(ra, s.off, s.size)
		f, err := macho.NewFile(sr)
		if err != nil {
			firstErr = errors.Join(firstErr, &unpack.FormatError{Format: "macho", Entry: e.Path, Offset: s.off, Msg: err.Error()})
			continue
		}
		facts, err := loadFacts(f)
		if err != nil {
			firstErr = errors.Join(firstErr, &unpack.FormatError{Format: "macho", Entry: e.Path, Offset: s.off, Msg: err.Error()})
		}
		m.Slices = append(m.Slices, archName(f.Cpu, f.SubCpu))
		for _, d := range facts.dylibs {
			imports[d] = true
		}
		for _, d := range facts.weak {
			weak[d] = true
		}
		for _, d := range facts.rpaths {
			rpaths[d] = true
		}
		if facts.idName != "" && m.InstallName == "" {
			m.InstallName = facts.idName
			if e.Version == "" {
				e.Version = facts.idVersion
			}
		}
		sig, cf, el, ident := v.signature(sr, s.size, facts)
		sigs = append(sigs, sig)
		if m.Identifier == "" {
			m.Identifier = ident
		}
		for _, x := range cf {
			flags[x] = true
		}
		for _, x := range el {
			ents[x] = true
		}
		f.Close()
	}
	if len(sigs) == 0 {
		if firstErr == nil {
			firstErr = &unpack.FormatError{Format: "macho", Entry: e.Path, Offset: 0, Msg: "no readable slice"}
		}
		return firstErr
	}
	e.Imports = union(e.Imports, imports)
	m.WeakDylibs = union(m.WeakDylibs, weak)
	m.RPaths = union(m.RPaths, rpaths)
	m.Entitlements = union(m.Entitlements, ents)
	m.CodeFlags = union(m.CodeFlags, flags)
	e.MachO = m
	e.Signature = worst(sigs)
	return firstErr
}

type sliceRange struct{ off, size int64 }

// sliceRanges returns the byte ranges of the thin images in ra.
func sliceRanges(ra io.ReaderAt, size int64) ([]sliceRange, error) {
	var hdr [8]byte
	if _, err := ra.ReadAt(hdr[:], 0); err != nil {
		return nil, &unpack.FormatError{Format: "macho", Offset: 0, Msg: "file too short for a Mach-O header"}
	}
	magic := binary.BigEndian.Uint32(hdr[:])
	if magic != fatMagic && magic != fatMagic64 {
		return []sliceRange{{0, size}}, nil
	}
	n := binary.BigEndian.Uint32(hdr[4:])
	if n == 0 || n > MaxSlices {
		return nil, &unpack.FormatError{Format: "macho", Offset: 4, Msg: fmt.Sprintf("universal binary with %d slices (limit %d)", n, MaxSlices)}
	}
	entSize := int64(20)
	if magic == fatMagic64 {
		entSize = 32
	}
	buf := make([]byte, int64(n)*entSize)
	if _, err := ra.ReadAt(buf, 8); err != nil {
		return nil, &unpack.FormatError{Format: "macho", Offset: 8, Msg: "truncated fat header"}
	}
	var out []sliceRange
	for i := int64(0); i < int64(n); i++ {
		b := buf[i*entSize:]
		var off, sz int64
		if magic == fatMagic {
			off, sz = int64(binary.BigEndian.Uint32(b[8:])), int64(binary.BigEndian.Uint32(b[12:]))
		} else {
			o, s := binary.BigEndian.Uint64(b[8:]), binary.BigEndian.Uint64(b[16:])
			if o > uint64(size) || s > uint64(size) {
				return nil, &unpack.FormatError{Format: "macho", Offset: 8 + i*entSize, Msg: "slice beyond the end of the file"}
			}
			off, sz = int64(o), int64(s)
		}
		if off < 8+int64(n)*entSize || off > size || sz > size-off || sz == 0 {
			return nil, &unpack.FormatError{Format: "macho", Offset: 8 + i*entSize, Msg: fmt.Sprintf("slice %d at 0x%x+0x%x outside the file", i, off, sz)}
		}
		out = append(out, sliceRange{off, sz})
	}
	return out, nil
}

// sliceFacts are the load-command facts of one thin image.
type sliceFacts struct {
	dylibs, weak, rpaths []string
	idName, idVersion    string
	sigOff, sigSize      int64
	hasSig               bool
}

// loadFacts reads dylib, rpath, id and code-signature load commands from raw bytes.
func loadFacts(f *macho.File) (sliceFacts, error) {
	var s sliceFacts
	bo := f.ByteOrder
	var errs error
	for _, l := range f.Loads {
		raw := l.Raw()
		if len(raw) < 8 {
			continue
		}
		cmd := bo.Uint32(raw)
		switch cmd {
		case lcLoadDylib, lcLoadWeakDylib, lcReexportDylib, lcLazyLoadDylib, lcLoadUpward, lcIDDylib:
			if len(raw) < 24 {
				errs = errors.Join(errs, fmt.Errorf("dylib load command 0x%x of %d bytes", cmd, len(raw)))
				continue
			}
			name, err := cstr(raw, bo.Uint32(raw[8:]))
			if err != nil {
				errs = errors.Join(errs, err)
				continue
			}
			if cmd == lcIDDylib {
				s.idName = name
				s.idVersion = dylibVersion(bo.Uint32(raw[16:]))
				continue
			}
			if len(s.dylibs) >= MaxLoadPaths {
				return s, fmt.Errorf("more than %d dylib loads: %w", MaxLoadPaths, unpack.ErrLimit)
			}
			s.dylibs = append(s.dylibs, name)
			if cmd == lcLoadWeakDylib {
				s.weak = append(s.weak, name)
			}
		case lcRpath:
			if len(raw) < 12 {
				continue
			}
			name, err := cstr(raw, bo.Uint32(raw[8:]))
			if err != nil {
				errs = errors.Join(errs, err)
				continue
			}
			if len(s.rpaths) >= MaxLoadPaths {
				return s, fmt.Errorf("more than %d rpaths: %w", MaxLoadPaths, unpack.ErrLimit)
			}
			s.rpaths = append(s.rpaths, name)
		case lcCodeSignature:
			if len(raw) < 16 {
				errs = errors.Join(errs, errors.New("short LC_CODE_SIGNATURE"))
				continue
			}
			s.sigOff, s.sigSize, s.hasSig = int64(bo.Uint32(raw[8:])), int64(bo.Uint32(raw[12:])), true
		}
	}
	return s, errs
}

// cstr reads the NUL-terminated string at off inside a load command.
func cstr(raw []byte, off uint32) (string, error) {
	if off < 8 || int64(off) >= int64(len(raw)) {
		return "", fmt.Errorf("load command string offset %d outside its %d bytes", off, len(raw))
	}
	b := raw[off:]
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b), nil
}

// dylibVersion formats a packed xxxx.yy.zz version.
func dylibVersion(v uint32) string {
	return fmt.Sprintf("%d.%d.%d", v>>16, (v>>8)&0xff, v&0xff)
}

func archName(c macho.Cpu, sub uint32) string {
	switch c {
	case macho.CpuArm64:
		if sub&0xff == 2 {
			return "arm64e"
		}
		return "arm64"
	case macho.CpuAmd64:
		return "x86_64"
	case macho.Cpu386:
		return "i386"
	case macho.CpuArm:
		return "arm"
	case macho.CpuPpc:
		return "ppc"
	case macho.CpuPpc64:
		return "ppc64"
	}
	return fmt.Sprintf("cpu-0x%x", uint32(c))
}

func union(have []string, add map[string]bool) []string {
	set := map[string]bool{}
	for _, h := range have {
		set[h] = true
	}
	for k := range add {
		set[k] = true
	}
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// worst combines the slices' signatures: invalid, then unsigned, then adhoc, then signed.
func worst(sigs []*inventory.Signature) *inventory.Signature {
	rank := map[inventory.SigState]int{inventory.SigInvalid: 0, inventory.SigUnsigned: 1, inventory.SigAdhoc: 2, inventory.SigSigned: 3}
	best := sigs[0]
	for _, s := range sigs[1:] {
		if rank[s.State] < rank[best.State] {
			best = s
		}
	}
	return best
}

// codeDir is a parsed CodeDirectory.
type codeDir struct {
	raw             []byte
	flags           uint32
	hashType        uint8
	hash            crypto.Hash
	hashSize        int
	pageLog2        uint8
	nSpecial, nCode uint32
	hashOff         uint32
	codeLimit       int64
	team, ident     string
	slot            uint32
	cdHash          []byte
}

// special returns the hash of special slot n (1-based, stored before hashOff), or nil.
func (cd *codeDir) special(n uint32) []byte {
	if n == 0 || n > cd.nSpecial {
		return nil
	}
	off := int64(cd.hashOff) - int64(n)*int64(cd.hashSize)
	return cd.raw[off : off+int64(cd.hashSize)]
}

func hashFor(t uint8) (crypto.Hash, int, bool) {
	switch t {
	case 1:
		return crypto.SHA1, 20, true
	case 2:
		return crypto.SHA256, 32, true
	case 3:
		return crypto.SHA256, 20, true // SHA-256 truncated to 20 bytes
	case 4:
		return crypto.SHA384, 48, true
	}
	return 0, 0, false
}

// parseCodeDir parses and bounds a CodeDirectory blob (magic and length already checked).
func parseCodeDir(b []byte, slot uint32) (*codeDir, error) {
	if len(b) < 44 {
		return nil, fmt.Errorf("CodeDirectory of %d bytes", len(b))
	}
	be := binary.BigEndian
	cd := &codeDir{raw: b, slot: slot}
	version := be.Uint32(b[8:])
	cd.flags = be.Uint32(b[12:])
	cd.hashOff = be.Uint32(b[16:])
	identOff := be.Uint32(b[20:])
	cd.nSpecial = be.Uint32(b[24:])
	cd.nCode = be.Uint32(b[28:])
	cd.codeLimit = int64(be.Uint32(b[32:]))
	cd.hashSize = int(b[36])
	cd.hashType = b[37]
	cd.pageLog2 = b[39]
	h, size, ok := hashFor(cd.hashType)
	if !ok {
		return nil, fmt.Errorf("CodeDirectory hash type %d: %w", cd.hashType, unpack.ErrUnsupported)
	}
	if cd.hashSize != size {
		return nil, fmt.Errorf("CodeDirectory hash size %d for hash type %d", cd.hashSize, cd.hashType)
	}
	cd.hash = h
	if version >= 0x20100 && len(b) >= 48 && be.Uint32(b[44:]) != 0 {
		return nil, fmt.Errorf("CodeDirectory scatter vectors: %w", unpack.ErrUnsupported)
	}
	if version >= 0x20200 && len(b) >= 52 {
		if off := be.Uint32(b[48:]); off != 0 {
			t, err := cdString(b, off)
			if err != nil {
				return nil, fmt.Errorf("team identifier: %w", err)
			}
			cd.team = t
		}
	}
	if version >= 0x20300 && len(b) >= 64 {
		if l := be.Uint64(b[56:]); l != 0 {
			if l > 1<<62 {
				return nil, fmt.Errorf("codeLimit64 %d", l)
			}
			cd.codeLimit = int64(l)
		}
	}
	if identOff != 0 {
		s, err := cdString(b, identOff)
		if err != nil {
			return nil, fmt.Errorf("identifier: %w", err)
		}
		cd.ident = s
	}
	if cd.nSpecial > 64 {
		return nil, fmt.Errorf("%d special slots", cd.nSpecial)
	}
	lo := int64(cd.hashOff) - int64(cd.nSpecial)*int64(cd.hashSize)
	hi := int64(cd.hashOff) + int64(cd.nCode)*int64(cd.hashSize)
	if lo < 44 || hi > int64(len(b)) {
		return nil, fmt.Errorf("hash slots 0x%x..0x%x outside the %d-byte CodeDirectory", lo, hi, len(b))
	}
	if cd.pageLog2 != 0 && (cd.pageLog2 < 9 || cd.pageLog2 > 20) {
		return nil, fmt.Errorf("page size 2^%d", cd.pageLog2)
	}
	sum := cd.hash.New()
	sum.Write(b)
	cd.cdHash = sum.Sum(nil)
	return cd, nil
}

func cdString(b []byte, off uint32) (string, error) {
	if int64(off) >= int64(len(b)) || off < 44 {
		return "", fmt.Errorf("offset %d outside the CodeDirectory", off)
	}
	s := b[off:]
	i := bytes.IndexByte(s, 0)
	if i < 0 {
		return "", errors.New("unterminated string")
	}
	return string(s[:i]), nil
}

// sigBlob is a parsed embedded signature SuperBlob.
type sigBlob struct {
	dirs         []*codeDir
	requirements []byte
	entitlements []byte
	entDER       []byte
	cms          []byte // BER, without the blob wrapper header
}

func parseSuperBlob(b []byte) (*sigBlob, error) {
	be := binary.BigEndian
	if len(b) < 12 || be.Uint32(b) != csSuperBlob {
		return nil, errors.New("not an embedded signature SuperBlob")
	}
	length := int64(be.Uint32(b[4:]))
	if length < 12 || length > int64(len(b)) {
		return nil, fmt.Errorf("SuperBlob length %d, %d bytes present", length, len(b))
	}
	b = b[:length]
	count := be.Uint32(b[8:])
	if count > MaxBlobIndex || 12+int64(count)*8 > length {
		return nil, fmt.Errorf("SuperBlob with %d index entries", count)
	}
	sb := &sigBlob{}
	for i := uint32(0); i < count; i++ {
		typ := be.Uint32(b[12+8*i:])
		off := int64(be.Uint32(b[16+8*i:]))
		if off < 12 || off+8 > length {
			return nil, fmt.Errorf("blob %d at %d outside the SuperBlob", i, off)
		}
		bl := int64(be.Uint32(b[off+4:]))
		if bl < 8 || off+bl > length {
			return nil, fmt.Errorf("blob %d of %d bytes at %d outside the SuperBlob", i, bl, off)
		}
		blob := b[off : off+bl]
		magic := be.Uint32(blob)
		switch {
		case typ == slotCodeDir || (typ >= slotAltCodeDir && typ < slotAltCodeDir+5):
			if magic != csCodeDirectory {
				return nil, fmt.Errorf("slot 0x%x holds magic 0x%x, not a CodeDirectory", typ, magic)
			}
			cd, err := parseCodeDir(blob, typ)
			if err != nil {
				return nil, err
			}
			sb.dirs = append(sb.dirs, cd)
		case typ == slotRequirements:
			sb.requirements = blob
		case typ == slotEntitlements:
			sb.entitlements = blob
		case typ == slotEntDER:
			sb.entDER = blob
		case typ == slotSignature:
			if magic != csBlobWrapper {
				return nil, fmt.Errorf("signature slot holds magic 0x%x", magic)
			}
			sb.cms = blob[8:]
		}
	}
	if len(sb.dirs) == 0 {
		return nil, errors.New("no CodeDirectory")
	}
	sort.Slice(sb.dirs, func(i, j int) bool { return sb.dirs[i].slot < sb.dirs[j].slot })
	return sb, nil
}

// signature reads and checks the code signature of one thin image (r spans the image).
// It returns the signature, the CodeDirectory flag names, the true entitlements and the
// primary CodeDirectory's identifier (what codesign prints as Identifier=), "" when unsigned.
func (v *Verifier) signature(r io.ReaderAt, size int64, f sliceFacts) (*inventory.Signature, []string, []string, string) {
	out := &inventory.Signature{State: inventory.SigUnsigned}
	if !f.hasSig {
		return out, nil, nil, ""
	}
	invalid := func(format string, args ...any) (*inventory.Signature, []string, []string, string) {
		out.State = inventory.SigInvalid
		out.IntegrityError = fmt.Sprintf(format, args...)
		return out, nil, nil, ""
	}
	if f.sigSize > MaxSignatureBytes {
		return invalid("LC_CODE_SIGNATURE of %d bytes exceeds the %d-byte limit", f.sigSize, MaxSignatureBytes)
	}
	if f.sigOff < 0 || f.sigSize < 12 || f.sigOff > size || f.sigSize > size-f.sigOff {
		return invalid("LC_CODE_SIGNATURE 0x%x+0x%x outside the %d-byte image", f.sigOff, f.sigSize, size)
	}
	buf := make([]byte, f.sigSize)
	if _, err := r.ReadAt(buf, f.sigOff); err != nil {
		return invalid("reading the code signature: %v", err)
	}
	sig, flags, ents := v.checkBlob(r, size, buf, nil)
	var ident string
	if sb, err := parseSuperBlob(buf); err == nil {
		ident = sb.dirs[0].ident
	}
	return sig, flags, ents, ident
}

// checkBlob checks an embedded signature SuperBlob over the code in r[0:codeLimit).
// repSpecific is the representation-specific data sealed in special slot 6 (a DMG's koly
// header), nil for Mach-O.
func (v *Verifier) checkBlob(r io.ReaderAt, size int64, buf []byte, repSpecific []byte) (*inventory.Signature, []string, []string) {
	out := &inventory.Signature{State: inventory.SigUnsigned}
	invalid := func(format string, args ...any) (*inventory.Signature, []string, []string) {
		out.State = inventory.SigInvalid
		out.IntegrityError = fmt.Sprintf(format, args...)
		return out, nil, nil
	}
	sb, err := parseSuperBlob(buf)
	if err != nil {
		return invalid("code signature: %v", err)
	}
	primary := sb.dirs[0]
	out.TeamID = primary.team
	var flags []string
	for _, fl := range codeFlagNames {
		if primary.flags&fl.bit != 0 {
			flags = append(flags, fl.name)
		}
	}
	ents, entErr := trueEntitlements(sb.entitlements)
	best := primary
	for _, cd := range sb.dirs {
		if cd.hashType == 2 || (best.hashType != 2 && cd.hashType > best.hashType) {
			best = cd
		}
	}
	out.DigestAlgorithm = hashName(best.hash)

	// Integrity: every CodeDirectory's page hashes and special slots.
	for _, cd := range sb.dirs {
		if err := checkPages(r, size, cd); err != nil {
			out.State = inventory.SigInvalid
			out.IntegrityError = fmt.Sprintf("CodeDirectory slot 0x%x: %v", cd.slot, err)
			return out, flags, ents
		}
		specials := []struct {
			n    uint32
			blob []byte
			name string
		}{{slotRequirements, sb.requirements, "requirements"}, {slotEntitlements, sb.entitlements, "entitlements"}, {slotEntDER, sb.entDER, "DER entitlements"}}
		if repSpecific != nil {
			specials = append(specials, struct {
				n    uint32
				blob []byte
				name string
			}{slotRepSpecific, repSpecific, "representation-specific data (DMG header)"})
		}
		for _, sp := range specials {
			want := cd.special(sp.n)
			if want == nil || allZero(want) {
				if want != nil && sp.blob != nil {
					out.State = inventory.SigInvalid
					out.IntegrityError = fmt.Sprintf("%s blob present but not sealed by the CodeDirectory", sp.name)
					return out, flags, ents
				}
				continue
			}
			if sp.blob == nil || !hmac.Equal(digest(cd.hash, sp.blob)[:cd.hashSize], want) {
				out.State = inventory.SigInvalid
				out.IntegrityError = fmt.Sprintf("%s do not match the CodeDirectory's hash", sp.name)
				return out, flags, ents
			}
		}
	}
	if entErr != nil {
		out.State = inventory.SigInvalid
		out.IntegrityError = "entitlements: " + entErr.Error()
		return out, flags, ents
	}
	if primary.flags&flagAdhoc != 0 || len(sb.cms) == 0 {
		out.State = inventory.SigAdhoc
		return out, flags, ents
	}
	if err := v.checkCMS(out, sb); err != nil {
		out.State = inventory.SigInvalid
		out.IntegrityError = "CMS signature: " + err.Error()
		return out, flags, ents
	}
	out.State = inventory.SigSigned
	return out, flags, ents
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func digest(h crypto.Hash, b []byte) []byte {
	d := h.New()
	d.Write(b)
	return d.Sum(nil)
}

// checkPages hashes the image's pages [0, codeLimit) against the code slots. The code limit
// is the signature's own offset for a well-formed binary; it must not run past the image.
func checkPages(r io.ReaderAt, size int64, cd *codeDir) error {
	if cd.codeLimit > size {
		return fmt.Errorf("code limit %d beyond the %d-byte image", cd.codeLimit, size)
	}
	if cd.pageLog2 == 0 {
		if cd.nCode != 1 {
			return fmt.Errorf("%d code slots for an unpaged signature", cd.nCode)
		}
	} else {
		page := int64(1) << cd.pageLog2
		if want := (cd.codeLimit + page - 1) / page; int64(cd.nCode) != want {
			return fmt.Errorf("%d code slots for %d bytes of %d-byte pages", cd.nCode, cd.codeLimit, page)
		}
	}
	page := cd.codeLimit
	if cd.pageLog2 != 0 {
		page = int64(1) << cd.pageLog2
	}
	sr := io.NewSectionReader(r, 0, cd.codeLimit)
	buf := make([]byte, min(page, 1<<20))
	h := cd.hash.New()
	for i := uint32(0); i < cd.nCode; i++ {
		h.Reset()
		n, err := io.CopyBuffer(h, io.LimitReader(sr, page), buf)
		if err != nil {
			return fmt.Errorf("reading page %d: %v", i, err)
		}
		if n == 0 && cd.codeLimit != 0 {
			return fmt.Errorf("page %d is empty", i)
		}
		off := int64(cd.hashOff) + int64(i)*int64(cd.hashSize)
		if !hmac.Equal(h.Sum(nil)[:cd.hashSize], cd.raw[off:off+int64(cd.hashSize)]) {
			return fmt.Errorf("page %d (bytes 0x%x..) does not match its hash", i, int64(i)*page)
		}
	}
	return nil
}

// trueEntitlements returns the sorted keys of the entitlements plist whose value is true.
func trueEntitlements(blob []byte) ([]string, error) {
	if len(blob) <= 8 {
		return nil, nil
	}
	if binary.BigEndian.Uint32(blob) != csEntitlements {
		return nil, errors.New("entitlements blob has the wrong magic")
	}
	if len(blob) > MaxPlistBytes {
		return nil, fmt.Errorf("entitlements of %d bytes: %w", len(blob), unpack.ErrLimit)
	}
	var m map[string]any
	if _, err := plist.Unmarshal(blob[8:], &m); err != nil {
		return nil, fmt.Errorf("entitlements plist: %v", err)
	}
	var out []string
	for k, v := range m {
		if b, ok := v.(bool); ok && b {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

// checkCMS verifies the CMS signature over the primary CodeDirectory, fills the signer facts
// and computes trust.
func (v *Verifier) checkCMS(out *inventory.Signature, sb *sigBlob) error {
	pkt, err := ber.DecodePacketErr(sb.cms)
	if err != nil {
		return fmt.Errorf("BER: %v", err)
	}
	psd, err := pkcs7.Unmarshal(pkt.Bytes())
	if err != nil {
		return fmt.Errorf("parsing: %v", err)
	}
	sig, err := psd.Content.Verify(sb.dirs[0].raw, false)
	if err != nil {
		return err
	}
	if sig.Certificate == nil {
		return errors.New("no signer certificate")
	}
	ts, tsErr := pkcs9.VerifyOptionalTimestamp(sig)
	if tsErr != nil {
		ts = pkcs9.TimestampedSignature{Signature: sig}
	}
	leaf := sig.Certificate
	trust.DescribeLeaf(out, leaf)
	if out.TeamID == "" {
		out.TeamID = teamFromCert(leaf)
	}
	now := v.now()
	at := now
	var note string
	switch cs := ts.CounterSignature; {
	case tsErr != nil:
		note = fmt.Sprintf("timestamp ignored: %v; ", tsErr)
	case cs != nil:
		out.Timestamp = cs.SigningTime.UTC().Format(time.RFC3339)
		if err := verifyChain(v.roots, cs.Certificate, cs.Intermediates, cs.SigningTime, x509.ExtKeyUsageTimeStamping); err != nil {
			note = fmt.Sprintf("timestamp ignored: chain: %v; ", err)
		} else {
			at = cs.SigningTime
		}
	}
	if err := verifyChain(v.roots, leaf, sig.Intermediates, at, x509.ExtKeyUsageCodeSigning); err != nil {
		out.Trusted = false
		out.TrustError = note + trust.Describe(err, !at.Equal(now), at)
	} else {
		out.Trusted = true
	}
	return nil
}

// teamFromCert returns the OU of an Apple developer certificate, which is the team ID.
func teamFromCert(c *x509.Certificate) string {
	if len(c.Subject.OrganizationalUnit) == 1 && len(c.Subject.OrganizationalUnit[0]) == 10 {
		return c.Subject.OrganizationalUnit[0]
	}
	return ""
}

// verifyChain is trust.VerifyChain with the critical extensions of Apple's certificates
// marked handled.
func verifyChain(roots *x509.CertPool, leaf *x509.Certificate, bundled []*x509.Certificate, at time.Time, usage x509.ExtKeyUsage) error {
	return trust.VerifyChain(roots, leaf, bundled, at, usage, markAppleExtensions)
}

// oidAppleCodeSigning is the arc of Apple's code-signing certificate extensions
// (1.2.840.113635.100.6.1.*: Developer ID application, installer, kernel extension, ...),
// described in Apple's WWDR certification practice statement. Apple marks them critical;
// they name what the certificate may sign, which the chain check's usage already covers.
var oidAppleCodeSigning = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 1}

// markAppleExtensions marks Apple's critical code-signing extensions handled, and only them.
func markAppleExtensions(c *x509.Certificate) {
	var unhandled []asn1.ObjectIdentifier
	for _, ext := range c.UnhandledCriticalExtensions {
		if len(ext) < len(oidAppleCodeSigning) || !ext[:len(oidAppleCodeSigning)].Equal(oidAppleCodeSigning) {
			unhandled = append(unhandled, ext)
		}
	}
	c.UnhandledCriticalExtensions = unhandled
}

func hashName(h crypto.Hash) string {
	return strings.ToLower(strings.ReplaceAll(h.String(), "-", ""))
}
