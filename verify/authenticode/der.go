package authenticode

import (
	"fmt"
)

// A minimal strict DER reader (ITU-T X.690 §8 and §10): definite lengths in the fewest
// octets, tag numbers below 31 only (no Authenticode structure uses the high-tag form),
// and the universal string types in primitive form. It tracks offsets so that anomalies
// point into the file.

// Limits.
const (
	// MaxDERDepth bounds the nesting of DER values walked by checkDER. Real Authenticode
	// blobs with nested signatures and timestamp tokens stay below 40.
	MaxDERDepth = 64
)

// DER universal tags and class bits used here.
const (
	tagInteger     = 0x02
	tagBitString   = 0x03
	tagOctetString = 0x04
	tagNull        = 0x05
	tagOID         = 0x06
	tagSequence    = 0x30
	tagSet         = 0x31
	classContext   = 0x80
	constructed    = 0x20
	ctx0           = classContext | constructed // [0] constructed
)

// derValue is one TLV: off is its offset within the walked buffer, body its content.
type derValue struct {
	tag  byte // the identifier octet
	off  int
	hdr  int // identifier plus length octets
	body []byte
	full []byte
}

// end is the offset just past the value.
func (v derValue) end() int { return v.off + len(v.full) }

// derReader reads consecutive TLVs from buf; base is buf's offset within the enclosing blob.
type derReader struct {
	buf  []byte
	base int
	pos  int
}

func newDERReader(buf []byte, base int) *derReader { return &derReader{buf: buf, base: base} }

func (r *derReader) empty() bool { return r.pos >= len(r.buf) }

// derError locates a DER problem at an offset of the walked blob.
type derError struct {
	off int
	msg string
}

func (e *derError) Error() string { return fmt.Sprintf("offset %d: %s", e.off, e.msg) }

// next reads one TLV.
func (r *derReader) next() (derValue, error) {
	start := r.pos
	rest := r.buf[start:]
	fail := func(msg string) (derValue, error) {
		return derValue{}, &derError{off: r.base + start, msg: msg}
	}
	if len(rest) < 2 {
		return fail("truncated DER header")
	}
	tag := rest[0]
	if tag&0x1f == 0x1f {
		return fail(fmt.Sprintf("high-tag-number form (identifier 0x%02x)", tag))
	}
	n, hdr := int(rest[1]), 2
	switch {
	case n == 0x80:
		return fail("indefinite length (BER, not DER)")
	case n > 0x80:
		k := n & 0x7f
		if k > 4 {
			return fail(fmt.Sprintf("length of %d octets", k))
		}
		if len(rest) < 2+k {
			return fail("truncated DER length")
		}
		if rest[2] == 0 {
			return fail("length with a leading zero octet (not DER)")
		}
		n = 0
		for _, b := range rest[2 : 2+k] {
			n = n<<8 | int(b)
		}
		if n < 0x80 {
			return fail("long-form length below 128 (not DER)")
		}
		hdr += k
	}
	if n > len(rest)-hdr {
		return fail(fmt.Sprintf("value of %d bytes overruns its %d-byte container", n, len(rest)-hdr))
	}
	r.pos = start + hdr + n
	return derValue{tag: tag, off: r.base + start, hdr: hdr, body: rest[hdr : hdr+n], full: rest[:hdr+n]}, nil
}

// expect reads one TLV with the given identifier octet.
func (r *derReader) expect(tag byte, what string) (derValue, error) {
	v, err := r.next()
	if err != nil {
		return v, err
	}
	if v.tag != tag {
		return v, &derError{off: v.off, msg: fmt.Sprintf("%s: identifier 0x%02x, want 0x%02x", what, v.tag, tag)}
	}
	return v, nil
}

// optional reads the next TLV when it carries tag.
func (r *derReader) optional(tag byte) (derValue, bool, error) {
	if r.empty() || r.buf[r.pos] != tag {
		return derValue{}, false, nil
	}
	v, err := r.next()
	return v, err == nil, err
}

// children returns a reader over a constructed value's content.
func (v derValue) children() *derReader { return newDERReader(v.body, v.off+v.hdr) }

// checkDER walks buf completely: every value well-formed, constructed values exactly filled
// by their children, universal string and primitive types in primitive form, BOOLEAN,
// INTEGER and NULL in their DER shapes. It does not interpret OCTET STRING content.
func checkDER(buf []byte, base int) error {
	return checkDERLevel(newDERReader(buf, base), 0)
}

func checkDERLevel(r *derReader, depth int) error {
	if depth > MaxDERDepth {
		return &derError{off: r.base, msg: fmt.Sprintf("nested deeper than %d levels", MaxDERDepth)}
	}
	for !r.empty() {
		v, err := r.next()
		if err != nil {
			return err
		}
		if v.tag&constructed != 0 {
			if v.tag&0xc0 == 0 && v.tag != tagSequence && v.tag != tagSet {
				// A constructed universal string (OCTET STRING, BIT STRING, ...) is BER.
				return &derError{off: v.off, msg: fmt.Sprintf("constructed form of universal tag %d (BER, not DER)", v.tag&0x1f)}
			}
			if err := checkDERLevel(v.children(), depth+1); err != nil {
				return err
			}
			continue
		}
		if err := checkPrimitive(v); err != nil {
			return err
		}
	}
	return nil
}

func checkPrimitive(v derValue) error {
	bad := func(msg string) error { return &derError{off: v.off, msg: msg} }
	switch v.tag {
	case 0x01: // BOOLEAN
		if len(v.body) != 1 || (v.body[0] != 0 && v.body[0] != 0xff) {
			return bad("BOOLEAN not one octet of 0x00 or 0xff")
		}
	case tagInteger:
		if len(v.body) == 0 {
			return bad("empty INTEGER")
		}
		if len(v.body) > 1 && (v.body[0] == 0 && v.body[1]&0x80 == 0 || v.body[0] == 0xff && v.body[1]&0x80 != 0) {
			return bad("INTEGER not minimally encoded")
		}
	case tagNull:
		if len(v.body) != 0 {
			return bad("NULL with content")
		}
	case tagBitString:
		if len(v.body) == 0 || v.body[0] > 7 || (len(v.body) == 1 && v.body[0] != 0) {
			return bad("malformed BIT STRING")
		}
	case tagOID:
		if len(v.body) == 0 || v.body[len(v.body)-1]&0x80 != 0 {
			return bad("malformed OBJECT IDENTIFIER")
		}
	}
	return nil
}
