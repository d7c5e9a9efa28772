package gate

import "testing"

func TestWorstCode(t *testing.T) {
	// usage 2 wins, then inconclusive 3, then fail 1, then pass 0
	order := []int{ExitPass, ExitFail, ExitInconclusive, ExitUsage}
	for i := 1; i < len(order); i++ {
		if got := WorstCode(order[i-1], order[i]); got != order[i] {
			t.Errorf("WorstCode(%d, %d) = %d, want %d", order[i-1], order[i], got, order[i])
		}
		if got := WorstCode(order[i], order[i-1]); got != order[i] {
			t.Errorf("WorstCode(%d, %d) = %d, want %d", order[i], order[i-1], got, order[i])
		}
	}
}

func TestUniqueReportName(t *testing.T) {
	used := map[string]bool{}
	tests := []struct{ in, want string }{
		{"dist/acme-1.1.msi", "acme-1.1.msi.json"},
		{"other/acme-1.1.msi", "acme-1.1.msi-2.json"},
		{"other/ACME-1.1.msi", "ACME-1.1.msi-3.json"},
		{"x/../..", "installer.json"},
		{"evil name;rm -rf.msi", "evil_name_rm_-rf.msi.json"},
		{"..\\..\\win.msi", "_.._win.msi.json"},
	}
	for _, tt := range tests {
		if got := uniqueReportName(tt.in, used); got != tt.want {
			t.Errorf("uniqueReportName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
