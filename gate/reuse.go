// Reuse of recorded inventories. A nightly run verifies a folder of installers most of which
// did not change since their baselines were recorded; analysing those again (decompressing,
// hashing every file, checking every signature) would find exactly what the baseline holds.
// So Verify first hashes the installer (one streamed pass) and, when a baseline in the folder
// was recorded from the same bytes, reuses that recorded inventory as the candidate's. The
// rules then run as always; the verdict is the one a full analysis gives, provided the
// recorded inventory is what a full analysis would make now. Everything it depends on is
// checked:
//
//   - the installer's bytes: its SHA-256 equals the recorded "(installer)" entry's;
//   - its file name: the installer entry's kind and a fallback product identity come from it;
//   - the files beside it: a baseline is marked reusable only when the analysis read none
//     (an MSI's external cabinets and uncompressed sources make it depend on them);
//   - the analyzer: its identity (analyzerIdentity) covers rollgate's build, the inventory
//     schema and the trust set, so another build or other --trust-roots analyse again;
//   - the clock: a signature's trust is judged at its timestamp's time when it has one, else
//     at the time of analysis, so a chain that was valid at record time may have expired
//     since. The recorded inventory is reused only when no signature's trust was judged at
//     the wall clock: every signature either has no chain (unsigned, ad hoc, not checked) or
//     is an Authenticode signature with a timestamp (whose chain, and the timestamp's own, are
//     checked at the timestamp's time: verify/authenticode). Apple signatures, whose timestamp
//     may be ignored in favour of the wall clock, are always analysed again.
//
// Re-judging trust on the recorded inventory instead is not possible: it keeps the leaf's
// facts, not the chain. A build that carries neither a stamped version nor VCS information
// (`go test` binaries) shares one identity across rebuilds; release and `go build` binaries
// do not.
package gate

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/rollgate/rollgate/analyze"
	"github.com/rollgate/rollgate/baselines"
	"github.com/rollgate/rollgate/internal/digest"
	"github.com/rollgate/rollgate/internal/version"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/verify/trust"
)

// ReusedNote says in a report that the candidate's inventory is the recorded one.
const ReusedNote = "the installer's bytes, file name and analyzer equal those its baseline was recorded with: the recorded inventory was reused instead of analysing the installer again"

// analyzerIdentity names what, besides an installer's bytes and name, decides the inventory
// NewAnalyzer's analyzer makes: rollgate's build, the inventory schema, the formats and
// passes NewAnalyzer wires, and the trusted roots (each root's SHA-256, sorted).
func analyzerIdentity(t Trust) (string, error) {
	var roots []*x509.Certificate
	if !t.RootsOnly {
		b, err := trust.BuiltinRoots()
		if err != nil {
			return "", err
		}
		roots = append(roots, b...)
	}
	roots = append(roots, t.ExtraRoots...)
	var sums []string
	for _, c := range roots {
		if c == nil {
			continue // the verifiers refuse it
		}
		s := sha256.Sum256(c.Raw)
		sums = append(sums, hex.EncodeToString(s[:]))
	}
	sort.Strings(sums)
	h := sha256.New()
	fmt.Fprintf(h, "rollgate analyzer\nbuild %s\ninventory %s\nformats default, passes apple.Bundles\nroots %s\n",
		version.String(), inventory.Schema, strings.Join(sums, ","))
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// analysisOf is what a baseline records so that the same bytes may reuse its inventory: nil
// when the analyzer has no identity or the inventory read files beside the installer.
func analysisOf(a *analyze.Analyzer, installer string, side []string) *baselines.Analysis {
	if a.Identity() == "" || len(side) > 0 {
		return nil
	}
	return &baselines.Analysis{Analyzer: a.Identity(), Installer: filepath.Base(installer)}
}

// recordedIndex is a baseline folder's recordings by installer hash, read once per Verify or
// Batch.
type recordedIndex struct {
	dir, analyzer string
	once          sync.Once
	// bySum stays nil when the recordings cannot be listed: every installer is analysed.
	bySum map[string][]baselines.Recording
}

func newRecordedIndex(dir, analyzer string) *recordedIndex {
	return &recordedIndex{dir: dir, analyzer: analyzer}
}

// lookup returns the recording of these bytes (sum) under this file name by this analyzer.
func (x *recordedIndex) lookup(sum, name string) (baselines.Recording, bool) {
	x.once.Do(func() {
		recs, err := baselines.Recordings(x.dir)
		if err != nil {
			return
		}
		x.bySum = map[string][]baselines.Recording{}
		for _, r := range recs {
			if r.Analyzer == x.analyzer {
				x.bySum[r.InstallerSHA256] = append(x.bySum[r.InstallerSHA256], r)
			}
		}
	})
	for _, r := range x.bySum[sum] {
		if r.Installer == name {
			return r, true
		}
	}
	return baselines.Recording{}, false
}

// recordedInventory returns the inventory recorded from the installer's bytes when it may be
// reused (see the package comment above), else nil. Any doubt — an unreadable file, recording
// or baseline, a baseline changed since, a clock-dependent signature — gives nil: the
// installer is analysed as always.
func (o *Options) recordedInventory(ctx context.Context, installer string) *inventory.Inventory {
	id := o.Analyzer.Identity()
	if o.NoReuse || id == "" {
		return nil
	}
	idx := o.recorded
	if idx == nil || idx.dir != o.Baselines || idx.analyzer != id {
		idx = newRecordedIndex(o.Baselines, id)
	}
	sum, err := hashFile(ctx, installer)
	if err != nil {
		return nil
	}
	rec, ok := idx.lookup(sum, filepath.Base(installer))
	if !ok {
		return nil
	}
	b, err := baselines.ReadRecorded(o.Baselines, rec) // a copy of its own: the rules may not share it
	if err != nil || !clockFree(b.Inventory) {
		return nil
	}
	return b.Inventory
}

// clockFree reports whether no signature in inv had its trust judged at the wall clock.
func clockFree(inv *inventory.Inventory) bool {
	for i := range inv.Entries {
		e := &inv.Entries[i]
		if e.Signature == nil {
			continue
		}
		authenticode := e.Kind == inventory.KindPE || e.Container == "msi"
		if !sigClockFree(e.Signature, authenticode, 0) {
			return false
		}
	}
	return true
}

// maxSigNesting bounds the nested signatures clockFree walks; deeper is judged clock-bound.
const maxSigNesting = 8

func sigClockFree(s *inventory.Signature, authenticode bool, depth int) bool {
	if depth > maxSigNesting {
		return false
	}
	switch s.State {
	case inventory.SigUnsigned, inventory.SigNotChecked, inventory.SigAdhoc:
	default:
		if !authenticode || s.Timestamp == "" {
			return false
		}
	}
	for i := range s.Nested {
		if !sigClockFree(&s.Nested[i], authenticode, depth+1) {
			return false
		}
	}
	return true
}

// hashFile is the SHA-256 of the file at p, streamed.
func hashFile(ctx context.Context, p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file", p)
	}
	sum, _, err := digest.Reader(ctxReader{ctx, f})
	if err != nil {
		return "", fmt.Errorf("hashing %q: %w", p, err)
	}
	return sum, nil
}

// ctxReader stops a long read when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
