package unpack_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/asar"
	"github.com/rollgate/rollgate/unpack/burn"
	"github.com/rollgate/rollgate/unpack/cab"
	"github.com/rollgate/rollgate/unpack/cfb"
	"github.com/rollgate/rollgate/unpack/dmg"
	"github.com/rollgate/rollgate/unpack/inno"
	"github.com/rollgate/rollgate/unpack/msi"
	"github.com/rollgate/rollgate/unpack/msix"
	"github.com/rollgate/rollgate/unpack/nsis"
	"github.com/rollgate/rollgate/unpack/pkg"
	"github.com/rollgate/rollgate/unpack/xar"
)

// archive is the contract every format reader keeps: an fs.FS (with ReadDir and Stat) that
// also streams its files in storage order.
type archive interface {
	fs.ReadDirFS
	fs.StatFS
	unpack.Walker
}

func as[R archive](newReader func(io.ReaderAt, int64) (R, error)) func(io.ReaderAt, int64) (archive, error) {
	return func(r io.ReaderAt, size int64) (archive, error) { return newReader(r, size) }
}

// readers lists every format reader with conformance samples written by other projects.
var readers = []struct {
	name      string
	newReader func(io.ReaderAt, int64) (archive, error)
	samples   []string
}{
	{"cab", as(cab.NewReader), []string{"cab/relic-dummy.cab", "cab/test_read_format_cab_2.cab", "cab/test_read_format_cab_3.cab"}},
	{"cfb", as(cfb.NewReader), []string{"msi/relic-dummy.msi", "msi/osslsigncode-unsigned.msi"}},
	{"msi", as(func(r io.ReaderAt, size int64) (*msi.Package, error) { return msi.NewReader(r, size, nil) }),
		[]string{"msi/relic-dummy.msi", "msi/osslsigncode-unsigned.msi"}},
	{"xar", as(xar.NewReader), []string{"pkg/relic-dummy.pkg"}},
	{"pkg", as(pkg.NewReader), []string{"pkg/relic-dummy.pkg"}},
	// extractthis-unpack.asar is left out: its app.asar.unpacked files are listed as
	// irregular entries that cannot be opened (asar's documented choice, tested there),
	// which fstest.TestFS does not allow.
	{"asar", as(asar.NewReader), []string{"asar/packthis.asar", "asar/packthis-unicode-path.asar"}},
	{"dmg", as(dmg.NewReader), []string{"dmg/relic-dummy.dmg", "dmg/gpt.dmg", "dmg/compression-zlib.dmg"}},
	// NSIS installers are built by unpack/nsis/testdata/gen.sh (makensis), their file lists
	// checked against 7-Zip's there; "./" marks a path in this repository.
	// MSIX packages are built and signed by unpack/msix/testdata/gen.sh (no public samples).
	{"msix", as(msix.NewReader), []string{"./msix/testdata/acme-signed.msix", "./msix/testdata/acme-bundle-signed.msixbundle"}},
	// WiX Burn bundles are assembled by unpack/burn/testdata/gen/gen.sh around the committed
	// Windows fixtures; real bundles are checked in unpack/burn's conformance test.
	{"burn", as(burn.NewReader), []string{"./burn/testdata/acme-bundle-1.1-exepackage.exe", "./burn/testdata/acme-bundle-1.1-external.exe"}},
	{"nsis", as(nsis.NewReader), []string{"./nsis/testdata/acme-5.2.0-setup.exe", "./nsis/testdata/acme-zlib-ansi.exe", "./nsis/testdata/acme-bzip2.exe"}},
	// Inno Setup: synthetic installers (unpack/inno/testdata/gen.go); the real-installer
	// conformance against innoextract is unpack/inno's TestConformance.
	{"inno", as(inno.NewReader), []string{"./inno/testdata/acme-synth-stored.exe", "./inno/testdata/acme-synth-lzma.exe"}},
}

// TestReaderContract runs every reader through fstest.TestFS, checks that walking yields what
// opening yields, byte for byte, and that input of another format is ErrFormat.
func TestReaderContract(t *testing.T) {
	for _, rd := range readers {
		for _, sample := range rd.samples {
			t.Run(rd.name+"/"+sample, func(t *testing.T) {
				p := sample
				if !strings.HasPrefix(sample, "./") {
					p = testutil.Sample(t, sample)
				}
				fsys := testutil.Open(t, p, rd.newReader)
				walked := map[string]string{}
				err := fsys.Walk(func(p string, size int64, r io.Reader) error {
					sum, n, err := hash(r)
					if err != nil {
						return err
					}
					if n != size {
						t.Errorf("Walk: %q yields %d bytes, announced %d", p, n, size)
					}
					walked[p] = sum
					return nil
				})
				if err != nil {
					t.Fatalf("Walk = %v", err)
				}
				if len(walked) == 0 {
					t.Fatalf("Walk yields no file")
				}
				opened := map[string]string{}
				for p := range walked {
					f, err := fsys.Open(p)
					if err != nil {
						t.Errorf("Open(%q) of a walked path = %v", p, err)
						continue
					}
					sum, _, err := hash(f)
					f.Close()
					if err != nil {
						t.Errorf("reading %q = %v", p, err)
					}
					opened[p] = sum
				}
				if d := cmp.Diff(walked, opened); d != "" {
					t.Errorf("walked and opened contents differ (-walk +open)\n%s", d)
				}
				names := make([]string, 0, len(walked))
				for p := range walked {
					names = append(names, p)
				}
				sort.Strings(names)
				if err := fstest.TestFS(fsys, names...); err != nil {
					t.Errorf("fstest.TestFS: %v", err)
				}
			})
		}
		t.Run(rd.name+"/not-this-format", func(t *testing.T) {
			junk := bytes.Repeat([]byte("not an archive of any kind. "), 300)
			if _, err := rd.newReader(bytes.NewReader(junk), int64(len(junk))); !errors.Is(err, unpack.ErrFormat) {
				t.Errorf("NewReader(junk) = %v, want ErrFormat", err)
			}
		})
	}
}

func hash(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, err
}
