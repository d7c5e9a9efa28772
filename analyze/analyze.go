// Package analyze turns an installer into an inventory: it opens the installer with the
// matching unpack reader, streams every file once (hashing, classifying and scanning for
// endpoints in the same pass), follows nested containers, and annotates code with PE facts
// and signatures. Work that needs random access (PE parsing, Authenticode, nested archives)
// runs on a spooled temporary copy in a pool of workers, so decompression on one core
// overlaps with verification on the other.
package analyze

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rollgate/rollgate/internal/digest"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/msi"
)

// Verifier checks code signatures. verify/authenticode implements it.
type Verifier interface {
	VerifyPE(r io.ReaderAt, size int64) (*inventory.Signature, error)
}

// Options configure an Analyzer. The zero value is refused by New: an analyzer that checks no
// signatures would let every rule that reads them (sig.padding among them) pass silently.
type Options struct {
	Verifier Verifier
	// MSIVerifier checks an MSI's own signature; see msi.go.
	MSIVerifier MSIVerifier
	// AppleVerifier checks Mach-O, pkg and DMG signatures; see apple.go.
	AppleVerifier AppleVerifier
	// SkipSignaturesUnsafe builds an analyzer without verifiers: every code entry's
	// signature reads "not-checked", never "unsigned". For benchmarks and format tests only.
	SkipSignaturesUnsafe bool
	// Formats are the container readers tried on the installer and on every file inside
	// it; a format not listed is inventoried as one opaque file. DefaultFormats lists all.
	Formats []Format
	// PostPasses run over the finished inventory with the captured metadata files (the
	// bundle pass of verify/apple judges app bundles as a whole).
	PostPasses []PostPass
	TempDir    string
	Jobs       int
	// MaxDepth bounds containers nested in containers.
	MaxDepth int
	// Identity names everything besides an installer's bytes and file name that decides the
	// inventory this analyzer makes (its build, formats, trust set). A baseline records it, and
	// an installer whose bytes, name and analyzer identity equal the recorded ones may reuse
	// the recorded inventory instead of being analysed again (package gate). Empty, the
	// default, disables that reuse.
	Identity string
}

// PostPass judges the finished inventory as a whole; captured holds the small metadata files
// (Info.plist, CodeResources) by inventory path.
type PostPass func(inv *inventory.Inventory, captured map[string][]byte) error

// Analyzer builds inventories.
type Analyzer struct {
	opts    Options
	openers map[string]opener
}

// ErrNoVerifier is returned by New for options that name no signature verifier and do not
// say SkipSignaturesUnsafe.
var ErrNoVerifier = errors.New("analyze: no signature verifier configured (set Verifier, MSIVerifier and AppleVerifier, or SkipSignaturesUnsafe)")

// New returns an Analyzer. It refuses options without the three verifiers unless
// SkipSignaturesUnsafe says so.
func New(opts Options) (*Analyzer, error) {
	if !opts.SkipSignaturesUnsafe && (opts.Verifier == nil || opts.MSIVerifier == nil || opts.AppleVerifier == nil) {
		return nil, ErrNoVerifier
	}
	if opts.Jobs <= 0 {
		opts.Jobs = runtime.GOMAXPROCS(0)
	}
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = unpack.MaxDepth
	}
	a := &Analyzer{opts: opts, openers: map[string]opener{}}
	for _, f := range opts.Formats {
		if f.open == nil {
			return nil, fmt.Errorf("analyze: format %q has no reader", f.name)
		}
		a.openers[f.name] = f.open
	}
	return a, nil
}

// Identity is Options.Identity: empty when the analyzer's inventories must never be reused.
func (a *Analyzer) Identity() string { return a.opts.Identity }

// ErrNotInstaller is returned for a file whose format rollgate does not know.
var ErrNotInstaller = fmt.Errorf("not an installer rollgate can read: %w", unpack.ErrUnsupported)

