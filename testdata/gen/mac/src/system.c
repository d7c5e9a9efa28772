/* Stub libSystem so ld64.lld can link without an SDK: only dyld_stub_binder is needed. */
void stub_binder(void) __asm__("dyld_stub_binder");
void stub_binder(void) {}
