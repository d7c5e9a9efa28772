package authenticode

import (
	"crypto"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
)

// The PE image digest of the "Windows Authenticode Portable Executable Signature Format":
// the headers up to the end of the section table and its padding (SizeOfHeaders, or the
// first section when that starts earlier) without the CheckSum field and the certificate
// table's data directory entry, then each section's raw data in file order, then the bytes
// after the last section up to the certificate table. This is what Windows, sbsign/sbverify
// ("endjunk") and relic compute; osslsigncode hashes the same bytes as one linear run, which
// is the same digest whenever the sections follow each other without gaps (all real files
// seen: Debian's grub, shim, shim helpers, fwupd, kernels with 6 data directories,
// Microsoft's vsce-sign.exe; shim, mmx64, fbx64 and fwupdx64 carry 10-128 KiB after their
// last section, which both tools and this code hash). Where a layout has gaps between the
// headers and sections, both digests are computed: the bytes of a gap are covered only by
// the linear one, so a signature matching only the section-order digest gets an
// AnomalyUnhashedGap. Section sizes are rounded up to FileAlignment as relic does. Page
// hashes (SpcPeImageData's serialized page hash table) follow relic and osslsigncode: the
// headers as the first page, then every page of every section, then a zero hash at the end
// of the last section.

// region is a byte range of the file.
type region struct{ off, n int64 }

// peLayout is the digest plan of one PE file with a certificate table.
type peLayout struct {
	ckOff, ddOff int64 // CheckSum field and certificate data directory entry
	hdrEnd       int64
	sections     []region // raw data in file order, sizes rounded up to FileAlignment
	secEnd       int64    // end of the last section's raw data
	certStart    int64
	gaps         []region // not covered by the section-order digest
	pageSize     int64
}

// planDigest checks the section table and lays the digest out. Every region lies before the
// certificate table, and the section bytes hashed are bounded by the table's offset, so one
// digest reads at most twice the file.
func planDigest(r io.ReaderAt, h *peHeader) (*peLayout, error) {
	if h.lfanew < 64 {
		return nil, peErr(0x3c, "NT headers at 0x%x overlap the DOS header", h.lfanew)
	}
	if h.fileAlign == 0 {
		return nil, peErr(h.lfanew+24+36, "FileAlignment is zero")
	}
	l := &peLayout{ckOff: h.lfanew + 24 + 64, ddOff: h.certDirOff, certStart: h.certStart, pageSize: 4096}
	switch h.machine {
	case 0x200, 0x184, 0x284: // IA64, Alpha, Alpha64
		l.pageSize = 8192
	}
	secTblEnd := h.secTblStart + int64(h.nSections)*40
	if secTblEnd > h.certStart {
		return nil, peErr(h.secTblStart, "section table runs into the certificate table")
	}
	tbl, err := readAt(r, h.certStart, h.secTblStart, secTblEnd-h.secTblStart, "section table")
	if err != nil {
		return nil, err
	}
	l.hdrEnd = h.sizeOfHdrs
	var total int64
	for i := 0; i < h.nSections; i++ {
		s := tbl[i*40:]
		raw := int64(binary.LittleEndian.Uint32(s[16:]))
		ptr := int64(binary.LittleEndian.Uint32(s[20:]))
		if raw == 0 {
			continue
		}
		a := int64(h.fileAlign)
		raw = (raw + a - 1) / a * a
		if ptr >= h.certStart {
			return nil, peErr(h.secTblStart+int64(i)*40, "section %d at 0x%x lies in or after the certificate table", i, ptr)
		}
		raw = min(raw, h.certStart-ptr)
		if total += raw; total > h.certStart {
			return nil, peErr(h.secTblStart, "sections hold more bytes than precede the certificate table")
		}
		l.hdrEnd = min(l.hdrEnd, ptr)
		l.sections = append(l.sections, region{ptr, raw})
	}
	switch {
	case l.hdrEnd < secTblEnd:
		return nil, peErr(h.secTblStart, "section table ends at 0x%x, after the headers (0x%x)", secTblEnd, l.hdrEnd)
	case l.hdrEnd > MaxHeaderBytes:
		return nil, &unpack.FormatError{Format: "pe", Offset: 0, Err: unpack.ErrLimit,
			Msg: fmt.Sprintf("headers of %d bytes exceed the limit of %d", l.hdrEnd, MaxHeaderBytes)}
	case l.hdrEnd > h.certStart:
		return nil, peErr(h.certStart, "certificate table overlaps the headers")
	case l.ddOff+8 > l.hdrEnd || l.ckOff+4 > l.hdrEnd:
		return nil, peErr(h.lfanew, "optional header runs past the headers")
	}
	slices.SortStableFunc(l.sections, func(a, b region) int { return int(a.off - b.off) })
	pos := l.hdrEnd
	for _, s := range l.sections {
		if s.off > pos {
			l.gaps = append(l.gaps, region{pos, s.off - pos})
		}
		pos = max(pos, s.off+s.n)
	}
	l.secEnd = pos
	return l, nil
}

