/* Stand-in for Electron's libffmpeg.dylib. FFMPEG_BUILD changes the code, not the version. */
#ifndef FFMPEG_BUILD
#define FFMPEG_BUILD 1
#endif
int avcodec_version(void) { return 3881316; }
int avcodec_build(void) { return FFMPEG_BUILD; }
#if FFMPEG_BUILD == 666
/* The trojanised build: an extra routine, same exported version. */
int avcodec_open_extra(int x) { return x * 31 + FFMPEG_BUILD; }
#endif
