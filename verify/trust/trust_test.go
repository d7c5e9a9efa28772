package trust

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDescribeHasNoWallClock(t *testing.T) {
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: "Old"},
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)}
	now := time.Now()
	expired := x509.CertificateInvalidError{Cert: cert, Reason: x509.Expired, Detail: "current time " + now.Format(time.RFC3339) + " is after 2021-01-01"}
	got := Describe(expired, false, now)
	if strings.Contains(got, now.UTC().Format("2006-01-02T15")) || !strings.Contains(got, "expired") {
		t.Errorf("Describe(expired, now) = %q: must say expired and not print the current time", got)
	}
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := Describe(errors.New("x509: unknown authority"), true, ts); !strings.Contains(got, "2026-01-01T00:00:00Z") {
		t.Errorf("Describe(at timestamp) = %q, want the timestamp's time", got)
	}
}
