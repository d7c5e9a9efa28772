package apple

import (
	"encoding/binary"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
)

// koly trailer offsets (UDIF "resource file" header, 512 bytes at the end of the image).
const (
	kolySize         = 512
	kolyXMLOffset    = 216
	kolyXMLLength    = 224
	kolySigOffset    = 296
	kolySigLength    = 304
	kolySigLengthEnd = 312
)

// VerifyDMG checks a DMG's own code signature against the system roots; see
// Verifier.VerifyDMG.
func VerifyDMG(r io.ReaderAt, size int64) (*inventory.Signature, error) {
	return defaultVerifier().VerifyDMG(r, size)
}

// VerifyDMG checks the code signature a UDIF image carries (codesign of a .dmg): the koly
// trailer's CodeSignatureOffset/Length name an embedded-signature SuperBlob whose
// CodeDirectory hashes the image up to the end of its XML plist as one page and seals the
// koly trailer (with the signature length zeroed) in special slot 6. An image without one is
// State unsigned; a file without a koly trailer is an unpack.ErrFormat error.
func (v *Verifier) VerifyDMG(r io.ReaderAt, size int64) (sig *inventory.Signature, err error) {
	defer func() {
		if p := recover(); p != nil {
			sig, err = nil, fmt.Errorf("apple: internal error verifying DMG: %v\n%s", p, debug.Stack())
		}
	}()
	if size < kolySize {
		return nil, &unpack.FormatError{Format: "dmg", Offset: 0, Msg: "file too short for a koly trailer"}
	}
	koly := make([]byte, kolySize)
	if _, err := r.ReadAt(koly, size-kolySize); err != nil || string(koly[:4]) != "koly" {
		return nil, &unpack.FormatError{Format: "dmg", Offset: size - kolySize, Msg: "no koly trailer"}
	}
	be := binary.BigEndian
	sigOff, sigLen := be.Uint64(koly[kolySigOffset:]), be.Uint64(koly[kolySigLength:])
	if sigLen == 0 {
		return &inventory.Signature{State: inventory.SigUnsigned}, nil
	}
	out := &inventory.Signature{State: inventory.SigInvalid}
	if sigLen > MaxSignatureBytes || sigOff > uint64(size) || sigLen > uint64(size)-sigOff || sigLen < 12 {
		out.IntegrityError = fmt.Sprintf("code signature at 0x%x+0x%x outside the %d-byte image (or over %d bytes)", sigOff, sigLen, size, MaxSignatureBytes)
		return out, nil
	}
	xmlEnd := be.Uint64(koly[kolyXMLOffset:]) + be.Uint64(koly[kolyXMLLength:])
	if xmlEnd > sigOff {
		out.IntegrityError = fmt.Sprintf("signed range ends at 0x%x, after the signature at 0x%x", xmlEnd, sigOff)
		return out, nil
	}
	buf := make([]byte, sigLen)
	if _, err := r.ReadAt(buf, int64(sigOff)); err != nil {
		out.IntegrityError = fmt.Sprintf("reading the code signature: %v", err)
		return out, nil
	}
	rep := append([]byte(nil), koly...)
	for i := kolySigLength; i < kolySigLengthEnd; i++ {
		rep[i] = 0
	}
	// The CodeDirectory's code limit must be the end of the XML plist: the data and the
	// plist are what the one page hash covers.
	s, _, _ := v.checkBlob(io.NewSectionReader(r, 0, int64(xmlEnd)), int64(xmlEnd), buf, rep)
	return s, nil
}