// run is the state of one Installer call.
type run struct {
	a       *Analyzer
	ctx     context.Context
	tmp     string
	sem     chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	entries []inventory.Entry
	// cas are the custom actions of nested MSI packages, named "<nested path>/<Action>".
	cas []inventory.CustomAction
	// left is the run's remaining expansion budget, shared with nested runs.
	left *atomic.Int64
	// captured holds small metadata files (Info.plist, CodeResources) by inventory path for
	// the post-passes that judge bundles as a whole.
	captured map[string][]byte
	// chain says the container being walked runs the packages it carries (a Burn bundle):
	// a nested package's tables, shortcuts and skipped parts are then gathered in pkgs.
	chain bool
	pkgs  packageFacts
	// packages names, by inventory path, the packages of the container being walked (a Burn
	// chain's "burn-MsiPackage/ID"): their custom actions are named by it, not by the
	// payload's file name, which often carries the version.
	packages map[string]string
	// transforms and tfs are the container's transforms by inventory path (container.transforms).
	transforms map[string][]string
	tfs        fs.FS
	// applied holds the inventory paths of the transforms applied to an MSI of the container:
	// their row changes are judged as that MSI's tables.
	applied map[string]bool
	// patches are the container's MSPs (container.patches); patched records, under mu, the
	// ones applied to an MSI of the container.
	patches []patchRef
	patched map[string]bool
	prefix  string // of the container's paths in the inventory
	err     error
	// installer is the top-level installer's path on disk (empty in nested runs): an Inno
	// setup in its overlay reads its slice files beside it, named in side.
	installer string
	side      []string
	// cabinets are the InstallShield cabinet files of the container being walked that
	// belong to a cabinet set, by inventory path (container.cabinets).
	cabinets map[string]string
}

// cabinetSkip says why the file name, whose first bytes are head, is a Skip when it is an
// InstallShield cabinet: its set's reason, or none when its set was read; isCabinetSkip's
// when it belongs to no set.
func (r *run) cabinetSkip(name string, head []byte) string {
	why := isCabinetSkip(head)
	if why == "" {
		return ""
	}
	if reason, ok := r.cabinets[name]; ok {
		return reason
	}
	return why
}

// caPrefix is the name a nested package's custom actions are listed under.
func (r *run) caPrefix(p string) string {
	if n, ok := r.packages[p]; ok {
		return n
	}
	return p
}

// MaxCapturedBytes bounds one captured metadata file; larger ones are not captured.
const MaxCapturedBytes = 1 << 20

// captureNames are the base names of files the bundle post-pass needs the content of.
var captureNames = map[string]bool{"Info.plist": true, "CodeResources": true}

// Installer inventories the installer at p.
func (a *Analyzer) Installer(ctx context.Context, p string) (*inventory.Inventory, error) {
	inv, _, err := a.InstallerSideFiles(ctx, p)
	return inv, err
}

// InstallerSideFiles is Installer that also names the files beside the installer (relative
// to its folder, sorted) that the inventory was read from or looked for: an MSI's external
// cabinets and uncompressed sources. With none, the inventory depends only on the
// installer's bytes, its file name and the analyzer (Identity).
func (a *Analyzer) InstallerSideFiles(ctx context.Context, p string) (*inventory.Inventory, []string, error) {
	var side []string
	inv, err := a.installer(ctx, p, &side)
	if err != nil {
		return nil, nil, err
	}
	return inv, side, nil
}

