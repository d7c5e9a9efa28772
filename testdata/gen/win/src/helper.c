/* helper.dll: the small DLL the Beacon dropper variant carries as RCDATA resource 101, writes
 * to %APPDATA%\Beacon\helper.dll and loads. Built without the C runtime: no imports at all. */
typedef int BOOL;
typedef unsigned long DWORD;

BOOL __stdcall HelperEntry(void *inst, DWORD reason, void *reserved)
{
    (void)inst; (void)reason; (void)reserved;
    return 1;
}

__declspec(dllexport) int helper_hello(void)
{
    return 42;
}
