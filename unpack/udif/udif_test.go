package udif

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/unpack"
)

// The disk every compression-*.dmg sample decodes to (7-Zip 26 agrees; see
// ../dmg/testdata/golden.txt).
const diskSHA256 = "0786ad1fdcba31a3f03ee80eb1d6e8c7ee2f4647a2b4b6f1855c9fe0719784de"

func openSample(t testing.TB, name string) (*Reader, []byte) {
	t.Helper()
	b, err := os.ReadFile(testutil.Sample(t, "dmg/"+name))
	if err != nil {
		t.Fatal(err)
	}
	z, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("NewReader(%q) = %v", name, err)
	}
	return z, b
}

func TestCompressionSamples(t *testing.T) {
	tests := []struct {
		sample string
		method string
	}{
		{"compression-adc.dmg", "adc"},
		{"compression-bz2.dmg", "bzip2"},
		{"compression-lzfse.dmg", "lzfse"},
		{"compression-raw.dmg", "raw"},
		{"compression-zlib.dmg", "zlib"},
	}
	for _, tt := range tests {
		z, _ := openSample(t, tt.sample)
		if z.Size() != 5242880 {
			t.Errorf("Size(%q) = %d, want 5242880", tt.sample, z.Size())
		}
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(z.Disk(), 0, z.Size())); err != nil {
			t.Fatalf("reading %q: %v", tt.sample, err)
		}
		if got := fmt.Sprintf("%x", h.Sum(nil)); got != diskSHA256 {
			t.Errorf("disk(%q) = %s, want %s", tt.sample, got, diskSHA256)
		}
		if err := z.Verify(); err != nil {
			t.Errorf("Verify(%q) = %v", tt.sample, err)
		}
		if m := strings.Join(z.Methods(), ","); !strings.Contains(m, tt.method) {
			t.Errorf("Methods(%q) = %s, want %s", tt.sample, m, tt.method)
		}
		var types []string
		for _, p := range z.Partitions() {
			types = append(types, fmt.Sprintf("%d.%s", p.Number, p.Type))
		}
		if got, want := strings.Join(types, " "), "0.MBR 1.Apple_Free 2.Windows_FAT_16 3.Windows_FAT_16 4.Apple_Free"; got != want {
			t.Errorf("Partitions(%q) = %s, want %s", tt.sample, got, want)
		}
	}
}

// Random access across chunk boundaries matches a sequential read.
func TestRandomAccess(t *testing.T) {
	z, _ := openSample(t, "compression-zlib.dmg")
	all := make([]byte, z.Size())
	if _, err := z.Disk().ReadAt(all, 0); err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 511, 65535, 65536 + 54*512 - 3, 1114112 - 7, z.Size() - 100} {
		b := make([]byte, 300)
		n, err := z.Disk().ReadAt(b, off)
		if err != nil && err != io.EOF {
			t.Fatalf("ReadAt(%d) = %v", off, err)
		}
		if !bytes.Equal(b[:n], all[off:off+int64(n)]) {
			t.Errorf("ReadAt(%d) differs from the sequential read", off)
		}
	}
}

