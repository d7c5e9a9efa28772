package msix

import (
	"archive/zip"
	"crypto"
	"crypto/hmac"
	_ "crypto/sha256" // block map hash methods
	_ "crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
)

// Block map hash methods (AppxBlockMap.xml HashMethod), as osslsigncode accepts them.
var hashMethods = map[string]crypto.Hash{
	"http://www.w3.org/2001/04/xmlenc#sha256":       crypto.SHA256,
	"http://www.w3.org/2001/04/xmldsig-more#sha384": crypto.SHA384,
	"http://www.w3.org/2001/04/xmlenc#sha512":       crypto.SHA512,
}

// BlockMapError is one way the package content differs from AppxBlockMap.xml. File is the
// stored part name ("" for the block map as a whole), Block the 0-based block index or -1,
// Offset the byte offset of the block within the uncompressed file or -1.
type BlockMapError struct {
	File   string
	Block  int
	Offset int64
	Msg    string
}

func (e BlockMapError) Error() string {
	s := "msix: block map: "
	if e.File != "" {
		s += strconv.Quote(e.File) + ": "
	}
	s += e.Msg
	if e.Block >= 0 {
		s += fmt.Sprintf(" (block %d at 0x%x)", e.Block, e.Offset)
	}
	return s
}

// blockMapFile is one File element.
type blockMapFile struct {
	name    string
	size    int64
	lfhSize int64
	blocks  [][]byte
}

// BlockMapErrors checks every part against AppxBlockMap.xml: every part other than the
// footprint files it cannot list (itself, the signature, [Content_Types].xml,
// AppxMetadata/CodeIntegrity.cat) must be listed and vice versa, with its uncompressed size,
// its local file header size, and the hash of each 64 KiB block. It streams every part once,
// the first time it is called; the result is kept. A package without a block map yields one
// error saying so. The error return is for an unreadable block map or I/O; content that does
// not decompress is a BlockMapError of that file.
func (m *Reader) BlockMapErrors() ([]BlockMapError, error) {
	m.checkOnce.Do(func() { m.bmErrs, m.bmErr = m.checkBlockMap() })
	return m.bmErrs, m.bmErr
}

func (m *Reader) checkBlockMap() ([]BlockMapError, error) {
	f := m.byName[NameBlockMap]
	if f == nil {
		return []BlockMapError{{Block: -1, Offset: -1, Msg: "the package has no " + NameBlockMap}}, nil
	}
	h, listed, err := m.parseBlockMap(f)
	if err != nil {
		return nil, err
	}
	var out []BlockMapError
	byName := map[string]*blockMapFile{}
	for _, bf := range listed {
		if byName[bf.name] != nil {
			out = append(out, BlockMapError{File: bf.name, Block: -1, Offset: -1, Msg: "listed twice"})
			continue
		}
		byName[bf.name] = bf
	}
	seen := map[string]bool{}
	names := make([]string, 0, len(m.byName))
	for n := range m.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		zf := m.byName[name]
		if !blockMapped(name) {
			continue
		}
		key := blockMapName(name)
		bf := byName[key]
		if bf == nil {
			out = append(out, BlockMapError{File: name, Block: -1, Offset: -1, Msg: "not listed in the block map"})
			continue
		}
		seen[key] = true
		out = append(out, m.checkFile(zf, bf, h)...)
	}
	for _, bf := range listed {
		if !seen[bf.name] && byName[bf.name] == bf {
			out = append(out, BlockMapError{File: bf.name, Block: -1, Offset: -1, Msg: "listed in the block map but not in the package"})
		}
	}
	return out, nil
}

// checkFile compares one part with its block map entry, streaming it.
func (m *Reader) checkFile(zf *zip.File, bf *blockMapFile, h crypto.Hash) []BlockMapError {
	fail := func(block int, off int64, format string, args ...any) []BlockMapError {
		return []BlockMapError{{File: zf.Name, Block: block, Offset: off, Msg: fmt.Sprintf(format, args...)}}
	}
	size := int64(zf.UncompressedSize64)
	if bf.size != size {
		return fail(-1, -1, "size %d, block map says %d", size, bf.size)
	}
	if want := (size + BlockSize - 1) / BlockSize; int64(len(bf.blocks)) != want {
		return fail(-1, -1, "%d blocks listed, %d bytes need %d", len(bf.blocks), size, want)
	}
	if bf.lfhSize >= 0 {
		lfh, err := m.localHeaderSize(zf)
		if err != nil {
			return fail(-1, -1, "%v", err)
		}
		if lfh != bf.lfhSize {
			return fail(-1, -1, "local file header of %d bytes, block map says %d", lfh, bf.lfhSize)
		}
	}
	rc, err := m.openEntry(zf)
	if err != nil {
		return fail(-1, -1, "%v", err)
	}
	defer rc.Close()
	buf := make([]byte, BlockSize)
	d := h.New()
	for i, want := range bf.blocks {
		n := min(int64(BlockSize), size-int64(i)*BlockSize)
		if _, err := io.ReadFull(rc, buf[:n]); err != nil {
			return fail(i, int64(i)*BlockSize, "reading: %v", err)
		}
		d.Reset()
		d.Write(buf[:n])
		if !hmac.Equal(d.Sum(nil), want) {
			return fail(i, int64(i)*BlockSize, "block hash does not match")
		}
	}
	return nil
}

