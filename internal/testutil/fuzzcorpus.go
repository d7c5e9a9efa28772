package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// MaxCorpusFile is the largest seed file committed: bigger hand-made seeds (4 KiB-sector
// compound files, disks with a partition map at sector 64, a CMS-signed SuperBlob) stay
// f.Add seeds built by code.
const MaxCorpusFile = 16 << 10

// CheckFuzzCorpus checks (or, with ROLLGATE_WRITE_FUZZ_CORPUS=1, writes) one corpus file per
// seed in testdata/fuzz/target, in the `go test fuzz v1` format, named by its content hash.
func CheckFuzzCorpus(t testing.TB, target string, seeds ...[]any) {
	t.Helper()
	for _, vals := range seeds {
		var b strings.Builder
		b.WriteString("go test fuzz v1\n")
		for _, v := range vals {
			switch v := v.(type) {
			case []byte:
				fmt.Fprintf(&b, "[]byte(%q)\n", v)
			case string:
				fmt.Fprintf(&b, "string(%q)\n", v)
			default:
				t.Fatalf("%s: seed value of type %T", target, v)
			}
		}
		if b.Len() > MaxCorpusFile {
			continue
		}
		sum := sha256.Sum256([]byte(b.String()))
		p := filepath.Join("testdata", "fuzz", target, hex.EncodeToString(sum[:8]))
		if os.Getenv("ROLLGATE_WRITE_FUZZ_CORPUS") == "1" {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: seed corpus file missing (ROLLGATE_WRITE_FUZZ_CORPUS=1 go test -run TestFuzzCorpus writes it): %v", target, err)
		}
	}
}
