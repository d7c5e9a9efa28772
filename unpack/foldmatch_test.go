package unpack_test

import (
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/rollgate/rollgate/unpack"
)

func TestFoldMatch(t *testing.T) {
	dir := fstest.MapFS{"Setup-1.BIN": {}, "data1.cab": {}, "DATA1.CAB": {}, "other": {}}
	tests := []struct {
		name, want string
		err        error
	}{
		{"setup-1.bin", "Setup-1.BIN", nil},
		{"Setup-1.BIN", "Setup-1.BIN", nil},
		{"Data1.Cab", "", unpack.ErrAmbiguous},
		{"setup-2.bin", "", fs.ErrNotExist},
	}
	for _, tt := range tests {
		got, err := unpack.FoldMatch(dir, tt.name)
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("FoldMatch(%q) = %q, %v; want %q, %v", tt.name, got, err, tt.want, tt.err)
		}
	}
}