func (a *Analyzer) installer(ctx context.Context, p string, side *[]string) (*inventory.Inventory, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	tmp, err := os.MkdirTemp(a.opts.TempDir, "rollgate-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	r := &run{a: a, ctx: ctx, tmp: tmp, sem: make(chan struct{}, a.opts.Jobs), captured: map[string][]byte{}, left: new(atomic.Int64), installer: p}
	r.left.Store(expansionBudget(st.Size()))

	inv := &inventory.Inventory{Schema: inventory.Schema}
	size := st.Size()
	head := make([]byte, headSize)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]

	// The installer's own entry: hashed from the file on disk, facts from the file itself.
	self := inventory.Entry{Path: inventory.InstallerPath, Size: size, Kind: classify(p, head)}
	// The installer's own hash runs beside the walk: on two cores it would otherwise add its
	// whole time before decompression starts.
	type hashResult struct {
		sum string
		err error
	}
	selfHash := make(chan hashResult, 1)
	go func() {
		sum, _, err := digest.Reader(io.NewSectionReader(f, 0, size))
		selfHash <- hashResult{sum, err}
	}()
	waitHash := func() error {
		h := <-selfHash
		if h.err != nil {
			return fmt.Errorf("hashing %q: %w", p, h.err)
		}
		self.SHA256 = h.sum
		return nil
	}

	c, err := openContainer(a, f, size, p, head, filepath.Dir(p))
	if err == nil && c == nil && self.Kind != inventory.KindPE && self.Kind != inventory.KindMachO && a.openers["cab"] != nil {
		// No format claims the file: cabinets after other bytes (libmspack's search.cab),
		// found as cabextract finds them.
		c, err = searchCABs(f, size, p)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case c != nil:
		defer c.close()
		defer func() { *side = c.side.Names() }()
		inv.Format = c.format
		self.Container = c.format
		if c.describe != nil {
			if err := c.describe(inv, &self); err != nil {
				return nil, err
			}
		}
		werr := c.walker.Walk(func(name string, size int64, rd io.Reader) error {
			return r.file(name, size, rd, 1)
		})
		r.wg.Wait()
		if werr != nil {
			return nil, werr
		}
		if r.err != nil {
			return nil, r.err
		}
	case self.Kind == inventory.KindPE:
		inv.Format = "pe"
		if err := peFacts(&self, p); err != nil {
			self.Error = err.Error()
		}
		// The signature check and the endpoint scan read the whole installer; the overlay's
		// walk needs only what peFacts found (the overlay). On two cores they run side by
		// side instead of one after the other.
		type signals struct {
			sig       *inventory.Signature
			endpoints []string
			err       string
		}
		// The overlay of a container rollgate unpacks is not scanned as the installer's own
		// bytes: they are compressed, its files are inventoried (and scanned) one by one,
		// and an overlay that fails to unpack fails the inspection.
		var hole [2]int64
		if o := self.Overlay; o != nil && r.a.openers[overlayReaders[o.Format]] != nil {
			hole = [2]int64{o.Offset, o.Offset + o.Size}
		}
		sigc := make(chan signals, 1)
		go func() {
			defer func() {
				if p := recover(); p != nil {
					sigc <- signals{sig: notChecked(), err: fmt.Sprintf("internal error checking the signature: %v\n%s", p, debug.Stack())}
				}
			}()
			s, ep, e := r.peSignals(f, size, nil, hole, burnContainers(&self, f, size))
			sigc <- signals{s, ep, e}
		}()
		// An EXE installer: the container in its overlay (NSIS data, an appended MSI or
		// cabinet) holds what it installs, at their install paths, and may name the product.
		err := r.overlay(&self, f, size, "", 0, inv)
		*side = r.side
		sg := <-sigc
		if sg.err != "" {
			self.Error = joinErr(self.Error, sg.err)
		}
		self.Signature, self.Endpoints = sg.sig, sg.endpoints
		r.wg.Wait()
		if err == nil {
			err = r.err
		}
		if err != nil {
			return nil, err
		}
		if o := self.Overlay; o != nil && overlayReaders[o.Format] != "" {
			inv.Format = o.Format
		}
		if inv.Product.Identity == "" {
			inv.Product = peProduct(&self, p)
		}
	case self.Kind == inventory.KindMachO:
		// A tool shipped alone (thin or universal): inspected and verified like a bare PE,
		// named by its code signature when it has one.
		inv.Format = "macho"
		r.codeFacts(&self, f, size, p, nil)
		inv.Product = machoProduct(&self)
	default:
		return nil, fmt.Errorf("%s: %w", p, ErrNotInstaller)
	}
	if err := waitHash(); err != nil {
		return nil, err
	}
	inv.Entries = append(r.entries, self)
	inv.CustomActions = append(inv.CustomActions, r.cas...)
	r.pkgs.mergeInto(inv)
	inv.Sort()
	// The MSI passes are the analyzer's own: every MSI needs them.
	for _, pass := range []PostPass{msiFileKeys, msiFileCopies} {
		if err := pass(inv, r.captured); err != nil {
			return nil, err
		}
	}
	for _, pass := range a.opts.PostPasses {
		if err := pass(inv, r.captured); err != nil {
			return nil, err
		}
	}
	if inv.Product.Identity == "" {
		// No product metadata (a disk image without an app bundle, say): the file name is
		// the only identity left, and the report shows it so a person can tell.
		base := filepath.Base(p)
		inv.Product.Identity = inv.Format + "-file:" + base
		if inv.Product.Name == "" {
			inv.Product.Name = base
		}
	}
	inv.Sort()
	if err := checkUnique(inv); err != nil {
		return nil, err
	}
	return inv, nil
}

