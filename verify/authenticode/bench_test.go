package authenticode

import (
	"bytes"
	"encoding/binary"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/rollgate/rollgate/inventory"
)

func BenchmarkVerifyPE(b *testing.B) {
	data := readFile(b, "testdata/signed-ts.exe")
	v := verifier(b, "root.pem")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := v.VerifyPE(bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}

// sparseFile is head, then zeros zero bytes, then tail, without holding the zeros.
type sparseFile struct {
	head  []byte
	zeros int64
	tail  []byte
}

func (s *sparseFile) size() int64 { return int64(len(s.head)) + s.zeros + int64(len(s.tail)) }

func (s *sparseFile) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) && off < s.size() {
		switch {
		case off < int64(len(s.head)):
			k := copy(p[n:], s.head[off:])
			n, off = n+k, off+int64(k)
		case off < int64(len(s.head))+s.zeros:
			k := int(min(int64(len(p)-n), int64(len(s.head))+s.zeros-off))
			clear(p[n : n+k])
			n, off = n+k, off+int64(k)
		default:
			k := copy(p[n:], s.tail[off-int64(len(s.head))-s.zeros:])
			n, off = n+k, off+int64(k)
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// A large image is hashed as a stream: memory stays far below its size.
func TestVerifyPEStreams(t *testing.T) {
	image, ddOff, der := peTable(t)
	const zeros = 64 << 20
	full := withTable(image, ddOff, nil, winCert{rev: 0x200, typ: 2, body: der})
	head, table := full[:len(image)], full[len(image):]
	binary.LittleEndian.PutUint32(head[ddOff:], uint32(len(image)+zeros))
	binary.LittleEndian.PutUint32(head[ddOff+4:], uint32(len(table)))
	f := &sparseFile{head: head, zeros: zeros, tail: table}
	v := verifier(t, "root.pem")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := v.VerifyPE(f, f.size())
	runtime.ReadMemStats(&after)
	if err != nil || got.State != inventory.SigInvalid || !strings.Contains(got.IntegrityError, "digest mismatch") {
		t.Fatalf("VerifyPE(64 MiB image) = %+v, %v, want a digest mismatch", got, err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("VerifyPE(64 MiB image) allocated %d bytes", alloc)
	if alloc > 4<<20 {
		t.Errorf("VerifyPE(64 MiB image) allocated %d bytes, want under 4 MiB", alloc)
	}
}
