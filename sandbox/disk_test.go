package sandbox

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
)

// installerBytes is the size of fakeSpec's installer, which the cap counts.
const installerBytes = int64(len("not really an msi"))

func TestRunDiskCap(t *testing.T) {
	defer func(d time.Duration) { diskPollInterval = d }(diskPollInterval)
	capBytes := installerBytes + defaultGuestLimits.Disk
	quota := map[string]string{"size": strconv.FormatInt(capBytes+diskQuotaHeadroom, 10)}
	tests := []struct {
		name      string
		f         *fakeEngine
		wantErr   error
		wantCap   *inventory.DiskCap
		wantOpts  []map[string]string // StorageOpt of each guest create
		wantKill  bool
		wantWhy   string // in Behaviour.Reason
		wantNoWhy bool
		poll      time.Duration // the watchdog's interval (default 10ms)
	}{
		{name: "engine with quotas",
			f:        &fakeEngine{layer: 300 << 20},
			wantCap:  &inventory.DiskCap{Bytes: capBytes, Quota: true},
			wantOpts: []map[string]string{quota}, wantNoWhy: true},
		{name: "engine without quotas: created again, the watchdog alone",
			f:        &fakeEngine{refuseQuota: true, layer: 300 << 20},
			wantCap:  &inventory.DiskCap{Bytes: capBytes, NoQuota: errQuota.Error()},
			wantOpts: []map[string]string{quota, nil}, wantNoWhy: true},
		{name: "btrfs engine: the quota counts the image too",
			f:         &fakeEngine{imageDriver: "btrfs", imageSize: 1 << 30},
			wantCap:   &inventory.DiskCap{Bytes: capBytes, Quota: true},
			wantOpts:  []map[string]string{{"size": strconv.FormatInt(capBytes+diskQuotaHeadroom+1<<30, 10)}},
			wantNoWhy: true},
		{name: "guest still running past the cap is killed",
			f:       &fakeEngine{refuseQuota: true, block: true, layer: capBytes + 1},
			wantErr: ErrDiskLimit, wantKill: true, wantWhy: "grew past its cap",
			wantCap:  &inventory.DiskCap{Bytes: capBytes, NoQuota: errQuota.Error()},
			wantOpts: []map[string]string{quota, nil}},
		{name: "past the cap at the last look",
			poll:    time.Hour, // no poll before the guest exits
			f:       &fakeEngine{layer: capBytes + diskQuotaHeadroom},
			wantErr: ErrDiskLimit, wantWhy: "grew past its cap",
			wantCap: &inventory.DiskCap{Bytes: capBytes, Quota: true}, wantOpts: []map[string]string{quota}},
		{name: "engine gives no size while the guest runs: stopped, inconclusive",
			f:       &fakeEngine{noSize: true, block: true},
			wantErr: ErrDiskLimit, wantKill: true, wantWhy: "could not be read 3 times",
			wantCap: &inventory.DiskCap{Bytes: capBytes, Quota: true}, wantOpts: []map[string]string{quota}},
		{name: "engine gives no size at the last look only: said, not inconclusive",
			poll:    time.Hour,
			f:       &fakeEngine{noSize: true},
			wantWhy: "disk use could not be read",
			wantCap: &inventory.DiskCap{Bytes: capBytes, Quota: true}, wantOpts: []map[string]string{quota}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diskPollInterval = cmp.Or(tt.poll, 10*time.Millisecond)
			tt.f.guestOut = frame(1, "rollgate: network ready\nrollgate: done\n")
			b, err := run(context.Background(), tt.f, fakeSpec(t))
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("run = %v, want %v", err, tt.wantErr)
			}
			if b == nil {
				t.Fatal("run returned no behaviour")
			}
			if d := gocmp.Diff(tt.wantCap, b.DiskCap); d != "" {
				t.Errorf("DiskCap (-want +got)\n%s", d)
			}
			if d := gocmp.Diff(tt.wantOpts, tt.f.guestOpts); d != "" {
				t.Errorf("guest StorageOpt per create (-want +got)\n%s", d)
			}
			if got := slices.Contains(tt.f.killed, "guest-id"); got != tt.wantKill {
				t.Errorf("guest killed = %v (%v), want %v", got, tt.f.killed, tt.wantKill)
			}
			if tt.wantWhy != "" && !strings.Contains(b.Reason, tt.wantWhy) {
				t.Errorf("Reason = %q, want it to say %q", b.Reason, tt.wantWhy)
			}
			if tt.wantNoWhy && b.Reason != "" {
				t.Errorf("Reason = %q, want none", b.Reason)
			}
			if !slices.Equal(tt.f.removed, []string{"guest-id", "sinkhole-id"}) {
				t.Errorf("removed %v, want both containers", tt.f.removed)
			}
		})
	}
}

// A caller that sets one limit keeps the defaults of the others.
func TestLimitsWithDefaults(t *testing.T) {
	got := Limits{Disk: 1 << 20}.withDefaults(defaultGuestLimits)
	want := defaultGuestLimits
	want.Disk = 1 << 20
	if d := gocmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}