// checkUnique refuses an inventory in which two files claim one install path: a reader that
// produced that would let one file hide behind another in the diff.
func checkUnique(inv *inventory.Inventory) error {
	for i := 1; i < len(inv.Entries); i++ {
		if inv.Entries[i].Path == inv.Entries[i-1].Path {
			return &unpack.FormatError{Format: inv.Format, Entry: inv.Entries[i].Path, Offset: -1, Msg: "two files share one install path"}
		}
	}
	return nil
}

func (r *run) setErr(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
}

func (r *run) add(e inventory.Entry) {
	r.mu.Lock()
	r.entries = append(r.entries, e)
	r.mu.Unlock()
}

// file streams one file of a container: hash, kind, endpoints; spools it when later work
// needs random access and hands that work to a worker.
func (r *run) file(name string, size int64, rd io.Reader, depth int) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	err := r.err
	r.mu.Unlock()
	if err != nil {
		return err
	}
	br := bufio.NewReaderSize(rd, headSize)
	head, _ := br.Peek(headSize)
	e := inventory.Entry{Path: name, Size: size, Kind: classify(name, head)}
	if why := r.cabinetSkip(name, head); why != "" {
		r.mu.Lock()
		r.pkgs.addSkipped("", []inventory.Skip{{Path: name, Reason: why}})
		r.mu.Unlock()
	}
	h := sha256.New()
	ws := []io.Writer{&budgetWriter{ctx: r.ctx, left: r.left}, h}
	var scan *endpointScanner
	if e.Kind.IsCode() {
		scan = newEndpointScanner()
		ws = append(ws, scan)
	}
	var capture *bytes.Buffer
	if captureNames[path.Base(name)] && size <= MaxCapturedBytes {
		capture = &bytes.Buffer{}
		ws = append(ws, capture)
	}
	var spool *os.File
	if e.Kind == inventory.KindPE || e.Kind == inventory.KindMachO || e.Kind == inventory.KindArchive {
		spool, err = os.CreateTemp(r.tmp, "f-")
		if err != nil {
			return err
		}
		ws = append(ws, spool)
	}
	n, err := io.Copy(io.MultiWriter(ws...), br)
	if err == nil && n != size {
		err = &unpack.FormatError{Format: "walk", Entry: name, Offset: n, Msg: fmt.Sprintf("file yields %d bytes, header says %d", n, size)}
	}
	if err != nil {
		if spool != nil {
			spool.Close()
			os.Remove(spool.Name())
		}
		return fmt.Errorf("reading %q: %w", name, err)
	}
	e.SHA256 = hex.EncodeToString(h.Sum(nil))
	if capture != nil {
		r.mu.Lock()
		r.captured[name] = capture.Bytes()
		r.mu.Unlock()
	}
	if spool == nil {
		if scan != nil {
			e.Endpoints = scan.Endpoints()
		}
		r.add(e)
		return nil
	}
	// Random-access work goes to a worker; the walk goes on decompressing meanwhile.
	select {
	case r.sem <- struct{}{}:
	case <-r.ctx.Done():
		spool.Close()
		os.Remove(spool.Name())
		return r.ctx.Err()
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() { <-r.sem }()
		defer os.Remove(spool.Name())
		defer spool.Close()
		defer func() {
			if p := recover(); p != nil {
				r.setErr(fmt.Errorf("internal error analysing %q: %v\n%s", name, p, debug.Stack()))
			}
		}()
		if e.Kind == inventory.KindArchive {
			if err := r.nested(&e, spool, size, depth); err != nil {
				r.setErr(err)
				return
			}
		} else {
			r.codeFacts(&e, spool, size, spool.Name(), scan)
			if err := r.overlay(&e, spool, size, e.Path+"/", depth, nil); err != nil {
				// Not a silent gap: the overlay names a container, nothing lands under the
				// PE's path, and analysis.incomplete says so.
				e.Error = joinErr(e.Error, err.Error())
			}
		}
		r.add(e)
	}()
	return nil
}

