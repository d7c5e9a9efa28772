package inno

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// golden is innoextract's extraction of one real installer, recorded by
// testdata/record-innoextract.sh into testdata/innoextract/NAME.tsv.
type golden struct {
	cache   string // path under the real-file cache's files/
	fixture string // or path under testdata/ of a committed installer (testdata/iscc/gen.sh, gen-span.sh: its slice files beside it)
	sha256  string // of the installer
	ci      bool   // scripts/fetch-realfiles fetches it
	tool    string
	files   map[string]content
}

type content struct {
	Size   int64
	SHA256 string
}

func readGolden(t *testing.T, p string) golden {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g := golden{files: map[string]content{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "# "), ": "); ok && strings.HasPrefix(line, "# ") {
			switch k {
			case "cache":
				g.cache = v
			case "fixture":
				g.fixture = v
			case "sha256":
				g.sha256 = v
			case "ci":
				g.ci = v == "true"
			case "tool":
				g.tool = v
			}
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 3 {
			t.Fatalf("%s: line %q", p, line)
		}
		n, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			t.Fatalf("%s: line %q: %v", p, line, err)
		}
		g.files[fields[0]] = content{n, fields[2]}
	}
	if (g.cache == "") == (g.fixture == "") || g.sha256 == "" || g.tool == "" {
		t.Fatalf("%s: header incomplete", p)
	}
	return g
}

// realFile returns the cached installer, skipping when it is absent (failing under CI=true
// for one that scripts/fetch-realfiles fetches).
func realFile(t *testing.T, g golden) string {
	t.Helper()
	dir := os.Getenv("ROLLGATE_REALFILES")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "rollgate", "realfiles")
	}
	p := filepath.Join(dir, "files", filepath.FromSlash(g.cache))
	if g.fixture != "" {
		p = filepath.Join("testdata", filepath.FromSlash(g.fixture))
	}
	f, err := os.Open(p)
	if err != nil {
		if g.fixture != "" || g.ci && os.Getenv("CI") == "true" {
			t.Fatalf("real installer missing at %s (CI=true); run scripts/fetch-realfiles: %v", p, err)
		}
		t.Skipf("real installer not in the cache at %s", p)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != g.sha256 {
		t.Fatalf("%s has SHA-256 %s, the golden file was recorded from %s", p, got, g.sha256)
	}
	return p
}

// TestConformance holds Walk and fs.ReadFile to innoextract's extraction of real installers,
// file by file (path, size, SHA-256); a disk-spanning one is read with the slice files beside
// it, as Open finds them. A "~N" path is a file innoextract overwrites at the
// same path (see the package comment): it is not in innoextract's list, and each one must
// stand for a real collision.
func TestConformance(t *testing.T) {
	goldens, err := filepath.Glob("testdata/innoextract/*.tsv")
	if err != nil || len(goldens) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, gp := range goldens {
		g := readGolden(t, gp)
		t.Run(filepath.Base(g.cache+g.fixture), func(t *testing.T) {
			rc, err := Open(realFile(t, g))
			if err != nil {
				t.Fatalf("Open = %v (%s reads it)", err, g.tool)
			}
			defer rc.Close()
			r := rc.Reader
			walked := map[string]content{}
			var order []string // data order: reading in it decompresses each chunk once
			renamed := 0
			err = r.Walk(func(p string, size int64, rd io.Reader) error {
				h := sha256.New()
				n, err := io.Copy(h, rd)
				if err != nil {
					return err
				}
				if n != size {
					t.Errorf("Walk %q: %d bytes, size %d", p, n, size)
				}
				if i := strings.LastIndex(p, "~"); i > 0 {
					if _, ok := g.files[p[:i]]; !ok {
						t.Errorf("Walk %q: a renamed collision whose path innoextract does not extract", p)
					}
					renamed++
					return nil
				}
				walked[p] = content{n, hex.EncodeToString(h.Sum(nil))}
				order = append(order, p)
				return nil
			})
			if err != nil {
				t.Fatalf("Walk = %v", err)
			}
			// innoextract keys the data it writes by (chunk, offset, size, checksum), so of
			// several files whose data entries agree on all four (empty files, in practice)
			// it writes only the last entry's: the others are kept here and checked to be
			// such twins of a file it does write.
			twins := 0
			for p := range walked {
				if _, ok := g.files[p]; !ok && r.twinOfListed(p, g.files) {
					delete(walked, p)
					twins++
				}
			}
			if d := cmp.Diff(g.files, walked); d != "" {
				t.Errorf("Walk vs %s (-want +got)\n%s", g.tool, d)
			}
			opened := map[string]content{}
			for _, p := range order {
				if _, ok := g.files[p]; !ok {
					continue
				}
				b, err := fs.ReadFile(r, p)
				if err != nil {
					t.Errorf("ReadFile(%q) = %v", p, err)
					continue
				}
				sum := sha256.Sum256(b)
				opened[p] = content{int64(len(b)), hex.EncodeToString(sum[:])}
			}
			if d := cmp.Diff(g.files, opened); d != "" {
				t.Errorf("ReadFile vs %s (-want +got)\n%s", g.tool, d)
			}
			t.Logf("%s: %d files as %s extracts them, %d renamed collisions, %d data twins it does not write",
				r.Version, len(walked), g.tool, renamed, twins)
		})
	}
}

// twinOfListed reports whether the file at p has data that agrees in chunk, offset, size and
// checksum with that of a file listed in files.
func (r *Reader) twinOfListed(p string, files map[string]content) bool {
	var f *File
	for _, x := range r.Files {
		if x.Path == p {
			f = x
		}
	}
	if f == nil {
		return false
	}
	key := func(d *dataEntry) string {
		return fmt.Sprintf("%d/%d/%d/%d/%x", d.firstSlice, d.chunkOffset, d.offset, d.size, d.sum)
	}
	k := key(&r.data[f.Location])
	for _, x := range r.Files {
		if _, ok := files[x.Path]; ok && x.Location != f.Location && key(&r.data[x.Location]) == k {
			return true
		}
	}
	return false
}
