// Package realfiles holds the real-file conformance test: rollgate's verdicts on signed files
// that other projects publish (Debian's EFI binaries and kernels, vendor-signed Windows
// binaries from npm), held against the reference tools' verdicts recorded in
// testdata/realfiles/manifest.json. The files are fetched by scripts/fetch-realfiles into a
// cache outside the repository; the test skips when the cache is absent (fails under CI=true).
package realfiles
