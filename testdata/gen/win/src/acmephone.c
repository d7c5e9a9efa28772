/* AcmePhone.exe: the "signed main program" of the Acme Softphone fixture (the role
 * 3CXDesktopApp.exe played). It imports ffmpeg.dll, d3dcompiler_47.dll and core.dll and
 * embeds the vendor's update URL. It never touches the network: it prints one line and exits.
 * ACME_VERSION is set by gen.sh ("1.0.0" or "1.1.0"). */
#include <stdio.h>
#include <string.h>

#ifndef ACME_VERSION
#error "ACME_VERSION must be defined"
#endif

__declspec(dllimport) const char *av_version_info(void);
__declspec(dllimport) long __stdcall D3DCompile(const void *src, size_t size, const char *name,
        const void *defines, void *include, const char *entry, const char *target,
        unsigned flags1, unsigned flags2, void **code, void **errors);
__declspec(dllimport) int acme_core_init(const char *update_url);

static const char update_url[] = "https://api.acme-softphone.test/v1/update";

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--update-url") == 0) {
        puts(update_url);
        return 0;
    }
    void *code = NULL, *errors = NULL;
    long hr = D3DCompile("float4 main() : SV_Target { return 0; }", 40, "acme.hlsl",
                         NULL, NULL, "main", "ps_5_0", 0, 0, &code, &errors);
    int core = acme_core_init(update_url);
#if ACME_BUILD >= 11
    /* new in 1.1: a user-visible change, so the code section differs too */
    printf("Acme Softphone " ACME_VERSION " ready (ffmpeg %s, core %d, shaders 0x%lx, codecs: opus g722)\n",
           av_version_info(), core, (unsigned long)hr);
#else
    printf("Acme Softphone " ACME_VERSION " ready (ffmpeg %s, core %d, shaders 0x%lx)\n",
           av_version_info(), core, (unsigned long)hr);
#endif
    return 0;
}
