package msix

import (
	"encoding/binary"
	"io"
)

// Directory is the raw layout of a package's ZIP central directory, for the APPX signature
// digests (verify/authenticode VerifyAppx), which hash records as stored.
type Directory struct {
	// Records in central directory order.
	Records []Record
	// CDOffset and CDSize locate the central directory records; EndOffset is where the
	// end records start (the ZIP64 end record when Zip64, else the end record).
	CDOffset, CDSize, EndOffset int64
	Zip64                       bool
	// Zip64End is the ZIP64 end of central directory record as stored (Zip64 only), Locator
	// the ZIP64 locator, End the end of central directory record with its comment.
	Zip64End, Locator, End []byte
}

// Record is one central directory record.
type Record struct {
	Name             string
	HeaderOffset     int64 // of the local file header
	Flags, Method    uint16
	CompressedSize   int64
	UncompressedSize int64
	CDOffset, CDLen  int64 // the record within the file
	Zip64Offset      bool  // HeaderOffset came from the ZIP64 extra field
}

var le = binary.LittleEndian

// ReadDirectory parses the end records and the central directory of the ZIP in r (APPNOTE
// 4.3.12 to 4.3.16), bounded by MaxEntries, without decompressing anything. The end record
// must end the file (packages carry no archive comment beyond it).
func ReadDirectory(r io.ReaderAt, size int64) (*Directory, error) {
	const endLen = 22
	if size < endLen {
		return nil, errs.Format("", 0, "%d bytes: too short for a ZIP", size)
	}
	// The comment is at most 64 KiB; search back for the end record signature.
	tail := min(size, endLen+0xffff)
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil && err != io.EOF {
		return nil, err
	}
	at := -1
	for i := len(buf) - endLen; i >= 0; i-- {
		if le.Uint32(buf[i:]) == 0x06054b50 && i+endLen+int(le.Uint16(buf[i+20:])) == len(buf) {
			at = i
			break
		}
	}
	if at < 0 {
		return nil, errs.Format("", -1, "no end of central directory record")
	}
	d := &Directory{End: buf[at:]}
	endOff := size - tail + int64(at)
	d.EndOffset = endOff
	e := d.End
	count := int64(le.Uint16(e[10:]))
	d.CDSize = int64(le.Uint32(e[12:]))
	d.CDOffset = int64(le.Uint32(e[16:]))
	if le.Uint16(e[4:]) != 0 && le.Uint16(e[4:]) != 0xffff || le.Uint16(e[6:]) != 0 && le.Uint16(e[6:]) != 0xffff {
		return nil, errs.Unsupported("", endOff, "multi-disk ZIP")
	}
	if count == 0xffff || d.CDSize == 0xffffffff || d.CDOffset == 0xffffffff {
		if endOff < 20 {
			return nil, errs.Format("", endOff, "ZIP64 end record locator missing")
		}
		loc := make([]byte, 20)
		if _, err := r.ReadAt(loc, endOff-20); err != nil {
			return nil, err
		}
		if le.Uint32(loc) != 0x07064b50 {
			return nil, errs.Format("", endOff-20, "ZIP64 end record locator missing")
		}
		z64 := int64(le.Uint64(loc[8:]))
		if z64 < 0 || z64 > endOff-20-56 {
			return nil, errs.Format("", endOff-20, "ZIP64 end record at 0x%x out of range", z64)
		}
		rec := make([]byte, endOff-20-z64)
		if int64(len(rec)) > 1<<20 {
			return nil, errs.Limit("", z64, "ZIP64 end record of %d bytes", len(rec))
		}
		if _, err := r.ReadAt(rec, z64); err != nil {
			return nil, err
		}
		if le.Uint32(rec) != 0x06064b50 || int64(le.Uint64(rec[4:]))+12 != int64(len(rec)) {
			return nil, errs.Format("", z64, "malformed ZIP64 end record")
		}
		d.Zip64, d.Zip64End, d.Locator, d.EndOffset = true, rec, loc, z64
		count = int64(le.Uint64(rec[32:]))
		d.CDSize = int64(le.Uint64(rec[40:]))
		d.CDOffset = int64(le.Uint64(rec[48:]))
	}
	if count > MaxEntries {
		return nil, errs.Limit("", d.EndOffset, "%d ZIP entries (limit %d)", count, MaxEntries)
	}
	if d.CDOffset < 0 || d.CDSize < 0 || d.CDOffset > d.EndOffset || d.CDSize != d.EndOffset-d.CDOffset {
		return nil, errs.Format("", d.EndOffset, "central directory 0x%x+%d does not end where the end records start (0x%x)", d.CDOffset, d.CDSize, d.EndOffset)
	}
	cd := make([]byte, d.CDSize)
	if _, err := r.ReadAt(cd, d.CDOffset); err != nil {
		return nil, err
	}
	for p := int64(0); p < d.CDSize; {
		off := d.CDOffset + p
		if int64(len(d.Records)) >= count {
			return nil, errs.Format("", off, "more central directory records than the %d the end record counts", count)
		}
		if d.CDSize-p < 46 || le.Uint32(cd[p:]) != 0x02014b50 {
			return nil, errs.Format("", off, "malformed central directory record")
		}
		h := cd[p:]
		n, x, c := int64(le.Uint16(h[28:])), int64(le.Uint16(h[30:])), int64(le.Uint16(h[32:]))
		l := 46 + n + x + c
		if l > d.CDSize-p {
			return nil, errs.Format("", off, "central directory record runs past the directory")
		}
		rec := Record{
			Name: string(h[46 : 46+n]), Flags: le.Uint16(h[8:]), Method: le.Uint16(h[10:]),
			CompressedSize: int64(le.Uint32(h[20:])), UncompressedSize: int64(le.Uint32(h[24:])),
			HeaderOffset: int64(le.Uint32(h[42:])), CDOffset: off, CDLen: l,
		}
		// ZIP64 extended information (APPNOTE 4.5.3): present fields in a fixed order.
		for ex := h[46+n : 46+n+x]; len(ex) >= 4; {
			id, sz := le.Uint16(ex), int(le.Uint16(ex[2:]))
			if sz > len(ex)-4 {
				return nil, errs.Format(rec.Name, off, "extra field runs past the record")
			}
			if id == 1 {
				v := ex[4 : 4+sz]
				take := func(p *int64) bool {
					if *p != 0xffffffff {
						return true
					}
					if len(v) < 8 {
						return false
					}
					*p, v = int64(le.Uint64(v)), v[8:]
					return true
				}
				before := rec.HeaderOffset
				if !take(&rec.UncompressedSize) || !take(&rec.CompressedSize) || !take(&rec.HeaderOffset) {
					return nil, errs.Format(rec.Name, off, "ZIP64 extra field too short")
				}
				rec.Zip64Offset = before == 0xffffffff
			}
			ex = ex[4+sz:]
		}
		if rec.HeaderOffset < 0 || rec.HeaderOffset >= d.CDOffset || rec.CompressedSize < 0 || rec.UncompressedSize < 0 {
			return nil, errs.Format(rec.Name, off, "local header offset or size out of range")
		}
		d.Records = append(d.Records, rec)
		p += l
	}
	if int64(len(d.Records)) != count {
		return nil, errs.Format("", d.CDOffset, "%d central directory records, the end record counts %d", len(d.Records), count)
	}
	return d, nil
}
