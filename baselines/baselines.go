// Package baselines stores and finds known-good inventories, keyed by product identity
// (MSI UpgradeCode, else ProductName; the bundle or package identifier on macOS). A baseline
// is deterministic, sorted, schema-versioned JSON meant to be reviewed in a pull request.
package baselines

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rollgate/rollgate/inventory"
)

// Schema is the baseline file's schema version.
const Schema = "rollgate.baseline/v1"

// MaxFileSize bounds a baseline file read back (a baseline is reviewable JSON, not a blob).
const MaxFileSize = 256 << 20

// ErrNotFound: no baseline in the folder has the product's identity.
var ErrNotFound = errors.New("no baseline for this product")

// ErrCollision: another product's baseline already has this file name.
var ErrCollision = errors.New("baseline file name taken by another product")

// Baseline is one known-good release.
type Baseline struct {
	Schema    string               `json:"schema"`
	Product   inventory.Product    `json:"product"`
	Inventory *inventory.Inventory `json:"inventory"`
	// Behaviour is the sandbox profile, when the baseline was recorded with --sandbox.
	Behaviour *inventory.Behaviour `json:"behaviour,omitempty"`
}

// InstallerSHA256 is the SHA-256 of the installer the baseline's inventory was made from
// ("" when the inventory has no installer entry).
func (b *Baseline) InstallerSHA256() string {
	if b.Inventory == nil {
		return ""
	}
	if e, ok := b.Inventory.Lookup(inventory.InstallerPath); ok {
		return e.SHA256
	}
	return ""
}

// New makes a baseline of inv (and b, which may be nil). The behaviour is stored as a
// profile: times dropped and repeated events folded, so recording the same release twice
// gives the same file.
func New(inv *inventory.Inventory, b *inventory.Behaviour) *Baseline {
	inv.Sort()
	return &Baseline{Schema: Schema, Product: inv.Product, Inventory: inv, Behaviour: Profile(b)}
}

// Profile returns b without timing and duplicates, sorted; nil for nil.
func Profile(b *inventory.Behaviour) *inventory.Behaviour {
	if b == nil {
		return nil
	}
	p := &inventory.Behaviour{Ran: b.Ran, Reason: b.Reason}
	p.Network = dedupe(b.Network, func(e inventory.NetEvent) inventory.NetEvent { e.MS, e.Bytes = 0, 0; return e })
	p.DLLLoads = dedupe(b.DLLLoads, func(e inventory.DLLLoad) inventory.DLLLoad { return e })
	p.Processes = dedupe(b.Processes, func(e inventory.Process) inventory.Process { return e })
	p.FileWrites = dedupe(b.FileWrites, func(e inventory.FileWrite) inventory.FileWrite { return e })
	// The registry profile is kept as the network one is: the persistence rule compares the
	// candidate's autostart values against it.
	if len(b.Registry) > 0 {
		p.Registry = dedupe(b.Registry, func(e inventory.RegistryValue) inventory.RegistryValue { return e })
	}
	p.ClockOffsets = b.ClockOffsets
	SortBehaviour(p)
	return p
}