// codeFacts annotates a PE or Mach-O entry from random-access bytes.
func (r *run) codeFacts(e *inventory.Entry, ra io.ReaderAt, size int64, p string, scan *endpointScanner) {
	switch e.Kind {
	case inventory.KindPE:
		if err := peFacts(e, p); err != nil {
			e.Error = err.Error()
		}
		sig, endpoints, serr := r.peSignals(ra, size, scan, [2]int64{}, burnContainers(e, ra, size))
		if serr != "" {
			e.Error = joinErr(e.Error, serr)
		}
		e.Signature, e.Endpoints = sig, endpoints
	case inventory.KindMachO:
		if scan == nil {
			scan = newEndpointScanner()
			io.Copy(scan, io.NewSectionReader(ra, 0, size))
		}
		e.Endpoints = scan.Endpoints()
		if v := r.a.opts.AppleVerifier; v != nil {
			if err := v.MachOFacts(e, ra, size); err != nil {
				e.Error = joinErr(e.Error, err.Error())
			}
		} else {
			e.Signature = notChecked()
		}
	}
}

// peSignals verifies a PE's signature and scans its bytes for endpoints (scan, when not
// nil, has already seen them while streaming), except the byte range hole when it is not
// empty; both read the whole file. It returns the signature, the endpoints and the
// signature's error text, empty when none.
func (r *run) peSignals(ra io.ReaderAt, size int64, scan *endpointScanner, hole [2]int64, skip [][2]int64) (*inventory.Signature, []string, string) {
	var (
		sig  *inventory.Signature
		serr string
	)
	if v := r.a.opts.Verifier; v != nil {
		var err error
		sig, err = v.VerifyPE(ra, size)
		if err != nil {
			serr = "signature: " + err.Error()
		}
	} else {
		sig = notChecked()
	}
	if scan == nil {
		scan = newEndpointScanner()
		if hole[1] > hole[0] {
			io.Copy(scan, io.NewSectionReader(ra, 0, hole[0]))
			scan.jump(hole[1])
			io.Copy(scan, io.NewSectionReader(ra, hole[1], size-hole[1]))
		} else {
			io.Copy(scan, io.NewSectionReader(ra, 0, size))
		}
	}
	// The signature's CA URLs, a kernel's compressed payload and a Burn bundle's containers
	// (skip, from the caller) are not the code's strings.
	if rng, ok := certTableRange(ra, size); ok {
		skip = append(skip, rng)
	}
	if rng, ok := bzImagePayload(ra, size); ok {
		skip = append(skip, rng)
	}
	return sig, scan.Endpoints(skip...), serr
}

// peProduct names the product of a bare or self-extracting EXE installer from its version
// resource, never from its file name, which carries the version ("acme-5.2.0-setup.exe"):
// CompanyName and ProductName, else OriginalFilename, else the file name as the last resort.
func peProduct(e *inventory.Entry, p string) inventory.Product {
	prod := inventory.Product{Version: e.ProductVersion, Manufacturer: e.Company}
	switch {
	case e.ProductName != "":
		prod.Identity = "pe-product:" + strings.TrimSpace(e.Company) + "/" + strings.TrimSpace(e.ProductName)
		prod.Name = e.ProductName
	case e.OriginalName != "":
		prod.Identity, prod.Name = "pe:"+e.OriginalName, e.OriginalName
	default:
		base := path.Base(filepath.ToSlash(p))
		prod.Identity, prod.Name = "pe:"+base, base
	}
	return prod
}

// machoProduct names the product of a bare Mach-O tool by its code signature's identifier
// (com.acme.tool, stable across releases), with the team ID as its manufacturer. An unsigned
// tool gets no identity here: Installer falls back to "macho-file:<name>" and says so.
func machoProduct(e *inventory.Entry) inventory.Product {
	var prod inventory.Product
	if e.Signature != nil {
		prod.Manufacturer = e.Signature.TeamID
	}
	if m := e.MachO; m != nil && m.Identifier != "" {
		prod.Identity, prod.Name = "macho-id:"+m.Identifier, m.Identifier
		prod.BundleID = m.Identifier
	}
	prod.Version = e.Version
	return prod
}

