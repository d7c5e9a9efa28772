// Package digest is rollgate's one way of hashing content: SHA-256, streamed, hex-encoded.
// Installers, baselines, policy files and the sinkhole binary are all hashed through it, never
// read into memory whole.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// Reader streams r through SHA-256 and returns the hex digest and the bytes read.
func Reader(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// File streams the file at path through SHA-256 and returns the hex digest.
func File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sum, _, err := Reader(f)
	if err != nil {
		return "", fmt.Errorf("hashing %q: %w", path, err)
	}
	return sum, nil
}
