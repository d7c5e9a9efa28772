package authenticode

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/verify/trust"
	"github.com/sassoftware/relic/v7/lib/pkcs7"
	"github.com/sassoftware/relic/v7/lib/pkcs9"
)

// signature is one Authenticode SignedData: parsed and its signer's signature checked
// (err == nil), or the reason it could not be (err != nil, p7 possibly unset).
type signature struct {
	source string // where it sits, e.g. "certificate entry 0, nested 1"
	p7     pkcs7.Signature
	ts     *pkcs9.CounterSignature // the verified timestamp, nil when there is none
	ind    *indirectData
	err    error // parse, signer-signature, timestamp or (later) digest failure
}

func (s *signature) parsed() bool { return s.p7.Certificate != nil }

// indirectKind selects which SpcIndirectDataContent a format expects.
type indirectKind int

const (
	indirectPE indirectKind = iota
	indirectMSI
	indirectAppx // APPX or APPX bundle SpcSipInfo; the digest is the APPX hash blob
)

// parseTree checks the SignedData der and, recursively, the signatures nested in its
// unauthenticated attribute 1.3.6.1.4.1.311.2.4.1. The first element is der's own
// signature; a nested signature that fails is listed with its error. budget bounds the
// total number of signatures.
func parseTree(der []byte, kind indirectKind, source string, depth int, budget *int) []*signature {
	s := parseSignature(der, kind)
	s.source = source
	out := []*signature{s}
	if !s.parsed() {
		return out
	}
	k := 0
	for _, a := range s.p7.SignerInfo.UnauthenticatedAttributes {
		if !a.Type.Equal(oidNestedSignature) {
			continue
		}
		for r := newDERReader(a.Values.Bytes, 0); !r.empty(); k++ {
			src := fmt.Sprintf("%s, nested %d", source, k)
			v, err := r.next()
			switch {
			case err != nil:
				out = append(out, &signature{source: src, err: fmt.Errorf("nested signature: %v", err)})
			case depth+1 >= MaxNestingDepth:
				out = append(out, &signature{source: src, err: fmt.Errorf("signatures nested deeper than %d levels", MaxNestingDepth)})
			case *budget <= 0:
				out = append(out, &signature{source: src, err: fmt.Errorf("more than %d signatures", MaxNestedSignatures)})
			default:
				*budget--
				out = append(out, parseTree(v.full, kind, src, depth+1, budget)...)
				continue
			}
			return out
		}
	}
	return out
}

// parseSignature checks one DER PKCS#7 blob step by step; each step's failure is worded
// distinctly because it ends up in Signature.IntegrityError.
func parseSignature(der []byte, kind indirectKind) (sig *signature) {
	sig = &signature{}
	defer func() {
		// relic parses attacker-controlled ASN.1 in code we do not own; a panic there must
		// become an invalid signature, not a crashed scan.
		if p := recover(); p != nil {
			sig = &signature{err: fmt.Errorf("parsing PKCS#7: internal error: %v\n%s", p, debug.Stack())}
		}
	}()
	fail := func(format string, args ...any) *signature {
		sig.err = fmt.Errorf(format, args...)
		return sig
	}
	psd, err := pkcs7.Unmarshal(der)
	if err != nil {
		return fail("parsing PKCS#7: %w", err)
	}
	if !psd.ContentType.Equal(pkcs7.OidSignedData) {
		return fail("parsing PKCS#7: content type %v is not signedData", psd.ContentType)
	}
	sd := &psd.Content
	if !sd.ContentInfo.ContentType.Equal(oidSpcIndirectDataContent) {
		return fail("parsing PKCS#7: content type %v is not SpcIndirectDataContent", sd.ContentInfo.ContentType)
	}
	if n := len(sd.SignerInfos); n != 1 {
		return fail("parsing PKCS#7: %d signer infos, Authenticode requires exactly one", n)
	}
	ind, err := parseIndirect(sd.ContentInfo.Raw, kind)
	if err != nil {
		return fail("%w", err)
	}
	p7, err := sd.Verify(nil, false)
	if err != nil {
		return fail("verifying the signer's signature: %w", err)
	}
	if p7.Certificate == nil {
		return fail("verifying the signer's signature: no signer certificate")
	}
	sig.p7, sig.ind = p7, ind
	sig.ts, sig.err = verifyTimestamps(p7)
	return sig
}

