package hfs

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/rollgate/rollgate/unpack"
)

// Catalog record types.
const (
	recFolder = 1
	recFile   = 2
)

// BSD file-type bits of HFSPlusBSDInfo.fileMode.
const (
	sIFMT  = 0xf000
	sIFDIR = 0x4000
	sIFREG = 0x8000
	sIFLNK = 0xa000
)

const ufCompressed = 0x20 // ownerFlags: decmpfs compressed

// The private metadata folders (TN1150 "Hard Links").
const (
	privateFiles = "\x00\x00\x00\x00HFS+ Private Data"
	privateDirs  = ".HFS+ Private Directory Data\r"
)

// node is one catalog file or folder.
type node struct {
	id, parent uint32
	name       string // as stored, decoded from UTF-16
	dir        bool
	mode       uint16
	ownerFlags uint8
	special    uint32 // iNodeNum for hard links
	fdType     string
	fdCreator  string
	modTime    time.Time
	data       forkData
	rsrc       forkData

	children []*node          // folders: sorted by exposed name
	byName   map[string]*node // folders: exposed name -> child
	hidden   bool
	link     *node // hard link target (an iNode file)
	dirLink  bool  // a directory hard link
	linkDir  *node // its target folder ("dir_N"), nil when unresolved or disabled
}

// kids lists what a directory shows: a directory hard link shows its target's children.
func (n *node) kids() []*node {
	if n.linkDir != nil {
		return n.linkDir.children
	}
	return n.children
}

func (n *node) child(name string) *node {
	if n.linkDir != nil {
		return n.linkDir.byName[name]
	}
	return n.byName[name]
}

func (n *node) isDir() bool { return n.dir || n.dirLink }

// decodeName turns UTF-16BE into UTF-8, replacing unpaired surrogates.
func decodeName(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// exposedName maps a catalog name onto an fs.FS path element, or "" when it cannot be one.
func exposedName(s string) string {
	// HFS+ stores the POSIX '/' as ':'-free text: a '/' in a catalog name is what the
	// POSIX layer shows as ':'.
	s = strings.ReplaceAll(s, "/", ":")
	if s == "" || s == "." || s == ".." || strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
		return ""
	}
	return s
}

