package msi

import (
	"encoding/binary"
	"time"
)

// Summary is the summary information stream ([MS-OLEPS] property set
// F29F85E0-4FF9-1068-AB91-08002B27B3D9) as Windows Installer uses it.
type Summary struct {
	Codepage    int
	Title       string
	Subject     string
	Author      string
	Keywords    string
	Comments    string
	Template    string // platform;languages
	LastSavedBy string
	// RevisionNumber is the package code GUID.
	RevisionNumber string
	Created        time.Time
	LastSaved      time.Time
	PageCount      int32 // minimum installer version
	WordCount      int32 // source image flags: 1 short names, 2 compressed, 4 admin image
	CharCount      int32
	CreatingApp    string
	Security       int32
}

// Property ids of the summary information set.
const (
	pidCodepage    = 1
	pidTitle       = 2
	pidSubject     = 3
	pidAuthor      = 4
	pidKeywords    = 5
	pidComments    = 6
	pidTemplate    = 7
	pidLastAuthor  = 8
	pidRevNumber   = 9
	pidCreated     = 12
	pidLastSaved   = 13
	pidPageCount   = 14
	pidWordCount   = 15
	pidCharCount   = 16
	pidCreatingApp = 18
	pidSecurity    = 19

	vtI2       = 2
	vtI4       = 3
	vtLPSTR    = 30
	vtFILETIME = 64

	maxSummaryProps = 64
)

var fmtidSummary = [16]byte{0xE0, 0x85, 0x9F, 0xF2, 0xF9, 0x4F, 0x68, 0x10, 0xAB, 0x91, 0x08, 0x00, 0x2B, 0x27, 0xB3, 0xD9}

// parseSummary reads the first property set of b. Unknown properties and types are skipped;
// offsets and lengths outside the stream are FormatErrors.
func (p *Package) parseSummary(b []byte) error {
	const name = "\x05SummaryInformation"
	le := binary.LittleEndian
	if len(b) < 48 || le.Uint16(b) != 0xFFFE {
		return p.formatErr(name, 0, "not a property set stream")
	}
	if le.Uint32(b[24:]) < 1 {
		return nil
	}
	if [16]byte(b[28:44]) != fmtidSummary {
		return p.formatErr(name, 28, "first property set is not SummaryInformation")
	}
	so := int64(le.Uint32(b[44:]))
	if so+8 > int64(len(b)) {
		return p.formatErr(name, 44, "property set offset %d outside the stream", so)
	}
	sec := b[so:]
	if size := int64(le.Uint32(sec)); size <= int64(len(sec)) && size >= 8 {
		sec = sec[:size]
	}
	n := int(le.Uint32(sec[4:]))
	if n > maxSummaryProps || 8+8*n > len(sec) {
		return p.formatErr(name, so+4, "%d properties do not fit the property set", n)
	}
	type prop struct {
		id  uint32
		off int
	}
	props := make([]prop, n)
	cp := 1252
	for i := range props {
		props[i] = prop{le.Uint32(sec[8+8*i:]), int(le.Uint32(sec[12+8*i:]))}
		if props[i].off < 0 || props[i].off+4 > len(sec) {
			return p.formatErr(name, so+int64(12+8*i), "property %d offset outside the property set", props[i].id)
		}
		if props[i].id == pidCodepage && le.Uint16(sec[props[i].off:]) == vtI2 && props[i].off+6 <= len(sec) {
			cp = int(uint16(le.Uint16(sec[props[i].off+4:])))
		}
	}
	s := &p.Summary
	s.Codepage = cp
	dec := codepageDecoder(cp)
	for _, pr := range props {
		v := sec[pr.off:]
		typ := le.Uint16(v)
		v = v[4:]
		var str string
		var num int32
		var tm time.Time
		switch typ {
		case vtI2:
			if len(v) < 2 {
				return p.formatErr(name, so+int64(pr.off), "property %d truncated", pr.id)
			}
			num = int32(int16(le.Uint16(v)))
		case vtI4:
			if len(v) < 4 {
				return p.formatErr(name, so+int64(pr.off), "property %d truncated", pr.id)
			}
			num = int32(le.Uint32(v))
		case vtLPSTR:
			if len(v) < 4 {
				return p.formatErr(name, so+int64(pr.off), "property %d truncated", pr.id)
			}
			l := int64(le.Uint32(v))
			if l > int64(len(v)-4) {
				return p.formatErr(name, so+int64(pr.off), "property %d string of %d bytes overruns the stream", pr.id, l)
			}
			sb := v[4 : 4+l]
			for len(sb) > 0 && sb[len(sb)-1] == 0 {
				sb = sb[:len(sb)-1]
			}
			str = decodeString(dec, sb)
		case vtFILETIME:
			if len(v) < 8 {
				return p.formatErr(name, so+int64(pr.off), "property %d truncated", pr.id)
			}
			tm = filetime(le.Uint64(v))
		default:
			continue
		}
		switch pr.id {
		case pidTitle:
			s.Title = str
		case pidSubject:
			s.Subject = str
		case pidAuthor:
			s.Author = str
		case pidKeywords:
			s.Keywords = str
		case pidComments:
			s.Comments = str
		case pidTemplate:
			s.Template = str
		case pidLastAuthor:
			s.LastSavedBy = str
		case pidRevNumber:
			s.RevisionNumber = str
		case pidCreated:
			s.Created = tm
		case pidLastSaved:
			s.LastSaved = tm
		case pidPageCount:
			s.PageCount = num
		case pidWordCount:
			s.WordCount = num
		case pidCharCount:
			s.CharCount = num
		case pidCreatingApp:
			s.CreatingApp = str
		case pidSecurity:
			s.Security = num
		}
	}
	return nil
}

// filetime converts 100-ns intervals since 1601 to UTC; zero stays the zero time.
func filetime(ft uint64) time.Time {
	if ft == 0 {
		return time.Time{}
	}
	const epochDiff = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
	if ft < epochDiff {
		return time.Time{}
	}
	d := ft - epochDiff
	return time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC()
}
