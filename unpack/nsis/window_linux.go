//go:build linux

package nsis

import (
	"syscall"
	"unsafe"
)

// hugePage is the size of an x86-64 (and arm64 4K-granule) transparent huge page.
const hugePage = 2 << 20

// newWindow returns the decoder's dictionary window of n bytes; on Linux a window of
// hugePage bytes or more starts on a hugePage boundary, so that adviseHuge can put it on huge
// pages. That costs hugePage bytes more address space, not more resident memory: the bytes
// before the boundary are never touched.
func newWindow(n int) []byte {
	if n < hugePage {
		return make([]byte, n)
	}
	b := make([]byte, n+hugePage)
	off := int(-uintptr(unsafe.Pointer(&b[0])) & (hugePage - 1))
	return b[off : off+n : off+n]
}

// adviseHuge asks for transparent huge pages under the window (madvise MADV_HUGEPAGE; the THP
// mode is often "madvise", so nothing gets them unasked): match sources lie anywhere in a
// window of megabytes, and with 4 KiB pages most of their reads miss the TLB as well as the
// cache. Parts already touched keep their pages until the kernel collapses them. Where the
// kernel refuses, the window stays as it is.
func adviseHuge(w []byte) {
	if n := len(w) &^ (hugePage - 1); n > 0 && uintptr(unsafe.Pointer(&w[0]))&(hugePage-1) == 0 {
		_ = syscall.Madvise(w[:n], syscall.MADV_HUGEPAGE)
	}
}
