package authenticode

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"unicode/utf16"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/cfb"
)

// The root streams that hold an MSI's signature; they are left out of its digest.
var (
	nameDigitalSignature      = utf16.Encode([]rune("\x05DigitalSignature"))
	nameMsiDigitalSignatureEx = utf16.Encode([]rune("\x05MsiDigitalSignatureEx"))
)

// entryMeta is the directory entry metadata that the MsiDigitalSignatureEx prehash covers
// besides names, sizes and CLSIDs ([MS-CFB] 2.6.3: state bits, creation and modified time).
type entryMeta struct {
	StateBits uint32
	Created   [8]byte
	Modified  [8]byte
}

// metaFunc supplies entryMeta for a directory entry; ok is false when it is not available.
type metaFunc func(e *cfb.Entry) (m entryMeta, ok bool)

// VerifyMSI checks the Authenticode signature of the MSI (or other compound file) c: the
// PKCS#7 SignedData in the root stream "\x05DigitalSignature" against the digest of every
// other stream and storage. The error is for I/O failures only; a malformed signature or
// compound file, or a digest mismatch, is State invalid with IntegrityError. Bytes after the
// PKCS#7 blob inside the signature stream are an AnomalyPaddingAfterPKCS7, and bytes of its
// unauthenticated area that are not well-formed DER of a known type an
// AnomalyUnauthenticatedData, with Offsets relative to the start of that stream. Signatures
// nested in the blob (1.3.6.1.4.1.311.2.4.1) are verified too and listed in Nested.
//
// When "\x05MsiDigitalSignatureEx" exists its content (the prehash of the entries' metadata)
// is fed into the digest first, as Windows, osslsigncode and relic do, and the prehash is
// recomputed from the directory entries (names, sizes, CLSIDs, state bits, times) and must
// equal it, so a change to metadata alone does not pass either.
func (v *Verifier) VerifyMSI(c *cfb.Reader) (*inventory.Signature, error) {
	return v.verifyMSI(c, entryMetadata)
}

// entryMetadata reads the prehash metadata straight from the directory entry.
func entryMetadata(e *cfb.Entry) (entryMeta, bool) {
	return entryMeta{StateBits: e.StateBits, Created: e.Created, Modified: e.Modified}, true
}

func (v *Verifier) verifyMSI(c *cfb.Reader, meta metaFunc) (*inventory.Signature, error) {
	out := &inventory.Signature{State: inventory.SigUnsigned}
	root := c.Root()
	var ds, dse *cfb.Entry
	dup := false
	for _, e := range root.Children {
		switch {
		case slices.Equal(e.RawName, nameDigitalSignature):
			dup = dup || ds != nil
			ds = e
		case slices.Equal(e.RawName, nameMsiDigitalSignatureEx):
			dup = dup || dse != nil
			dse = e
		}
	}
	if ds == nil {
		return out, nil
	}
	out.State = inventory.SigSigned
	if dup {
		// Every copy is left out of the digest, so a second one could carry anything.
		return invalid(out, "more than one signature stream of the same name"), nil
	}
	blob, err := readStream(c, ds, MaxSignatureBytes)
	if err != nil {
		if !isFormat(err) {
			return nil, err
		}
		return invalid(out, "reading the signature stream: %v", err), nil
	}
	derLen, err := derLength(bytes.NewReader(blob), int64(len(blob)), 0, int64(len(blob)))
	if err != nil {
		return invalid(out, "signature stream: %v", err), nil
	}
	if tail := int64(len(blob)) - derLen; tail > 0 {
		out.Anomalies = append(out.Anomalies, inventory.Anomaly{
			Kind: inventory.AnomalyPaddingAfterPKCS7, Offset: derLen, Length: tail,
			Detail: fmt.Sprintf("%d bytes (%d non-zero) after the PKCS#7 blob inside the \\x05DigitalSignature stream (offset within the stream)",
				tail, tail-int64(bytes.Count(blob[derLen:], []byte{0}))),
		})
	}
	out.Anomalies = append(out.Anomalies, inspectBlob(blob[:derLen], 0)...)
	budget := MaxNestedSignatures
	sigs := parseTree(blob[:derLen], indirectMSI, "\\x05DigitalSignature", 0, &budget)
	digests := map[crypto.Hash][]byte{}
	for _, s := range sigs {
		if s.err != nil || s.ind == nil {
			continue
		}
		h := s.ind.hash
		if _, done := digests[h]; !done {
			d, err := msiDigest(c, root, dse, meta, h)
			if err != nil && !isFormat(err) && !errors.Is(err, errMismatch) {
				return nil, err
			}
			if err != nil {
				s.err = err
				continue
			}
			digests[h] = d
		}
		if got := digests[h]; !hmac.Equal(got, s.ind.digest) {
			s.err = fmt.Errorf("%w: file %s %x, signed %x", errMismatch, hashName(h), got, s.ind.digest)
		}
	}
	v.report(out, sigs)
	return out, nil
}

