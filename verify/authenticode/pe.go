package authenticode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
)

// WIN_CERTIFICATE values (PE format, "The Attribute Certificate Table").
const (
	winCertRevision1 = 0x0100
	winCertRevision2 = 0x0200
	winCertTypePKCS7 = 0x0002

	winCertHeaderSize = 8
	certDirIndex      = 4 // IMAGE_DIRECTORY_ENTRY_SECURITY
)

// peHeader holds the parts of the PE headers the certificate table walk and the digest
// pre-checks need.
type peHeader struct {
	lfanew      int64
	machine     uint16
	nSections   int
	optSize     int64
	fileAlign   uint32
	sizeOfHdrs  int64 // SizeOfHeaders as declared
	secTblStart int64
	hasCertDir  bool
	certDirOff  int64 // file offset of the certificate table's data directory entry
	certStart   int64
	certSize    int64
}

func peErr(off int64, format string, args ...any) error {
	return &unpack.FormatError{Format: "pe", Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// readAt reads exactly n bytes at off. A range beyond size is a FormatError; a short read
// within size is a FormatError too (the input is shorter than its declared size); any other
// read error is returned as is.
func readAt(r io.ReaderAt, size, off int64, n int64, what string) ([]byte, error) {
	if off < 0 || n < 0 || off > size || n > size-off {
		return nil, peErr(off, "%s (%d bytes) extends beyond the end of the file (%d bytes)", what, n, size)
	}
	buf := make([]byte, n)
	got, err := r.ReadAt(buf, off)
	if int64(got) == n {
		return buf, nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, peErr(off+int64(got), "%s: file truncated", what)
	}
	return nil, fmt.Errorf("reading %s at 0x%x: %w", what, off, err)
}

// readPEHeader reads the DOS, NT and optional headers up to the data directories.
func readPEHeader(r io.ReaderAt, size int64) (*peHeader, error) {
	dos, err := readAt(r, size, 0, 64, "DOS header")
	if err != nil {
		return nil, err
	}
	if dos[0] != 'M' || dos[1] != 'Z' {
		return nil, peErr(0, "no MZ signature")
	}
	le := binary.LittleEndian
	h := &peHeader{lfanew: int64(le.Uint32(dos[0x3c:]))}
	nt, err := readAt(r, size, h.lfanew, 24, "NT headers")
	if err != nil {
		return nil, err
	}
	if string(nt[:4]) != "PE\x00\x00" {
		return nil, peErr(h.lfanew, "no PE signature")
	}
	h.machine = le.Uint16(nt[4:])
	h.nSections = int(le.Uint16(nt[6:]))
	h.optSize = int64(le.Uint16(nt[20:]))
	optOff := h.lfanew + 24
	h.secTblStart = optOff + h.optSize
	opt, err := readAt(r, size, optOff, h.optSize, "optional header")
	if err != nil {
		return nil, err
	}
	if len(opt) < 2 {
		return nil, peErr(optOff, "optional header of %d bytes", len(opt))
	}
	var ddStart int64
	switch magic := le.Uint16(opt); magic {
	case 0x10b: // PE32
		ddStart = 96
	case 0x20b: // PE32+
		ddStart = 112
	default:
		return nil, peErr(optOff, "optional header magic 0x%x", magic)
	}
	if h.optSize < ddStart {
		return nil, peErr(optOff, "optional header of %d bytes ends before its data directories", h.optSize)
	}
	h.fileAlign = le.Uint32(opt[36:])
	h.sizeOfHdrs = int64(le.Uint32(opt[60:]))
	nRVA := int64(le.Uint32(opt[ddStart-4:]))
	dd := ddStart + certDirIndex*8
	if nRVA > certDirIndex && h.optSize >= dd+8 {
		h.hasCertDir = true
		h.certDirOff = optOff + dd
		h.certStart = int64(le.Uint32(opt[dd:]))
		h.certSize = int64(le.Uint32(opt[dd+4:]))
	}
	return h, nil
}

// certEntry is one WIN_CERTIFICATE holding a PKCS#7 blob.
type certEntry struct {
	index          int
	off            int64 // of the WIN_CERTIFICATE header
	derOff, derLen int64
}

// CheckPadding walks the PE certificate table of the file r (size bytes) and reports bytes
// that no signature accounts for: anything after a PKCS#7 blob inside its WIN_CERTIFICATE
// entry other than at most 7 zero bytes of 8-byte alignment (AnomalyPaddingAfterPKCS7, the
// CVE-2013-3900 pattern), entries that are not PKCS#7 (same kind), and bytes after the table
// up to the end of the file (AnomalyDataAfterTable), and in each PKCS#7 blob whatever of its
// unauthenticated area is not well-formed DER of a known type (AnomalyUnauthenticatedData,
// see inspectBlob). Offsets are file offsets. A file without a certificate table has no
// anomalies. A malformed table is an error wrapping unpack.ErrFormat.
func CheckPadding(r io.ReaderAt, size int64) ([]inventory.Anomaly, error) {
	h, err := readPEHeader(r, size)
	if err != nil {
		return nil, err
	}
	if !h.hasCertDir || h.certSize == 0 {
		return nil, nil
	}
	entries, anomalies, err := walkCertTable(r, size, h)
	if err != nil {
		return anomalies, err
	}
	for _, e := range entries {
		if e.derLen > MaxSignatureBytes {
			continue
		}
		der, err := readAt(r, size, e.derOff, e.derLen, "PKCS#7 blob")
		if err != nil {
			return anomalies, err
		}
		anomalies = append(anomalies, inspectBlob(der, e.derOff)...)
	}
	return anomalies, nil
}

// walkCertTable checks the certificate table entry by entry. It returns the PKCS#7 entries
// and the anomalies found, also those found before a FormatError.
func walkCertTable(r io.ReaderAt, size int64, h *peHeader) ([]certEntry, []inventory.Anomaly, error) {
	start, n := h.certStart, h.certSize
	switch {
	case start == 0:
		return nil, nil, peErr(h.certDirOff, "certificate table of %d bytes at file offset 0", n)
	case start%8 != 0:
		return nil, nil, peErr(start, "certificate table is not 8-byte aligned")
	case start > size || n > size-start:
		return nil, nil, peErr(start, "certificate table of %d bytes extends beyond the end of the file (%d bytes)", n, size)
	case start < h.secTblStart:
		return nil, nil, peErr(start, "certificate table overlaps the PE headers")
	}
	end := start + n
	var entries []certEntry
	var anomalies []inventory.Anomaly
	le := binary.LittleEndian
	for i, pos := 0, start; pos < end; i++ {
		if i >= MaxCertEntries {
			return entries, anomalies, &unpack.FormatError{Format: "pe", Offset: pos, Err: unpack.ErrLimit,
				Msg: fmt.Sprintf("more than %d certificate table entries", MaxCertEntries)}
		}
		if end-pos < winCertHeaderSize {
			return entries, anomalies, peErr(pos, "%d bytes left in the certificate table, too few for an entry header", end-pos)
		}
		hdr, err := readAt(r, size, pos, winCertHeaderSize, "WIN_CERTIFICATE header")
		if err != nil {
			return entries, anomalies, err
		}
		length := int64(le.Uint32(hdr))
		rev, typ := le.Uint16(hdr[4:]), le.Uint16(hdr[6:])
		if length < winCertHeaderSize || length > end-pos {
			return entries, anomalies, peErr(pos, "certificate entry %d: dwLength %d outside the table (%d bytes left)", i, length, end-pos)
		}
		aligned := (length + 7) &^ 7
		if aligned > end-pos {
			// osslsigncode and Windows both require the table size to be the sum of the
			// aligned entry lengths.
			return entries, anomalies, peErr(pos, "certificate entry %d: aligned length %d runs past the table end", i, aligned)
		}
		body, bodyLen := pos+winCertHeaderSize, length-winCertHeaderSize
		if typ != winCertTypePKCS7 || (rev != winCertRevision2 && rev != winCertRevision1) {
			anomalies = append(anomalies, inventory.Anomaly{
				Kind: inventory.AnomalyPaddingAfterPKCS7, Offset: body, Length: aligned - winCertHeaderSize,
				Detail: fmt.Sprintf("certificate entry %d is not PKCS#7 (revision 0x%04x, type %d): %d bytes that no signature covers",
					i, rev, typ, aligned-winCertHeaderSize),
			})
			pos += aligned
			continue
		}
		derLen, err := derLength(r, size, body, bodyLen)
		if err != nil {
			return entries, anomalies, peErr(body, "certificate entry %d: %v", i, err)
		}
		entries = append(entries, certEntry{index: i, off: pos, derOff: body, derLen: derLen})
		tailOff := body + derLen
		if tail := pos + aligned - tailOff; tail > 0 {
			nonZero, err := countNonZero(r, size, tailOff, tail)
			if err != nil {
				return entries, anomalies, err
			}
			if tail > 7 || nonZero > 0 {
				anomalies = append(anomalies, inventory.Anomaly{
					Kind: inventory.AnomalyPaddingAfterPKCS7, Offset: tailOff, Length: tail,
					Detail: fmt.Sprintf("%d bytes (%d non-zero) after the PKCS#7 blob in certificate entry %d; at most 7 zero bytes of alignment are allowed",
						tail, nonZero, i),
				})
			}
		}
		pos += aligned
	}
	if end < size {
		anomalies = append(anomalies, inventory.Anomaly{
			Kind: inventory.AnomalyDataAfterTable, Offset: end, Length: size - end,
			Detail: fmt.Sprintf("%d bytes after the certificate table, which should end the file", size-end),
		})
	}
	return entries, anomalies, nil
}

// derLength returns the encoded length of the DER SEQUENCE at off, which must fit in avail
// bytes. Only definite lengths of up to four length octets are accepted (DER; Authenticode
// blobs are far below 4 GiB).
func derLength(r io.ReaderAt, size, off, avail int64) (int64, error) {
	if avail < 2 {
		return 0, fmt.Errorf("PKCS#7 blob of %d bytes", avail)
	}
	hdr, err := readAt(r, size, off, min(avail, 6), "PKCS#7 header")
	if err != nil {
		return 0, err
	}
	if hdr[0] != 0x30 {
		return 0, fmt.Errorf("PKCS#7 blob starts with tag 0x%02x, not SEQUENCE", hdr[0])
	}
	n, total := int64(hdr[1]), int64(0)
	switch {
	case n < 0x80:
		total = 2 + n
	case n == 0x80:
		return 0, errors.New("PKCS#7 blob has an indefinite length (BER, not DER)")
	case n > 0x84:
		return 0, fmt.Errorf("PKCS#7 blob length has %d octets", n&0x7f)
	default:
		k := n & 0x7f
		if int64(len(hdr)) < 2+k {
			return 0, fmt.Errorf("PKCS#7 blob of %d bytes cannot hold its length", avail)
		}
		var l int64
		for _, b := range hdr[2 : 2+k] {
			l = l<<8 | int64(b)
		}
		total = 2 + k + l
	}
	if total > avail {
		return 0, fmt.Errorf("PKCS#7 blob of %d bytes overruns its %d-byte entry", total, avail)
	}
	return total, nil
}

// countNonZero streams n bytes at off and counts the non-zero ones.
func countNonZero(r io.ReaderAt, size, off, n int64) (int64, error) {
	if off < 0 || n < 0 || off > size || n > size-off {
		return 0, peErr(off, "range of %d bytes extends beyond the end of the file", n)
	}
	sr := io.NewSectionReader(r, off, n)
	buf := make([]byte, min(n, 32<<10))
	var count int64
	for {
		k, err := sr.Read(buf)
		for _, b := range buf[:k] {
			if b != 0 {
				count++
			}
		}
		n -= int64(k)
		if err == io.EOF && n > 0 {
			return 0, peErr(off, "certificate table: file truncated")
		}
		if err == io.EOF || n == 0 {
			return count, nil
		}
		if err != nil {
			return 0, fmt.Errorf("reading the certificate table at 0x%x: %w", off, err)
		}
	}
}

// VerifyPE checks the Authenticode signatures of the PE image r (size bytes): every PKCS#7
// entry of the certificate table and every signature nested in them. The error is for I/O
// failures and for input that is not a PE file at all (wrapping unpack.ErrFormat); every
// problem from the certificate table on is reported as State invalid with IntegrityError.
// Anomalies are those of CheckPadding, plus AnomalyUnhashedGap when only the section-order
// digest matches a layout with gaps. Trust is computed for every signature that parses,
// also when the digest does not match. A PE whose optional header has fewer than five data
// directories has no certificate table and is unsigned.
func (v *Verifier) VerifyPE(r io.ReaderAt, size int64) (*inventory.Signature, error) {
	h, err := readPEHeader(r, size)
	if err != nil {
		return nil, err
	}
	out := &inventory.Signature{State: inventory.SigUnsigned}
	if !h.hasCertDir || h.certSize == 0 {
		return out, nil
	}
	if h.certStart >= size {
		// A directory entry left pointing past the end of the file holds no signature bytes
		// at all (an NSIS uninstaller written from a signed installer's header, a signature
		// cut off the end): unsigned, as osslsigncode reads it ("No signature found"). It
		// cannot hide a payload, and a baseline that was signed still gives sig.removed.
		out.IntegrityError = fmt.Sprintf("the certificate directory points at 0x%x, past the end of the %d-byte file: no signature present", h.certStart, size)
		return out, nil
	}
	out.State = inventory.SigSigned
	entries, anomalies, err := walkCertTable(r, size, h)
	out.Anomalies = anomalies
	if err != nil {
		if !isFormat(err) {
			return nil, err
		}
		return invalid(out, "certificate table: %v", err), nil
	}
	if len(entries) == 0 {
		return invalid(out, "certificate table holds no PKCS#7 signature"), nil
	}
	var sigs []*signature
	budget := MaxNestedSignatures
	var total int64 // PKCS#7 bytes held at once: all entries' blobs stay parsed until the end
	for _, e := range entries {
		src := fmt.Sprintf("certificate entry %d", e.index)
		if total += e.derLen; total > MaxSignatureBytes {
			sigs = append(sigs, &signature{source: src, err: fmt.Errorf("PKCS#7 blobs of more than %d bytes in all", MaxSignatureBytes)})
			continue
		}
		der, err := readAt(r, size, e.derOff, e.derLen, "PKCS#7 blob")
		if err != nil {
			if !isFormat(err) {
				return nil, err
			}
			sigs = append(sigs, &signature{source: src, err: err})
			continue
		}
		out.Anomalies = append(out.Anomalies, inspectBlob(der, e.derOff)...)
		sigs = append(sigs, parseTree(der, indirectPE, src, 0, &budget)...)
	}
	gaps, err := checkPEDigests(r, h, sigs)
	if err != nil {
		if !isFormat(err) {
			return nil, err
		}
		for _, s := range sigs {
			if s.err == nil {
				s.err = err
			}
		}
	}
	out.Anomalies = append(out.Anomalies, gaps...)
	v.report(out, sigs)
	return out, nil
}

func invalid(out *inventory.Signature, format string, args ...any) *inventory.Signature {
	out.State = inventory.SigInvalid
	out.IntegrityError = fmt.Sprintf(format, args...)
	out.TrustError = "no signature could be checked"
	return out
}
