/* plugin.c: a stand-in NSIS plug-in for inetc::get and NSISdl::download (PLUGIN_FN names the
 * export). makensis only reads the DLL's export table to compile a plug-in call, and the
 * fixture installers never run, so the real (large, third-party) plug-ins are not needed.
 * No headers: clang builds the i686 copy without a Windows SDK. */
int __stdcall DllMain(void *h, unsigned long reason, void *reserved)
{
	(void)h; (void)reason; (void)reserved;
	return 1;
}

__declspec(dllexport) void __cdecl PLUGIN_FN(void *hwnd, int len, void *vars, void **stack, void *extra)
{
	(void)hwnd; (void)len; (void)vars; (void)stack; (void)extra;
}