// localHeaderSize reads the size of a part's local file header (30 bytes, name and extra).
func (m *Reader) localHeaderSize(zf *zip.File) (int64, error) {
	var b [30]byte
	if _, err := m.r.ReadAt(b[:], m.offsets[zf]); err != nil {
		return 0, fmt.Errorf("reading the local file header at 0x%x: %v", m.offsets[zf], err)
	}
	if binary.LittleEndian.Uint32(b[:]) != 0x04034b50 {
		return 0, fmt.Errorf("no local file header at 0x%x", m.offsets[zf])
	}
	return 30 + int64(binary.LittleEndian.Uint16(b[26:])) + int64(binary.LittleEndian.Uint16(b[28:])), nil
}

// parseBlockMap reads AppxBlockMap.xml:
//
//	<BlockMap HashMethod="URI"><File Name="dir\name" Size="N" LfhSize="N"><Block Hash="base64" Size="N"/>...</File>...</BlockMap>
func (m *Reader) parseBlockMap(f *zip.File) (crypto.Hash, []*blockMapFile, error) {
	data, err := m.readXML(f)
	if err != nil {
		return 0, nil, err
	}
	var h crypto.Hash
	var files []*blockMapFile
	var cur *blockMapFile
	blocks := 0
	err = walkXML(data, func(stack []string, e xml.StartElement) error {
		attr := func(name string) (string, bool) {
			for _, a := range e.Attr {
				if a.Name.Space == "" && a.Name.Local == name {
					return a.Value, true
				}
			}
			return "", false
		}
		num := func(name string, required bool) (int64, error) {
			v, ok := attr(name)
			if !ok {
				if required {
					return 0, fmt.Errorf("<%s> without %s", e.Name.Local, name)
				}
				return -1, nil
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("<%s %s=%q>", e.Name.Local, name, v)
			}
			return n, nil
		}
		switch len(stack) {
		case 1:
			if e.Name.Local != "BlockMap" {
				return fmt.Errorf("root element <%s>, want <BlockMap>", e.Name.Local)
			}
			v, _ := attr("HashMethod")
			var ok bool
			if h, ok = hashMethods[v]; !ok {
				return fmt.Errorf("hash method %q", v)
			}
		case 2:
			cur = nil
			if e.Name.Local != "File" {
				return nil
			}
			name, ok := attr("Name")
			if !ok || name == "" {
				return errors.New("<File> without Name")
			}
			size, err := num("Size", true)
			if err != nil {
				return err
			}
			lfh, err := num("LfhSize", false)
			if err != nil {
				return err
			}
			if len(files) >= MaxEntries {
				return fmt.Errorf("more than %d files", MaxEntries)
			}
			cur = &blockMapFile{name: name, size: size, lfhSize: lfh}
			files = append(files, cur)
		case 3:
			if cur == nil || e.Name.Local != "Block" {
				return nil
			}
			// Blocks are bounded by the file's declared size, which the total bounds.
			if int64(len(cur.blocks)) >= cur.size/BlockSize+1 {
				return fmt.Errorf("file %q: more blocks than %d bytes need", cur.name, cur.size)
			}
			if blocks++; int64(blocks) > MaxExpandedBytes/BlockSize+MaxEntries {
				return errors.New("too many blocks")
			}
			v, _ := attr("Hash")
			sum, err := base64.StdEncoding.DecodeString(v)
			if err != nil || len(sum) != h.Size() {
				return fmt.Errorf("file %q block %d: hash %q is not a base64 %d-byte digest", cur.name, len(cur.blocks), v, h.Size())
			}
			cur.blocks = append(cur.blocks, sum)
		}
		return nil
	})
	if err != nil {
		return 0, nil, errs.Format(f.Name, -1, "%v", err)
	}
	if h == 0 {
		return 0, nil, errs.Format(f.Name, -1, "no BlockMap element")
	}
	return h, files, nil
}
