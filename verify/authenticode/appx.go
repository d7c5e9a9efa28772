package authenticode

import (
	"archive/zip"
	"bytes"
	"crypto"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/msix"
)

// The APPX signature (AppxSignature.p7x) is "PKCX" followed by a DER PKCS#7 SignedData whose
// SpcIndirectDataContent carries the APPX SpcSipInfo and, as its digest, a blob: "APPX" then
// tagged digests with the algorithm of the indirect data. Microsoft does not document the
// APPX SIP; this follows what osslsigncode (appx.c) signs and verifies, which Windows accepts:
//
//	AXPC  the ZIP local file records (header, data, data descriptor) in local header order,
//	      the signature's own record left out
//	AXCD  the central directory records in local header order without the signature's, and
//	      the end records rewritten as they were before the signature was added (entry
//	      counts, directory size and offset recomputed, disk numbers zero)
//	AXCT  the uncompressed [Content_Types].xml
//	AXBM  the uncompressed AppxBlockMap.xml
//	AXCI  the uncompressed AppxMetadata/CodeIntegrity.cat, present exactly when that file is
//
// The block map in turn holds the hash of every 64 KiB block of every other part; it is
// checked by unpack/msix (Reader.BlockMapErrors), not here.
//
// Differences from osslsigncode: it rewrites central directory records without extra fields
// other than ZIP64 (while keeping their declared length); this hashes the records as stored,
// which is the same for makeappx and osslsigncode output. Tags that repeat, an unknown tag,
// or a blob that is not a whole number of tagged digests are invalid here (osslsigncode
// takes the last copy, or ignores a short tail). Bytes between the local records, which no
// digest covers, are an AnomalyUnhashedGap.
var (
	appxMagic = []byte("PKCX")
	appxBlob  = []byte("APPX")
	appxTags  = []string{"AXPC", "AXCD", "AXCT", "AXBM", "AXCI"}
)

// VerifyAppx checks the AppxSignature.p7x of the MSIX/AppX package or bundle in r, and that
// the manifest's Publisher is the signer's subject (as Windows requires; osslsigncode does
// not check it), a mismatch being State invalid. The error
// is for I/O failures and for a ZIP whose directory cannot be read at all (an
// unpack.FormatError); a missing signature is State unsigned, a malformed one or a digest
// mismatch State invalid with IntegrityError. Bytes after the PKCS#7 blob in the signature
// file are an AnomalyPaddingAfterPKCS7 and bytes of its unauthenticated area that are not
// well-formed DER of a known type an AnomalyUnauthenticatedData, with Offsets relative to
// the start of the signature file's content.
func (v *Verifier) VerifyAppx(r io.ReaderAt, size int64) (*inventory.Signature, error) {
	out := &inventory.Signature{State: inventory.SigUnsigned}
	dir, err := msix.ReadDirectory(r, size)
	if err != nil {
		return nil, err
	}
	var sigRec *msix.Record
	n := 0
	for i := range dir.Records {
		if dir.Records[i].Name == msix.NameSignature {
			sigRec = &dir.Records[i]
			n++
		}
	}
	if sigRec == nil {
		return out, nil
	}
	out.State = inventory.SigSigned
	if n > 1 {
		// Every copy is left out of the digests, so a second one could carry anything.
		return invalid(out, "more than one %s", msix.NameSignature), nil
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, &unpack.FormatError{Format: "msix", Offset: -1, Msg: err.Error()}
	}
	blob, err := readZipFile(zr, msix.NameSignature, MaxSignatureBytes)
	if err != nil {
		if !isFormat(err) {
			return nil, err
		}
		return invalid(out, "reading %s: %v", msix.NameSignature, err), nil
	}
	if !bytes.HasPrefix(blob, appxMagic) {
		return invalid(out, "%s does not start with PKCX", msix.NameSignature), nil
	}
	der := blob[len(appxMagic):]
	derLen, err := derLength(bytes.NewReader(der), int64(len(der)), 0, int64(len(der)))
	if err != nil {
		return invalid(out, "%s: %v", msix.NameSignature, err), nil
	}
	base := int64(len(appxMagic))
	if tail := int64(len(der)) - derLen; tail > 0 {
		out.Anomalies = append(out.Anomalies, inventory.Anomaly{
			Kind: inventory.AnomalyPaddingAfterPKCS7, Offset: base + derLen, Length: tail,
			Detail: fmt.Sprintf("%d bytes (%d non-zero) after the PKCS#7 blob inside %s (offset within the file)",
				tail, tail-int64(bytes.Count(der[derLen:], []byte{0})), msix.NameSignature),
		})
	}
	out.Anomalies = append(out.Anomalies, inspectBlob(der[:derLen], base)...)
	gaps := appxGaps(r, size, dir)
	out.Anomalies = append(out.Anomalies, gaps...)
	budget := MaxNestedSignatures
	sigs := parseTree(der[:derLen], indirectAppx, msix.NameSignature, 0, &budget)
	computed := map[crypto.Hash]map[string][]byte{}
	for _, s := range sigs {
		if s.err != nil || s.ind == nil {
			continue
		}
		h := s.ind.hash
		signed, err := splitAppxBlob(s.ind.digest, h)
		if err != nil {
			s.err = err
			continue
		}
		got, done := computed[h]
		if !done {
			got, err = appxDigests(r, size, dir, zr, h)
			if err != nil && !isFormat(err) {
				return nil, err
			}
			if err != nil {
				s.err = fmt.Errorf("computing the APPX digests: %w", err)
				continue
			}
			computed[h] = got
		}
		s.err = compareAppx(got, signed, h)
	}
	if s := sigs[0]; s.err == nil && s.parsed() {
		s.err = appxPublisher(r, size, s)
	}
	v.report(out, sigs)
	return out, nil
}

