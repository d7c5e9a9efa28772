package authenticode

import (
	"bytes"
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"

	"github.com/sassoftware/relic/v7/lib/x509tools"
)

// Object identifiers of the Authenticode structures ("Windows Authenticode Portable
// Executable Signature Format", and for the MSI SIP what osslsigncode and relic emit).
var (
	oidSpcIndirectDataContent = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}
	oidSpcPeImageData         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 15}
	oidSpcSipInfo             = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 30}
	oidSpcPageHashV1          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 3, 1}
	oidSpcPageHashV2          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 3, 2}

	uuidPageHashes = []byte{0xa6, 0xb5, 0x86, 0xd5, 0xb4, 0xa1, 0x24, 0x66, 0xae, 0x05, 0xa2, 0x17, 0xda, 0x8e, 0x60, 0xd6}
	uuidSipInfoMsi = []byte{0xf1, 0x10, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}
	// The APPX and APPX bundle SIPs, as osslsigncode (appx.c) and signtool write them.
	uuidSipInfoAppx       = []byte{0x4b, 0xdf, 0xc5, 0x0a, 0x07, 0xce, 0xe2, 0x4d, 0xb7, 0x6e, 0x23, 0xc8, 0x39, 0xa0, 0x9f, 0xd1}
	uuidSipInfoAppxBundle = []byte{0xb3, 0x58, 0x5f, 0x0f, 0xde, 0xaa, 0x9a, 0x4b, 0xa4, 0x34, 0x95, 0x74, 0x2d, 0x92, 0xec, 0xeb}
)

// indirectData is what an SpcIndirectDataContent says about the signed file.
type indirectData struct {
	dataType asn1.ObjectIdentifier
	hash     crypto.Hash
	digest   []byte
	pageHash crypto.Hash // 0 when there are no page hashes
	pages    []byte
}

// parseIndirect decodes the SpcIndirectDataContent inside the encapsulated ContentInfo raw
// (SEQUENCE { contentType, [0] EXPLICIT content }):
//
//	SpcIndirectDataContent ::= SEQUENCE {
//	    data          SEQUENCE { type OBJECT IDENTIFIER, value ANY OPTIONAL },
//	    messageDigest SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING } }
//
// For PE the data type is SpcPeImageData in signtool, osslsigncode and current sbsign
// output; older sbsign wrote another type there, and sbverify and osslsigncode accept any
// type because only the digest binds the file, so this does too. Page hashes are read only
// from SpcPeImageData. For MSI the data must be the MSI SpcSipInfo.
func parseIndirect(raw []byte, kind indirectKind) (*indirectData, error) {
	fail := func(format string, args ...any) (*indirectData, error) {
		return nil, fmt.Errorf("parsing SpcIndirectDataContent: "+format, args...)
	}
	ci, err := newDERReader(raw, 0).expect(tagSequence, "ContentInfo")
	if err != nil {
		return fail("%v", err)
	}
	r := ci.children()
	if _, err := r.expect(tagOID, "content type"); err != nil {
		return fail("%v", err)
	}
	wrap, err := r.expect(ctx0, "content")
	if err != nil {
		return fail("%v", err)
	}
	ind, err := wrap.children().expect(tagSequence, "SpcIndirectDataContent")
	if err != nil {
		return fail("%v", err)
	}
	var content struct {
		Data struct {
			Type  asn1.ObjectIdentifier
			Value asn1.RawValue `asn1:"optional"`
		}
		MessageDigest struct {
			DigestAlgorithm pkix.AlgorithmIdentifier
			Digest          []byte
		}
	}
	if rest, err := asn1.Unmarshal(ind.full, &content); err != nil || len(rest) != 0 {
		return fail("%v", errOr(err, "trailing bytes"))
	}
	out := &indirectData{dataType: content.Data.Type}
	switch kind {
	case indirectPE:
		if content.Data.Type.Equal(oidSpcPeImageData) && len(content.Data.Value.FullBytes) > 0 {
			if err := out.readPageHashes(content.Data.Value.FullBytes); err != nil {
				return nil, err
			}
		}
	case indirectMSI, indirectAppx:
		var sip struct {
			Version int
			UUID    []byte
			A, B, C int
			D, E    int
		}
		what := map[indirectKind]string{indirectMSI: "MSI", indirectAppx: "APPX"}[kind]
		if !content.Data.Type.Equal(oidSpcSipInfo) {
			return fail("type %v is not the %s SpcSipInfo", content.Data.Type, what)
		}
		rest, err := asn1.Unmarshal(content.Data.Value.FullBytes, &sip)
		ok := err == nil && len(rest) == 0
		if kind == indirectMSI {
			ok = ok && bytes.Equal(sip.UUID, uuidSipInfoMsi)
		} else {
			ok = ok && (bytes.Equal(sip.UUID, uuidSipInfoAppx) || bytes.Equal(sip.UUID, uuidSipInfoAppxBundle))
		}
		if !ok {
			return fail("type %v is not the %s SpcSipInfo", content.Data.Type, what)
		}
	}
	dinfo := content.MessageDigest
	h, ok := x509tools.PkixDigestToHash(dinfo.DigestAlgorithm)
	if !ok || !h.Available() {
		return nil, fmt.Errorf("digest algorithm %v is not supported", dinfo.DigestAlgorithm.Algorithm)
	}
	if h == crypto.MD5 {
		return nil, fmt.Errorf("digest algorithm md5 is not accepted")
	}
	if kind == indirectAppx {
		// The digest is the APPX hash blob ("APPX", then tagged digests); appx.go reads it.
		out.hash, out.digest = h, dinfo.Digest
		return out, nil
	}
	if len(dinfo.Digest) != h.Size() {
		return nil, fmt.Errorf("signed digest is %d bytes, %s needs %d", len(dinfo.Digest), hashName(h), h.Size())
	}
	out.hash, out.digest = h, dinfo.Digest
	return out, nil
}

