package apple

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path"
	"testing"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/dmg"
)

// TestRelicDMGApp checks MachOFacts and Bundles on a bundle signed by another tool: relic's
// dummy.app inside its test DMG.
func TestRelicDMGApp(t *testing.T) {
	f, err := os.Open(testutil.Sample(t, "dmg/relic-dummy.dmg"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	img, err := dmg.NewReader(f, st.Size())
	if err != nil {
		t.Skipf("dmg.NewReader = %v (DMG reader not ready)", err)
	}
	inv := &inventory.Inventory{}
	plists := map[string][]byte{}
	err = fs.WalkDir(img, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := fs.ReadFile(img, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		e := inventory.Entry{Path: p, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:]), Kind: inventory.KindData}
		if len(b) > 4 && (binary.LittleEndian.Uint32(b) == 0xfeedfacf || binary.BigEndian.Uint32(b) == 0xcafebabe) {
			e.Kind = inventory.KindMachO
			if err := MachOFacts(&e, bytes.NewReader(b), int64(len(b))); err != nil {
				t.Errorf("MachOFacts(%q) = %v", p, err)
			}
		}
		if b := path.Base(p); b == "Info.plist" || b == "CodeResources" {
			plists[p] = bytesOf(t, img, p)
		}
		inv.Entries = append(inv.Entries, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	inv.Sort()
	if err := Bundles(inv, plists); err != nil {
		t.Fatalf("Bundles = %v", err)
	}
	var mains int
	for _, e := range inv.Entries {
		if e.Kind != inventory.KindMachO {
			continue
		}
		t.Logf("%s: version %q signature %+v macho %+v error %q", e.Path, e.Version, e.Signature, e.MachO, e.Error)
		if e.Signature == nil || (e.Signature.State != inventory.SigSigned && e.Signature.State != inventory.SigAdhoc) {
			t.Errorf("%s: Signature = %+v, want a valid signature", e.Path, e.Signature)
		}
		if len(e.MachO.SealBroken) > 0 {
			t.Errorf("%s: SealBroken = %v, want none", e.Path, e.MachO.SealBroken)
		}
		mains++
	}
	if mains == 0 || inv.Product.Identity == "" {
		t.Errorf("found %d Mach-O files, identity %q", mains, inv.Product.Identity)
	}
}

func bytesOf(t *testing.T, fsys fs.FS, p string) []byte {
	f, err := fsys.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return b
}
