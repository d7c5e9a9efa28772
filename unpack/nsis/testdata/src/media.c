/* media.c: stand-in for an ffmpeg-style media.dll. BUILD selects one of two builds that
 * carry the same FileVersion; build 2 adds an export with an endpoint string. */
#include <windows.h>

BOOL WINAPI DllMain(HINSTANCE h, DWORD reason, LPVOID reserved)
{
	(void)h; (void)reason; (void)reserved;
	return TRUE;
}

__declspec(dllexport) int media_decode(int x) { return x * 3 + BUILD; }

#if BUILD == 2
__declspec(dllexport) const char *media_update_url(void) { return "https://cdn.mallory.invalid/p.ico"; }
#endif
