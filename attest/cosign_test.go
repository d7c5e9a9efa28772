package attest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/rollgate/rollgate/report"
)

// CosignVersion is the cosign release the interoperability test was written against; build
// it from the Go module proxy with
//
//	GOBIN=/tmp/cosign go install github.com/sigstore/cosign/v2/cmd/cosign@v2.4.1
//
// and point $COSIGN at the binary (or put cosign on PATH).
const CosignVersion = "v2.4.1"

// TestCosignVerifyBlobAttestation: cosign, the reference sigstore client, accepts the
// envelope for the installer (signature over the PAE, subject digest = the blob's, predicate
// type) and refuses it for another blob or another key. Offline: key-based, transparency
// log ignored. Checked with cosign v2.4.1 built from the module proxy.
func TestCosignVerifyBlobAttestation(t *testing.T) {
	cosign := os.Getenv("COSIGN")
	if cosign == "" {
		p, err := exec.LookPath("cosign")
		if err != nil {
			t.Skipf("cosign not built: go install github.com/sigstore/cosign/v2/cmd/cosign@%s and set COSIGN", CosignVersion)
		}
		cosign = p
	}
	inst, sha := installer(t, "MSI bytes for cosign")
	other, _ := installer(t, "other bytes")
	for _, k := range []struct{ private, public string }{
		{"test-ec-pkcs8.pem", "test-ec.pub.pem"},
		{"test-rsa-pkcs8.pem", "test-rsa.pub.pem"},
		{"test-ed25519-pkcs8.pem", "test-ed25519.pub.pem"},
	} {
		t.Run(k.private, func(t *testing.T) {
			env, err := SignSummary(summary(inst, sha, report.Fail), mustSigner(t, k.private))
			if err != nil {
				t.Fatal(err)
			}
			envPath := filepath.Join(t.TempDir(), "summary.intoto.json")
			if err := os.WriteFile(envPath, env, 0o644); err != nil {
				t.Fatal(err)
			}
			run := func(blob, pub string) ([]byte, error) {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, cosign, "verify-blob-attestation", "--key", keyPath(pub),
					"--signature", envPath, "--type", PredicateType, "--insecure-ignore-tlog=true", blob)
				cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "TUF_ROOT="+t.TempDir())
				return cmd.CombinedOutput()
			}
			if out, err := run(inst, k.public); err != nil || !bytes.Contains(out, []byte("Verified OK")) {
				t.Errorf("cosign refuses the envelope for its installer: %v\n%s", err, out)
			}
			if out, err := run(other, k.public); err == nil {
				t.Errorf("cosign accepts the envelope for another blob:\n%s", out)
			}
			wrong := "test-ec.pub.pem"
			if k.public == wrong {
				wrong = "test-ed25519.pub.pem"
			}
			if out, err := run(inst, wrong); err == nil {
				t.Errorf("cosign accepts the envelope with another key (%s):\n%s", wrong, out)
			}
		})
	}
}
