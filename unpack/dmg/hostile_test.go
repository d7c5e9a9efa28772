package dmg

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/udif"
)

type part struct {
	name string // blkx Name, e.g. "disk image (Apple_HFS : 1)"
	data []byte // sector-aligned
}

// wrapUDIF builds a UDIF image storing each partition in raw chunks of 2048 sectors.
func wrapUDIF(parts []part) []byte {
	be := binary.BigEndian
	var fork bytes.Buffer
	var plist strings.Builder
	plist.WriteString(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>resource-fork</key><dict><key>blkx</key><array>`)
	var sector uint64
	for i, p := range parts {
		count := uint64(len(p.data) / 512)
		var chunks [][]byte
		for s := uint64(0); s < count; s += 2048 {
			n := min(2048, count-s)
			c := make([]byte, 40)
			be.PutUint32(c, udif.ChunkRaw)
			be.PutUint64(c[8:], s)
			be.PutUint64(c[0x10:], n)
			be.PutUint64(c[0x18:], uint64(fork.Len()))
			be.PutUint64(c[0x20:], n*512)
			fork.Write(p.data[s*512 : (s+n)*512])
			chunks = append(chunks, c)
		}
		term := make([]byte, 40)
		be.PutUint32(term, udif.ChunkTerminator)
		chunks = append(chunks, term)
		mish := make([]byte, 0xcc)
		copy(mish, "mish")
		be.PutUint32(mish[4:], 1)
		be.PutUint64(mish[8:], sector)
		be.PutUint64(mish[0x10:], count)
		be.PutUint32(mish[0xc8:], uint32(len(chunks)))
		mish = append(mish, bytes.Join(chunks, nil)...)
		fmt.Fprintf(&plist, "<dict><key>Data</key><data>%s</data><key>ID</key><string>%d</string><key>Name</key><string>%s</string></dict>",
			base64.StdEncoding.EncodeToString(mish), i, p.name)
		sector += count
	}
	plist.WriteString("</array></dict></dict></plist>")
	out := append([]byte(nil), fork.Bytes()...)
	xmlOff := len(out)
	out = append(out, plist.String()...)
	koly := make([]byte, 512)
	copy(koly, "koly")
	be.PutUint32(koly[4:], 4)
	be.PutUint32(koly[8:], 512)
	be.PutUint64(koly[0x20:], uint64(fork.Len()))
	be.PutUint64(koly[0xd8:], uint64(xmlOff))
	be.PutUint64(koly[0xe0:], uint64(len(out)-xmlOff))
	be.PutUint64(koly[0x1ec:], sector)
	return append(out, koly...)
}

// relicVolume returns the decoded HFS+ partition of relic-dummy.dmg.
func relicVolume(t testing.TB) []byte {
	t.Helper()
	im := testutil.Open(t, testutil.Sample(t, "dmg/relic-dummy.dmg"), NewReader)
	for _, p := range im.Partitions() {
		if p.Filesystem == FSHFS {
			disk, _ := im.Disk()
			b := make([]byte, p.Size)
			if _, err := disk.ReadAt(b, p.Offset); err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatal("no HFS+ partition in relic-dummy.dmg")
	return nil
}

// catalogLeaf returns the byte offset of the first catalog leaf node in an HFS+ volume.
func catalogLeaf(t testing.TB, v []byte) int64 {
	be := binary.BigEndian
	bs := int64(be.Uint32(v[1024+0x28:]))
	cat := int64(be.Uint32(v[1024+0x110+16:])) * bs
	nodeSize := int64(be.Uint16(v[cat+14+18:]))
	first := int64(be.Uint32(v[cat+14+10:]))
	return cat + first*nodeSize
}

func TestMultiVolume(t *testing.T) {
	vol := relicVolume(t)
	apfs := make([]byte, 4096)
	copy(apfs[32:], "NXSB")
	img := wrapUDIF([]part{
		{"disk image (Apple_HFS : 1)", vol},
		{"second (Apple_HFS : 2)", vol},
		{"container (Apple_APFS : 3)", apfs},
	})
	im, err := NewReader(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatalf("NewReader(two volumes) = %v", err)
	}
	if im.Single() != nil {
		t.Errorf("Single(two volumes) = a volume, want nil")
	}
	if err := fstest.TestFS(im, "1.hfs/dummy.app/Contents/Info.plist", "2.hfs/dummy.app/Contents/MacOS/dummy", "3.apfs"); err != nil {
		t.Errorf("TestFS(two volumes): %v", err)
	}
	if _, err := im.Volume("3.apfs"); !errors.Is(err, unpack.ErrUnsupported) {
		t.Errorf("Volume(3.apfs) = %v, want %v", err, unpack.ErrUnsupported)
	}
	var paths []string
	err = im.Walk(func(p string, size int64, r io.Reader) error {
		paths = append(paths, p)
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if err != nil || len(paths) != 9 {
		t.Errorf("Walk(two volumes) = %v, %q, want 9 files", err, paths)
	}
}

func TestRawDisk(t *testing.T) {
	vol := relicVolume(t)
	im, err := NewReader(bytes.NewReader(vol), int64(len(vol)))
	if err != nil {
		t.Fatalf("NewReader(raw HFS+ volume) = %v", err)
	}
	if _, err := fs.Stat(im, "dummy.app/Contents/Info.plist"); err != nil {
		t.Errorf("Stat(raw volume) = %v", err)
	}
	if _, err := NewReader(bytes.NewReader(make([]byte, 8192)), 8192); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("NewReader(zeros) = %v, want %v", err, unpack.ErrFormat)
	}
}

func TestHostile(t *testing.T) {
	sample, err := os.ReadFile(testutil.Sample(t, "dmg/relic-dummy.dmg"))
	if err != nil {
		t.Fatal(err)
	}
	vol := relicVolume(t)
	leaf := catalogLeaf(t, vol)
	be := binary.BigEndian
	patched := func(f func(v []byte)) []byte {
		v := append([]byte(nil), vol...)
		f(v)
		return wrapUDIF([]part{{"disk image (Apple_HFS : 0)", v}})
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"truncated-koly", sample[:len(sample)-200], unpack.ErrFormat},
		{"truncated-data", sample[len(sample)/2:], unpack.ErrFormat},
		{"truncated-tiny", sample[:10], unpack.ErrFormat},
		{"catalog-leaf-loop", patched(func(v []byte) { loopLeaf(v, leaf) }), unpack.ErrFormat},
		{"catalog-giant-name", patched(func(v []byte) { be.PutUint16(v[leaf+14+6:], 0xfff0) }), unpack.ErrFormat},
		{"volume-truncated", wrapUDIF([]part{{"disk image (Apple_HFS : 0)", vol[:len(vol)/2]}}), unpack.ErrFormat},
	}
	for _, tt := range tests {
		start := time.Now()
		_, err := NewReader(bytes.NewReader(tt.in), int64(len(tt.in)))
		if !errors.Is(err, tt.want) {
			t.Errorf("NewReader(%s) = %v, want %v", tt.name, err, tt.want)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("NewReader(%s) took %v", tt.name, d)
		}
	}
}

// loopLeaf points the leaf node at off back at itself.
func loopLeaf(v []byte, off int64) {
	be := binary.BigEndian
	bs := int64(be.Uint32(v[1024+0x28:]))
	cat := int64(be.Uint32(v[1024+0x110+16:])) * bs
	nodeSize := int64(be.Uint16(v[cat+14+18:]))
	be.PutUint32(v[off:], uint32((off-cat)/nodeSize))
}

// FuzzDMG opens arbitrary input as a disk image (UDIF or raw, any partition map) and walks
// and reads it: no panic, every path valid. The seeds are hand-made and a few KiB: a UDIF
// image holding one raw partition that looks like HFS+, and raw MBR and GPT disks. The real
// images are conformance inputs (TestGolden), not seeds the mutator must shrink; HFS+
// itself is fuzzed by hfs.FuzzHFS.
func FuzzDMG(f *testing.F) {
	for _, b := range dmgSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		im, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		testutil.WalkRead(t, im, 1<<20)
	})
}

// maxFuzzInput caps FuzzDMG's inputs: larger ones only make each execution slower.
const maxFuzzInput = 64 << 10

// dmgSeeds are FuzzDMG's hand-made seeds: a UDIF image of one raw partition that looks like
// HFS+, and raw MBR and GPT disks.
func dmgSeeds() [][]byte {
	vol := make([]byte, 2048)
	copy(vol[1024:], "H+\x00\x04")
	return [][]byte{wrapUDIF([]part{{name: "disk image (Apple_HFS : 1)", data: vol}}), mbrDisk(vol[:1024]), gptDisk(vol[:1024])}
}
