package authenticode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/cfb"
)

// seeds adds the fixtures matching pattern and, when present, the conformance samples under
// dir (without skipping the fuzz target when the samples are missing).
func seeds(f *testing.F, pattern, dir string) {
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	samples := os.Getenv("ROLLGATE_SAMPLES")
	if samples == "" {
		samples = filepath.Join("..", "..", "..", "shared", "samples")
	}
	more, _ := filepath.Glob(filepath.Join(samples, dir, "*"))
	for _, p := range append(files, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

func checkAnomalies(t *testing.T, as []inventory.Anomaly, size int64) {
	for _, a := range as {
		if !slices.Contains([]string{inventory.AnomalyPaddingAfterPKCS7, inventory.AnomalyDataAfterTable, inventory.AnomalyUnauthenticatedData, inventory.AnomalyUnhashedGap}, a.Kind) ||
			a.Offset < 0 || a.Length <= 0 || a.Offset+a.Length > size || a.Detail == "" {
			t.Errorf("anomaly %+v out of a %d-byte input", a, size)
		}
	}
}

func FuzzCheckPadding(f *testing.F) {
	seeds(f, "*.exe", "pe")
	f.Fuzz(func(t *testing.T, data []byte) {
		as, err := CheckPadding(bytes.NewReader(data), int64(len(data)))
		if err != nil && !errors.Is(err, unpack.ErrFormat) {
			t.Fatalf("CheckPadding = %v, want nil or ErrFormat", err)
		}
		checkAnomalies(t, as, int64(len(data)))
	})
}

func checkSignature(t *testing.T, s *inventory.Signature) {
	switch s.State {
	case inventory.SigUnsigned:
		if s.Signer != "" || s.Trusted || len(s.Anomalies) != 0 {
			t.Errorf("unsigned with facts: %+v", s)
		}
	case inventory.SigSigned:
		if s.IntegrityError != "" || s.Fingerprint == "" {
			t.Errorf("signed = %+v", s)
		}
	case inventory.SigInvalid:
		if s.IntegrityError == "" {
			t.Errorf("invalid without an integrity error: %+v", s)
		}
	default:
		t.Errorf("state %q", s.State)
	}
	if s.Trusted == (s.TrustError != "") && s.State != inventory.SigUnsigned {
		t.Errorf("trusted %v with trust error %q", s.Trusted, s.TrustError)
	}
}

func FuzzVerifyPE(f *testing.F) {
	seeds(f, "*.exe", "pe")
	v := verifier(f, "root.pem")
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := v.VerifyPE(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !errors.Is(err, unpack.ErrFormat) {
				t.Fatalf("VerifyPE = %v, want nil or ErrFormat", err)
			}
			return
		}
		checkSignature(t, s)
		checkAnomalies(t, s.Anomalies, int64(len(data)))
	})
}

func FuzzVerifyMSI(f *testing.F) {
	seeds(f, "*.msi", "msi")
	v := verifier(f, "root.pem")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := cfb.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		s, err := v.VerifyMSI(c)
		if err != nil {
			t.Fatalf("VerifyMSI = %v, want no error from an in-memory file", err)
		}
		checkSignature(t, s)
	})
}

// TestMutations is a deterministic complement to the fuzz targets: random byte flips, 32-bit
// overwrites and truncations of every fixture never panic, and never turn into an error for
// an in-memory file other than ErrFormat for input that is no longer a PE.
func TestMutations(t *testing.T) {
	v := verifier(t, "root.pem")
	rng := rand.New(rand.NewPCG(1, 2))
	iterations := 3000
	if testing.Short() {
		iterations = 300
	}
	for _, pat := range []string{"*.exe", "*.msi"} {
		files, _ := filepath.Glob(filepath.Join("testdata", pat))
		for range iterations {
			b := bytes.Clone(readFile(t, files[rng.IntN(len(files))]))
			for k := rng.IntN(4) + 1; k > 0 && len(b) > 8; k-- {
				i := rng.IntN(len(b) - 4)
				switch rng.IntN(4) {
				case 0:
					b[i] ^= byte(rng.IntN(255) + 1)
				case 1:
					binary.LittleEndian.PutUint32(b[i:], rng.Uint32())
				case 2:
					binary.LittleEndian.PutUint32(b[i&^3:], uint32(rng.IntN(1<<16)))
				case 3:
					b = b[:i+4]
				}
			}
			if pat == "*.exe" {
				as, err := CheckPadding(bytes.NewReader(b), int64(len(b)))
				if err != nil && !errors.Is(err, unpack.ErrFormat) {
					t.Fatalf("CheckPadding(mutant) = %v", err)
				}
				checkAnomalies(t, as, int64(len(b)))
				s, err := v.VerifyPE(bytes.NewReader(b), int64(len(b)))
				if err != nil {
					if !errors.Is(err, unpack.ErrFormat) {
						t.Fatalf("VerifyPE(mutant) = %v", err)
					}
					continue
				}
				checkSignature(t, s)
			} else if c, err := cfb.NewReader(bytes.NewReader(b), int64(len(b))); err == nil {
				s, err := v.VerifyMSI(c)
				if err != nil {
					t.Fatalf("VerifyMSI(mutant) = %v", err)
				}
				checkSignature(t, s)
			}
		}
	}
}

// FuzzSignatureBlob feeds PKCS#7 blobs (the fixtures' and mutations of them) to the
// structural inspection and the signature parser: no panic, anomalies inside the blob.
func FuzzSignatureBlob(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.exe"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		h, err := readPEHeader(bytes.NewReader(b), int64(len(b)))
		if err != nil || !h.hasCertDir || h.certSize < 8 || h.certStart+h.certSize > int64(len(b)) {
			continue
		}
		f.Add(b[h.certStart+8 : h.certStart+h.certSize])
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		for _, a := range inspectBlob(der, 0) {
			if a.Kind != inventory.AnomalyUnauthenticatedData || a.Offset < 0 || a.Length <= 0 || a.Offset+a.Length > int64(len(der)) || a.Detail == "" {
				t.Errorf("anomaly %+v out of a %d-byte blob", a, len(der))
			}
		}
		budget := MaxNestedSignatures
		for _, s := range parseTree(der, indirectPE, "fuzz", 0, &budget) {
			if s.err == nil && (s.ind == nil || !s.parsed()) {
				t.Errorf("signature without error but unparsed: %+v", s)
			}
		}
	})
}
