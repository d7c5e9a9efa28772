//go:build linux

package nsis

import (
	"syscall"
	"unsafe"
)

// newWindow returns the decoder's dictionary window of n bytes. On Linux a window of 2 MiB
// or more starts on a 2 MiB boundary and asks for transparent huge pages (madvise
// MADV_HUGEPAGE; the machine's THP mode is often "madvise"): match sources lie anywhere in
// a window of megabytes, and with 4 KiB pages most of their reads also miss the TLB. The
// window costs 2 MiB more address space, not more resident memory (the bytes before the
// boundary are never touched). Where the kernel refuses, the window is an ordinary one.
func newWindow(n int) []byte {
	const huge = 2 << 20
	if n < huge {
		return make([]byte, n)
	}
	b := make([]byte, n+huge)
	off := int(-uintptr(unsafe.Pointer(&b[0])) & (huge - 1))
	w := b[off : off+n : off+n]
	_ = syscall.Madvise(w[:n&^(huge-1)], syscall.MADV_HUGEPAGE)
	return w
}
