package cfb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf16"
)

// node is a stream (data != nil or empty with dir false) or a storage for the test builder.
type node struct {
	name     string
	dir      bool
	data     []byte
	children []*node

	id, start uint32
	left      uint32
	right     uint32
	child     uint32
}

// build writes a compound file of the given major version (3: 512-byte sectors, 4: 4096)
// holding root's tree. Streams under the cutoff go to the mini stream; FAT sectors beyond
// the header's 109 are listed in DIFAT sectors.
func build(version int, root *node) []byte {
	ssz := 512
	if version == 4 {
		ssz = 4096
	}
	le := binary.LittleEndian
	var all []*node
	var collect func(n *node)
	collect = func(n *node) {
		n.id = uint32(len(all))
		all = append(all, n)
		for _, c := range n.children {
			collect(c)
		}
	}
	collect(root)

	var data []byte // regular sectors, in order, before the tables
	var fat []uint32
	alloc := func(b []byte) uint32 {
		if len(b) == 0 {
			return endOfChain
		}
		start := uint32(len(fat))
		n := (len(b) + ssz - 1) / ssz
		for i := 0; i < n; i++ {
			fat = append(fat, uint32(len(fat))+1)
		}
		fat[len(fat)-1] = endOfChain
		pad := make([]byte, n*ssz)
		copy(pad, b)
		data = append(data, pad...)
		return start
	}
	var mini []byte
	var miniFAT []uint32
	for _, n := range all[1:] {
		if n.dir {
			continue
		}
		if len(n.data) >= miniCutoff {
			n.start = alloc(n.data)
			continue
		}
		if len(n.data) == 0 {
			n.start = endOfChain
			continue
		}
		n.start = uint32(len(miniFAT))
		k := (len(n.data) + miniSectorSize - 1) / miniSectorSize
		for i := 0; i < k; i++ {
			miniFAT = append(miniFAT, uint32(len(miniFAT))+1)
		}
		miniFAT[len(miniFAT)-1] = endOfChain
		pad := make([]byte, k*miniSectorSize)
		copy(pad, n.data)
		mini = append(mini, pad...)
	}
	root.start = alloc(mini)
	root.data = mini
	var mf []byte
	for _, v := range miniFAT {
		mf = le.AppendUint32(mf, v)
	}
	miniFATStart := alloc(mf)

	// Directory with a balanced tree per storage.
	var tree func(kids []*node) uint32
	tree = func(kids []*node) uint32 {
		if len(kids) == 0 {
			return noStream
		}
		m := len(kids) / 2
		kids[m].left = tree(kids[:m])
		kids[m].right = tree(kids[m+1:])
		return kids[m].id
	}
	for _, n := range all {
		n.left, n.right = noStream, noStream
	}
	for _, n := range all {
		kids := append([]*node(nil), n.children...)
		sort.Slice(kids, func(i, j int) bool {
			a, b := utf16.Encode([]rune(kids[i].name)), utf16.Encode([]rune(kids[j].name))
			if len(a) != len(b) {
				return len(a) < len(b)
			}
			return strings.ToUpper(kids[i].name) < strings.ToUpper(kids[j].name)
		})
		n.child = tree(kids)
	}
	var dir []byte
	for _, n := range all {
		e := make([]byte, dirEntrySize)
		u := utf16.Encode([]rune(n.name))
		for i, c := range u {
			le.PutUint16(e[2*i:], c)
		}
		le.PutUint16(e[0x40:], uint16(2*len(u)+2))
		switch {
		case n == root:
			e[0x42] = byte(TypeRoot)
		case n.dir:
			e[0x42] = byte(TypeStorage)
		default:
			e[0x42] = byte(TypeStream)
		}
		e[0x43] = 1
		le.PutUint32(e[0x60:], n.id+0x100) // state bits and times, to check they are exposed
		e[0x64], e[0x6C] = byte(n.id), byte(n.id)+0x10
		le.PutUint32(e[0x44:], n.left)
		le.PutUint32(e[0x48:], n.right)
		le.PutUint32(e[0x4C:], n.child)
		if !n.dir || n == root {
			le.PutUint32(e[0x74:], n.start)
			le.PutUint64(e[0x78:], uint64(len(n.data)))
		}
		dir = append(dir, e...)
	}
	dirStart := alloc(dir)

	// FAT and DIFAT sectors, sized to a fixed point.
	per := ssz / 4
	used := len(fat)
	nFAT, nDIFAT := 0, 0
	for {
		f := (used + nFAT + nDIFAT + per - 1) / per
		d := 0
		if f > headerDIFAT {
			d = (f - headerDIFAT + per - 2) / (per - 1)
		}
		if f == nFAT && d == nDIFAT {
			break
		}
		nFAT, nDIFAT = f, d
	}
	fatStart := uint32(len(fat))
	for i := 0; i < nFAT; i++ {
		fat = append(fat, fatSect)
	}
	difatStart := uint32(len(fat))
	for i := 0; i < nDIFAT; i++ {
		fat = append(fat, difSect)
	}
	for len(fat)%per != 0 {
		fat = append(fat, freeSect)
	}
	for _, v := range fat {
		data = le.AppendUint32(data, v)
	}
	var fatList []uint32
	for i := 0; i < nFAT; i++ {
		fatList = append(fatList, fatStart+uint32(i))
	}
	for i := 0; i < nDIFAT; i++ {
		sec := bytes.Repeat([]byte{0xFF}, ssz)
		for j := 0; j < per-1; j++ {
			k := headerDIFAT + i*(per-1) + j
			if k < len(fatList) {
				le.PutUint32(sec[4*j:], fatList[k])
			}
		}
		next := uint32(endOfChain)
		if i+1 < nDIFAT {
			next = difatStart + uint32(i) + 1
		}
		le.PutUint32(sec[ssz-4:], next)
		data = append(data, sec...)
	}

	h := make([]byte, ssz)
	copy(h, signature[:])
	le.PutUint16(h[0x18:], 0x3E)
	le.PutUint16(h[0x1A:], uint16(version))
	le.PutUint16(h[0x1C:], 0xFFFE)
	le.PutUint16(h[0x1E:], uint16(map[int]int{512: 9, 4096: 12}[ssz]))
	le.PutUint16(h[0x20:], 6)
	if version == 4 {
		le.PutUint32(h[0x28:], uint32((len(dir)+ssz-1)/ssz))
	}
	le.PutUint32(h[0x2C:], uint32(nFAT))
	le.PutUint32(h[0x30:], dirStart)
	le.PutUint32(h[0x38:], miniCutoff)
	le.PutUint32(h[0x3C:], miniFATStart)
	le.PutUint32(h[0x40:], uint32((len(mf)+ssz-1)/ssz))
	le.PutUint32(h[0x44:], endOfChain)
	if nDIFAT > 0 {
		le.PutUint32(h[0x44:], difatStart)
	}
	le.PutUint32(h[0x48:], uint32(nDIFAT))
	for i := 0; i < headerDIFAT; i++ {
		v := uint32(freeSect)
		if i < len(fatList) {
			v = fatList[i]
		}
		le.PutUint32(h[0x4C+4*i:], v)
	}
	return append(h, data...)
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

func TestBuilt(t *testing.T) {
	sizes := []int{0, 1, 63, 64, 65, 4095, 4096, 4097, 10000, 70000}
	for _, version := range []int{3, 4} {
		t.Run(fmt.Sprint("v", version), func(t *testing.T) {
			root := &node{name: "Root Entry", dir: true}
			sub := &node{name: "Sub", dir: true, children: []*node{
				{name: "inner", data: pattern(5000, 9)},
				{name: "deeper", dir: true, children: []*node{{name: "leaf", data: pattern(100, 3)}}},
			}}
			want := map[string][]byte{"Sub/inner": sub.children[0].data, "Sub/deeper/leaf": pattern(100, 3)}
			for i, n := range sizes {
				name := fmt.Sprintf("s%d", n)
				root.children = append(root.children, &node{name: name, data: pattern(n, byte(i))})
				want[name] = pattern(n, byte(i))
			}
			root.children = append(root.children, sub, &node{name: "\x05Odd/Name", data: []byte("odd")})
			want["%05Odd%2FName"] = []byte("odd")
			b := build(version, root)
			r, err := NewReader(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatalf("NewReader(v%d) = %v", version, err)
			}
			var names []string
			for name, data := range want {
				names = append(names, name)
				f, err := r.Open(name)
				if err != nil {
					t.Errorf("Open(%q) = %v", name, err)
					continue
				}
				got, err := io.ReadAll(f)
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("ReadAll(%q) = %d bytes, %v; want %d bytes", name, len(got), err, len(data))
				}
				// ReadAt across sector boundaries.
				if s, ok := f.(io.ReaderAt); ok && len(data) > 130 {
					buf := make([]byte, 100)
					if n, err := s.ReadAt(buf, int64(len(data)-120)); n != 100 || err != nil || !bytes.Equal(buf, data[len(data)-120:len(data)-20]) {
						t.Errorf("ReadAt(%q) = %d, %v", name, n, err)
					}
				}
			}
			if err := fstest.TestFS(r, names...); err != nil {
				t.Error(err)
			}
			var order []string
			for _, c := range r.Root().Children {
				order = append(order, c.Name)
				if c.StateBits != c.id+0x100 || c.Created[0] != byte(c.id) || c.Modified[0] != byte(c.id)+0x10 {
					t.Errorf("entry %q: StateBits, Created, Modified = %#x, %x, %x", c.Name, c.StateBits, c.Created, c.Modified)
				}
			}
			if got := strings.Join(order, ","); !strings.HasPrefix(got, "s0,s1,s63,s64,s65,Sub,") {
				t.Errorf("Root().Children = %s, want name order (length first)", got)
			}
		})
	}
}

