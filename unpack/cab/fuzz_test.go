package cab

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzCAB opens, walks and reads the whole fs.FS of arbitrary input: no panic, no error
// other than ErrFormat / ErrUnsupported / ErrLimit, every path valid.
func FuzzCAB(f *testing.F) {
	for _, glob := range []string{"*.cab", "libmspack/good/*.cab", "libmspack/bad/*.cab"} {
		paths, _ := filepath.Glob(filepath.Join(samplesDir(), "cab", glob))
		for _, p := range paths {
			if data, err := os.ReadFile(p); err == nil && len(data) <= 64<<10 {
				f.Add(data)
			}
		}
	}
	f.Add(buildCab(cabSpec{folders: []testFolder{{method: compMSZIP, files: []testFile{
		{name: `d\a`, data: bytes.Repeat([]byte("abc"), 20000)}, {name: "b", data: []byte("x")},
	}}}, blockSize: 4096, reserve: [3]int{2, 1, 1}}))
	f.Add(buildCab(cabSpec{folders: []testFolder{
		{method: compNone, files: []testFile{{name: "s", data: []byte("stored")}}},
		{method: compMSZIP, files: []testFile{{name: "m", data: []byte("mszip")}}},
	}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := readAll(t, data); err != nil && !refused(err) {
			t.Fatalf("read = %v, want nil or ErrFormat/ErrUnsupported/ErrLimit", err)
		}
	})
}

// samplesDir finds the conformance samples without skipping (the fuzz corpus is optional).
func samplesDir() string {
	if d := os.Getenv("ROLLGATE_SAMPLES"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "samples")
}