// appxPublisher checks that the manifest's Publisher is the signer's subject: Windows
// refuses to install a package signed by anyone else, so the signature does not bind it.
func appxPublisher(r io.ReaderAt, size int64, s *signature) error {
	m, err := msix.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("reading the package identity: %w", err)
	}
	pub := m.Identity().Publisher
	ok, err := msix.PublisherMatches(pub, s.p7.Certificate.Subject)
	if err != nil {
		return fmt.Errorf("manifest Publisher: %w", err)
	}
	if !ok {
		return fmt.Errorf("manifest Publisher %q is not the signer's subject %q", pub, s.p7.Certificate.Subject.String())
	}
	return nil
}

// splitAppxBlob reads the signed "APPX" blob into its tagged digests.
func splitAppxBlob(b []byte, h crypto.Hash) (map[string][]byte, error) {
	if !bytes.HasPrefix(b, appxBlob) {
		return nil, errors.New("signed digest is not an APPX hash blob")
	}
	rest, step := b[len(appxBlob):], 4+h.Size()
	if len(rest)%step != 0 {
		return nil, fmt.Errorf("APPX hash blob of %d bytes is not a whole number of %s digests", len(b), hashName(h))
	}
	out := map[string][]byte{}
	for ; len(rest) > 0; rest = rest[step:] {
		tag := string(rest[:4])
		known := false
		for _, t := range appxTags {
			known = known || t == tag
		}
		if !known {
			return nil, fmt.Errorf("APPX hash blob: unknown tag %q", tag)
		}
		if out[tag] != nil {
			return nil, fmt.Errorf("APPX hash blob: %s twice", tag)
		}
		out[tag] = rest[4:step]
	}
	return out, nil
}

