package mszip

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"testing"

	"github.com/rollgate/rollgate/unpack"
)

// FuzzMSZIP checks two things. Valid streams: data compressed by compress/flate into MSZIP
// blocks (level and block size taken from the input) must decode to data with 1 and 3
// workers. Garbage: data itself taken as one block's deflate stream must never panic, fail only
// with ErrFormat, and when compress/flate decodes it to at most MaxBlockBytes bytes this
// decoder must agree byte for byte.
func FuzzMSZIP(f *testing.F) {
	f.Add([]byte("hello, hello, hello world"), uint8(6), uint16(100))
	// Three blocks carrying history across block boundaries, from 8 KiB (a 70 KB seed made
	// every mutation of it cost three compress/flate writers over 70 KB).
	f.Add(textData(8000, 1), uint8(9), uint16(1000))
	f.Add(textData(8000, 3), uint8(6), uint16(32767))
	f.Add(randomData(5000, 2), uint8(0), uint16(1000))
	f.Add([]byte{0x01, 0x03, 0x00, 0xfc, 0xff, 'a', 'b', 'c'}, uint8(1), uint16(3))
	var fixed bytes.Buffer
	w, _ := flate.NewWriter(&fixed, flate.BestSpeed)
	w.Write([]byte("abcabcabcabcabcabc"))
	w.Close()
	f.Add(fixed.Bytes(), uint8(2), uint16(7))
	f.Fuzz(func(t *testing.T, data []byte, level uint8, bs uint16) {
		if len(data) > 128<<10 { // room for three full 32 KiB blocks
			return
		}
		// Valid streams.
		lv := int(level)%11 - 2 // -2 (Huffman only) .. 9
		// At most 3 blocks: each costs compress/flate a new writer.
		blockSize := max(1+int(bs)%MaxBlockBytes, len(data)/3+1)
		bl := encode(t, data, lv, blockSize)
		for _, workers := range []int{1, 3} {
			got, err := decodeAll(bl, int64(len(data)), workers)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("decode(level %d, block %d, workers %d) = %d bytes, %v; want the %d input bytes", lv, blockSize, workers, len(got), err, len(data))
			}
		}

		// Garbage as one block.
		if len(data) > MaxPayloadBytes-2 {
			return
		}
		want, werr := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(data)), MaxBlockBytes+1))
		uncomp := min(len(want), MaxBlockBytes)
		payload := append([]byte("CK"), data...)
		got, err := decodeAll([]block{{payload: payload, uncomp: uncomp}}, int64(uncomp), 1)
		if err != nil && !errors.Is(err, unpack.ErrFormat) {
			t.Fatalf("decode(garbage) = %v, want nil or ErrFormat", err)
		}
		if werr == nil && len(want) <= MaxBlockBytes {
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("decode(garbage) = %q, %v; compress/flate decodes %q", got, err, want)
			}
		}
		if err == nil && werr != nil {
			t.Fatalf("decode(garbage) = %q, nil; compress/flate fails with %v", got, werr)
		}
	})
}
