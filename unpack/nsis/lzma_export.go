package nsis

import "io"

// NewLZMAReader returns this package's raw LZMA decoder (see lzma.go) for other readers that
// meet the same stream shape: a 5-byte properties header already split off into props
// (lc/lp/pb byte, little-endian dictionary size), then range-coded data with or without an end
// marker. unpack/inno reads Inno Setup's LZMA1 header blocks and chunks with it. The window is
// the dictionary size from props (at least 4 KiB): callers bound it before calling.
// Corrupt data ends in an error, never a panic; reading past the end of src yields io.EOF
// only once the stream has ended.
func NewLZMAReader(src io.Reader, props [5]byte) (io.Reader, error) {
	return newLZMA(src, props)
}
