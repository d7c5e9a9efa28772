/* stub.c — the PE stub of rollgate's synthetic Burn bundle fixtures (gen.sh builds it with
 * mingw-w64). It does nothing when run; what matters is its .wixburn section, laid out as the
 * WiX Burn engine's (src/burn/stub/StubSection.cpp): magic, version, bundle id, stub size,
 * original checksum and signature, container format and count, and room for 8 container
 * sizes. gen.go fills the fields in. */
typedef unsigned int DWORD;

__attribute__((section(".wixburn"), used)) static const DWORD wixburn[12 + 8] = {
	0x00f14300, 0x00000002, /* magic, version */
	0, 0, 0, 0,             /* bundle id (a GUID) */
	0, 0, 0, 0,             /* stub size, original checksum, signature offset, size */
	1, 0,                   /* format (cabinet), container count */
};

int start(void) { return (int)wixburn[0] & 0; }