func dedupe[T comparable](in []T, norm func(T) T) []T {
	seen := make(map[T]bool, len(in))
	out := make([]T, 0, len(in))
	for _, e := range in {
		e = norm(e)
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// FileName is the file a product's baseline is stored in: its identity with every character
// outside [a-z0-9._-] replaced, so a vendor-controlled name cannot pick the path.
func FileName(identity string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(identity) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.Trim(b.String(), "._")
	if len(s) > 120 {
		s = s[:120]
	}
	if s == "" {
		s = "product"
	}
	return s + ".json"
}

// Marshal encodes b deterministically: sorted inventory, two-space indent, trailing newline.
func Marshal(b *Baseline) ([]byte, error) {
	if b.Inventory != nil {
		b.Inventory.Sort()
	}
	b.Behaviour = Profile(b.Behaviour)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// FileMode is a baseline file's permission: readable by everyone, like the rest of a
// repository checkout (os.CreateTemp alone would leave 0600, which breaks a CI job or a
// reviewer running as another user).
const FileMode = 0o644

// Write stores b in dir under FileName(identity), atomically, with FileMode, and returns the
// path.
func Write(dir string, b *Baseline) (string, error) {
	if b.Product.Identity == "" {
		return "", errors.New("baseline has no product identity")
	}
	data, err := Marshal(b)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, FileName(b.Product.Identity))
	// Identities that differ only in characters FileName folds share a file name: never let
	// one product's baseline replace another's.
	if old, err := Read(p); err == nil && old.Product.Identity != b.Product.Identity {
		return "", fmt.Errorf("%w: %s holds the baseline of %q, not %q", ErrCollision, p, old.Product.Identity, b.Product.Identity)
	}
	tmp, err := os.CreateTemp(dir, ".baseline-*")
	if err != nil {
		return "", err
	}
	if err := tmp.Chmod(FileMode); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return p, nil
}

// Read loads one baseline file.
func Read(p string) (*Baseline, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("baseline %s: %d bytes, over the %d-byte limit", p, st.Size(), MaxFileSize)
	}
	var b Baseline
	dec := json.NewDecoder(f)
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("reading baseline %s: %w", p, err)
	}
	if b.Schema != Schema {
		return nil, fmt.Errorf("baseline %s: schema %q, want %q", p, b.Schema, Schema)
	}
	if b.Inventory == nil {
		return nil, fmt.Errorf("baseline %s: no inventory", p)
	}
	b.Inventory.Sort()
	return &b, nil
}

// Find returns the baseline in dir whose product identity is identity: the file named by
// FileName first, then any *.json in dir that declares that identity.
func Find(dir, identity string) (*Baseline, string, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, "", fmt.Errorf("baseline folder %s: not a directory", dir)
	}
	p := filepath.Join(dir, FileName(identity))
	if b, err := Read(p); err == nil && b.Product.Identity == identity {
		return b, p, nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, "", err
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	sort.Strings(matches)
	for _, m := range matches {
		b, err := Read(m)
		if err != nil {
			continue
		}
		if b.Product.Identity == identity {
			return b, m, nil
		}
	}
	return nil, "", fmt.Errorf("%w %q in %s", ErrNotFound, identity, dir)
}

// SortBehaviour puts a behaviour profile into canonical order: network events by time (so
// a report reads as the run happened) then by every field, the rest by every field.
func SortBehaviour(b *inventory.Behaviour) {
	sort.SliceStable(b.Network, func(i, j int) bool {
		x, y := b.Network[i], b.Network[j]
		return cmp.Or(cmp.Compare(x.MS, y.MS), cmp.Compare(x.Proto, y.Proto), cmp.Compare(x.Name, y.Name),
			cmp.Compare(x.Addr, y.Addr), cmp.Compare(x.Port, y.Port), cmp.Compare(x.QType, y.QType),
			cmp.Compare(x.SNI, y.SNI), cmp.Compare(x.HTTP, y.HTTP), cmp.Compare(x.Host, y.Host)) < 0
	})
	sort.SliceStable(b.DLLLoads, func(i, j int) bool {
		x, y := b.DLLLoads[i], b.DLLLoads[j]
		return cmp.Or(cmp.Compare(x.Path, y.Path), cmp.Compare(x.Process, y.Process), cmp.Compare(x.Type, y.Type)) < 0
	})
	sort.SliceStable(b.Processes, func(i, j int) bool {
		x, y := b.Processes[i], b.Processes[j]
		return cmp.Or(cmp.Compare(x.Image, y.Image), cmp.Compare(x.Command, y.Command)) < 0
	})
	sort.SliceStable(b.FileWrites, func(i, j int) bool {
		x, y := b.FileWrites[i], b.FileWrites[j]
		return cmp.Or(cmp.Compare(x.Path, y.Path), cmp.Compare(x.Kind, y.Kind)) < 0
	})
	sort.SliceStable(b.Registry, func(i, j int) bool {
		x, y := b.Registry[i], b.Registry[j]
		return cmp.Or(cmp.Compare(x.Key, y.Key), cmp.Compare(x.Name, y.Name), cmp.Compare(x.Value, y.Value),
			cmp.Compare(x.Phase, y.Phase), cmp.Compare(x.ClockOffset, y.ClockOffset)) < 0
	})
}
