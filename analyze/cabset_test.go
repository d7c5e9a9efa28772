package analyze

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
)

// listed is one file of a cabinet listing: what cabextract -l prints and -d extracts.
type listed struct {
	Name   string
	Size   int64
	SHA256 string
}

// TestCabinetSetFromOnePart inspects single parts of the libmspack split-1..5.cab set: the
// other parts are found beside the given one by the names its header gives (Split-2.CAB for
// split-2.cab, as cabextract matches them), and the inventory equals cabextract's listing
// recorded in testdata/cabextract-split.tsv by testdata/gen-cabextract.sh.
func TestCabinetSetFromOnePart(t *testing.T) {
	golden := map[string][]listed{}
	f, err := os.Open(filepath.Join("testdata", "cabextract-split.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		col := strings.Split(sc.Text(), "\t")
		if len(col) != 4 {
			t.Fatalf("cabextract-split.tsv: %q has %d columns, want 4", sc.Text(), len(col))
		}
		size, err := strconv.ParseInt(col[1], 10, 64)
		if err != nil {
			t.Fatalf("cabextract-split.tsv: %q: %v", sc.Text(), err)
		}
		golden[col[0]] = append(golden[col[0]], listed{Name: col[3], Size: size, SHA256: col[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	dir := testutil.Sample(t, "cab/libmspack/good")
	a := unsafeAnalyzer(t)
	for _, part := range []string{"split-1.cab", "split-3.cab"} {
		t.Run(part, func(t *testing.T) {
			want := golden[part]
			if len(want) == 0 {
				t.Fatalf("cabextract-split.tsv lists nothing for %s", part)
			}
			inv, err := a.Installer(context.Background(), filepath.Join(dir, part))
			if err != nil {
				t.Fatalf("Installer(%s) = %v", part, err)
			}
			var got []listed
			for _, e := range inv.Entries {
				if e.Path != inventory.InstallerPath {
					got = append(got, listed{Name: e.Path, Size: e.Size, SHA256: e.SHA256})
				}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("Installer(%s) files differ from cabextract -l (-want +got)\n%s", part, d)
			}
			if len(inv.Notes) != 0 {
				t.Errorf("Installer(%s).Notes = %q, want none (every part is present)", part, inv.Notes)
			}
		})
	}
}

// TestCabinetSetMissingPart copies split-1.cab alone into a folder: the files that continue
// into the absent Split-2.CAB cannot be read, and the error says which cabinet is missing.
func TestCabinetSetMissingPart(t *testing.T) {
	src := testutil.ReadSample(t, "cab/libmspack/good/split-1.cab")
	dir := t.TempDir()
	p := filepath.Join(dir, "split-1.cab")
	if err := os.WriteFile(p, src, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := unsafeAnalyzer(t).Installer(context.Background(), p)
	var fe *unpack.FormatError
	if !errors.Is(err, unpack.ErrFormat) || !errors.As(err, &fe) || fe.Entry != "split-1.cab" {
		t.Errorf("Installer(split-1.cab alone) = %v, want a format error on split-1.cab (its set continues in Split-2.CAB)", err)
	}
}
