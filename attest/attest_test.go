package attest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/report"
	"github.com/rollgate/rollgate/rules"
)

// Keys under testdata/keys are test-only, made by testdata/gen-keys.sh.
func keyPath(name string) string { return filepath.Join("testdata", "keys", name) }

func mustSigner(t testing.TB, name string) crypto.Signer {
	t.Helper()
	s, err := LoadSigner(keyPath(name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustPublic(t testing.TB, name string) crypto.PublicKey {
	t.Helper()
	p, err := LoadPublicKey(keyPath(name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type publicKey interface{ Equal(crypto.PublicKey) bool }

func TestLoadKeys(t *testing.T) {
	tests := []struct {
		private, public string
		kind            string
		err             error
	}{
		{"test-ec-pkcs8.pem", "test-ec.pub.pem", "ecdsa", nil},
		{"test-ec-sec1.pem", "test-ec.pub.pem", "ecdsa", nil},
		{"test-ed25519-pkcs8.pem", "test-ed25519.pub.pem", "ed25519", nil},
		{"test-rsa-pkcs8.pem", "test-rsa.pub.pem", "rsa", nil},
		{"test-rsa-pkcs1.pem", "test-rsa-pkcs1.pub.pem", "rsa", nil},
		{"test-ec-p384.pem", "", "", ErrKey},
		{"test-ec-encrypted.pem", "", "", ErrKey},
		{"test-ec.pub.pem", "", "", ErrKey}, // a public key is not a signing key
	}
	for _, tt := range tests {
		t.Run(tt.private, func(t *testing.T) {
			s, err := LoadSigner(keyPath(tt.private))
			if !errors.Is(err, tt.err) {
				t.Fatalf("LoadSigner(%s) error = %v, want %v", tt.private, err, tt.err)
			}
			if tt.err != nil {
				return
			}
			var kind string
			switch s.Public().(type) {
			case *ecdsa.PublicKey:
				kind = "ecdsa"
			case ed25519.PublicKey:
				kind = "ed25519"
			case *rsa.PublicKey:
				kind = "rsa"
			}
			if kind != tt.kind {
				t.Errorf("LoadSigner(%s) is %T, want %s", tt.private, s.Public(), tt.kind)
			}
			pub := mustPublic(t, tt.public)
			if !pub.(publicKey).Equal(s.Public()) {
				t.Errorf("%s is not the public key of %s", tt.public, tt.private)
			}
		})
	}
	if _, err := ParsePublicKey([]byte("not pem")); !errors.Is(err, ErrKey) {
		t.Errorf("ParsePublicKey(garbage) = %v, want ErrKey", err)
	}
}

// installer writes a stand-in installer and returns its path and SHA-256.
func installer(t testing.TB, content string) (string, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "Acme Setup 1.1.msi")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	return p, hex.EncodeToString(sum[:])
}

var when = time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC)

func summary(path, sha, verdict string) Summary {
	return Summary{InstallerPath: path, InstallerSHA256: sha, Verdict: verdict, FailOn: "high", Version: "v1.2.3", Time: when,
		Baseline: &File{Path: "baselines/acme.json", SHA256: strings.Repeat("a", 64)},
		Policy:   &File{Path: "rollgate.yaml", SHA256: strings.Repeat("b", 64)}}
}

func TestNewStatement(t *testing.T) {
	st, err := NewStatement(summary(`C:\dist\Acme Setup.msi`, strings.Repeat("C", 64), report.Pass))
	if err != nil {
		t.Fatal(err)
	}
	want := &Statement{
		Type:          StatementType,
		Subject:       []ResourceDescriptor{{Name: "Acme Setup.msi", Digest: map[string]string{"sha256": strings.Repeat("c", 64)}}},
		PredicateType: PredicateType,
		Predicate: VerificationSummary{
			Verifier:           Verifier{ID: VerifierID, Version: map[string]string{"rollgate": "v1.2.3"}},
			TimeVerified:       "2026-12-01T22:00:00Z",
			ResourceURI:        `C:\dist\Acme Setup.msi`,
			Policy:             ResourceDescriptor{Name: "policy", URI: "rollgate.yaml", Digest: map[string]string{"sha256": strings.Repeat("b", 64)}, Annotations: map[string]string{"failOn": "high"}},
			InputAttestations:  []ResourceDescriptor{{Name: "baseline", URI: "baselines/acme.json", Digest: map[string]string{"sha256": strings.Repeat("a", 64)}, MediaType: BaselineMediaType}},
			VerificationResult: Passed,
			VerifiedLevels:     []string{VerifiedLevelBaseline},
		},
	}
	if d := cmp.Diff(want, st); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	for _, tt := range []struct {
		name string
		s    Summary
		err  error
	}{
		{"inconclusive", summary("a.msi", strings.Repeat("c", 64), report.Inconclusive), ErrInconclusive},
		{"empty verdict", summary("a.msi", strings.Repeat("c", 64), ""), ErrInconclusive},
		{"no digest", summary("a.msi", "", report.Pass), ErrFormat},
		{"bad baseline digest", func() Summary {
			s := summary("a.msi", strings.Repeat("c", 64), report.Fail)
			s.Baseline.SHA256 = "xyz"
			return s
		}(), ErrFormat},
	} {
		if _, err := NewStatement(tt.s); !errors.Is(err, tt.err) {
			t.Errorf("%s: NewStatement error = %v, want %v", tt.name, err, tt.err)
		}
	}
}

var signers = []struct{ private, public string }{
	{"test-ec-pkcs8.pem", "test-ec.pub.pem"},
	{"test-ec-sec1.pem", "test-ec.pub.pem"},
	{"test-ed25519-pkcs8.pem", "test-ed25519.pub.pem"},
	{"test-rsa-pkcs8.pem", "test-rsa.pub.pem"},
	{"test-rsa-pkcs1.pem", "test-rsa-pkcs1.pub.pem"},
}

// TestSignVerify: a passing report gives PASSED, a failing one FAILED, with every key
// type; Verify returns the statement that was signed.
func TestSignVerify(t *testing.T) {
	inst, sha := installer(t, "MSI bytes")
	for _, k := range signers {
		for _, tt := range []struct{ verdict, result string }{{report.Pass, Passed}, {report.Fail, Failed}} {
			t.Run(k.private+"/"+tt.verdict, func(t *testing.T) {
				key := mustSigner(t, k.private)
				st, err := NewStatement(summary(inst, sha, tt.verdict))
				if err != nil {
					t.Fatal(err)
				}
				env, err := Sign(st, key)
				if err != nil {
					t.Fatal(err)
				}
				res, err := Verify(env, mustPublic(t, k.public), inst)
				if err != nil {
					t.Fatal(err)
				}
				wantID, _ := KeyID(key.Public())
				want := &Result{Statement: st, VerificationResult: tt.result, Passed: tt.result == Passed, KeyID: wantID}
				if d := cmp.Diff(want, res); d != "" {
					t.Errorf("(-want +got)\n%s", d)
				}
			})
		}
	}
}

func TestFromReport(t *testing.T) {
	dir := t.TempDir()
	inst, sha := installer(t, "installer")
	baseline := filepath.Join(dir, "acme.json")
	policyFile := filepath.Join(dir, "rollgate.yaml")
	os.WriteFile(baseline, []byte(`{"schema":"x"}`), 0o644)
	os.WriteFile(policyFile, []byte("fail-on: medium\n"), 0o644)
	digest := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

	r := report.New(inst, rules.Medium)
	r.Installer.SHA256 = sha
	r.Baseline = &report.Baseline{Product: "Acme", Version: "1.0", File: baseline}
	r.Sandbox.Ran = true
	r.Decide()
	got, err := FromReport(r, policyFile, "v9", when)
	if err != nil {
		t.Fatal(err)
	}
	want := Summary{InstallerPath: inst, InstallerSHA256: sha, Verdict: report.Pass, FailOn: "medium", SandboxRan: true,
		Baseline: &File{Path: baseline, SHA256: digest(`{"schema":"x"}`)}, Policy: &File{Path: policyFile, SHA256: digest("fail-on: medium\n")},
		Version: "v9", Time: when}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	st, err := NewStatement(got)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{VerifiedLevelBaseline, VerifiedLevelSandbox}, st.Predicate.VerifiedLevels); d != "" {
		t.Errorf("verifiedLevels (-want +got)\n%s", d)
	}

	r.Fail(errors.New("no baseline for the product"))
	if _, err := FromReport(r, "", "v9", when); !errors.Is(err, ErrInconclusive) {
		t.Errorf("FromReport(inconclusive) = %v, want ErrInconclusive", err)
	}
	if _, err := Sign(&Statement{Predicate: VerificationSummary{VerificationResult: "INCONCLUSIVE"}}, mustSigner(t, "test-ec-pkcs8.pem")); !errors.Is(err, ErrInconclusive) {
		t.Errorf("Sign(INCONCLUSIVE) = %v, want ErrInconclusive", err)
	}
}

// resign re-signs a modified statement with key, as an attacker holding the key could.
func resign(t *testing.T, key crypto.Signer, env []byte, edit func(*Statement)) []byte {
	t.Helper()
	var e Envelope
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.StdEncoding.DecodeString(e.Payload)
	var st Statement
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	edit(&st)
	out, err := Sign(&st, key)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func editEnvelope(t *testing.T, env []byte, edit func(*Envelope)) []byte {
	t.Helper()
	var e Envelope
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	edit(&e)
	out, _ := json.Marshal(e)
	return out
}

func TestVerifyRefuses(t *testing.T) {
	inst, sha := installer(t, "MSI bytes")
	other, _ := installer(t, "other MSI bytes")
	key := mustSigner(t, "test-ec-pkcs8.pem")
	pub := key.Public()
	env, err := SignSummary(summary(inst, sha, report.Fail), key)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		env       []byte
		pub       crypto.PublicKey
		installer string
		err       error
	}{
		{"payload changed to PASSED", editEnvelope(t, env, func(e *Envelope) {
			p, _ := base64.StdEncoding.DecodeString(e.Payload)
			e.Payload = base64.StdEncoding.EncodeToString(bytes.Replace(p, []byte(`"FAILED"`), []byte(`"PASSED"`), -1))
		}), pub, inst, ErrSignature},
		{"subject digest changed", editEnvelope(t, env, func(e *Envelope) {
			p, _ := base64.StdEncoding.DecodeString(e.Payload)
			e.Payload = base64.StdEncoding.EncodeToString(bytes.Replace(p, []byte(sha), []byte(strings.Repeat("0", 64)), 1))
		}), pub, inst, ErrSignature},
		{"payload type changed", editEnvelope(t, env, func(e *Envelope) { e.PayloadType = "application/json" }), pub, inst, ErrFormat},
		{"signature flipped", editEnvelope(t, env, func(e *Envelope) {
			s, _ := base64.StdEncoding.DecodeString(e.Signatures[0].Sig)
			s[len(s)-1] ^= 1
			e.Signatures[0].Sig = base64.StdEncoding.EncodeToString(s)
		}), pub, inst, ErrSignature},
		{"no signatures", editEnvelope(t, env, func(e *Envelope) { e.Signatures = nil }), pub, inst, ErrFormat},
		{"too many signatures", editEnvelope(t, env, func(e *Envelope) {
			for len(e.Signatures) <= MaxSignatures {
				e.Signatures = append(e.Signatures, e.Signatures[0])
			}
		}), pub, inst, ErrLimit},
		{"another key", env, mustPublic(t, "test-ed25519.pub.pem"), inst, ErrSignature},
		{"another installer", env, pub, other, ErrSubjectMismatch},
		{"re-signed for another digest", resign(t, key, env, func(st *Statement) { st.Subject[0].Digest["sha256"] = strings.Repeat("0", 64) }), pub, inst, ErrSubjectMismatch},
		{"re-signed with another predicate", resign(t, key, env, func(st *Statement) { st.PredicateType = "https://slsa.dev/provenance/v1" }), pub, inst, ErrFormat},
		{"not JSON", []byte("{"), pub, inst, ErrFormat},
		{"too large", bytes.Repeat([]byte(" "), MaxEnvelopeBytes+1), pub, inst, ErrLimit},
		{"P-384 key", env, p384(t), inst, ErrKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Verify(tt.env, tt.pub, tt.installer)
			if !errors.Is(err, tt.err) {
				t.Errorf("Verify = %+v, %v; want %v", res, err, tt.err)
			}
		})
	}
	// URL-safe base64 is accepted, as DSSE requires.
	urlSafe := editEnvelope(t, env, func(e *Envelope) {
		p, _ := base64.StdEncoding.DecodeString(e.Payload)
		e.Payload = base64.RawURLEncoding.EncodeToString(p)
	})
	if res, err := Verify(urlSafe, pub, inst); err != nil || res.VerificationResult != Failed {
		t.Errorf("Verify(URL-safe payload) = %+v, %v; want FAILED", res, err)
	}
}

func p384(t *testing.T) crypto.PublicKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k.Public()
}

func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed; required when CI=true", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// TestOpenSSLVerifiesPAE: OpenSSL, an independent implementation, verifies each signature
// over the PAE it recomputes from the envelope, and refuses it over a changed PAE.
func TestOpenSSLVerifiesPAE(t *testing.T) {
	openssl := tool(t, "openssl")
	inst, sha := installer(t, "MSI bytes")
	for _, k := range []struct{ private, public string }{
		{"test-ec-pkcs8.pem", "test-ec.pub.pem"},
		{"test-ed25519-pkcs8.pem", "test-ed25519.pub.pem"},
		{"test-rsa-pkcs1.pem", "test-rsa.pub.pem"},
	} {
		t.Run(k.private, func(t *testing.T) {
			env, err := SignSummary(summary(inst, sha, report.Pass), mustSigner(t, k.private))
			if err != nil {
				t.Fatal(err)
			}
			var e Envelope
			if err := json.Unmarshal(env, &e); err != nil {
				t.Fatal(err)
			}
			payload, _ := base64.StdEncoding.DecodeString(e.Payload)
			sig, _ := base64.StdEncoding.DecodeString(e.Signatures[0].Sig)
			dir := t.TempDir()
			paePath, sigPath, badPath := filepath.Join(dir, "pae"), filepath.Join(dir, "sig"), filepath.Join(dir, "bad")
			os.WriteFile(paePath, PAE(e.PayloadType, payload), 0o644)
			os.WriteFile(sigPath, sig, 0o644)
			os.WriteFile(badPath, PAE(e.PayloadType, append(payload, ' ')), 0o644)
			run := func(in string) error {
				args := []string{"pkeyutl", "-verify", "-pubin", "-inkey", keyPath(k.public), "-rawin", "-in", in, "-sigfile", sigPath}
				if !strings.Contains(k.private, "ed25519") {
					args = append(args, "-digest", "sha256")
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				out, err := exec.CommandContext(ctx, openssl, args...).CombinedOutput()
				if err != nil {
					return errors.New(string(out))
				}
				return nil
			}
			if err := run(paePath); err != nil {
				t.Errorf("openssl refuses the signature over the PAE: %v", err)
			}
			if err := run(badPath); err == nil {
				t.Error("openssl accepts the signature over a changed PAE")
			}
		})
	}
}

// TestSubjectIsSha256sum: the subject digest is what coreutils' sha256sum prints.
func TestSubjectIsSha256sum(t *testing.T) {
	sum := tool(t, "sha256sum")
	inst, _ := installer(t, strings.Repeat("installer bytes ", 100000))
	d, err := FileDigest(inst)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sum, inst).Output()
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewStatement(summary(inst, d, report.Pass))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Fields(string(out))[0]; st.Subject[0].Digest["sha256"] != want {
		t.Errorf("subject digest %s, sha256sum %s", st.Subject[0].Digest["sha256"], want)
	}
}

// FuzzVerify: Verify never panics on a hostile envelope.
func FuzzVerify(f *testing.F) {
	inst, sha := installer(f, "MSI bytes")
	key := mustSigner(f, "test-ed25519-pkcs8.pem")
	env, err := SignSummary(summary(inst, sha, report.Pass), key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(env)
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":""}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Verify(data, key.Public(), inst)
		if err == nil && (res == nil || res.Statement == nil) {
			t.Fatal("Verify returned neither a result nor an error")
		}
	})
}
