// Package xar reads xar archives (the container of macOS flat installer packages) from
// hostile input as an fs.FS.
//
// It follows the xar format as written by Apple's xar 1.x (xar/include/xar.h.in and the
// format description on the xar project wiki): a 28-byte big-endian header ("xar!", header
// size, version, compressed and uncompressed TOC lengths, checksum algorithm, optionally the
// algorithm's name), a zlib-compressed XML table of contents, then the heap. The TOC's
// checksum is stored in the heap at <checksum><offset> and is checked against the compressed
// TOC; each file's archived and extracted checksums are checked while it is read.
//
// Errata handled: "application/x-gzip" encoding is zlib in Apple's writer and real gzip in a
// few others (both accepted); a file element carrying more than one <type> (the libarchive
// doublelink test case that sends naive readers into an endless loop) is refused; hard links
// are resolved by id with a step cap and a visited set, and may not point at directories;
// symbolic links are exposed as links and never followed.
package xar

import (
	"bytes"
	"compress/bzip2"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto"
	"crypto/hmac"
	_ "crypto/md5" // checksum style md5
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/fstree"
	"github.com/rollgate/rollgate/unpack/xz"
	"github.com/ulikunitz/xz/lzma"
)

// Limits.
const (
	// MaxTOCBytes bounds the uncompressed XML table of contents. Large real packages (Xcode)
	// have TOCs of a few MiB.
	MaxTOCBytes = 64 << 20
	// MaxEntries bounds the files, directories and links of one archive.
	MaxEntries = 1 << 18
	// MaxDepth bounds directory nesting in the TOC.
	MaxDepth = 128
	// MaxLinkSteps bounds a hard-link chain.
	MaxLinkSteps = 16
	// MaxSignatureBytes bounds one signature blob in the heap.
	MaxSignatureBytes = 64 << 10
	// MaxCerts bounds the certificates in one signature's KeyInfo.
	MaxCerts = 16
	// MaxDictBytes bounds the dictionary an xz or lzma stream may ask for (xz -9: 64 MiB).
	MaxDictBytes = 64 << 20
)

const headerSize = 28

// Reader is an opened xar archive. It implements fs.FS, fs.ReadDirFS, fs.StatFS and
// unpack.Walker.
type Reader struct {
	r         io.ReaderAt
	size      int64
	heap      int64 // file offset of the heap
	tree      *fstree.Tree
	files     []*fstree.Node // regular files, heap order
	sigs      []Signature
	tocHash   crypto.Hash
	tocDigest []byte
	tocRaw    []byte
}

// Signature is a signature element of the TOC: the RSA signature over the TOC checksum
// (Data) and the certificates of its KeyInfo (leaf first, as DER).
type Signature struct {
	Style string // "RSA", "CMS"
	// Element is "signature" or "x-signature".
	Element string
	Data    []byte
	Certs   [][]byte
	// Hash is the TOC checksum algorithm and Digest the checksum the signature covers.
	Hash   crypto.Hash
	Digest []byte
}

// content is a file's handle on its heap data.
type content struct {
	off, length, size   int64 // heap-relative offset, archived length, extracted size
	encoding            string
	extHash, arcHash    crypto.Hash
	extSum, arcSum      []byte
	linkTarget          string
	heapStart, heapSize int64
}

// TOC XML.
type xmlTOC struct {
	XMLName xml.Name `xml:"xar"`
	TOC     struct {
		Checksum   *xmlChecksum `xml:"checksum"`
		Signature  []xmlSig     `xml:"signature"`
		XSignature []xmlSig     `xml:"x-signature"`
		Files      []xmlFile    `xml:"file"`
	} `xml:"toc"`
}

type xmlChecksum struct {
	Style  string `xml:"style,attr"`
	Offset int64  `xml:"offset"`
	Size   int64  `xml:"size"`
}

type xmlSig struct {
	Style  string   `xml:"style,attr"`
	Offset int64    `xml:"offset"`
	Size   int64    `xml:"size"`
	Certs  []string `xml:"KeyInfo>X509Data>X509Certificate"`
}

type xmlName struct {
	Enc   string `xml:"enctype,attr"`
	Value string `xml:",chardata"`
}

type xmlType struct {
	Link  string `xml:"link,attr"`
	Value string `xml:",chardata"`
}

type xmlSum struct {
	Style string `xml:"style,attr"`
	Value string `xml:",chardata"`
}

