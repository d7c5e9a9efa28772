// Package shard splits a batch of installers across the jobs of a CI matrix
// (`rollgate verify DIR --shard I/N`), so a fleet of hundreds of installers runs on the CI
// engine users already have.
//
// Every job computes its share on its own, from the same listing, with nothing to
// coordinate: the installers are ordered by the SHA-256 of their key (the slash-separated path
// relative to the batch folder, never the content, so a shard can be chosen before any
// installer is read, and never an absolute path, which differs between runners) and dealt out
// round robin. The N shards are therefore disjoint, cover every installer, differ in size by
// at most one, and do not depend on the order the folder was listed in.
package shard

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// MaxShards bounds N: GitHub Actions runs at most 256 jobs per matrix.
const MaxShards = 256

// ErrSpec is wrapped by every malformed --shard value.
var ErrSpec = errors.New("shard: want I/N with 1 <= I <= N")

// Parse reads "I/N" (1-based: "1/4" … "4/4").
func Parse(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, 0, fmt.Errorf("%w, got %q", ErrSpec, s)
	}
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%w, got %q", ErrSpec, s)
	}
	if err := check(i, n); err != nil {
		return 0, 0, err
	}
	return i, n, nil
}

func check(i, n int) error {
	if n < 1 || n > MaxShards || i < 1 || i > n {
		return fmt.Errorf("%w and N <= %d, got %d/%d", ErrSpec, MaxShards, i, n)
	}
	return nil
}

// Key is the shard key of path p inside the batch folder root: p relative to root, with
// slashes. A p outside root keeps its own slash form.
func Key(root, p string) string {
	if rel, err := filepath.Rel(root, p); err == nil {
		if r := filepath.ToSlash(rel); r != ".." && !strings.HasPrefix(r, "../") {
			p = rel
		}
	}
	return filepath.ToSlash(filepath.Clean(p))
}

// Shard returns shard i of n (1-based) of paths, keyed by each path's slash form (pass
// paths relative to the batch folder, or use Of). The result keeps the input's order.
func Shard(paths []string, i, n int) ([]string, error) {
	return Of(paths, i, n, func(p string) string { return filepath.ToSlash(filepath.Clean(p)) })
}

// Of returns shard i of n (1-based) of items under key, in the input's order. Items with
// equal keys are kept together in one shard.
func Of[T any](items []T, i, n int, key func(T) string) ([]T, error) {
	if err := check(i, n); err != nil {
		return nil, err
	}
	type slot struct {
		sum [32]byte
		key string
	}
	keys := map[string]slot{}
	for _, it := range items {
		k := key(it)
		if _, ok := keys[k]; !ok {
			keys[k] = slot{sha256.Sum256([]byte(k)), k}
		}
	}
	order := make([]slot, 0, len(keys))
	for _, s := range keys {
		order = append(order, s)
	}
	sort.Slice(order, func(a, b int) bool {
		if c := strings.Compare(string(order[a].sum[:]), string(order[b].sum[:])); c != 0 {
			return c < 0
		}
		return order[a].key < order[b].key
	})
	mine := map[string]bool{}
	for pos := i - 1; pos < len(order); pos += n {
		mine[order[pos].key] = true
	}
	out := make([]T, 0, len(order)/n+1)
	for _, it := range items {
		if mine[key(it)] {
			out = append(out, it)
		}
	}
	return out, nil
}