func TestBuiltDIFAT(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an 8 MB file")
	}
	// 110+ FAT sectors of a v3 file need a DIFAT sector.
	big := pattern(7500000, 1)
	b := build(3, &node{name: "Root Entry", dir: true, children: []*node{{name: "big", data: big}}})
	if binary.LittleEndian.Uint32(b[0x48:]) == 0 {
		t.Fatal("builder wrote no DIFAT sector")
	}
	r, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("NewReader = %v", err)
	}
	f, err := r.OpenStream(r.Root().Children[0])
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(got, big) {
		t.Errorf("ReadAll(big) = %d bytes, %v", len(got), err)
	}
}

func TestBuiltDuplicateNames(t *testing.T) {
	root := &node{name: "Root Entry", dir: true}
	for i := 0; i < 3000; i++ {
		root.children = append(root.children, &node{name: "same", data: []byte{byte(i)}})
	}
	root.children = append(root.children, &node{name: "same~2", data: []byte("x")})
	b := build(3, root)
	start := time.Now()
	r, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := r.ReadDir(".")
	if err != nil || len(entries) != 3001 {
		t.Fatalf("ReadDir = %d entries, %v; want 3001", len(entries), err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.Name()] {
			t.Errorf("duplicate fs name %q", e.Name())
		}
		seen[e.Name()] = true
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("3,000 duplicate names took %v", d)
	}
}
