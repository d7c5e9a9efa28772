package nsis

import "io"

// FindFirstHeader returns the offset of the first NSIS firstheader signature at a 512-byte
// boundary of r within its first MaxStubSearchBytes, as NSIS's own stub looks for it (from
// the start of its file, in 512-byte steps, wherever the PE's sections end). It only says
// where a stub would find its data; NewReader checks the rest.
func FindFirstHeader(r io.ReaderAt, size int64) (int64, bool) {
	limit := min(size, MaxStubSearchBytes)
	buf := make([]byte, 64<<10)
	for base := int64(0); base < limit; base += int64(len(buf)) {
		n, err := r.ReadAt(buf, base)
		for off := 0; off+firstHeaderSize <= n; off += alignment {
			if string(buf[off+4:off+20]) == string(signature) {
				return base + int64(off), true
			}
		}
		if err != nil {
			break
		}
	}
	return 0, false
}