// compareAppx checks every digest, AXCI when either side has it, and names every one that
// differs (a changed stored part changes AXPC and its own digest).
func compareAppx(got, signed map[string][]byte, h crypto.Hash) error {
	var bad []string
	what := map[string]string{
		"AXPC": "ZIP local records", "AXCD": "ZIP central directory", "AXCT": msix.NameContentTypes,
		"AXBM": msix.NameBlockMap, "AXCI": msix.NameCodeIntegrity,
	}
	for _, tag := range appxTags {
		g, s := got[tag], signed[tag]
		switch {
		case g == nil && s == nil:
			continue
		case s == nil:
			return fmt.Errorf("APPX hash blob lacks %s (%s)", tag, what[tag])
		case g == nil:
			return fmt.Errorf("APPX hash blob has %s but the package has no %s", tag, what[tag])
		case !hmac.Equal(g, s):
			bad = append(bad, fmt.Sprintf("%s (%s) file %s %x, signed %x", tag, what[tag], hashName(h), g, s))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", errMismatch, strings.Join(bad, "; "))
	}
	return nil
}

// appxDigests computes the tagged digests of the package with h.
func appxDigests(r io.ReaderAt, size int64, dir *msix.Directory, zr *zip.Reader, h crypto.Hash) (map[string][]byte, error) {
	out := map[string][]byte{}
	recs := make([]msix.Record, 0, len(dir.Records))
	for _, rec := range dir.Records {
		if rec.Name != msix.NameSignature {
			recs = append(recs, rec)
		}
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].HeaderOffset < recs[j].HeaderOffset })
	d := h.New()
	var cdOffset int64
	for _, rec := range recs {
		n, err := hashLocalRecord(d, r, size, rec, dir.Zip64)
		if err != nil {
			return nil, err
		}
		cdOffset += n
	}
	out["AXPC"] = d.Sum(nil)

	d = h.New()
	var cdSize int64
	for _, rec := range recs {
		if err := copyRange(d, r, size, rec.CDOffset, rec.CDLen, rec.Name); err != nil {
			return nil, err
		}
		cdSize += rec.CDLen
	}
	writeAppxEnd(d, dir, int64(len(recs)), cdSize, cdOffset)
	out["AXCD"] = d.Sum(nil)

	for tag, name := range map[string]string{"AXCT": msix.NameContentTypes, "AXBM": msix.NameBlockMap, "AXCI": msix.NameCodeIntegrity} {
		sum, err := hashZipFile(zr, name, h)
		if err != nil {
			return nil, err
		}
		if sum == nil && tag != "AXCI" {
			return nil, &unpack.FormatError{Format: "msix", Entry: name, Offset: -1, Msg: "missing from the package"}
		}
		if sum != nil {
			out[tag] = sum
		}
	}
	return out, nil
}

// hashLocalRecord feeds one local file record to w (nil: only measure it) as osslsigncode rewrites it (the CRC and
// sizes zero in a header whose data descriptor flag is set; otherwise as stored) and returns
// its length.
func hashLocalRecord(w io.Writer, r io.ReaderAt, size int64, rec msix.Record, zip64 bool) (int64, error) {
	hdr, err := readAt(r, size, rec.HeaderOffset, 30, "local file header")
	if err != nil {
		return 0, &unpack.FormatError{Format: "msix", Entry: rec.Name, Offset: rec.HeaderOffset, Msg: err.Error()}
	}
	if binary.LittleEndian.Uint32(hdr) != 0x04034b50 {
		return 0, &unpack.FormatError{Format: "msix", Entry: rec.Name, Offset: rec.HeaderOffset, Msg: "no local file header"}
	}
	if w == nil {
		w = io.Discard
	}
	flags := binary.LittleEndian.Uint16(hdr[6:])
	if flags&8 != 0 {
		hdr = append([]byte(nil), hdr...)
		clear(hdr[14:26])
	}
	w.Write(hdr)
	nx := int64(binary.LittleEndian.Uint16(hdr[26:])) + int64(binary.LittleEndian.Uint16(hdr[28:]))
	body := nx + rec.CompressedSize
	if w == io.Discard {
		if rec.HeaderOffset+30 > size || body > size-rec.HeaderOffset-30 {
			return 0, &unpack.FormatError{Format: "msix", Entry: rec.Name, Offset: rec.HeaderOffset, Msg: "record runs past the end of the file"}
		}
	} else if err := copyRange(w, r, size, rec.HeaderOffset+30, body, rec.Name); err != nil {
		return 0, err
	}
	total := 30 + body
	if flags&8 != 0 {
		dd := int64(16)
		if zip64 {
			dd = 24
		}
		at := rec.HeaderOffset + total
		b, err := readAt(r, size, at, dd, "data descriptor")
		if err != nil || binary.LittleEndian.Uint32(b) != 0x08074b50 {
			return 0, &unpack.FormatError{Format: "msix", Entry: rec.Name, Offset: at, Msg: "data descriptor without its signature"}
		}
		w.Write(b)
		total += dd
	}
	return total, nil
}

// copyRange hashes n bytes at off, which must lie within the file.
func copyRange(w io.Writer, r io.ReaderAt, size, off, n int64, entry string) error {
	if off < 0 || n < 0 || off > size || n > size-off {
		return &unpack.FormatError{Format: "msix", Entry: entry, Offset: off, Msg: fmt.Sprintf("%d bytes run past the end of the file", n)}
	}
	_, err := io.Copy(w, io.NewSectionReader(r, off, n))
	return err
}