type xmlFile struct {
	ID    string    `xml:"id,attr"`
	Names []xmlName `xml:"name"`
	Types []xmlType `xml:"type"`
	Link  string    `xml:"link"`
	Mode  string    `xml:"mode"`
	Mtime string    `xml:"mtime"`
	Data  *struct {
		Length   int64 `xml:"length"`
		Offset   int64 `xml:"offset"`
		Size     int64 `xml:"size"`
		Encoding struct {
			Style string `xml:"style,attr"`
		} `xml:"encoding"`
		Extracted xmlSum `xml:"extracted-checksum"`
		Archived  xmlSum `xml:"archived-checksum"`
	} `xml:"data"`
	Files []xmlFile `xml:"file"`
}

func errAt(entry string, off int64, format string, args ...any) error {
	return &unpack.FormatError{Format: "xar", Entry: entry, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func errLimit(entry string, off int64, format string, args ...any) error {
	return &unpack.FormatError{Format: "xar", Entry: entry, Offset: off, Msg: fmt.Sprintf(format, args...), Err: unpack.ErrLimit}
}

// hashByName maps xar checksum styles to hashes.
func hashByName(s string) (crypto.Hash, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "sha1":
		return crypto.SHA1, true
	case "sha256":
		return crypto.SHA256, true
	case "sha512":
		return crypto.SHA512, true
	case "md5":
		return crypto.MD5, true
	case "none", "":
		return 0, true
	}
	return 0, false
}

// NewReader opens the xar archive in r.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	var h [headerSize]byte
	if size < headerSize {
		return nil, errAt("", 0, "file of %d bytes is too short for a header", size)
	}
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return nil, errAt("", 0, "reading the header: %v", err)
	}
	if string(h[:4]) != "xar!" {
		return nil, errAt("", 0, "not a xar archive")
	}
	hsize := int64(binary.BigEndian.Uint16(h[4:]))
	if hsize < headerSize || hsize > 4096 || hsize > size {
		return nil, errAt("", 4, "header size %d", hsize)
	}
	clen := binary.BigEndian.Uint64(h[8:])
	ulen := binary.BigEndian.Uint64(h[16:])
	alg := binary.BigEndian.Uint32(h[24:])
	if clen > uint64(size-hsize) {
		return nil, errAt("", 8, "TOC of %d bytes beyond the end of the file", clen)
	}
	if ulen > MaxTOCBytes {
		return nil, errLimit("", 16, "TOC of %d bytes (limit %d)", ulen, MaxTOCBytes)
	}
	var tocHash crypto.Hash
	switch alg {
	case 0:
	case 1:
		tocHash = crypto.SHA1
	case 2:
		tocHash = crypto.MD5
	case 3:
		name := make([]byte, hsize-headerSize)
		if _, err := r.ReadAt(name, headerSize); err != nil {
			return nil, errAt("", headerSize, "reading the checksum name: %v", err)
		}
		hh, ok := hashByName(string(bytes.TrimRight(name, "\x00")))
		if !ok || hh == 0 {
			return nil, &unpack.FormatError{Format: "xar", Offset: headerSize, Msg: fmt.Sprintf("TOC checksum %q", bytes.TrimRight(name, "\x00")), Err: unpack.ErrUnsupported}
		}
		tocHash = hh
	default:
		return nil, &unpack.FormatError{Format: "xar", Offset: 24, Msg: fmt.Sprintf("TOC checksum algorithm %d", alg), Err: unpack.ErrUnsupported}
	}
	comp := make([]byte, clen)
	if _, err := r.ReadAt(comp, hsize); err != nil {
		return nil, errAt("", hsize, "reading the TOC: %v", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(comp))
	if err != nil {
		return nil, errAt("toc", hsize, "TOC is not zlib: %v", err)
	}
	toc, err := io.ReadAll(io.LimitReader(zr, int64(ulen)+1))
	if err != nil {
		return nil, errAt("toc", hsize, "decompressing the TOC: %v", err)
	}
	if uint64(len(toc)) != ulen {
		return nil, errAt("toc", 16, "TOC decompresses to %d bytes, header says %d", len(toc), ulen)
	}
	xr := &Reader{r: r, size: size, heap: hsize + int64(clen), tree: fstree.New(MaxEntries), tocHash: tocHash, tocRaw: toc}
	var x xmlTOC
	if err := xml.Unmarshal(toc, &x); err != nil {
		return nil, errAt("toc", -1, "TOC XML: %v", err)
	}
	// TOC checksum: stored in the heap, computed over the compressed TOC.
	if tocHash != 0 {
		ck := x.TOC.Checksum
		if ck == nil {
			return nil, errAt("toc", -1, "header names a TOC checksum, the TOC has none")
		}
		if hh, ok := hashByName(ck.Style); !ok || hh != tocHash {
			return nil, errAt("toc", -1, "TOC checksum style %q differs from the header's", ck.Style)
		}
		if ck.Size != int64(tocHash.Size()) || ck.Offset < 0 || ck.Offset > size-xr.heap-ck.Size {
			return nil, errAt("toc", xr.heap, "TOC checksum at heap offset %d size %d", ck.Offset, ck.Size)
		}
		want := make([]byte, ck.Size)
		if _, err := r.ReadAt(want, xr.heap+ck.Offset); err != nil {
			return nil, errAt("toc", xr.heap+ck.Offset, "reading the TOC checksum: %v", err)
		}
		d := tocHash.New()
		d.Write(comp)
		got := d.Sum(nil)
		if !hmac.Equal(got, want) {
			return nil, errAt("toc", xr.heap+ck.Offset, "TOC checksum mismatch")
		}
		xr.tocDigest = got
	}
	for _, s := range x.TOC.Signature {
		sig, err := xr.readSig(s, "signature")
		if err != nil {
			return nil, err
		}
		xr.sigs = append(xr.sigs, sig)
	}
	for _, s := range x.TOC.XSignature {
		sig, err := xr.readSig(s, "x-signature")
		if err != nil {
			return nil, err
		}
		xr.sigs = append(xr.sigs, sig)
	}
	b := &builder{r: xr, byID: map[string]*xmlFile{}, nodes: map[*xmlFile]*fstree.Node{}, paths: map[*xmlFile]string{}}
	if err := b.index(x.TOC.Files, "", 0); err != nil {
		return nil, err
	}
	if err := b.build(); err != nil {
		return nil, err
	}
	sort.SliceStable(xr.files, func(i, j int) bool {
		return xr.files[i].Data.(*content).off < xr.files[j].Data.(*content).off
	})
	return xr, nil
}

