package sandbox

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
)

// clockEngine is an engine whose clock is its own: images carry its creation times.
// Only the calls pruneSinkholes makes are implemented.
type clockEngine struct {
	engine
	now     time.Time // the engine's clock: the Created of every inspected image
	images  []image.Summary
	removed []string
}

func (e *clockEngine) ImageInspect(context.Context, string, ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	var r client.ImageInspectResult
	r.Created = e.now.Format(time.RFC3339Nano)
	return r, nil
}

func (e *clockEngine) ImageList(context.Context, client.ImageListOptions) (client.ImageListResult, error) {
	return client.ImageListResult{Items: e.images}, nil
}

func (e *clockEngine) ImageRemove(_ context.Context, ref string, _ client.ImageRemoveOptions) (client.ImageRemoveResult, error) {
	e.removed = append(e.removed, ref)
	return client.ImageRemoveResult{}, nil
}

// TestPruneSinkholesEngineClock: image ages are the engine's, whatever this host's clock says
// (a remote engine's clock may be years off).
func TestPruneSinkholesEngineClock(t *testing.T) {
	keep := SinkholeRepo + ":keep"
	for _, tc := range []struct {
		name string
		now  time.Time // the engine's clock
	}{
		{"engine clock in the past", time.Date(2001, 1, 1, 12, 0, 0, 0, time.UTC)},
		{"engine clock in the future", time.Now().Add(10 * 365 * 24 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := func(d time.Duration) int64 { return tc.now.Add(-d).Unix() }
			e := &clockEngine{now: tc.now, images: []image.Summary{
				{RepoTags: []string{keep}, Created: at(0)},
				{RepoTags: []string{SinkholeRepo + ":recent"}, Created: at(10 * time.Minute)},
				{RepoTags: []string{SinkholeRepo + ":old"}, Created: at(sinkholeKeep + time.Minute)},
			}}
			pruneSinkholes(context.Background(), e, keep)
			if d := cmp.Diff([]string{SinkholeRepo + ":old"}, e.removed); d != "" {
				t.Errorf("pruneSinkholes removed (-want +got)\n%s", d)
			}
		})
	}
}
