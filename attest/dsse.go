package attest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Envelope is a DSSE envelope (JSON form). Payload and Sig are base64 (standard encoding on
// output; Verify also accepts URL-safe, as the protocol requires).
type Envelope struct {
	PayloadType string      `json:"payloadType"`
	Payload     string      `json:"payload"`
	Signatures  []Signature `json:"signatures"`
}

// Signature is one DSSE signature.
type Signature struct {
	KeyID string `json:"keyid,omitempty"`
	Sig   string `json:"sig"`
}

// PAE is DSSE's pre-authentication encoding:
// "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths as ASCII decimals.
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

// KeyID is the hex SHA-256 of the public key's PKIX (SubjectPublicKeyInfo) encoding.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrKey, err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// Sign serialises st and returns the DSSE envelope JSON signed by key: ECDSA P-256 signs
// SHA-256(PAE) (ASN.1 DER signature), Ed25519 signs the PAE itself, RSA signs SHA-256(PAE)
// with PKCS #1 v1.5. keyid is KeyID(key.Public()).
func Sign(st *Statement, key crypto.Signer) ([]byte, error) {
	if st == nil || st.Predicate.VerificationResult != Passed && st.Predicate.VerificationResult != Failed {
		return nil, ErrInconclusive
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	sig, err := signPAE(key, PAE(PayloadType, payload))
	if err != nil {
		return nil, err
	}
	id, err := KeyID(key.Public())
	if err != nil {
		return nil, err
	}
	env := Envelope{PayloadType: PayloadType, Payload: base64.StdEncoding.EncodeToString(payload),
		Signatures: []Signature{{KeyID: id, Sig: base64.StdEncoding.EncodeToString(sig)}}}
	out, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// SignSummary builds the statement for s and signs it: the one call --attestation needs.
func SignSummary(s Summary, key crypto.Signer) ([]byte, error) {
	st, err := NewStatement(s)
	if err != nil {
		return nil, err
	}
	return Sign(st, key)
}

func signPAE(key crypto.Signer, pae []byte) ([]byte, error) {
	if err := checkPublic(key.Public()); err != nil {
		return nil, err
	}
	switch key.Public().(type) {
	case ed25519.PublicKey:
		return key.Sign(rand.Reader, pae, crypto.Hash(0))
	default:
		sum := sha256.Sum256(pae)
		return key.Sign(rand.Reader, sum[:], crypto.SHA256)
	}
}

// RSA key sizes accepted, in bits.
const (
	MinRSABits = 2048
	MaxRSABits = 8192
)

// checkPublic accepts the key types the summary is specified for.
func checkPublic(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve.Params().Name != "P-256" {
			return fmt.Errorf("%w: ECDSA curve %s (want P-256)", ErrKey, k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: Ed25519 key of %d bytes", ErrKey, len(k))
		}
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < MinRSABits || n > MaxRSABits {
			return fmt.Errorf("%w: RSA key of %d bits (want %d to %d)", ErrKey, n, MinRSABits, MaxRSABits)
		}
	default:
		return fmt.Errorf("%w: %T", ErrKey, pub)
	}
	return nil
}

func verifyPAE(pub crypto.PublicKey, pae, sig []byte) bool {
	sum := sha256.Sum256(pae)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, sum[:], sig)
	case ed25519.PublicKey:
		return ed25519.Verify(k, pae, sig)
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil
	}
	return false
}

// Result is a verified summary.
type Result struct {
	// Statement is the verified statement.
	Statement *Statement
	// VerificationResult is PASSED or FAILED; Passed is true only for PASSED.
	VerificationResult string
	Passed             bool
	// KeyID is the keyid of the signature that verified ("" when the envelope had none).
	KeyID string
}

// Verify checks envelope against pub and the installer at installerPath, in order: the
// envelope's shape and payload type, a signature over the PAE that verifies with pub, the
// statement's and predicate's types, that a subject's sha256 equals the installer's
// (streamed), and a verificationResult of PASSED or FAILED. A FAILED summary is returned
// without error: the caller admits only Result.Passed.
func Verify(envelope []byte, pub crypto.PublicKey, installerPath string) (*Result, error) {
	if err := checkPublic(pub); err != nil {
		return nil, err
	}
	env, payload, err := parseEnvelope(envelope)
	if err != nil {
		return nil, err
	}
	pae := PAE(env.PayloadType, payload)
	keyID := ""
	ok := false
	for i, s := range env.Signatures {
		sig, err := decodeBase64(s.Sig)
		if err != nil {
			return nil, fmt.Errorf("%w: signature %d: %v", ErrFormat, i, err)
		}
		if verifyPAE(pub, pae, sig) {
			ok, keyID = true, s.KeyID
			break
		}
	}
	if !ok {
		return nil, ErrSignature
	}
	st, err := parseStatement(payload)
	if err != nil {
		return nil, err
	}
	digest, err := FileDigest(installerPath)
	if err != nil {
		return nil, err
	}
	matched := false
	for _, s := range st.Subject {
		if strings.EqualFold(s.Digest["sha256"], digest) {
			matched = true
		}
	}
	if !matched {
		return nil, fmt.Errorf("%w: installer %q has sha256 %s", ErrSubjectMismatch, installerPath, digest)
	}
	res := st.Predicate.VerificationResult
	return &Result{Statement: st, VerificationResult: res, Passed: res == Passed, KeyID: keyID}, nil
}

// VerifyFile reads the envelope at path (at most MaxEnvelopeBytes) and calls Verify.
func VerifyFile(path string, pub crypto.PublicKey, installerPath string) (*Result, error) {
	data, err := readBounded(path, MaxEnvelopeBytes)
	if err != nil {
		return nil, err
	}
	return Verify(data, pub, installerPath)
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%q: more than %d bytes: %w", path, limit, ErrLimit)
	}
	return data, nil
}

