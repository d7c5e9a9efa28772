// Cabinets after arbitrary data: self-extracting cabinet executables (a cabinet after a PE
// stub) and files holding several cabinets one after another, found the way libmspack's
// cabd_search (and so cabextract) finds them: scan for the "MSCF" signature, accept a
// candidate whose CFHEADER is consistent and whose header, CFFOLDER and CFFILE tables parse
// ([MS-CAB] 2.1–2.3), and resume the scan after the accepted cabinet's cbCabinet bytes, so
// the cabinets a cabinet stores as files are listed once, inside it, not again beside it.

package cab

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/rollgate/rollgate/unpack"
)

// Search limits.
const (
	MaxSearchCabinets = 1 << 10  // cabinets one Search accepts
	MaxSearchBytes    = 64 << 20 // bytes one Search scans for signatures (accepted cabinets' bodies are skipped, not scanned)
	searchChunk       = 64 << 10 // bytes read per scan step
)

// Found is one cabinet a Search accepted, located in the searched input.
type Found struct {
	Offset int64 // where its CFHEADER starts
	Size   int64 // cbCabinet
}

// Search finds the cabinets in r: every "MSCF" whose CFHEADER is consistent (reserved fields
// zero, version 1.3, cbCabinet within the input, coffFiles inside the cabinet, at least one
// folder and one file and no more than the cabinet's bytes can hold) and whose header tables
// parse. The scan resumes after an accepted cabinet; a rejected candidate is skipped by one
// byte. It returns the cabinets in file order, none when there are none, and an
// unpack.ErrLimit error when the input has more than MaxSearchCabinets cabinets or more than
// MaxSearchBytes bytes would have to be scanned: a cabinet beyond the bound is never
// silently left out.
func Search(r io.ReaderAt, size int64) ([]Found, error) {
	var (
		found   []Found
		scanned int64
		buf     = make([]byte, searchChunk+headerSize)
	)
	for off := int64(0); off+headerSize <= size; {
		n := min(int64(len(buf)), size-off)
		if scanned+n > MaxSearchBytes+headerSize {
			return nil, &unpack.FormatError{Format: "cab", Offset: off, Err: unpack.ErrLimit,
				Msg: fmt.Sprintf("searching for cabinets: more than %d bytes to scan", int64(MaxSearchBytes))}
		}
		b := buf[:n]
		if _, err := r.ReadAt(b, off); err != nil && err != io.EOF {
			return nil, fmt.Errorf("cab: searching at 0x%x: %w", off, err)
		}
		i := bytes.Index(b, []byte("MSCF"))
		if i < 0 || int64(i)+headerSize > n {
			// Keep the last bytes: a signature or header may straddle the chunk boundary.
			step := max(n-headerSize+1, 1)
			if i >= 0 {
				step = int64(i)
			}
			if off+step+headerSize > size {
				break
			}
			scanned += step
			off += step
			continue
		}
		cand := off + int64(i)
		scanned += int64(i)
		if f, ok := candidate(r, size, cand, b[i:i+headerSize]); ok {
			if len(found) == MaxSearchCabinets {
				return nil, &unpack.FormatError{Format: "cab", Offset: cand, Err: unpack.ErrLimit,
					Msg: fmt.Sprintf("more than %d cabinets", MaxSearchCabinets)}
			}
			found = append(found, f)
			off = cand + f.Size
			continue
		}
		scanned++
		off = cand + 1
	}
	return found, nil
}

// candidate checks the CFHEADER h at off and parses the cabinet's tables.
func candidate(r io.ReaderAt, size, off int64, h []byte) (Found, bool) {
	le := binary.LittleEndian
	cbCabinet := int64(le.Uint32(h[8:]))
	coffFiles := int64(le.Uint32(h[16:]))
	cFolders := int64(le.Uint16(h[26:]))
	cFiles := int64(le.Uint16(h[28:]))
	switch {
	case le.Uint32(h[4:]) != 0 || le.Uint32(h[12:]) != 0 || le.Uint32(h[20:]) != 0:
		return Found{}, false // reserved1..3
	case h[25] != 1 || h[24] != 3:
		return Found{}, false // versionMajor.versionMinor
	case cbCabinet < headerSize || cbCabinet > size-off:
		return Found{}, false
	case coffFiles < headerSize || coffFiles >= cbCabinet:
		return Found{}, false
	case cFolders == 0 || headerSize+cFolders*folderEntrySize > cbCabinet:
		return Found{}, false
	case cFiles == 0 || cFiles*(fileEntrySize+1) > cbCabinet-coffFiles:
		return Found{}, false
	}
	if _, err := parseCabinet(Part{R: io.NewSectionReader(r, off, cbCabinet), Size: cbCabinet}); err != nil {
		return Found{}, false
	}
	return Found{Offset: off, Size: cbCabinet}, true
}