// Concurrent readers share the chunk cache safely.
func TestConcurrentReads(t *testing.T) {
	z, _ := openSample(t, "compression-lzfse.dmg")
	all := make([]byte, z.Size())
	if _, err := z.Disk().ReadAt(all, 0); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			b := make([]byte, 4096)
			for i := range 200 {
				off := int64((g*7919 + i*104729) % int(z.Size()-4096))
				if _, err := z.Disk().ReadAt(b, off); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(b, all[off:off+4096]) {
					errs <- fmt.Errorf("ReadAt(%d) differs", off)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// --- synthetic images ---

type tchunk struct {
	typ      uint32
	sec, cnt uint64
	data     []byte // stored bytes (compressed)
	off      int64  // override of the data offset when >= 0
}

type ttable struct {
	name         string
	first, count uint64
	chunks       []tchunk
	crc          uint32
	hasCRC       bool
}

type image struct {
	tables    []ttable
	sectors   uint64 // koly sector count; 0: computed
	forkCRC   bool
	badCRC    bool
	plistPad  int
	plistRaw  string // replaces the generated property list
	master    bool   // write a master checksum
	badMaster bool
	sig       [2]uint64 // code signature offset and size
}

func (im image) build() []byte {
	var fork bytes.Buffer
	var plist strings.Builder
	plist.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict><key>resource-fork</key><dict><key>blkx</key><array>`)
	var sectors uint64
	for i, t := range im.tables {
		mish := make([]byte, 0xcc+40*(len(t.chunks)+1))
		be := binary.BigEndian
		copy(mish, "mish")
		be.PutUint32(mish[4:], 1)
		be.PutUint64(mish[8:], t.first)
		be.PutUint64(mish[0x10:], t.count)
		if t.hasCRC {
			be.PutUint32(mish[0x40:], 2)
			be.PutUint32(mish[0x44:], 32)
			be.PutUint32(mish[0x48:], t.crc)
		}
		be.PutUint32(mish[0xc8:], uint32(len(t.chunks)+1))
		for k, c := range t.chunks {
			e := mish[0xcc+40*k:]
			be.PutUint32(e, c.typ)
			be.PutUint64(e[8:], c.sec)
			be.PutUint64(e[0x10:], c.cnt)
			off := int64(fork.Len())
			if c.off >= 0 {
				off = c.off
			}
			be.PutUint64(e[0x18:], uint64(off))
			be.PutUint64(e[0x20:], uint64(len(c.data)))
			fork.Write(c.data)
		}
		be.PutUint32(mish[0xcc+40*len(t.chunks):], ChunkTerminator)
		fmt.Fprintf(&plist, "<dict><key>Attributes</key><string>0x0050</string><key>Data</key><data>%s</data><key>ID</key><string>%d</string><key>Name</key><string>%s</string></dict>",
			base64.StdEncoding.EncodeToString(mish), i-1, t.name)
		sectors = max(sectors, t.first+t.count)
	}
	plist.WriteString("</array></dict></dict></plist>")
	plist.WriteString(strings.Repeat(" ", im.plistPad))
	if im.plistRaw != "" {
		plist.Reset()
		plist.WriteString(im.plistRaw)
	}
	if im.sectors != 0 {
		sectors = im.sectors
	}
	out := append([]byte(nil), fork.Bytes()...)
	xmlOff := len(out)
	out = append(out, plist.String()...)
	koly := make([]byte, 512)
	be := binary.BigEndian
	copy(koly, "koly")
	be.PutUint32(koly[4:], 4)
	be.PutUint32(koly[8:], 512)
	be.PutUint64(koly[0x20:], uint64(fork.Len()))
	if im.forkCRC {
		crc := crc32.ChecksumIEEE(fork.Bytes())
		if im.badCRC {
			crc ^= 1
		}
		be.PutUint32(koly[0x50:], 2)
		be.PutUint32(koly[0x54:], 32)
		be.PutUint32(koly[0x58:], crc)
	}
	if im.master {
		var sums []byte
		for _, t := range im.tables {
			sums = binary.BigEndian.AppendUint32(sums, t.crc)
		}
		crc := crc32.ChecksumIEEE(sums)
		if im.badMaster {
			crc ^= 1
		}
		be.PutUint32(koly[0x160:], 2)
		be.PutUint32(koly[0x164:], 32)
		be.PutUint32(koly[0x168:], crc)
	}
	be.PutUint64(koly[0x128:], im.sig[0])
	be.PutUint64(koly[0x130:], im.sig[1])
	be.PutUint64(koly[0xd8:], uint64(xmlOff))
	be.PutUint64(koly[0xe0:], uint64(len(out)-xmlOff))
	be.PutUint64(koly[0x1ec:], sectors)
	return append(out, koly...)
}

func zlibBytes(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func goodImage() image {
	sector := bytes.Repeat([]byte("rollgate"), 64)
	two := append(append([]byte(nil), sector...), sector...)
	return image{forkCRC: true, master: true, tables: []ttable{{
		name: "disk image (Apple_HFS : 0)", first: 0, count: 6,
		chunks: []tchunk{
			{typ: ChunkZlib, sec: 0, cnt: 2, data: zlibBytes(two), off: -1},
			{typ: ChunkZero, sec: 2, cnt: 2, off: -1},
			{typ: ChunkRaw, sec: 4, cnt: 1, data: sector, off: -1},
			{typ: ChunkIgnore, sec: 5, cnt: 1, off: -1},
		},
		crc: crc32.ChecksumIEEE(append(append(two, make([]byte, 1024)...), sector...)), hasCRC: true,
	}}}
}

func xzBytes(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := xz.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func lzmaBytes(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := lzma.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestSynthetic(t *testing.T) {
	two := bytes.Repeat([]byte("rollgate"), 128)
	for name, c := range map[string]tchunk{
		"zlib": {typ: ChunkZlib, data: zlibBytes(two)},
		"xz":   {typ: ChunkLZMA, data: xzBytes(two)},
		"lzma": {typ: ChunkLZMA, data: lzmaBytes(two)},
	} {
		im := goodImage()
		c.cnt, c.off = 2, -1
		im.tables[0].chunks[0] = c
		b := im.build()
		z, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("NewReader(%s) = %v", name, err)
		}
		if err := z.Verify(); err != nil {
			t.Errorf("Verify(%s) = %v", name, err)
		}
		if z.Size() != 6*512 {
			t.Errorf("Size(%s) = %d, want %d", name, z.Size(), 6*512)
		}
	}
	im := goodImage()
	im.sig = [2]uint64{100, 20}
	b := im.build()
	z, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("NewReader(signed) = %v", err)
	}
	if off, size, ok := z.CodeSignature(); off != 100 || size != 20 || !ok {
		t.Errorf("CodeSignature() = %d, %d, %v, want 100, 20, true", off, size, ok)
	}
}

func TestHostile(t *testing.T) {
	sample, err := os.ReadFile(testutil.Sample(t, "dmg/compression-zlib.dmg"))
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(*image)) []byte {
		im := goodImage()
		f(&im)
		return im.build()
	}
	tests := []struct {
		name string
		in   []byte
		want error
		read bool // the error shows when reading, not when opening
	}{
		{"empty", nil, unpack.ErrFormat, false},
		{"encrypted", append([]byte("encrcdsa"), make([]byte, 1024)...), unpack.ErrUnsupported, false},
		{"truncated-100", sample[:100], unpack.ErrFormat, false},
		{"truncated-half", sample[:len(sample)/2], unpack.ErrFormat, false},
		{"truncated-1", sample[:len(sample)-1], unpack.ErrFormat, false},
		{"trailer-only", sample[len(sample)-512:], unpack.ErrFormat, false},
		{"chunk-past-eof", mod(func(im *image) { im.tables[0].chunks[0].off = 1 << 40 }), unpack.ErrFormat, false},
		{"huge-koly-sectors", mod(func(im *image) { im.sectors = 1 << 60 }), unpack.ErrLimit, false},
		{"huge-table-sectors", mod(func(im *image) { im.tables[0].count = 1 << 55 }), unpack.ErrLimit, false},
		{"huge-zero-run", mod(func(im *image) {
			im.tables[0].count = 1 << 40
			im.tables[0].chunks[1].cnt = 1<<40 - 10
		}), unpack.ErrLimit, false},
		{"huge-zlib-chunk", mod(func(im *image) {
			im.tables[0].count = 1 << 20
			im.tables[0].chunks[0].cnt = 1 << 19
			im.tables[0].chunks[1].sec = 1 << 19
		}), unpack.ErrLimit, false},
		{"chunk-outside-table", mod(func(im *image) { im.tables[0].chunks[2].sec = 99 }), unpack.ErrFormat, false},
		{"overlap", mod(func(im *image) {
			im.tables = append(im.tables, ttable{name: "x (Apple_Free : 1)", first: 1, count: 2, chunks: []tchunk{{typ: ChunkRaw, cnt: 2, data: make([]byte, 1024), off: -1}}})
		}), unpack.ErrFormat, false},
		{"unknown-chunk-type", mod(func(im *image) { im.tables[0].chunks[1].typ = 0x80000099 }), unpack.ErrUnsupported, false},
		{"raw-too-short", mod(func(im *image) { im.tables[0].chunks[2].data = []byte("x") }), unpack.ErrFormat, false},
		{"fork-crc", mod(func(im *image) { im.badCRC = true }), unpack.ErrFormat, false},
		{"master-crc", mod(func(im *image) { im.badMaster = true }), unpack.ErrFormat, false},
		{"signature-past-eof", mod(func(im *image) { im.sig = [2]uint64{10, 1 << 40} }), unpack.ErrFormat, false},
		{"table-crc", mod(func(im *image) { im.tables[0].crc++ }), unpack.ErrFormat, true},
		{"zlib-short", mod(func(im *image) { im.tables[0].chunks[0].data = zlibBytes([]byte("short")) }), unpack.ErrFormat, true},
		{"zlib-garbage", mod(func(im *image) { im.tables[0].chunks[0].data = []byte("not zlib at all") }), unpack.ErrFormat, true},
		{"lzfse-garbage", mod(func(im *image) {
			im.tables[0].chunks[0].typ = ChunkLZFSE
			im.tables[0].chunks[0].data = []byte("bvx2 garbage")
		}), unpack.ErrFormat, true},
		{"adc-garbage", mod(func(im *image) {
			im.tables[0].chunks[0].typ = ChunkADC
			im.tables[0].chunks[0].data = []byte{0x00, 0xff}
		}), unpack.ErrFormat, true},
		{"no-tables", mod(func(im *image) { im.tables = nil }), unpack.ErrFormat, false},
		{"plist-too-big", mod(func(im *image) { im.plistPad = MaxPlistBytes }), unpack.ErrLimit, false},
		{"plist-deep", mod(func(im *image) {
			im.plistRaw = "<plist>" + strings.Repeat("<array>", 100000) + strings.Repeat("</array>", 100000) + "</plist>"
		}), unpack.ErrLimit, false},
		{"plist-binary", mod(func(im *image) { im.plistRaw = "bplist00\x00\x01" }), unpack.ErrFormat, false},
		{"plist-garbage", mod(func(im *image) { im.plistRaw = "<plist><dict><key>resource-fork</key><dict>" }), unpack.ErrFormat, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			z, err := NewReader(bytes.NewReader(tt.in), int64(len(tt.in)))
			if err == nil && tt.read {
				err = z.Verify()
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("NewReader(%s) = %v, want %v", tt.name, err, tt.want)
			}
			var fe *unpack.FormatError
			if err != nil && !errors.As(err, &fe) {
				t.Errorf("NewReader(%s) = %T, want *unpack.FormatError", tt.name, err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("NewReader(%s) took %v", tt.name, d)
			}
		})
	}
}

// FuzzUDIF opens arbitrary input as a UDIF image and reads its disk and small partitions:
// no panic. The seed is the hand-made image of the table tests; the real images are
// conformance inputs (TestCompressionSamples, BenchmarkDecode), not seeds the mutator must shrink.
func FuzzUDIF(f *testing.F) {
	f.Add(goodImage().build())
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		z, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		// Read the first 8 MiB of the disk and every small partition stream.
		io.Copy(io.Discard, io.NewSectionReader(z.Disk(), 0, min(z.Size(), 8<<20)))
		for i, p := range z.Partitions() {
			if p.Size <= 8<<20 {
				io.Copy(io.Discard, z.Partition(i))
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	for _, s := range []string{"compression-adc.dmg", "compression-bz2.dmg", "compression-lzfse.dmg", "compression-raw.dmg", "compression-zlib.dmg"} {
		b.Run(strings.TrimSuffix(strings.TrimPrefix(s, "compression-"), ".dmg"), func(b *testing.B) {
			data, err := os.ReadFile(testutil.Sample(b, "dmg/"+s))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(5242880)
			for b.Loop() {
				z, err := NewReader(bytes.NewReader(data), int64(len(data)))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, io.NewSectionReader(z.Disk(), 0, z.Size())); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// maxFuzzInput caps FuzzUDIF's inputs: larger ones only make each execution slower.
const maxFuzzInput = 64 << 10