func (v *Reader) readCatalog(f *fork) error {
	t, err := openBTree(f)
	if err != nil {
		return err
	}
	be := binary.BigEndian
	v.nodes = make(map[uint32]*node)
	var all []*node
	err = t.leaves(func(rec []byte, off int64) error {
		if len(rec) < 8 {
			return errs.Format(t.name, off, "short catalog record")
		}
		kl := int(be.Uint16(rec))
		nl := int(be.Uint16(rec[6:]))
		if nl > MaxNameUnits {
			return errs.Format(t.name, off, "catalog name of %d UTF-16 units (limit %d)", nl, MaxNameUnits)
		}
		if kl < 6+2*nl || 2+kl > len(rec) {
			return errs.Format(t.name, off, "catalog key length %d for a %d-unit name", kl, nl)
		}
		parent := be.Uint32(rec[2:])
		name := decodeName(rec[8 : 8+2*nl])
		d := rec[2+kl:]
		if len(d) < 2 {
			return errs.Format(t.name, off, "catalog record without data")
		}
		typ := be.Uint16(d)
		var n *node
		switch typ {
		case recFolder:
			if len(d) < 88 {
				return errs.Format(t.name, off, "short folder record")
			}
			n = &node{dir: true, id: be.Uint32(d[8:])}
		case recFile:
			if len(d) < 248 {
				return errs.Format(t.name, off, "short file record")
			}
			n = &node{id: be.Uint32(d[8:])}
			n.fdType = string(d[48:52])
			n.fdCreator = string(d[52:56])
			n.data = parseFork(d[88:])
			n.rsrc = parseFork(d[168:])
		default:
			return nil // thread records
		}
		n.parent, n.name = parent, name
		n.modTime = hfsTime(be.Uint32(d[16:]))
		n.ownerFlags = d[41]
		n.mode = be.Uint16(d[42:])
		n.special = be.Uint32(d[44:])
		if n.id < cnidRoot {
			return errs.Format(t.name, off, "catalog record with CNID %d", n.id)
		}
		if _, dup := v.nodes[n.id]; dup {
			return errs.Format(t.name, off, "CNID %d appears twice", n.id)
		}
		if len(all) >= unpack.MaxEntries {
			return errs.Limit(t.name, off, "more than %d catalog records", unpack.MaxEntries)
		}
		v.nodes[n.id] = n
		all = append(all, n)
		return nil
	})
	if err != nil {
		return err
	}
	root := v.nodes[cnidRoot]
	if root == nil || !root.dir {
		return errs.Format(t.name, -1, "catalog has no root folder")
	}
	v.root = root
	for _, n := range all {
		if n == root {
			continue
		}
		p := v.nodes[n.parent]
		if p == nil || !p.dir {
			continue // orphan: unreachable from the root
		}
		if p == root && n.dir && (n.name == privateFiles || n.name == privateDirs) {
			n.hidden = true
		}
		p.children = append(p.children, n)
	}
	// Resolve hard links through the private folders.
	inodes := map[string]*node{}
	for _, n := range root.children {
		if n.hidden {
			for _, c := range n.children {
				inodes[c.name] = c
			}
		}
	}
	for _, n := range all {
		switch {
		case !n.dir && n.fdType == "hlnk" && n.fdCreator == "hfs+":
			if in := inodes[fmt.Sprintf("iNode%d", n.special)]; in != nil && !in.dir {
				n.link = in
			}
		case !n.dir && n.fdType == "fdrp" && n.fdCreator == "MACS":
			n.dirLink = true
			if in := inodes[fmt.Sprintf("dir_%d", n.special)]; in != nil && in.dir {
				n.linkDir = in
			}
		}
	}
	for _, n := range all {
		if !n.dir {
			continue
		}
		n.byName = make(map[string]*node, len(n.children))
		kept := n.children[:0]
		for _, c := range n.children {
			en := exposedName(c.name)
			if en == "" || c.hidden {
				continue
			}
			if _, dup := n.byName[en]; dup {
				continue // HFSX can hold names equal after ':' mapping; keep the first
			}
			n.byName[en] = c
			kept = append(kept, c)
		}
		n.children = kept
		sort.Slice(n.children, func(i, j int) bool {
			return exposedName(n.children[i].name) < exposedName(n.children[j].name)
		})
	}
	if v.checkTree() {
		return nil
	}
	// Directory hard links make the tree too large or cyclic: show them as empty
	// directories and check the plain tree.
	for _, n := range all {
		n.linkDir = nil
	}
	if !v.checkTree() {
		return errs.Limit(t.name, -1, "directory tree deeper than %d or larger than %d entries", MaxDirDepth, unpack.MaxEntries)
	}
	return nil
}

// checkTree walks the exposed tree breadth first and reports whether it stays within
// MaxDirDepth levels and unpack.MaxEntries entries (a cycle through directory hard links
// exceeds both).
func (v *Reader) checkTree() bool {
	level := []*node{v.root}
	seen := 0
	for depth := 0; len(level) > 0; depth++ {
		if depth > MaxDirDepth {
			return false
		}
		var next []*node
		for _, n := range level {
			for _, c := range n.kids() {
				if seen++; seen > unpack.MaxEntries {
					return false
				}
				if c.isDir() {
					next = append(next, c)
				}
			}
		}
		level = next
	}
	return true
}

// fileMode maps a catalog node onto an fs.FileMode.
func (n *node) fileMode() fs.FileMode {
	perm := fs.FileMode(n.mode & 0o777)
	switch {
	case n.linkDir != nil:
		return n.linkDir.fileMode()
	case n.dir || n.dirLink:
		if n.mode&sIFMT == 0 {
			perm = 0o755
		}
		return fs.ModeDir | perm
	case n.mode&sIFMT == sIFLNK:
		return fs.ModeSymlink | perm
	}
	if n.mode&sIFMT == 0 {
		perm = 0o644
	}
	return perm
}

func (n *node) isSymlink() bool { return !n.dir && n.mode&sIFMT == sIFLNK }
