package unpack

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWinComponents: trailing periods and spaces as Win32 path normalisation trims them.
func TestWinComponents(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"redist", "version.dll."}, []string{"redist", "version.dll"}},
		{[]string{"redist", "version.dll . ."}, []string{"redist", "version.dll"}},
		{[]string{"dir.", "a"}, []string{"dir", "a"}},
		{[]string{"dir..", "a "}, []string{"dir..", "a"}},
		{[]string{"dir ", "a"}, []string{"dir ", "a"}},
		{[]string{"..", "."}, []string{"..", "."}},
		{[]string{"a", "..."}, []string{"a", ""}},
	}
	for _, tt := range tests {
		got := WinComponents(append([]string(nil), tt.in...))
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("WinComponents(%q) (-want +got)\n%s", tt.in, d)
		}
	}
}
