/* d3dcompiler_47.dll: a stand-in for Microsoft's shader compiler, signed by the
 * "Test Platform Publisher". The padded fixture keeps these exact bytes and only grows the
 * Authenticode certificate table (CVE-2013-3900 pattern). */
#define E_NOTIMPL_ 0x80004001L

__declspec(dllexport) long __stdcall D3DCompile(const void *src, unsigned long long size,
        const char *name, const void *defines, void *include, const char *entry,
        const char *target, unsigned flags1, unsigned flags2, void **code, void **errors)
{
    (void)src; (void)size; (void)name; (void)defines; (void)include; (void)entry;
    (void)target; (void)flags1; (void)flags2;
    if (code)
        *code = 0;
    if (errors)
        *errors = 0;
    return E_NOTIMPL_;
}

__declspec(dllexport) long __stdcall D3DGetBlobPart(const void *data, unsigned long long size,
        int part, unsigned flags, void **blob)
{
    (void)data; (void)size; (void)part; (void)flags;
    if (blob)
        *blob = 0;
    return E_NOTIMPL_;
}