func parseEnvelope(data []byte) (*Envelope, []byte, error) {
	if len(data) > MaxEnvelopeBytes {
		return nil, nil, fmt.Errorf("envelope of %d bytes (limit %d): %w", len(data), MaxEnvelopeBytes, ErrLimit)
	}
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, nil, fmt.Errorf("%w: envelope: %v", ErrFormat, err)
	}
	if env.PayloadType != PayloadType {
		return nil, nil, fmt.Errorf("%w: payloadType %q (want %q)", ErrFormat, env.PayloadType, PayloadType)
	}
	switch n := len(env.Signatures); {
	case n == 0:
		return nil, nil, fmt.Errorf("%w: no signatures", ErrFormat)
	case n > MaxSignatures:
		return nil, nil, fmt.Errorf("%d signatures (limit %d): %w", n, MaxSignatures, ErrLimit)
	}
	payload, err := decodeBase64(env.Payload)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: payload: %v", ErrFormat, err)
	}
	return &env, payload, nil
}

// decodeBase64 accepts standard and URL-safe base64, padded or not (DSSE: "either").
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

func parseStatement(payload []byte) (*Statement, error) {
	var st Statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("%w: statement: %v", ErrFormat, err)
	}
	if st.Type != StatementType {
		return nil, fmt.Errorf("%w: _type %q (want %q)", ErrFormat, st.Type, StatementType)
	}
	if st.PredicateType != PredicateType {
		return nil, fmt.Errorf("%w: predicateType %q (want %q)", ErrFormat, st.PredicateType, PredicateType)
	}
	switch n := len(st.Subject); {
	case n == 0:
		return nil, fmt.Errorf("%w: no subject", ErrFormat)
	case n > MaxSubjects:
		return nil, fmt.Errorf("%d subjects (limit %d): %w", n, MaxSubjects, ErrLimit)
	}
	switch st.Predicate.VerificationResult {
	case Passed, Failed:
	default:
		return nil, fmt.Errorf("%w: verificationResult %q", ErrFormat, st.Predicate.VerificationResult)
	}
	return &st, nil
}