// notChecked is the signature of code analysed without verifiers.
func notChecked() *inventory.Signature {
	return &inventory.Signature{State: inventory.SigNotChecked, TrustError: "signatures not checked"}
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// nested inventories a container found inside a container, with paths under its own path.
func (r *run) nested(e *inventory.Entry, f *os.File, size int64, depth int) error {
	if depth >= r.a.opts.MaxDepth {
		return fmt.Errorf("%q: containers nested deeper than %d: %w", e.Path, r.a.opts.MaxDepth, unpack.ErrLimit)
	}
	head := make([]byte, headSize)
	n, _ := f.ReadAt(head, 0)
	c, err := openContainer(r.a, f, size, e.Path, head[:n], "")
	if err != nil {
		return fmt.Errorf("opening %q: %w", e.Path, err)
	}
	if c == nil {
		if r.applied[e.Path] {
			e.Container = "mst" // read where applied: its rows are the MSI's
		}
		for _, pr := range r.patches {
			if r.prefix+pr.path == e.Path {
				e.Container = "msp" // applied to the MSIs it targets, or a Skip
			}
		}
		return nil // looked like an archive, is not one we read: stays a data entry
	}
	defer c.close()
	e.Container = c.format
	if ts := r.transforms[e.Path]; len(ts) > 0 {
		if c.msi == nil {
			return fmt.Errorf("%q: the transforms %q name a package that is not an MSI: %w", e.Path, ts, unpack.ErrFormat)
		}
		for _, t := range ts {
			done, err := r.applyTransform(c.msi, t)
			defer done()
			if err != nil {
				return fmt.Errorf("applying the transform %q to %q: %w", t, e.Path, err)
			}
		}
	}
	if c.msi != nil && len(r.patches) > 0 && strings.HasPrefix(r.packages[e.Path], "burn-MsiPackage/") {
		for _, pr := range r.patches {
			done, applied, err := r.applyPatch(c.msi, pr.path)
			defer done()
			if err != nil {
				return fmt.Errorf("applying the patch %q to %q: %w", pr.path, e.Path, err)
			}
			if !applied {
				continue
			}
			deltas, err := c.msi.PatchedFiles()
			if err != nil {
				return fmt.Errorf("in %q: %w", e.Path, err)
			}
			var skips []inventory.Skip
			for _, d := range deltas {
				skips = append(skips, inventory.Skip{Path: firstNonEmpty(d.InstallPath, "File/"+d.FileKey),
					Reason: fmt.Sprintf("%s patches file %q by binary delta (Patch table), which rollgate does not apply: its patched content was not inventoried", pr.what, d.FileKey)})
			}
			r.mu.Lock()
			r.patched[pr.path] = true
			r.pkgs.addSkipped(e.Path+"/", skips)
			r.mu.Unlock()
		}
	}
	if c.describe != nil {
		// A nested package's own custom actions and signature are judged like the
		// installer's: a bundle runs the MSIs it carries.
		var sub inventory.Inventory
		self := inventory.Entry{Path: e.Path, Kind: e.Kind}
		if err := c.describe(&sub, &self); err != nil {
			return fmt.Errorf("in %q: %w", e.Path, err)
		}
		e.Signature = self.Signature
		r.mu.Lock()
		for _, ca := range sub.CustomActions {
			ca.Action = r.caPrefix(e.Path) + "/" + ca.Action
			r.cas = append(r.cas, ca)
		}
		// What a nested reader could not inventory is a gap of the whole installer.
		r.pkgs.addSkipped(e.Path+"/", sub.Skipped)
		if r.chain {
			r.pkgs.add(e.Path+"/", &sub)
			r.pkgs.setProduct(e.Path, sub.Product)
		}
		r.mu.Unlock()
	}
	return r.walkInto(c, e.Path+"/", depth)
}

// spool copies the file at name in r.tfs to a temporary file, which done closes and removes
// (once the package it is applied to has been walked: the streams a transform or patch
// brings are read from it).
func (r *run) spool(name string) (f *os.File, size int64, done func(), err error) {
	done = func() {}
	src, err := r.tfs.Open(name)
	if err != nil {
		return nil, 0, done, err
	}
	defer src.Close()
	f, err = os.CreateTemp(r.tmp, "patch-")
	if err != nil {
		return nil, 0, done, err
	}
	done = func() {
		f.Close()
		os.Remove(f.Name())
	}
	size, err = io.Copy(io.MultiWriter(&budgetWriter{ctx: r.ctx, left: r.left}, f), src)
	return f, size, done, err
}

// applyTransform applies the transform at name in r.tfs to p.
func (r *run) applyTransform(p *msi.Package, name string) (done func(), err error) {
	f, n, done, err := r.spool(name)
	if err != nil {
		return done, err
	}
	t, err := msi.OpenTransform(f, n, path.Base(name))
	if err != nil {
		return done, err
	}
	return done, p.ApplyTransform(t)
}

// applyPatch applies the patch at name in r.tfs to p when it targets p's ProductCode.
func (r *run) applyPatch(p *msi.Package, name string) (done func(), applied bool, err error) {
	f, n, done, err := r.spool(name)
	if err != nil {
		return done, false, err
	}
	pt, err := msi.OpenPatch(f, n, path.Base(name))
	if err != nil {
		return done, false, err
	}
	if !pt.TargetsProduct(p.Property("ProductCode")) {
		return done, false, nil
	}
	return done, true, p.ApplyPatch(pt)
}

// walkInto inventories every file of an opened container under prefix, inline (the calling
// goroutine already holds a worker slot), and merges them into r.
func (r *run) walkInto(c *container, prefix string, depth int) error {
	sub := &run{a: r.a, ctx: r.ctx, tmp: r.tmp, sem: make(chan struct{}, 1), captured: map[string][]byte{}, left: r.left, chain: c.runsPackages}
	if len(c.cabinets) > 0 {
		sub.cabinets = map[string]string{}
		for p, why := range c.cabinets {
			sub.cabinets[prefix+p] = why
		}
	}
	if len(c.packages) > 0 {
		sub.packages = map[string]string{}
		for p, n := range c.packages {
			sub.packages[prefix+p] = n
		}
	}
	if len(c.transforms) > 0 {
		sub.transforms, sub.tfs, sub.applied = map[string][]string{}, c.fsys, map[string]bool{}
		for p, ts := range c.transforms {
			sub.transforms[prefix+p] = ts
			for _, t := range ts {
				sub.applied[prefix+t] = true
			}
		}
	}
	if len(c.patches) > 0 {
		sub.tfs, sub.patches, sub.patched, sub.prefix = c.fsys, c.patches, map[string]bool{}, prefix
	}
	err := c.walker.Walk(func(name string, sz int64, rd io.Reader) error {
		return sub.file(prefix+name, sz, rd, depth+1)
	})
	sub.wg.Wait()
	for _, pr := range sub.patches {
		if !sub.patched[pr.path] {
			sub.pkgs.skipped = append(sub.pkgs.skipped, inventory.Skip{Path: prefix + pr.path,
				Reason: fmt.Sprintf("%s applies to no MSI package the bundle carries (matched by ProductCode), so what it changes was not inventoried", pr.what)})
		}
	}
	if err == nil {
		err = sub.err
	}
	if err != nil {
		if prefix == "" {
			return err // the installer's own overlay: its files are at their install paths
		}
		return fmt.Errorf("in %q: %w", strings.TrimSuffix(prefix, "/"), err)
	}
	inner := sub.entries
	sort.Slice(inner, func(i, j int) bool { return inner[i].Path < inner[j].Path })
	r.mu.Lock()
	r.entries = append(r.entries, inner...)
	for k, v := range sub.captured {
		r.captured[k] = v
	}
	r.cas = append(r.cas, sub.cas...)
	r.pkgs.merge(&sub.pkgs)
	r.mu.Unlock()
	return nil
}

// overlayReaders maps an overlay's format (analyze's overlayFormat) to the container format
// that reads it.
var overlayReaders = map[string]string{"msi": "cfb", "cab": "cab", "nsis": "nsis", "burn": "burn", "inno": "inno", "ishield": "ishield"}

// overlaySiblings are the overlay formats whose data may continue in files beside the
// installer: an Inno Setup installer's slice files (setup-1.bin, disk spanning).
var overlaySiblings = map[string]bool{"inno": true}

// OverlayPath is the inventory path of the container found in a PE's overlay, under the PE's
// own path: "(installer)/(overlay)" for the installer itself.
const OverlayPath = "(overlay)"

// overlay unpacks a container appended to the PE e (an NSIS installer's data, an MSI or a
// cabinet after a setup stub): its own entry at e.Path + "/(overlay)" carries its signature
// and format, its files go under prefix (the install paths for the installer itself, e.Path +
// "/" for a nested PE). The PE keeps its own signature. into, when not nil, receives the
// container's product facts (the installer's own overlay names the product).
func (r *run) overlay(e *inventory.Entry, ra io.ReaderAt, size int64, prefix string, depth int, into *inventory.Inventory) error {
	o := e.Overlay
	if o == nil {
		return nil
	}
	open := r.a.openers[overlayReaders[o.Format]]
	if open == nil {
		return nil
	}
	if depth >= r.a.opts.MaxDepth {
		return fmt.Errorf("%q: containers nested deeper than %d: %w", e.Path, r.a.opts.MaxDepth, unpack.ErrLimit)
	}
	var src io.ReaderAt = io.NewSectionReader(ra, o.Offset, o.Size)
	n := o.Size
	if o.Format == "nsis" || o.Format == "burn" || o.Format == "inno" {
		// The NSIS reader finds its firstheader and the stub itself; a Burn bundle's
		// containers are placed by the stub's .wixburn header, some after the signature;
		// Inno's loader table (in the stub's resources) gives offsets from the start of the file.
		src, n = ra, size
	}
	name, dir := e.Path, ""
	if into != nil && overlaySiblings[o.Format] && r.installer != "" {
		// The installer's own overlay: its reader may look beside it on disk.
		name, dir = r.installer, filepath.Dir(r.installer)
	}
	c, err := open(r.a, src, n, name, dir)
	if err != nil {
		return fmt.Errorf("opening the %s overlay of %q: %w", o.Format, e.Path, err)
	}
	if c == nil {
		return nil
	}
	defer c.close()
	if into != nil {
		defer func() { r.side = c.side.Names() }()
	}
	self := inventory.Entry{Path: e.Path + "/" + OverlayPath, Size: o.Size, Kind: inventory.KindArchive, Container: c.format}
	if c.describe != nil {
		sub := into
		if sub == nil {
			sub = &inventory.Inventory{}
		}
		if err := c.describe(sub, &self); err != nil {
			return fmt.Errorf("in the overlay of %q: %w", e.Path, err)
		}
		if into == nil {
			r.mu.Lock()
			for _, ca := range sub.CustomActions {
				ca.Action = r.caPrefix(e.Path) + "/" + ca.Action
				r.cas = append(r.cas, ca)
			}
			r.pkgs.addSkipped(e.Path+"/", sub.Skipped)
			r.mu.Unlock()
		}
	}
	r.add(self)
	if err := r.walkInto(c, prefix, depth); err != nil {
		return err
	}
	if into != nil && c.productOf != "" && into.Product.Identity == "" {
		r.mu.Lock()
		into.Product = r.pkgs.products[prefix+c.productOf]
		r.mu.Unlock()
	}
	return nil
}

// IsInconclusive reports whether err means the input could not be judged (malformed,
// unsupported, over a limit) rather than a usage or internal failure.
func IsInconclusive(err error) bool {
	return errors.Is(err, unpack.ErrFormat) || errors.Is(err, unpack.ErrUnsupported) ||
		errors.Is(err, unpack.ErrLimit) || errors.Is(err, unpack.ErrInsecurePath)
}

// Expansion limits for one Installer call, all nesting levels together: a small file that
// unpacks to gigabytes (a cabinet nesting a cabinet of 2 GiB runs of zeros) is a limit, not
// minutes of decoding and gigabytes of spool.
const (
	MinExpandedBytes   = 1 << 30 // always allowed, whatever the installer's size
	MaxExpansionFactor = 256     // beyond that, bytes out per byte of installer
)

func expansionBudget(size int64) int64 {
	return min(max(MinExpandedBytes, size*MaxExpansionFactor), unpack.MaxExpandedBytes)
}

// budgetWriter charges every byte streamed out of a container against the run's budget and
// checks the context, so one huge file honours cancellation too.
type budgetWriter struct {
	ctx  context.Context
	left *atomic.Int64
}

func (w *budgetWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	if w.left.Add(-int64(len(p))) < 0 {
		return 0, fmt.Errorf("installer expands to more than its budget (%d x its size, at least %d bytes): %w",
			MaxExpansionFactor, int64(MinExpandedBytes), unpack.ErrLimit)
	}
	return len(p), nil
}
