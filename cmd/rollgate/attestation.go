package main

import (
	"crypto"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/attest"
	"github.com/rollgate/rollgate/gate"
	"github.com/rollgate/rollgate/report"
)

// attestOpts are verify's --attestation FILE --signing-key KEY.pem.
type attestOpts struct {
	file, key string
	signer    crypto.Signer
}

func (a *attestOpts) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&a.file, "attestation", "", "write a signed verification summary (DSSE, in-toto, SLSA verification_summary/v1) to FILE; needs --signing-key")
	cmd.Flags().StringVar(&a.key, "signing-key", "", "PEM private key (ECDSA P-256, Ed25519 or RSA) that signs --attestation")
	cmd.MarkFlagsRequiredTogether("attestation", "signing-key")
}

// load reads the signing key before any work, so a bad key costs no analysis.
func (a *attestOpts) load(batch bool) error {
	if a.file == "" {
		return nil
	}
	if batch {
		return withCode(exitUsage, errors.New("--attestation takes one installer, not a batch"))
	}
	k, err := attest.LoadSigner(a.key)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("--signing-key: %w", err))
	}
	a.signer = k
	return nil
}

// write signs and writes the summary of a judged report; an inconclusive one gets none.
func (a *attestOpts) write(cmd *cobra.Command, r *report.Report, opts gate.Options) error {
	if a.signer == nil {
		return nil
	}
	env, err := gate.Attest(r, opts, a.signer, rollgateVersion(), time.Now().UTC())
	if errors.Is(err, attest.ErrInconclusive) {
		fmt.Fprintf(cmd.ErrOrStderr(), "rollgate: no attestation written: the verdict is %s\n", r.Verdict)
		return nil
	}
	if err == nil {
		err = os.WriteFile(a.file, env, 0o644)
	}
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("--attestation: %w", err))
	}
	return nil
}

func newAttestationCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "attestation", Short: "Check signed verification summaries"}
	var key, installer string
	v := &cobra.Command{
		Use:   "verify FILE --key PUB.pem --installer INSTALLER",
		Short: "Check that FILE is a verification summary signed by KEY saying INSTALLER PASSED",
		Long: `attestation verify is for the rollout side: it checks the DSSE signature over the envelope
with the public key, that the statement's subject digest is the SHA-256 of INSTALLER (streamed),
and the result. Exit 0 only for PASSED; 1 for FAILED or an envelope that does not verify for
this key and installer; 2 for a key or file that cannot be read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" || installer == "" {
				return withCode(exitUsage, errors.New("--key and --installer are required"))
			}
			res, err := gate.CheckAttestation(args[0], key, installer)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", res.VerificationResult, report.Clean(installer))
			if !res.Passed {
				return withCode(exitFail, nil)
			}
			return nil
		},
	}
	v.Flags().StringVar(&key, "key", "", "PEM public key (or certificate) of the signer")
	v.Flags().StringVar(&installer, "installer", "", "the installer the summary must be about")
	cmd.AddCommand(v)
	return cmd
}
