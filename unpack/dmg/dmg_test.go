package dmg

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rollgate/rollgate/internal/testutil"
)

// golden reads testdata/golden.txt (made by testdata/golden.sh from 7-Zip 26).
func golden(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("testdata/golden.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sample, rest, _ := strings.Cut(sc.Text(), " ")
		out[sample] = append(out[sample], rest)
	}
	return out
}

// listing renders an fs.FS the way golden.sh renders a 7-Zip extraction.
func listing(t *testing.T, fsys fs.FS) []string {
	t.Helper()
	var out []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if d.IsDir() {
			out = append(out, "dir "+p)
			return nil
		}
		f, err := fsys.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err != nil {
			return fmt.Errorf("reading %q: %w", p, err)
		}
		out = append(out, fmt.Sprintf("file %s %d %x", p, n, h.Sum(nil)))
		return nil
	})
	if err != nil {
		t.Fatalf("walking: %v", err)
	}
	sort.Strings(out)
	return out
}

func TestGolden(t *testing.T) {
	want := golden(t)
	for _, name := range []string{"compression-adc", "compression-bz2", "compression-lzfse", "compression-raw", "compression-zlib", "encrypted", "gpt", "relic-dummy"} {
		t.Run(name, func(t *testing.T) {
			imrc, err := Open(testutil.Sample(t, "dmg/"+name+".dmg"))
			if err != nil {
				t.Fatalf("Open(%q) = %v", name, err)
			}
			defer imrc.Close()
			im := imrc.Reader
			var wantList []string
			var disk string
			for _, l := range want[name] {
				if strings.HasPrefix(l, "disk ") {
					disk = l
					continue
				}
				wantList = append(wantList, l)
			}
			sort.Strings(wantList)
			if got := listing(t, im); !reflect.DeepEqual(got, wantList) {
				t.Errorf("listing(%q) =\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(wantList, "\n"))
			}
			if disk != "" {
				r, size := im.Disk()
				h := sha256.New()
				if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
					t.Fatalf("reading disk: %v", err)
				}
				if got := fmt.Sprintf("disk %d %x", size, h.Sum(nil)); got != disk {
					t.Errorf("disk(%q) = %s, want %s", name, got, disk)
				}
				if err := im.UDIF().Verify(); err != nil {
					t.Errorf("Verify(%q) = %v", name, err)
				}
			}
		})
	}
}

func TestPartitionNames(t *testing.T) {
	tests := []struct {
		sample string
		want   []string
		single bool
	}{
		{"compression-zlib", []string{"0.MBR", "1.free", "2.Windows_FAT_16", "3.Windows_FAT_16", "4.free"}, false},
		{"relic-dummy", []string{"0.MBR", "1.Primary GPT Header", "2.Primary GPT Table", "3.free", "4.hfs", "5.free", "6.Backup GPT Table", "7.Backup GPT Header"}, true},
		{"gpt", []string{"0.hfs"}, true},
	}
	for _, tt := range tests {
		rc, err := Open(testutil.Sample(t, "dmg/"+tt.sample+".dmg"))
		if err != nil {
			t.Fatalf("Open(%q) = %v", tt.sample, err)
		}
		im := rc.Reader
		var got []string
		for _, p := range im.Partitions() {
			got = append(got, p.Name)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Partitions(%q) = %q, want %q", tt.sample, got, tt.want)
		}
		if (im.Single() != nil) != tt.single {
			t.Errorf("Single(%q) = %v, want single volume %v", tt.sample, im.Single() != nil, tt.single)
		}
		rc.Close()
	}
}

func TestFS(t *testing.T) {
	tests := map[string][]string{
		"relic-dummy":      {"dummy.app/Contents/Info.plist", "dummy.app/Contents/MacOS/dummy", "dummy.app/Contents/_CodeSignature/CodeResources"},
		"gpt":              {".DS_Store", ".journal"},
		"encrypted":        {".fseventsd/fseventsd-uuid"},
		"compression-zlib": {"0.MBR", "2.Windows_FAT_16", "4.free"},
	}
	for name, files := range tests {
		t.Run(name, func(t *testing.T) {
			imrc, err := Open(testutil.Sample(t, "dmg/"+name+".dmg"))
			if err != nil {
				t.Fatalf("Open(%q) = %v", name, err)
			}
			defer imrc.Close()
			im := imrc.Reader
			if err := fstest.TestFS(im, files...); err != nil {
				t.Errorf("TestFS(%q): %v", name, err)
			}
		})
	}
}
