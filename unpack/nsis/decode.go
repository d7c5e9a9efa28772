package nsis

import (
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/rollgate/rollgate/unpack"
)

// Method is the compressor an installer was built with (makensis SetCompressor).
type Method int

// Compression methods.
const (
	Stored Method = iota // uncompressed header and blocks
	Deflate
	BZip2
	LZMA
)

func (m Method) String() string {
	switch m {
	case Deflate:
		return "zlib"
	case BZip2:
		return "bzip2"
	case LZMA:
		return "lzma"
	}
	return "stored"
}

const compressedBit = 1 << 31

// detectMethod classifies the bytes after the firstheader the way 7-Zip's NSIS handler does
// (NsisIn.cpp, Open2): a solid LZMA stream opens with the properties 0x5D 00 00 dd dd 00; a
// non-solid archive opens with the header block's 4-byte length whose top bit marks it
// compressed; a headerless bzip2 stream opens with the block magic's first byte '1' and the
// block size digit; anything else is raw deflate. A stored header (length == headerLen) is a
// non-solid archive built with SetCompress off.
func detectMethod(sig []byte, headerLen uint32) (m Method, solid bool, err error) {
	if len(sig) < 12 {
		return 0, false, errors.New("too short for a compressed header")
	}
	if binary.LittleEndian.Uint32(sig) == headerLen {
		return Stored, false, nil
	}
	if isLZMA(sig) {
		return LZMA, true, nil
	}
	if sig[0] <= 1 && isLZMA(sig[1:]) {
		return 0, false, errors.New("LZMA with a BCJ filter flag (7-Zip's own installers)")
	}
	if sig[3] == 0x80 {
		switch {
		case isLZMA(sig[4:]):
			return LZMA, false, nil
		case sig[4] <= 1 && isLZMA(sig[5:]):
			return 0, false, errors.New("LZMA with a BCJ filter flag (7-Zip's own installers)")
		case isBZip2(sig[4:]):
			return BZip2, false, nil
		}
		return Deflate, false, nil
	}
	if isBZip2(sig) {
		return BZip2, true, nil
	}
	return Deflate, true, nil
}

func isLZMA(p []byte) bool {
	return len(p) >= 7 && p[0] == 0x5D && p[1] == 0 && p[2] == 0 && p[5] == 0 && p[6]&0x80 == 0
}

func isBZip2(p []byte) bool { return len(p) >= 2 && p[0] == 0x31 && p[1] < 14 }

// newDecoder returns the decompressor for one compressed stream (a solid archive's whole
// data, or one non-solid block) read from src.
func newDecoder(m Method, src io.Reader, maxDict uint32) (io.Reader, error) {
	switch m {
	case Deflate:
		return flate.NewReader(src), nil
	case BZip2:
		return newNSISBzip2(src), nil
	case LZMA:
		var props [5]byte
		if _, err := io.ReadFull(src, props[:]); err != nil {
			return nil, fmt.Errorf("lzma properties: %w", err)
		}
		if d := binary.LittleEndian.Uint32(props[1:]); d > maxDict {
			return nil, fmt.Errorf("lzma dictionary of %d bytes (limit %d): %w", d, maxDict, unpack.ErrLimit)
		}
		return newLZMA(src, props)
	}
	return src, nil
}
