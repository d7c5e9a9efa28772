/* Acme Softphone main executable: loads libffmpeg.dylib through @rpath. */
#ifndef ACME_VERSION
#define ACME_VERSION 100
#endif
int avcodec_version(void);
int main(void) { return avcodec_version() == ACME_VERSION; }