func (xr *Reader) readSig(s xmlSig, elem string) (Signature, error) {
	if s.Size < 0 || s.Size > MaxSignatureBytes || s.Offset < 0 || s.Offset > xr.size-xr.heap-s.Size {
		return Signature{}, errAt(elem, xr.heap, "signature at heap offset %d size %d", s.Offset, s.Size)
	}
	if len(s.Certs) > MaxCerts {
		return Signature{}, errLimit(elem, -1, "%d certificates (limit %d)", len(s.Certs), MaxCerts)
	}
	sig := Signature{Style: s.Style, Element: elem, Data: make([]byte, s.Size), Hash: xr.tocHash, Digest: xr.tocDigest}
	if _, err := xr.r.ReadAt(sig.Data, xr.heap+s.Offset); err != nil {
		return Signature{}, errAt(elem, xr.heap+s.Offset, "reading the signature: %v", err)
	}
	for _, c := range s.Certs {
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c), ""))
		if err != nil {
			return Signature{}, errAt(elem, -1, "certificate is not base64: %v", err)
		}
		sig.Certs = append(sig.Certs, der)
	}
	return sig, nil
}

// Signatures returns the archive's signature elements, "signature" first. Integrity and
// trust are verify/apple's job.
func (xr *Reader) Signatures() []Signature { return xr.sigs }

// TOC returns the uncompressed XML table of contents.
func (xr *Reader) TOC() []byte { return xr.tocRaw }

// builder turns the TOC's file elements into the tree.
type builder struct {
	r     *Reader
	byID  map[string]*xmlFile
	order []*xmlFile
	nodes map[*xmlFile]*fstree.Node
	paths map[*xmlFile]string
	n     int
}

