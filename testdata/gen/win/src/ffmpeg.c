/* ffmpeg.dll: the "third-party" DLL (the role 3CX's ffmpeg.dll played). FileVersion 4.4.0.0.
 * Built with -DTROJAN it gains an extra export that references an attacker URL, while its
 * version resource stays identical -> content.changed-same-version + strings.endpoint-added.
 * Nothing here ever opens a connection. */
__declspec(dllexport) const char *av_version_info(void)
{
    return "4.4";
}

__declspec(dllexport) unsigned avcodec_version(void)
{
    return (58u << 16) | (134u << 8) | 100u;
}

#ifdef TROJAN
/* Kept whole in .rdata (not folded into immediate stores) so string scanners see it. */
static const char payload_url[] = "https://cdn.mallory.invalid/p.ico";
static volatile int armed;

/* Returns the URL a real loader would fetch its next stage from (after a delay it would
 * count with `armed`). Not called by AcmePhone; never opens a connection. */
__declspec(dllexport) const char *av_hwdevice_sync(void)
{
    armed++;
    return payload_url;
}
#endif
