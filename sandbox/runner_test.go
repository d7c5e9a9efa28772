package sandbox

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
)

func TestPrograms(t *testing.T) {
	const dir = "ProgramFiles64Folder/Acme"
	entries := []inventory.Entry{
		{Path: dir + "/app.exe", Kind: inventory.KindPE},
		{Path: dir + "/svc.exe", Kind: inventory.KindPE},
		{Path: dir + "/tray.exe", Kind: inventory.KindPE},
		{Path: dir + "/core.dll", Kind: inventory.KindPE},
		{Path: dir + "/readme.txt", Kind: inventory.KindData},
	}
	tests := []struct {
		name string
		inv  inventory.Inventory
		want []inventory.ProgramRun
	}{
		{"nothing points anywhere: every installed executable", inventory.Inventory{Entries: entries},
			[]inventory.ProgramRun{
				{Path: `C:\Program Files\Acme\app.exe`, Reason: ReasonInstalled},
				{Path: `C:\Program Files\Acme\svc.exe`, Reason: ReasonInstalled},
				{Path: `C:\Program Files\Acme\tray.exe`, Reason: ReasonInstalled},
			}},
		{"shortcut, service and Run value, each once", inventory.Inventory{Entries: entries,
			Shortcuts: []inventory.Shortcut{{Name: "App", Target: dir + "/app.exe"}, {Name: "Again", Target: dir + "/app.exe"}},
			MSI: &inventory.MSITables{
				Services: []inventory.Service{{Name: "AcmeSvc", Binary: dir + "/svc.exe"}},
				Registry: []inventory.RegistryRow{
					{Root: 2, Key: `Software\Microsoft\Windows\CurrentVersion\Run`, Name: "Tray", Value: `"` + dir + `/tray.exe" --tray`},
					{Root: 2, Key: `Software\Acme`, Name: "Path", Value: dir + "/app.exe"},
				},
			}},
			[]inventory.ProgramRun{
				{Path: `C:\Program Files\Acme\app.exe`, Reason: ReasonShortcut},
				{Path: `C:\Program Files\Acme\svc.exe`, Reason: ReasonService},
				{Path: `C:\Program Files\Acme\tray.exe`, Reason: ReasonAutostart},
			}},
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, Programs(&tt.inv)); d != "" {
			t.Errorf("%s: Programs (-want +got)\n%s", tt.name, d)
		}
	}
}

func TestRunAgainOnTimeout(t *testing.T) {
	timeout := func(context.Context, Spec) (*inventory.Behaviour, error) {
		return &inventory.Behaviour{Reason: "timeout: the guest was killed after 5m0s"}, fmt.Errorf("%w after 5m0s", ErrTimeout)
	}
	clean := func(context.Context, Spec) (*inventory.Behaviour, error) { return &inventory.Behaviour{Ran: true}, nil }
	for _, tt := range []struct {
		name       string
		runs       []func(context.Context, Spec) (*inventory.Behaviour, error)
		wantCalls  int
		wantErr    error
		wantReason string
	}{
		{"clean first time", []func(context.Context, Spec) (*inventory.Behaviour, error){clean}, 1, nil, ""},
		{"timeout, then clean", []func(context.Context, Spec) (*inventory.Behaviour, error){timeout, clean}, 2, nil,
			"a first run timeout: the guest was killed after 5m0s; this is a second run in a fresh guest"},
		{"timeout twice", []func(context.Context, Spec) (*inventory.Behaviour, error){timeout, timeout}, 2, ErrTimeout,
			"timeout: the guest was killed after 5m0s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			b, err := runAgainOnTimeout(context.Background(), Spec{}, func(ctx context.Context, s Spec) (*inventory.Behaviour, error) {
				calls++
				return tt.runs[calls-1](ctx, s)
			})
			if calls != tt.wantCalls || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) || b.Reason != tt.wantReason {
				t.Errorf("calls %d, err %v, reason %q; want %d, %v, %q", calls, err, b.Reason, tt.wantCalls, tt.wantErr, tt.wantReason)
			}
		})
	}
}
