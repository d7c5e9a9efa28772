package gate

import (
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/rollgate/rollgate/attest"
	"github.com/rollgate/rollgate/report"
)

// Attest signs the verification summary of a judged report (DSSE over an in-toto Statement
// with the SLSA verification_summary predicate; the baseline file and the applied policy
// file are recorded by digest). An inconclusive verdict gives attest.ErrInconclusive and no
// envelope: no summary may say that an installer nobody could judge was vetted.
func Attest(r *report.Report, o Options, key crypto.Signer, version string, at time.Time) ([]byte, error) {
	s, err := attest.FromReport(r, o.policy().Source(), version, at)
	if err != nil {
		return nil, err
	}
	return attest.SignSummary(s, key)
}

// CheckAttestation is the rollout side: it verifies the envelope in file against the public
// key in keyFile and the installer (streamed SHA-256), and returns the result. Exit codes:
// ExitFail for an envelope that does not verify for this key and installer (and the caller
// fails a FAILED result too), ExitUsage for a key or file that cannot be read.
func CheckAttestation(file, keyFile, installer string) (*attest.Result, error) {
	pub, err := attest.LoadPublicKey(keyFile)
	if err != nil {
		return nil, usage(fmt.Errorf("--key: %w", err))
	}
	res, err := attest.VerifyFile(file, pub, installer)
	switch {
	case errors.Is(err, attest.ErrSignature), errors.Is(err, attest.ErrSubjectMismatch),
		errors.Is(err, attest.ErrFormat), errors.Is(err, attest.ErrLimit):
		return nil, WithCode(ExitFail, err)
	case err != nil:
		return nil, usage(err)
	}
	return res, nil
}
