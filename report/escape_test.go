package report

import "testing"

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ProgramFiles64Folder/Acme/core.dll", "ProgramFiles64Folder/Acme/core.dll"},
		{"evil\x1b]0;pwned\x07.dll", `evil\x1b]0;pwned\x07.dll`},
		{"a\nb\r", `a\x0ab\x0d`},
		{"gpj.\u202eexe", `gpj.\u202eexe`},
		{"C:\\Program Files", `C:\Program Files`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"résumé 日本", "résumé 日本"},
		{"\u0085next", `\u0085next`},
	}
	for _, tt := range tests {
		if got := Clean(tt.in); got != tt.want {
			t.Errorf("Clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