func (b *builder) index(files []xmlFile, dir string, depth int) error {
	if depth > MaxDepth {
		return errLimit(dir, -1, "directories nested deeper than %d", MaxDepth)
	}
	for i := range files {
		f := &files[i]
		b.n++
		if b.n > MaxEntries {
			return errLimit("", -1, "more than %d entries", MaxEntries)
		}
		if len(f.Names) != 1 {
			return errAt(dir, -1, "file id %q has %d names", f.ID, len(f.Names))
		}
		name := f.Names[0].Value
		if f.Names[0].Enc == "base64" {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(name))
			if err != nil {
				return errAt(dir, -1, "file id %q: base64 name: %v", f.ID, err)
			}
			name = string(raw)
		}
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
			return &unpack.FormatError{Format: "xar", Entry: dir, Offset: -1, Msg: fmt.Sprintf("file id %q has name %q", f.ID, name), Err: unpack.ErrInsecurePath}
		}
		p := name
		if dir != "" {
			p = dir + "/" + name
		}
		if len(f.Types) != 1 {
			return errAt(p, -1, "%d <type> elements", len(f.Types))
		}
		if f.ID != "" {
			if b.byID[f.ID] != nil {
				return errAt(p, -1, "duplicate file id %q", f.ID)
			}
			b.byID[f.ID] = f
		}
		b.paths[f] = p
		b.order = append(b.order, f)
		if err := b.index(f.Files, p, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) build() error {
	for _, f := range b.order {
		p := b.paths[f]
		mtime, _ := time.Parse(time.RFC3339, strings.TrimSpace(f.Mtime))
		perm := fs.FileMode(0o644)
		if m, err := strconv.ParseUint(strings.TrimSpace(f.Mode), 8, 32); err == nil {
			perm = fs.FileMode(m) & fs.ModePerm
		}
		typ := strings.TrimSpace(f.Types[0].Value)
		switch typ {
		case "directory":
			if f.Data != nil && f.Data.Length != 0 {
				return errAt(p, -1, "directory with data")
			}
			if _, err := b.r.tree.Add(p, fs.ModeDir|perm, 0, mtime, nil); err != nil {
				return wrapTree(p, err)
			}
		case "symlink":
			if len(f.Files) > 0 {
				return errAt(p, -1, "symlink with children")
			}
			n, err := b.r.tree.Add(p, fs.ModeSymlink|0o777, int64(len(f.Link)), mtime, nil)
			if err != nil {
				return wrapTree(p, err)
			}
			n.Link = f.Link
			n.Data = &content{linkTarget: f.Link, size: int64(len(f.Link))}
		case "file", "hardlink":
			if len(f.Files) > 0 {
				return errAt(p, -1, "%s with children", typ)
			}
			src := f
			if typ == "hardlink" && f.Types[0].Link != "original" {
				t, err := b.resolve(f, p)
				if err != nil {
					return err
				}
				src = t
			}
			c, err := b.content(src, p)
			if err != nil {
				return err
			}
			n, err := b.r.tree.Add(p, perm, c.size, mtime, c)
			if err != nil {
				return wrapTree(p, err)
			}
			b.r.files = append(b.r.files, n)
		default:
			// Devices, fifos, sockets: listed but never read.
			if len(f.Files) > 0 {
				return errAt(p, -1, "%s with children", typ)
			}
			if _, err := b.r.tree.Add(p, fs.ModeIrregular|perm, 0, mtime, &content{}); err != nil {
				return wrapTree(p, err)
			}
		}
	}
	return nil
}

func wrapTree(p string, err error) error {
	if errors.Is(err, unpack.ErrLimit) || errors.Is(err, unpack.ErrInsecurePath) {
		return &unpack.FormatError{Format: "xar", Entry: p, Offset: -1, Msg: err.Error(), Err: errors.Unwrap(err)}
	}
	return errAt(p, -1, "%v", err)
}

// resolve follows a hard link to the element that holds the data.
func (b *builder) resolve(f *xmlFile, p string) (*xmlFile, error) {
	seen := map[*xmlFile]bool{f: true}
	cur := f
	for step := 0; ; step++ {
		if step >= MaxLinkSteps {
			return nil, errLimit(p, -1, "hard link chain longer than %d", MaxLinkSteps)
		}
		t := b.byID[strings.TrimSpace(cur.Types[0].Link)]
		if t == nil {
			return nil, errAt(p, -1, "hard link to missing id %q", cur.Types[0].Link)
		}
		if seen[t] {
			return nil, errAt(p, -1, "hard link loop through id %q", t.ID)
		}
		seen[t] = true
		tt := strings.TrimSpace(t.Types[0].Value)
		switch {
		case tt == "file" || (tt == "hardlink" && t.Types[0].Link == "original"):
			return t, nil
		case tt == "hardlink":
			cur = t
		default:
			return nil, errAt(p, -1, "hard link to a %s", tt)
		}
	}
}

