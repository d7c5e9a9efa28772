// Package attest writes and checks rollgate's signed verification summary: a DSSE envelope
// (github.com/secure-systems-lab/dsse, protocol v1.0.2: signatures over the
// pre-authentication encoding PAE) whose payload is an in-toto Statement v1
// (https://in-toto.io/Statement/v1) about the installer, with the SLSA verification summary
// predicate (https://slsa.dev/verification_summary/v1) as its predicate.
//
// What the predicate records:
//   - verifier.id VerifierID, verifier.version {"rollgate": VERSION};
//   - timeVerified (RFC 3339, UTC), resourceUri (the installer as given, or a URI the caller
//     chose);
//   - policy: the policy file applied (uri = its path, digest.sha256), or, without one,
//     BuiltinPolicyURI; annotations.failOn names the gate;
//   - inputAttestations: the baseline file the installer was diffed against (name
//     "baseline", uri = its path, digest.sha256, mediaType BaselineMediaType);
//   - verificationResult PASSED or FAILED (an inconclusive verdict writes nothing) and
//     verifiedLevels (VerifiedLevelBaseline, plus VerifiedLevelSandbox when the sandbox ran;
//     "FAILED" when the gate failed).
//
// The subject is the installer: its base name and the SHA-256 of its bytes. Verify checks
// the signature first, parses the payload only after it verified, then streams the
// installer and compares digests, as the DSSE and in-toto processing models ask.
package attest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/rollgate/rollgate/internal/digest"
	"github.com/rollgate/rollgate/report"
)

// Identifiers and media types.
const (
	// PayloadType is the DSSE payload type of an in-toto statement.
	PayloadType = "application/vnd.in-toto+json"
	// StatementType is the in-toto Statement v1 _type.
	StatementType = "https://in-toto.io/Statement/v1"
	// PredicateType is the SLSA verification summary v1.
	PredicateType = "https://slsa.dev/verification_summary/v1"
	// VerifierID names rollgate as the verifier.
	VerifierID = "https://github.com/rollgate/rollgate"
	// BuiltinPolicyURI is the policy when no policy file was given: the default severities
	// and gate of DESIGN.md's rule table.
	BuiltinPolicyURI = "https://github.com/rollgate/rollgate/blob/main/DESIGN.md#finding-rules--contract"
	// BaselineMediaType is the media type of a rollgate baseline file.
	BaselineMediaType = "application/vnd.rollgate.baseline+json"
)

// Verification results and levels.
const (
	Passed = "PASSED"
	Failed = "FAILED"
	// VerifiedLevelBaseline: the installer was diffed against a known-good baseline and no
	// finding reached the gate. Custom levels must not start with "SLSA_".
	VerifiedLevelBaseline = "ROLLGATE_BASELINE_VERIFIED"
	// VerifiedLevelSandbox: the sandbox ran and its behaviour passed the gate too.
	VerifiedLevelSandbox = "ROLLGATE_SANDBOX_VERIFIED"
)

// Limits on hostile input (an envelope comes from wherever the rollout system got it).
const (
	// MaxEnvelopeBytes bounds the envelope file.
	MaxEnvelopeBytes = 1 << 20
	// MaxSignatures bounds the signatures an envelope may carry.
	MaxSignatures = 16
	// MaxSubjects bounds a statement's subjects.
	MaxSubjects = 64
)

var (
	// ErrInconclusive: the verdict was neither pass nor fail, so nothing is attested.
	ErrInconclusive = errors.New("attest: verdict is not pass or fail; no verification summary is written")
	// ErrFormat: the envelope or statement is malformed or of another type.
	ErrFormat = errors.New("attest: malformed envelope or statement")
	// ErrLimit: the envelope exceeds a limit.
	ErrLimit = errors.New("attest: limit exceeded")
	// ErrSignature: no signature verifies with the given key.
	ErrSignature = errors.New("attest: signature does not verify")
	// ErrSubjectMismatch: the statement is not about the installer given.
	ErrSubjectMismatch = errors.New("attest: subject digest does not match the installer")
	// ErrKey: the key cannot be used (type, curve, size, encrypted PEM).
	ErrKey = errors.New("attest: unsupported key")
)

// Statement is an in-toto Statement v1 with the verification summary predicate.
type Statement struct {
	Type          string               `json:"_type"`
	Subject       []ResourceDescriptor `json:"subject"`
	PredicateType string               `json:"predicateType"`
	Predicate     VerificationSummary  `json:"predicate"`
}

