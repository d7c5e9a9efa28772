/* gfxcomp.c: stand-in for gfxcomp_47.dll, the DLL whose signature the 3CX attack padded. */
#include <windows.h>

BOOL WINAPI DllMain(HINSTANCE h, DWORD reason, LPVOID reserved)
{
	(void)h; (void)reason; (void)reserved;
	return TRUE;
}

__declspec(dllexport) int gfx_compile(int x) { return x + 47; }