// content bounds a file element's data against the heap.
func (b *builder) content(f *xmlFile, p string) (*content, error) {
	c := &content{heapStart: b.r.heap, heapSize: b.r.size - b.r.heap}
	d := f.Data
	if d == nil {
		return c, nil
	}
	c.off, c.length, c.size = d.Offset, d.Length, d.Size
	if c.off < 0 || c.length < 0 || c.off > c.heapSize || c.length > c.heapSize-c.off {
		return nil, errAt(p, b.r.heap, "data at heap offset %d length %d outside the %d-byte heap", c.off, c.length, c.heapSize)
	}
	if c.size < 0 || c.size > unpack.MaxExpandedBytes {
		return nil, errLimit(p, -1, "extracted size %d", c.size)
	}
	c.encoding = strings.TrimSpace(d.Encoding.Style)
	var ok bool
	if d.Extracted.Style != "" {
		if c.extHash, ok = hashByName(d.Extracted.Style); !ok {
			return nil, &unpack.FormatError{Format: "xar", Entry: p, Offset: -1, Msg: "checksum style " + d.Extracted.Style, Err: unpack.ErrUnsupported}
		}
		sum, err := hex.DecodeString(strings.TrimSpace(d.Extracted.Value))
		if err != nil || (c.extHash != 0 && len(sum) != c.extHash.Size()) {
			return nil, errAt(p, -1, "extracted checksum %q", d.Extracted.Value)
		}
		c.extSum = sum
	}
	if d.Archived.Style != "" {
		if c.arcHash, ok = hashByName(d.Archived.Style); !ok {
			return nil, &unpack.FormatError{Format: "xar", Entry: p, Offset: -1, Msg: "checksum style " + d.Archived.Style, Err: unpack.ErrUnsupported}
		}
		sum, err := hex.DecodeString(strings.TrimSpace(d.Archived.Value))
		if err != nil || (c.arcHash != 0 && len(sum) != c.arcHash.Size()) {
			return nil, errAt(p, -1, "archived checksum %q", d.Archived.Value)
		}
		c.arcSum = sum
	}
	return c, nil
}

// open returns a reader of a node's extracted content, checking both checksums at EOF.
func (xr *Reader) open(n *fstree.Node) (io.ReadCloser, error) {
	c, _ := n.Data.(*content)
	if c == nil {
		return io.NopCloser(strings.NewReader("")), nil
	}
	if n.Mode&fs.ModeSymlink != 0 {
		return io.NopCloser(strings.NewReader(c.linkTarget)), nil
	}
	if c.length == 0 && c.size == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	raw := io.Reader(io.NewSectionReader(xr.r, xr.heap+c.off, c.length))
	var arc hash.Hash
	if c.arcHash != 0 {
		arc = c.arcHash.New()
		raw = io.TeeReader(raw, arc)
	}
	var dec io.Reader
	var closer io.Closer
	switch c.encoding {
	case "", "application/octet-stream":
		if c.length != c.size {
			return nil, errAt(n.Path, xr.heap+c.off, "stored data of %d bytes, extracted size %d", c.length, c.size)
		}
		dec = raw
	case "application/x-gzip", "application/zlib":
		br := newPeekReader(raw)
		if br.magic(2) == "\x1f\x8b" {
			zr, err := gzip.NewReader(br)
			if err != nil {
				return nil, errAt(n.Path, xr.heap+c.off, "gzip: %v", err)
			}
			dec, closer = zr, zr
		} else {
			zr, err := zlib.NewReader(br)
			if err != nil {
				return nil, errAt(n.Path, xr.heap+c.off, "zlib: %v", err)
			}
			dec, closer = zr, zr
		}
	case "application/x-bzip2":
		dec = bzip2.NewReader(raw)
	case "application/x-xz":
		zr, err := xz.NewReader(raw, MaxDictBytes)
		if err != nil {
			// The xz error keeps its sentinel (ErrLimit for a dictionary above the cap).
			return nil, fmt.Errorf("decompressing %q at 0x%x: %w", n.Path, xr.heap+c.off, err)
		}
		dec = zr
	case "application/x-lzma":
		br := newPeekReader(raw)
		if h := br.magic(5); len(h) == 5 && binary.LittleEndian.Uint32([]byte(h[1:])) > MaxDictBytes {
			return nil, &unpack.FormatError{Format: "xar", Entry: n.Path, Offset: xr.heap + c.off, Msg: "lzma dictionary larger than the limit", Err: unpack.ErrLimit}
		}
		zr, err := lzma.NewReader(br)
		if err != nil {
			return nil, errAt(n.Path, xr.heap+c.off, "lzma: %v", err)
		}
		dec = zr
	case "application/x-deflate":
		zr := flate.NewReader(raw)
		dec, closer = zr, zr
	default:
		return nil, &unpack.FormatError{Format: "xar", Entry: n.Path, Offset: -1, Msg: "encoding " + c.encoding, Err: unpack.ErrUnsupported}
	}
	cr := &checkedReader{r: fstree.ExactReader(dec, c.size, "xar", n.Path), left: c.size, c: c, arc: arc, raw: raw, path: n.Path, closer: closer}
	if c.extHash != 0 {
		cr.ext = c.extHash.New()
	}
	return cr, nil
}

