package unpack

import (
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDups: a shared file within the bound is kept as it is read and repeated from memory;
// one past the bound, or one never read, is opened again.
func TestDups(t *testing.T) {
	d := NewDups(4, map[string]bool{"small": true, "big": true})
	var got []string
	fn := func(p string, size int64, r io.Reader) error {
		b, err := io.ReadAll(r)
		got = append(got, p+"="+string(b))
		return err
	}
	opened := 0
	open := func(s string) func() (io.ReadCloser, error) {
		return func() (io.ReadCloser, error) { opened++; return io.NopCloser(strings.NewReader(s)), nil }
	}
	for _, k := range []string{"small", "big", "alone"} {
		content := map[string]string{"small": "abcd", "big": "abcdef", "alone": "x"}[k]
		r, kept := d.Tee(k, int64(len(content)), strings.NewReader(content))
		if err := fn(k, int64(len(content)), r); err != nil {
			t.Fatal(err)
		}
		kept()
	}
	for _, k := range []string{"small", "big"} {
		if err := d.Repeat(k, k+"-again", 0, open("reopened"), fn); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"small=abcd", "big=abcdef", "alone=x", "small-again=abcd", "big-again=reopened"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if opened != 1 {
		t.Errorf("opened %d times, want 1 (only the file past the bound)", opened)
	}
}
