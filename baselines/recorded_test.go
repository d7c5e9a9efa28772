package baselines

import (
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
)

func TestRecordings(t *testing.T) {
	dir := t.TempDir()
	inv := &inventory.Inventory{Schema: inventory.Schema, Format: "msi",
		Product: inventory.Product{Identity: "msi-upgrade:{X}", Name: "Acme"},
		Entries: []inventory.Entry{{Path: inventory.InstallerPath, SHA256: "aa"}, {Path: "a.dll", SHA256: "1"}}}
	p, err := Write(dir, New(inv, nil))
	if err != nil {
		t.Fatal(err)
	}
	a := &Analysis{Analyzer: "sha256:1", Installer: "acme.msi"}
	if err := WriteRecording(p, a); err != nil {
		t.Fatal(err)
	}
	// A baseline without a recording is not listed.
	other := &inventory.Inventory{Schema: inventory.Schema, Product: inventory.Product{Identity: "other"},
		Entries: []inventory.Entry{{Path: inventory.InstallerPath, SHA256: "bb"}}}
	if _, err := Write(dir, New(other, nil)); err != nil {
		t.Fatal(err)
	}
	recs, err := Recordings(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("Recordings = %d recordings, want 1", len(recs))
	}
	want := Recording{Schema: RecordingSchema, Baseline: FileName("msi-upgrade:{X}"), BaselineSHA256: recs[0].BaselineSHA256,
		InstallerSHA256: "aa", Analysis: *a}
	if d := cmp.Diff(want, recs[0]); d != "" {
		t.Errorf("Recordings (-want +got)\n%s", d)
	}
	if recs[0].BaselineSHA256 == "" {
		t.Error("recording has no baseline hash")
	}
	b, err := ReadRecorded(dir, recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := b.InstallerSHA256(); got != "aa" {
		t.Errorf("ReadRecorded installer hash = %q, want aa", got)
	}
	// The baseline changed since (accepted, edited): stale.
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, append(data, ' '), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRecorded(dir, recs[0]); !errors.Is(err, ErrStale) {
		t.Errorf("ReadRecorded of a changed baseline = %v, want ErrStale", err)
	}
	// Removed: not listed; the recordings folder is never taken for a baseline.
	if err := WriteRecording(p, nil); err != nil {
		t.Fatal(err)
	}
	if recs, err := Recordings(dir); err != nil || len(recs) != 0 {
		t.Errorf("Recordings after removal = %v, %v; want none", recs, err)
	}
	if _, _, err := Find(dir, "msi-upgrade:{X}"); err != nil {
		t.Errorf("Find = %v", err)
	}
}