// checkedReader verifies the extracted and archived checksums when the content ends.
type checkedReader struct {
	r        io.Reader
	raw      io.Reader
	left     int64
	c        *content
	ext, arc hash.Hash
	path     string
	closer   io.Closer
	done     bool
}

func (cr *checkedReader) Read(b []byte) (int, error) {
	if cr.done {
		return 0, io.EOF
	}
	n, err := cr.r.Read(b)
	if cr.ext != nil {
		cr.ext.Write(b[:n])
	}
	cr.left -= int64(n)
	if err == io.EOF || (err == nil && cr.left == 0) {
		cr.done = true
		if cr.ext != nil && !hmac.Equal(cr.ext.Sum(nil), cr.c.extSum) {
			return n, errAt(cr.path, -1, "extracted checksum mismatch")
		}
		if cr.arc != nil {
			// The decoder may stop before the end of the archived bytes; the rest goes
			// through the same hash so the archived checksum covers exactly the section.
			if _, err := io.Copy(io.Discard, cr.raw); err != nil {
				return n, errAt(cr.path, -1, "reading archived data: %v", err)
			}
			if !hmac.Equal(cr.arc.Sum(nil), cr.c.arcSum) {
				return n, errAt(cr.path, -1, "archived checksum mismatch")
			}
		}
		return n, io.EOF
	}
	return n, err
}

func (cr *checkedReader) Close() error {
	if cr.closer != nil {
		return cr.closer.Close()
	}
	return nil
}

// peekReader lets the decoder choice look at the first bytes.
type peekReader struct {
	r   io.Reader
	buf []byte
}

func newPeekReader(r io.Reader) *peekReader { return &peekReader{r: r} }

func (p *peekReader) magic(n int) string {
	b := make([]byte, n)
	k, _ := io.ReadFull(p.r, b)
	p.buf = b[:k]
	return string(p.buf)
}

func (p *peekReader) Read(b []byte) (int, error) {
	if len(p.buf) > 0 {
		n := copy(b, p.buf)
		p.buf = p.buf[n:]
		return n, nil
	}
	return p.r.Read(b)
}

// Open implements fs.FS.
func (xr *Reader) Open(name string) (fs.File, error) { return xr.tree.OpenFile(name, xr.open) }

// Stat implements fs.StatFS.
func (xr *Reader) Stat(name string) (fs.FileInfo, error) { return xr.tree.Stat(name) }

// ReadDir implements fs.ReadDirFS.
func (xr *Reader) ReadDir(name string) ([]fs.DirEntry, error) { return xr.tree.ReadDir(name) }

// Walk implements unpack.Walker: every regular file in heap order.
func (xr *Reader) Walk(fn func(path string, size int64, r io.Reader) error) error {
	return fstree.Walk(xr.files, xr.open, fn)
}

// Files returns the regular files' paths in heap order.
func (xr *Reader) Files() []string {
	out := make([]string, len(xr.files))
	for i, n := range xr.files {
		out[i] = n.Path
	}
	return out
}

// Open opens the xar archive in the named file; Close closes it.
func Open(name string) (*unpack.ReadCloser[*Reader], error) { return unpack.OpenFile(name, NewReader) }

// The reader contract every format keeps.
var (
	_ fs.ReadDirFS  = (*Reader)(nil)
	_ fs.StatFS     = (*Reader)(nil)
	_ unpack.Walker = (*Reader)(nil)
)