// msiDigest computes the MSI digest with algorithm h: the MsiDigitalSignatureEx content
// (checked against the recomputed metadata prehash) when that stream exists, then every
// stream and storage CLSID in hash order.
func msiDigest(c *cfb.Reader, root, dse *cfb.Entry, meta metaFunc, h crypto.Hash) ([]byte, error) {
	d := h.New()
	if dse != nil {
		ex, err := readStream(c, dse, int64(h.Size()))
		if err != nil {
			return nil, fmt.Errorf("MsiDigitalSignatureEx: %w", err)
		}
		if len(ex) != h.Size() {
			return nil, &unpack.FormatError{Format: "msi", Entry: dse.Name, Offset: -1,
				Msg: fmt.Sprintf("MsiDigitalSignatureEx of %d bytes, %s needs %d", len(ex), hashName(h), h.Size())}
		}
		if meta != nil {
			pre := h.New()
			ok, err := prehashStorage(root, pre, meta, true, 0)
			if err != nil {
				return nil, fmt.Errorf("computing the MsiDigitalSignatureEx prehash: %w", err)
			}
			if got := pre.Sum(nil); ok && !hmac.Equal(got, ex) {
				return nil, fmt.Errorf("MsiDigitalSignatureEx: %w: metadata %s %x, stored %x", errMismatch, hashName(h), got, ex)
			}
		}
		d.Write(ex)
	}
	budget := int64(MaxMSIHashBytes)
	if err := hashStorage(c, root, d, true, &budget); err != nil {
		return nil, fmt.Errorf("computing the digest: %w", err)
	}
	return d.Sum(nil), nil
}

// readStream reads a whole stream of at most limit bytes.
func readStream(c *cfb.Reader, e *cfb.Entry, limit int64) ([]byte, error) {
	if e.Type != cfb.TypeStream {
		return nil, &unpack.FormatError{Format: "msi", Entry: e.Name, Offset: -1, Msg: "is a storage, not a stream"}
	}
	if e.Size > limit {
		return nil, &unpack.FormatError{Format: "msi", Entry: e.Name, Offset: -1, Err: unpack.ErrLimit,
			Msg: fmt.Sprintf("stream of %d bytes exceeds the limit of %d", e.Size, limit)}
	}
	st, err := c.OpenStream(e)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, e.Size)
	if _, err := io.ReadFull(st, buf); err != nil {
		return nil, streamErr(e, err)
	}
	return buf, nil
}

// streamErr classifies a stream read error: cfb reports malformed chains as FormatErrors; a
// stream ending early is malformed too.
func streamErr(e *cfb.Entry, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &unpack.FormatError{Format: "msi", Entry: e.Name, Offset: -1, Msg: "stream shorter than its size"}
	}
	return err
}

// hashOrder is the order osslsigncode (msi.c dirent_cmp_hash) and relic hash the entries of a
// storage in: memcmp of the UTF-16LE names including their terminating NUL over the shorter
// length, so a name sorts before the longer names it prefixes; on a tie the longer sorts first.
func hashOrder(a, b *cfb.Entry) int {
	x, y := nameBytes(a.RawName), nameBytes(b.RawName)
	n := min(len(x), len(y))
	if c := bytes.Compare(x[:n], y[:n]); c != 0 {
		return c
	}
	return cmp.Compare(len(y), len(x))
}