// Multi reads the cabinets Search found in one input, each as a cabinet of its own (a
// cabinet that continues into another is refused, naming it). With one cabinet its files
// keep their names; with several, every name is prefixed "(cab@OFFSET)/", OFFSET being the
// decimal byte offset of the cabinet's CFHEADER in the searched input, so equal names in two
// cabinets stay apart and the listing is deterministic. Walk visits the cabinets in file
// order; the fs.FS root holds one directory per cabinet.
type Multi struct {
	found []Found
	cabs  []*Reader
}

// NewSearchReader searches r for cabinets (Search) and opens each. It returns an error
// wrapping unpack.ErrFormat when there is none.
func NewSearchReader(r io.ReaderAt, size int64) (*Multi, error) {
	found, err := Search(r, size)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, &unpack.FormatError{Format: "cab", Offset: -1, Msg: "no cabinet found"}
	}
	return OpenFound(r, found)
}

// OpenFound opens the cabinets found in r by an earlier Search.
func OpenFound(r io.ReaderAt, found []Found) (*Multi, error) {
	if len(found) > MaxSearchCabinets {
		return nil, fmt.Errorf("cab: %d cabinets (max %d): %w", len(found), MaxSearchCabinets, unpack.ErrLimit)
	}
	m := &Multi{found: found}
	nfiles := 0
	for _, f := range found {
		name := ""
		if len(found) > 1 {
			name = m.prefix(f)
		}
		c, err := NewSetReader([]Part{{R: io.NewSectionReader(r, f.Offset, f.Size), Size: f.Size, Name: name}})
		if err != nil {
			return nil, err
		}
		if nfiles += len(c.files); nfiles > MaxFiles {
			return nil, fmt.Errorf("cab: more than %d files in the cabinets found: %w", MaxFiles, unpack.ErrLimit)
		}
		m.cabs = append(m.cabs, c)
	}
	return m, nil
}

// prefix is the directory a cabinet's files sit in when there are several.
func (m *Multi) prefix(f Found) string { return "(cab@" + strconv.FormatInt(f.Offset, 10) + ")" }

// Found returns where the cabinets are.
func (m *Multi) Found() []Found { return append([]Found(nil), m.found...) }

// Readers returns one Reader per cabinet, in file order.
func (m *Multi) Readers() []*Reader { return append([]*Reader(nil), m.cabs...) }

// Close implements io.Closer; the Multi holds nothing to release.
func (m *Multi) Close() error { return nil }

// Walk implements unpack.Walker: every cabinet's files in storage order, cabinets in file
// order.
func (m *Multi) Walk(fn func(path string, size int64, rd io.Reader) error) error {
	for i, c := range m.cabs {
		pre := ""
		if len(m.cabs) > 1 {
			pre = m.prefix(m.found[i]) + "/"
		}
		if err := c.Walk(func(p string, size int64, rd io.Reader) error {
			return fn(pre+p, size, rd)
		}); err != nil {
			return err
		}
	}
	return nil
}

// Open implements fs.FS.
func (m *Multi) Open(name string) (fs.File, error) {
	if len(m.cabs) == 1 {
		return m.cabs[0].Open(name)
	}
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return &multiRoot{m: m}, nil
	}
	first, rest, _ := strings.Cut(name, "/")
	for i, f := range m.found {
		if m.prefix(f) != first {
			continue
		}
		if rest == "" {
			rest = "."
		}
		file, err := m.cabs[i].Open(rest)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		if rest == "." {
			return &namedDir{File: file, name: first}, nil
		}
		return file, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// multiRoot is the root of a Multi with several cabinets: one directory per cabinet.
type multiRoot struct {
	m    *Multi
	next int
}

func (d *multiRoot) Stat() (fs.FileInfo, error) { return multiDirInfo("."), nil }
func (d *multiRoot) Close() error               { return nil }
func (d *multiRoot) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: ".", Err: fs.ErrInvalid}
}

// ReadDir implements fs.ReadDirFile, listing the cabinets' directories in file order.
func (d *multiRoot) ReadDir(n int) ([]fs.DirEntry, error) {
	var out []fs.DirEntry
	for d.next < len(d.m.found) && (n <= 0 || len(out) < n) {
		out = append(out, fs.FileInfoToDirEntry(multiDirInfo(d.m.prefix(d.m.found[d.next]))))
		d.next++
	}
	if n > 0 && len(out) == 0 {
		return nil, io.EOF
	}
	return out, nil
}

// namedDir is a cabinet's root seen as a directory of the Multi's root.
type namedDir struct {
	fs.File
	name string
}

func (d *namedDir) Stat() (fs.FileInfo, error) { return multiDirInfo(d.name), nil }

func (d *namedDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rd, ok := d.File.(fs.ReadDirFile)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: d.name, Err: fs.ErrInvalid}
	}
	return rd.ReadDir(n)
}

type multiDirInfo string

func (i multiDirInfo) Name() string { return path.Base(string(i)) }
func (multiDirInfo) Size() int64    { return 0 }
func (multiDirInfo) Mode() fs.FileMode {
	return fs.ModeDir | 0o555
}
func (multiDirInfo) ModTime() time.Time { return time.Time{} }
func (multiDirInfo) IsDir() bool        { return true }
func (multiDirInfo) Sys() any           { return nil }
