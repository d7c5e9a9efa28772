/* version.dll: an unsigned DLL carrying a Windows system DLL's name, dropped beside
 * AcmePhone.exe (DLL search-order side-loading) -> sideload.system-name and
 * file.added-unsigned-code. It only exports harmless stubs; it does nothing on load.
 * (windows.h is not included: its dllimport declarations of these names would clash.) */
typedef int BOOL;
typedef unsigned long DWORD;
typedef unsigned short WCHAR;

__declspec(dllexport) BOOL __stdcall GetFileVersionInfoW(const WCHAR *name, DWORD handle, DWORD len, void *data)
{
    (void)name; (void)handle; (void)len; (void)data;
    return 0;
}

__declspec(dllexport) DWORD __stdcall GetFileVersionInfoSizeW(const WCHAR *name, DWORD *handle)
{
    (void)name;
    if (handle)
        *handle = 0;
    return 0;
}

__declspec(dllexport) BOOL __stdcall VerQueryValueW(const void *block, const WCHAR *sub, void **buf, unsigned *len)
{
    (void)block; (void)sub;
    if (buf)
        *buf = 0;
    if (len)
        *len = 0;
    return 0;
}