func nameBytes(units []uint16) []byte {
	b := make([]byte, 2*len(units)+2)
	for i, u := range units {
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	return b
}

func isSignatureEntry(e *cfb.Entry) bool {
	return slices.Equal(e.RawName, nameDigitalSignature) || slices.Equal(e.RawName, nameMsiDigitalSignatureEx)
}

// sortedChildren returns the children of a storage in hash order, without the signature
// streams at the root. An empty name, which the sort cannot place, is malformed.
func sortedChildren(e *cfb.Entry, root bool) ([]*cfb.Entry, error) {
	kids := make([]*cfb.Entry, 0, len(e.Children))
	for _, k := range e.Children {
		if root && isSignatureEntry(k) {
			continue
		}
		if len(k.RawName) == 0 {
			return nil, &unpack.FormatError{Format: "msi", Entry: e.Name, Offset: -1, Msg: "entry with an empty name"}
		}
		kids = append(kids, k)
	}
	slices.SortStableFunc(kids, hashOrder)
	return kids, nil
}

// hashStorage feeds the content of every stream below e in hash order, each storage's CLSID
// after its children (the root's last). cfb bounds the nesting depth.
func hashStorage(c *cfb.Reader, e *cfb.Entry, w hash.Hash, root bool, budget *int64) error {
	kids, err := sortedChildren(e, root)
	if err != nil {
		return err
	}
	for _, k := range kids {
		switch k.Type {
		case cfb.TypeStream:
			if k.Size == 0 {
				continue
			}
			if *budget -= k.Size; *budget < 0 {
				return &unpack.FormatError{Format: "msi", Entry: k.Name, Offset: -1, Err: unpack.ErrLimit,
					Msg: fmt.Sprintf("more than %d stream bytes to hash", int64(MaxMSIHashBytes))}
			}
			st, err := c.OpenStream(k)
			if err != nil {
				return err
			}
			if _, err := io.CopyN(w, st, k.Size); err != nil {
				return streamErr(k, err)
			}
		case cfb.TypeStorage:
			if err := hashStorage(c, k, w, false, budget); err != nil {
				return err
			}
		}
	}
	w.Write(e.CLSID[:])
	return nil
}

// prehashStorage computes the MsiDigitalSignatureEx prehash as osslsigncode's msi_prehash_dir:
// the storage's own metadata first, then each child in hash order (streams' metadata,
// storages recursively). Per entry: the name without NUL (not for the root), the CLSID for
// storages and the root or the low 32 bits of the size for streams, the state bits, and the
// creation and modified times (not for the root). ok is false when meta lacks an entry.
func prehashStorage(e *cfb.Entry, w io.Writer, meta metaFunc, root bool, depth int) (bool, error) {
	if depth > cfb.MaxDepth {
		return false, &unpack.FormatError{Format: "msi", Entry: e.Name, Offset: -1, Err: unpack.ErrLimit, Msg: "storages nested too deep"}
	}
	if !prehashEntry(e, w, meta) {
		return false, nil
	}
	kids, err := sortedChildren(e, root)
	if err != nil {
		return false, err
	}
	for _, k := range kids {
		switch k.Type {
		case cfb.TypeStream:
			if !prehashEntry(k, w, meta) {
				return false, nil
			}
		case cfb.TypeStorage:
			if ok, err := prehashStorage(k, w, meta, false, depth+1); !ok || err != nil {
				return ok, err
			}
		}
	}
	return true, nil
}

func prehashEntry(e *cfb.Entry, w io.Writer, meta metaFunc) bool {
	m, ok := meta(e)
	if !ok {
		return false
	}
	if e.Type != cfb.TypeRoot {
		w.Write(nameBytes(e.RawName)[:2*len(e.RawName)])
	}
	if e.Type == cfb.TypeStream {
		var sz [4]byte
		binary.LittleEndian.PutUint32(sz[:], uint32(e.Size))
		w.Write(sz[:])
	} else {
		w.Write(e.CLSID[:])
	}
	var st [4]byte
	binary.LittleEndian.PutUint32(st[:], m.StateBits)
	w.Write(st[:])
	if e.Type != cfb.TypeRoot {
		w.Write(m.Created[:])
		w.Write(m.Modified[:])
	}
	return true
}
