package nsis

import (
	"bytes"
	"io"
	"testing"
)

func TestBzip2Hostile(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":            nil,
		"bad signature":    {0x42, 0x5a},
		"no symbols":       {0x31, 0, 0, 0, 0, 0},
		"truncated block":  {0x31, 0, 0, 0, 0x80, 0, 0x80, 0},
		"end marker alone": {0x17},
	} {
		_, err := io.ReadAll(newNSISBzip2(bytes.NewReader(data)))
		if name == "end marker alone" {
			if err != nil {
				t.Errorf("%s: %v, want a clean end", name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzBzip2 feeds arbitrary streams to the NSIS bzip2 decoder: errors are fine, panics are
// not.
func FuzzBzip2(f *testing.F) {
	r := open(f, "acme-bzip2-solid-ansi.exe")
	data := readFixture(f, "acme-bzip2-solid-ansi.exe")
	f.Add(data[r.dataStart:min(r.dataEnd, r.dataStart+4096)])
	f.Fuzz(func(t *testing.T, data []byte) {
		io.Copy(io.Discard, io.LimitReader(newNSISBzip2(bytes.NewReader(data)), 64<<20))
	})
}
