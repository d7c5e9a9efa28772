package burn

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// stub returns the PE stub of the committed fixtures (everything before the UX container)
// with its .wixburn header cleared of container sizes.
func stub(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "acme-bundle-1.1.exe"))
	if err != nil {
		t.Fatal(err)
	}
	sec, err := readSection(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), b[:sec.StubSize]...)
}

// assemble lays out an unsigned bundle as BurnWriter does: stub, UX container, attached
// containers, the sizes in the .wixburn header.
func assemble(t testing.TB, stubBytes []byte, containers ...[]byte) []byte {
	t.Helper()
	out := append([]byte(nil), stubBytes...)
	p, err := readPE(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	s := p.sectionOff
	le.PutUint32(out[s+24:], uint32(len(stubBytes)))
	le.PutUint32(out[s+44:], uint32(len(containers)))
	for i, c := range containers {
		le.PutUint32(out[s+48+4*int64(i):], uint32(len(c)))
	}
	for _, c := range containers {
		out = append(out, c...)
	}
	return out
}

// manifest wraps payload and chain XML in a BurnManifest with one attached container.
func manifest(body string) string {
	return `<?xml version="1.0" encoding="utf-8"?><BurnManifest xmlns="http://schemas.microsoft.com/wix/2008/Burn">` +
		`<RelatedBundle Id="{5b1c2d4e-7a8f-4c3b-9e1d-0a2b3c4d5e6f}" Action="Upgrade"/>` +
		`<Container Id="WixAttachedContainer" FilePath="b.exe" AttachedIndex="1" Attached="yes" Primary="yes"/>` +
		body + `</BurnManifest>`
}
