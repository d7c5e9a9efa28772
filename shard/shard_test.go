package shard

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		i, n int
		ok   bool
	}{
		{"1/4", 1, 4, true},
		{"4/4", 4, 4, true},
		{" 2/3 ", 2, 3, true},
		{"1/1", 1, 1, true},
		{"0/4", 0, 0, false},
		{"5/4", 0, 0, false},
		{"1/0", 0, 0, false},
		{"-1/4", 0, 0, false},
		{"1/257", 0, 0, false},
		{"1", 0, 0, false},
		{"a/b", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		i, n, err := Parse(tt.in)
		if (err == nil) != tt.ok || i != tt.i || n != tt.n {
			t.Errorf("Parse(%q) = %d, %d, %v; want %d, %d, ok %v", tt.in, i, n, err, tt.i, tt.n, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrSpec) {
			t.Errorf("Parse(%q) error %v does not wrap ErrSpec", tt.in, err)
		}
	}
}

// TestShardPartition: for every N the shards are disjoint, cover the input, differ in size
// by at most one, keep the input order and do not depend on it.
func TestShardPartition(t *testing.T) {
	var paths []string
	for k := 0; k < 103; k++ {
		paths = append(paths, fmt.Sprintf("vendor-%02d/setup-%d.msi", k%17, k))
	}
	shuffled := slices.Clone(paths)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
	for _, n := range []int{1, 2, 3, 7, 16, 103, 200} {
		seen := map[string]int{}
		lo, hi := len(paths), 0
		for i := 1; i <= n; i++ {
			got, err := Shard(paths, i, n)
			if err != nil {
				t.Fatal(err)
			}
			other, err := Shard(shuffled, i, n)
			if err != nil {
				t.Fatal(err)
			}
			a, b := slices.Clone(got), slices.Clone(other)
			slices.Sort(a)
			slices.Sort(b)
			if d := cmp.Diff(a, b); d != "" {
				t.Errorf("shard %d/%d depends on the input order (-sorted +shuffled)\n%s", i, n, d)
			}
			if !slices.IsSortedFunc(got, func(x, y string) int { return slices.Index(paths, x) - slices.Index(paths, y) }) {
				t.Errorf("shard %d/%d does not keep the input order", i, n)
			}
			for _, p := range got {
				seen[p]++
			}
			lo, hi = min(lo, len(got)), max(hi, len(got))
		}
		if len(seen) != len(paths) {
			t.Errorf("N=%d: shards cover %d of %d paths", n, len(seen), len(paths))
		}
		for p, c := range seen {
			if c != 1 {
				t.Errorf("N=%d: %s in %d shards", n, p, c)
			}
		}
		if hi-lo > 1 {
			t.Errorf("N=%d: shard sizes %d..%d, want a spread of at most one", n, lo, hi)
		}
	}
}

// TestKeyIgnoresRunnerFolder: two runners with the checkout in different places pick the
// same installers.
func TestKeyIgnoresRunnerFolder(t *testing.T) {
	rel := []string{"a/x.msi", "a/y.msi", "b/z.dmg", "c.pkg"}
	pick := func(root string) []string {
		var abs []string
		for _, p := range rel {
			abs = append(abs, filepath.Join(root, filepath.FromSlash(p)))
		}
		got, err := Of(abs, 2, 3, func(p string) string { return Key(root, p) })
		if err != nil {
			t.Fatal(err)
		}
		for k := range got {
			got[k] = Key(root, got[k])
		}
		return got
	}
	if d := cmp.Diff(pick("/home/runner/work/x"), pick("/tmp/elsewhere")); d != "" {
		t.Errorf("shard depends on the runner's folder (-runner1 +runner2)\n%s", d)
	}
}

func TestShardErrors(t *testing.T) {
	for _, in := range [][2]int{{0, 1}, {2, 1}, {1, 0}, {1, MaxShards + 1}} {
		if _, err := Shard([]string{"a"}, in[0], in[1]); !errors.Is(err, ErrSpec) {
			t.Errorf("Shard(%d/%d) = %v, want ErrSpec", in[0], in[1], err)
		}
	}
}
