/* core.dll: Acme's own library. 1.0 and 1.1 differ in code and version (a benign bump). */
#include <string.h>

#ifndef CORE_BUILD
#error "CORE_BUILD must be defined"
#endif

__declspec(dllexport) int acme_core_init(const char *update_url)
{
    int n = (int)strlen(update_url);
#if CORE_BUILD >= 11
    /* 1.1: checks that the update channel is https */
    if (strncmp(update_url, "https://", 8) != 0)
        return -1;
    return n * 3 + 11;
#else
    return n * 2 + 10;
#endif
}
