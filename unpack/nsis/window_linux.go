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

// madvCollapse is MADV_COLLAPSE (Linux 6.1, include/uapi/asm-generic/mman-common.h), which
// package syscall does not name.
const madvCollapse = 25

// adviseHuge asks for transparent huge pages under the window (madvise MADV_HUGEPAGE; the THP
// mode is often "madvise", so nothing gets them unasked): match sources lie anywhere in a
// window of megabytes, and with 4 KiB pages most of their reads miss the TLB as well as the
// cache. The first touched bytes of the window already have 4 KiB pages: MADV_COLLAPSE
// moves them onto huge pages now rather than whenever khugepaged gets to them. Where the
// kernel refuses either, the window stays as it is.
func adviseHuge(w []byte, touched int) {
	n := len(w) &^ (hugePage - 1)
	if n == 0 || uintptr(unsafe.Pointer(&w[0]))&(hugePage-1) != 0 {
		return
	}
	if syscall.Madvise(w[:n], syscall.MADV_HUGEPAGE) != nil {
		return
	}
	if t := min(n, (touched+hugePage-1)&^(hugePage-1)); t > 0 {
		_ = syscall.Madvise(w[:t], madvCollapse)
	}
}