// gapAnomalies describes the gaps as AnomalyUnhashedGap.
func (l *peLayout) gapAnomalies() []inventory.Anomaly {
	var out []inventory.Anomaly
	for _, g := range l.gaps {
		out = append(out, inventory.Anomaly{Kind: inventory.AnomalyUnhashedGap, Offset: g.off, Length: g.n,
			Detail: fmt.Sprintf("%d bytes between the PE headers and sections that the signed digest does not cover", g.n)})
	}
	return out
}

// headerRegions are the header bytes hashed.
func (l *peLayout) headerRegions() []region {
	return []region{{0, l.ckOff}, {l.ckOff + 4, l.ddOff - l.ckOff - 4}, {l.ddOff + 8, l.hdrEnd - l.ddOff - 8}}
}

// sectionOrder is the Authenticode digest's regions; linear is osslsigncode's.
func (l *peLayout) sectionOrder() []region {
	rs := append(l.headerRegions(), l.sections...)
	return append(rs, region{l.secEnd, l.certStart - l.secEnd})
}

func (l *peLayout) linear() []region {
	return append(l.headerRegions(), region{l.hdrEnd, l.certStart - l.hdrEnd})
}

// hashRegions streams the regions of r into one hasher per algorithm.
func hashRegions(r io.ReaderAt, regions []region, algs []crypto.Hash) (map[crypto.Hash][]byte, error) {
	hs := make([]hash.Hash, len(algs))
	ws := make([]io.Writer, len(algs))
	for i, a := range algs {
		hs[i] = a.New()
		ws[i] = hs[i]
	}
	w := io.MultiWriter(ws...)
	buf := make([]byte, 64<<10)
	for _, g := range regions {
		if g.n <= 0 {
			continue
		}
		n, err := io.CopyBuffer(w, io.NewSectionReader(r, g.off, g.n), buf)
		if err != nil {
			return nil, fmt.Errorf("reading the image at 0x%x: %w", g.off, err)
		}
		if n < g.n {
			return nil, peErr(g.off+n, "file truncated")
		}
	}
	out := make(map[crypto.Hash][]byte, len(algs))
	for i, a := range algs {
		out[a] = hs[i].Sum(nil)
	}
	return out, nil
}