// writeAppxEnd writes the end records as they were before the signature was added.
func writeAppxEnd(w io.Writer, dir *msix.Directory, entries, cdSize, cdOffset int64) {
	le := binary.LittleEndian
	if dir.Zip64 {
		z := dir.Zip64End
		b := append([]byte(nil), z[:24]...) // signature, size, versions, disk numbers
		b = le.AppendUint64(b, uint64(entries))
		b = le.AppendUint64(b, uint64(entries))
		b = le.AppendUint64(b, uint64(cdSize))
		b = le.AppendUint64(b, uint64(cdOffset))
		b = append(b, z[56:]...)
		loc := dir.Locator
		b = append(b, loc[:8]...) // signature, disk with the ZIP64 end record
		b = le.AppendUint64(b, uint64(cdOffset+cdSize))
		b = append(b, loc[16:20]...)
		w.Write(b)
	}
	e := dir.End
	b := append([]byte(nil), e[:4]...)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	for _, at := range []int{8, 10} {
		if le.Uint16(e[at:]) == 0xffff {
			b = le.AppendUint16(b, 0xffff)
		} else {
			b = le.AppendUint16(b, uint16(entries))
		}
	}
	for i, at := range []int{12, 16} {
		v := []int64{cdSize, cdOffset}[i]
		if le.Uint32(e[at:]) == 0xffffffff {
			b = le.AppendUint32(b, 0xffffffff)
		} else {
			b = le.AppendUint32(b, uint32(v))
		}
	}
	b = append(b, e[20:]...) // comment length and comment
	w.Write(b)
}

// appxGaps reports bytes before the central directory that no local record covers (between
// records, before the first, after the last): no APPX digest hashes them. Records whose
// extent cannot be read are left to the digest computation, which fails on them.
func appxGaps(r io.ReaderAt, size int64, dir *msix.Directory) []inventory.Anomaly {
	type span struct{ off, end int64 }
	spans := make([]span, 0, len(dir.Records))
	for _, rec := range dir.Records {
		n, err := hashLocalRecord(nil, r, size, rec, dir.Zip64)
		if err != nil {
			return nil
		}
		spans = append(spans, span{rec.HeaderOffset, rec.HeaderOffset + n})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].off < spans[j].off })
	var out []inventory.Anomaly
	at := int64(0)
	gap := func(end int64) {
		if end > at {
			out = append(out, inventory.Anomaly{Kind: inventory.AnomalyUnhashedGap, Offset: at, Length: end - at,
				Detail: fmt.Sprintf("%d bytes between ZIP local records, covered by no APPX digest", end-at)})
		}
	}
	for _, sp := range spans {
		gap(sp.off)
		at = max(at, sp.end)
	}
	gap(dir.CDOffset)
	return out
}

// readZipFile reads a whole file of the ZIP of at most limit bytes.
func readZipFile(zr *zip.Reader, name string, limit int64) ([]byte, error) {
	f := findZip(zr, name)
	if f == nil {
		return nil, &unpack.FormatError{Format: "msix", Entry: name, Offset: -1, Msg: "missing"}
	}
	if f.UncompressedSize64 > uint64(limit) {
		return nil, &unpack.FormatError{Format: "msix", Entry: name, Offset: -1, Err: unpack.ErrLimit,
			Msg: fmt.Sprintf("%d bytes exceed the limit of %d", f.UncompressedSize64, limit)}
	}
	rc, err := f.Open()
	if err != nil {
		return nil, &unpack.FormatError{Format: "msix", Entry: name, Offset: -1, Msg: err.Error()}
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, &unpack.FormatError{Format: "msix", Entry: name, Offset: -1, Msg: err.Error()}
	}
	return b, nil
}

// hashZipFile hashes the uncompressed content of name, nil when there is no such file.
func hashZipFile(zr *zip.Reader, name string, h crypto.Hash) ([]byte, error) {
	f := findZip(zr, name)
	if f == nil {
		return nil, nil
	}
	rc, err := f.Open()
	if err != nil {
		return nil, &unpack.FormatError{Format: "msix", Entry: name, Offset: -1, Msg: err.Error()}
	}
	defer rc.Close()
	d := h.New()
	// archive/zip refuses more bytes than the declared size, and checks the CRC at the end.
	if _, err := io.Copy(d, rc); err != nil {
		return nil, &unpack.FormatError{Format: "msix", Entry: name, Offset: -1, Msg: err.Error()}
	}
	return d.Sum(nil), nil
}

func findZip(zr *zip.Reader, name string) *zip.File {
	for _, f := range zr.File {
		if f.Name == name {
			return f
		}
	}
	return nil
}