// verifyTimestamps checks every timestamp attribute of the signer (a legacy PKCS #9
// countersignature or an RFC 3161 token); one that is present must verify, like Windows,
// which rejects a file whose timestamp is malformed or does not match. It returns the first.
func verifyTimestamps(p7 pkcs7.Signature) (*pkcs9.CounterSignature, error) {
	var first *pkcs9.CounterSignature
	for _, a := range p7.SignerInfo.UnauthenticatedAttributes {
		if !isTimestamp(a.Type) {
			continue
		}
		one := *p7.SignerInfo
		one.UnauthenticatedAttributes = pkcs7.AttributeList{a}
		sig := p7
		sig.SignerInfo = &one
		cs, err := pkcs9.VerifyPkcs7(sig)
		if err == nil && cs == nil {
			err = errors.New("not found")
		}
		if err != nil {
			return nil, fmt.Errorf("timestamp (%v) does not verify: %w", a.Type, err)
		}
		if first == nil {
			first = cs
		}
	}
	return first, nil
}

func isTimestamp(oid asn1.ObjectIdentifier) bool {
	return oid.Equal(oidCounterSignature) || oid.Equal(oidSpcTimeStamp) || oid.Equal(oidTimeStampToken)
}

// fill writes the signer facts and trust of s into out.
func (v *Verifier) fill(out *inventory.Signature, s *signature) {
	trust.DescribeLeaf(out, s.p7.Certificate)
	if s.ind != nil {
		out.DigestAlgorithm = hashName(s.ind.hash)
	}
	if cs := s.ts; cs != nil {
		out.Timestamp = cs.SigningTime.UTC().Format(time.RFC3339)
	}
	out.Trusted, out.TrustError = v.trust(s)
}

// trust checks the signer's chain at the signing time: the verified timestamp's time, whose
// own chain must reach a trusted root for time stamping at that time, else now. Like
// Windows it requires the code signing usage, which Go's chain builder also grants to
// certificates with anyExtendedKeyUsage or no EKU extension, checked along the whole chain.
func (v *Verifier) trust(s *signature) (bool, string) {
	at, fromTS := v.now(), false
	if cs := s.ts; cs != nil {
		if err := trust.VerifyChain(v.roots, cs.Certificate, cs.Intermediates, cs.SigningTime, x509.ExtKeyUsageTimeStamping, nil); err != nil {
			return false, "timestamp " + trust.Describe(err, true, cs.SigningTime)
		}
		at, fromTS = cs.SigningTime, true
	}
	if err := trust.VerifyChain(v.roots, s.p7.Certificate, s.p7.Intermediates, at, x509.ExtKeyUsageCodeSigning, nil); err != nil {
		return false, trust.Describe(err, fromTS, at)
	}
	return true, ""
}

// report turns the checked signatures of one file into out: State invalid when any of them
// failed (IntegrityError names the first failure), the signer facts of the primary one or,
// when it is not trusted, of the first trusted one, and every other signature in Nested.
func (v *Verifier) report(out *inventory.Signature, sigs []*signature) {
	facts := make([]inventory.Signature, len(sigs))
	top := -1
	for i, s := range sigs {
		f := &facts[i]
		f.State = inventory.SigSigned
		if len(sigs) > 1 {
			f.Source = s.source
		}
		if s.parsed() {
			v.fill(f, s)
			if top < 0 || (!facts[top].Trusted && f.Trusted && s.err == nil) {
				top = i
			}
		}
		if s.err != nil {
			f.State, f.IntegrityError = inventory.SigInvalid, s.err.Error()
		}
	}
	var firstErr *signature
	for _, s := range sigs {
		if s.err != nil {
			firstErr = s
			break
		}
	}
	if top < 0 {
		msg := firstErr.err.Error()
		if len(sigs) > 1 {
			msg = firstErr.source + ": " + msg
		}
		invalid(out, "%s", msg)
		return
	}
	anomalies := out.Anomalies
	*out = facts[top]
	out.Anomalies = anomalies
	if firstErr != nil {
		out.State = inventory.SigInvalid
		out.IntegrityError = firstErr.err.Error()
		if len(sigs) > 1 {
			out.IntegrityError = firstErr.source + ": " + out.IntegrityError
		}
	}
	for i := range facts {
		if i != top {
			out.Nested = append(out.Nested, facts[i])
		}
	}
}