// readPageHashes extracts the optional page hash table from SpcPeImageData:
//
//	SpcPeImageData ::= SEQUENCE { flags BIT STRING, file [0] EXPLICIT SpcLink OPTIONAL }
//	SpcLink ::= CHOICE { url [0] IMPLICIT IA5String, moniker [1] IMPLICIT SpcSerializedObject, file [2] EXPLICIT SpcString }
//	SpcSerializedObject ::= SEQUENCE { classId OCTET STRING, serializedData OCTET STRING }
//
// with classId the page hashes class and serializedData SET { SEQUENCE { type, SET { OCTET STRING } } }.
func (d *indirectData) readPageHashes(peImageData []byte) error {
	img, err := newDERReader(peImageData, 0).expect(tagSequence, "SpcPeImageData")
	if err != nil {
		// Only the digest binds the file; a SpcPeImageData we cannot read carries no page
		// hashes we could check (its bytes are covered by the signer's signature).
		return nil
	}
	r := img.children()
	if _, err := r.expect(tagBitString, "flags"); err != nil {
		return nil
	}
	file, ok, err := r.optional(ctx0)
	if err != nil || !ok {
		return nil
	}
	link, err := file.children().next()
	if err != nil || link.tag != classContext|constructed|1 {
		return nil // a URL or file name, not a serialized object
	}
	var obj struct {
		ClassID        []byte
		SerializedData []byte
	}
	if _, err := asn1.UnmarshalWithParams(link.full, &obj, "tag:1"); err != nil || !bytes.Equal(obj.ClassID, uuidPageHashes) {
		return nil
	}
	var set struct {
		Attr struct {
			Type   asn1.ObjectIdentifier
			Hashes [][]byte `asn1:"set"`
		}
	}
	if rest, err := asn1.UnmarshalWithParams(obj.SerializedData, &set, "set"); err != nil || len(rest) != 0 {
		return fmt.Errorf("parsing page hashes: %v", errOr(err, "trailing bytes"))
	}
	switch {
	case set.Attr.Type.Equal(oidSpcPageHashV1):
		d.pageHash = crypto.SHA1
	case set.Attr.Type.Equal(oidSpcPageHashV2):
		d.pageHash = crypto.SHA256
	default:
		return fmt.Errorf("parsing page hashes: unknown type %v", set.Attr.Type)
	}
	if len(set.Attr.Hashes) != 1 {
		return fmt.Errorf("parsing page hashes: %d hash tables, want 1", len(set.Attr.Hashes))
	}
	d.pages = set.Attr.Hashes[0]
	if len(d.pages) == 0 || len(d.pages)%(4+d.pageHash.Size()) != 0 {
		return fmt.Errorf("parsing page hashes: table of %d bytes is not a whole number of entries", len(d.pages))
	}
	return nil
}

func errOr(err error, msg string) any {
	if err != nil {
		return err
	}
	return msg
}
