//go:build !linux

package nsis

// newWindow returns the decoder's dictionary window of n bytes (see window_linux.go).
func newWindow(n int) []byte { return make([]byte, n) }

// adviseHuge does nothing: huge pages are asked for on Linux only (see window_linux.go).
func adviseHuge([]byte, int) {}