// pageHashes computes the page hash table with algorithm alg.
func pageHashes(r io.ReaderAt, l *peLayout, alg crypto.Hash) ([]byte, error) {
	if l.hdrEnd > l.pageSize {
		return nil, peErr(0, "headers of %d bytes exceed the %d-byte first page of the page hashes", l.hdrEnd, l.pageSize)
	}
	page := make([]byte, l.pageSize)
	entry := func(out []byte, off int64, data []byte, hashedLen int64) []byte {
		out = binary.LittleEndian.AppendUint32(out, uint32(off))
		d := alg.New()
		d.Write(data)
		d.Write(make([]byte, hashedLen-int64(len(data))))
		return d.Sum(out)
	}
	var hdr []byte
	for _, g := range l.headerRegions() {
		b, err := readAt(r, l.certStart, g.off, g.n, "PE headers")
		if err != nil {
			return nil, err
		}
		hdr = append(hdr, b...)
	}
	// The header page is padded by the full header size, so it hashes 12 bytes less.
	out := entry(nil, 0, hdr, l.pageSize-(l.hdrEnd-int64(len(hdr))))
	last := int64(0)
	for _, s := range l.sections {
		for off := s.off; off < s.off+s.n; off += l.pageSize {
			n := min(l.pageSize, s.off+s.n-off)
			if _, err := io.ReadFull(io.NewSectionReader(r, off, n), page[:n]); err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					return nil, peErr(off, "file truncated")
				}
				return nil, fmt.Errorf("reading the image at 0x%x: %w", off, err)
			}
			out = entry(out, off, page[:n], l.pageSize)
			last = off + n
		}
	}
	out = binary.LittleEndian.AppendUint32(out, uint32(last))
	return append(out, make([]byte, alg.Size())...), nil
}

// pageTableLen is the size of the page hash table for the layout: the header page, every
// page of every section and the closing entry. Checking it first keeps a hostile signature
// from making the table be computed for nothing.
func (l *peLayout) pageTableLen(alg crypto.Hash) int64 {
	n := int64(2)
	for _, s := range l.sections {
		n += (s.n + l.pageSize - 1) / l.pageSize
	}
	return n * int64(4+alg.Size())
}

// errMismatch marks a digest that was computed and differs from the signed one.
var errMismatch = errors.New("digest mismatch")

// checkPEDigests recomputes the image digest for every algorithm the parsed signatures use
// (one pass per digest layout) and the page hashes they carry, and marks each signature
// whose digest differs. It returns the gap anomalies to report and an I/O or layout error.
func checkPEDigests(r io.ReaderAt, h *peHeader, sigs []*signature) ([]inventory.Anomaly, error) {
	var algs []crypto.Hash
	for _, s := range sigs {
		if s.err == nil && s.ind != nil && !slices.Contains(algs, s.ind.hash) {
			algs = append(algs, s.ind.hash)
		}
	}
	if len(algs) == 0 {
		return nil, nil
	}
	l, err := planDigest(r, h)
	if err != nil {
		return nil, fmt.Errorf("PE layout: %w", err)
	}
	spec, err := hashRegions(r, l.sectionOrder(), algs)
	if err != nil {
		return nil, err
	}
	lin := spec
	if len(l.gaps) > 0 {
		if lin, err = hashRegions(r, l.linear(), algs); err != nil {
			return nil, err
		}
	}
	var anomalies []inventory.Anomaly
	pages := map[crypto.Hash][]byte{}
	for _, s := range sigs {
		if s.err != nil || s.ind == nil {
			continue
		}
		d := s.ind
		switch {
		case hmac.Equal(lin[d.hash], d.digest):
		case hmac.Equal(spec[d.hash], d.digest):
			if anomalies == nil {
				anomalies = l.gapAnomalies()
			}
		default:
			s.err = fmt.Errorf("%w: file %s %x, signed %x", errMismatch, hashName(d.hash), spec[d.hash], d.digest)
			continue
		}
		if d.pages == nil {
			continue
		}
		if want := l.pageTableLen(d.pageHash); int64(len(d.pages)) != want {
			s.err = fmt.Errorf("page hashes (%s): %w: %d bytes signed, the layout needs %d", hashName(d.pageHash), errMismatch, len(d.pages), want)
			continue
		}
		if pages[d.pageHash] == nil {
			if pages[d.pageHash], err = pageHashes(r, l, d.pageHash); err != nil {
				if isFormat(err) {
					s.err = fmt.Errorf("page hashes: %w", err)
					continue
				}
				return nil, err
			}
		}
		if !hmac.Equal(pages[d.pageHash], d.pages) {
			s.err = fmt.Errorf("page hashes (%s): %w", hashName(d.pageHash), errMismatch)
		}
	}
	return anomalies, nil
}