// ResourceDescriptor is in-toto's resource descriptor (the fields rollgate uses).
type ResourceDescriptor struct {
	Name        string            `json:"name,omitempty"`
	URI         string            `json:"uri,omitempty"`
	Digest      map[string]string `json:"digest,omitempty"`
	MediaType   string            `json:"mediaType,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// VerificationSummary is the SLSA verification summary v1 predicate.
type VerificationSummary struct {
	Verifier           Verifier             `json:"verifier"`
	TimeVerified       string               `json:"timeVerified"`
	ResourceURI        string               `json:"resourceUri"`
	Policy             ResourceDescriptor   `json:"policy"`
	InputAttestations  []ResourceDescriptor `json:"inputAttestations,omitempty"`
	VerificationResult string               `json:"verificationResult"`
	VerifiedLevels     []string             `json:"verifiedLevels"`
}

// Verifier identifies who verified.
type Verifier struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

// File is an input file the verdict depended on.
type File struct {
	// Path is recorded as the descriptor's uri.
	Path string
	// SHA256 is its hex digest; FileDigest computes it.
	SHA256 string
}

// Summary is what rollgate attests about one verify run.
type Summary struct {
	// InstallerPath names the installer; the subject name is its base name.
	InstallerPath string
	// InstallerSHA256 is the hex SHA-256 of the installer's bytes (report.Installer.SHA256).
	InstallerSHA256 string
	// ResourceURI is recorded as resourceUri; empty takes InstallerPath.
	ResourceURI string
	// Verdict is the report's verdict: "pass" or "fail"; anything else is ErrInconclusive.
	Verdict string
	// FailOn is the gate severity ("high").
	FailOn string
	// SandboxRan adds VerifiedLevelSandbox to a pass.
	SandboxRan bool
	// Baseline is the baseline file applied; Policy the policy file (nil: built-in policy).
	Baseline *File
	Policy   *File
	// Version is rollgate's version.
	Version string
	// Time is when the verdict was reached; zero takes the current time.
	Time time.Time
}

// NewStatement builds the statement for s. An inconclusive verdict is ErrInconclusive.
func NewStatement(s Summary) (*Statement, error) {
	var result string
	switch s.Verdict {
	case report.Pass:
		result = Passed
	case report.Fail:
		result = Failed
	default:
		return nil, fmt.Errorf("verdict %q: %w", s.Verdict, ErrInconclusive)
	}
	digest := strings.ToLower(s.InstallerSHA256)
	if !isSHA256(digest) {
		return nil, fmt.Errorf("installer digest %q is not a SHA-256: %w", s.InstallerSHA256, ErrFormat)
	}
	t := s.Time
	if t.IsZero() {
		t = time.Now()
	}
	uri := s.ResourceURI
	if uri == "" {
		uri = s.InstallerPath
	}
	vs := VerificationSummary{
		Verifier:           Verifier{ID: VerifierID},
		TimeVerified:       t.UTC().Format(time.RFC3339),
		ResourceURI:        uri,
		Policy:             ResourceDescriptor{URI: BuiltinPolicyURI},
		VerificationResult: result,
	}
	if s.Version != "" {
		vs.Verifier.Version = map[string]string{"rollgate": s.Version}
	}
	if p := s.Policy; p != nil {
		d, err := descriptor("policy", p, "")
		if err != nil {
			return nil, err
		}
		vs.Policy = d
	}
	if s.FailOn != "" {
		vs.Policy.Annotations = map[string]string{"failOn": s.FailOn}
	}
	if b := s.Baseline; b != nil {
		d, err := descriptor("baseline", b, BaselineMediaType)
		if err != nil {
			return nil, err
		}
		vs.InputAttestations = []ResourceDescriptor{d}
	}
	if result == Passed {
		vs.VerifiedLevels = []string{VerifiedLevelBaseline}
		if s.SandboxRan {
			vs.VerifiedLevels = append(vs.VerifiedLevels, VerifiedLevelSandbox)
		}
	} else {
		vs.VerifiedLevels = []string{Failed}
	}
	name := path.Base(strings.ReplaceAll(s.InstallerPath, `\`, "/"))
	return &Statement{
		Type:          StatementType,
		Subject:       []ResourceDescriptor{{Name: name, Digest: map[string]string{"sha256": digest}}},
		PredicateType: PredicateType,
		Predicate:     vs,
	}, nil
}

func descriptor(name string, f *File, mediaType string) (ResourceDescriptor, error) {
	d := strings.ToLower(f.SHA256)
	if !isSHA256(d) {
		return ResourceDescriptor{}, fmt.Errorf("%s file %q: digest %q is not a SHA-256: %w", name, f.Path, f.SHA256, ErrFormat)
	}
	return ResourceDescriptor{Name: name, URI: filepath.ToSlash(f.Path), Digest: map[string]string{"sha256": d}, MediaType: mediaType}, nil
}

func isSHA256(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// FileDigest streams the file at path through SHA-256 and returns the hex digest.
func FileDigest(path string) (string, error) { return digest.File(path) }

// HashedFile returns path with its streamed digest, for Summary.Baseline and Summary.Policy.
func HashedFile(path string) (*File, error) {
	d, err := FileDigest(path)
	if err != nil {
		return nil, err
	}
	return &File{Path: path, SHA256: d}, nil
}

// FromReport fills a Summary from a verify report: the installer and its digest, the
// verdict and gate, whether the sandbox ran, and the baseline file the report names
// (report.Baseline.File), hashed by streaming. policyFile is the policy applied ("" for
// the built-in one). An inconclusive report is ErrInconclusive.
func FromReport(r *report.Report, policyFile, version string, t time.Time) (Summary, error) {
	if r.Verdict != report.Pass && r.Verdict != report.Fail {
		return Summary{}, fmt.Errorf("verdict %q: %w", r.Verdict, ErrInconclusive)
	}
	s := Summary{InstallerPath: r.Installer.Path, InstallerSHA256: r.Installer.SHA256, Verdict: r.Verdict,
		FailOn: r.FailOn.String(), SandboxRan: r.Sandbox.Ran, Version: version, Time: t}
	if r.Baseline != nil && r.Baseline.File != "" {
		f, err := HashedFile(r.Baseline.File)
		if err != nil {
			return Summary{}, err
		}
		s.Baseline = f
	}
	if policyFile != "" {
		f, err := HashedFile(policyFile)
		if err != nil {
			return Summary{}, err
		}
		s.Policy = f
	}
	return s, nil
}
