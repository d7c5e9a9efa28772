package sandbox

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/rollgate/rollgate/inventory"
)

// A run has phases: the install, the first run of the programs (clock offset 0), and one rerun
// per clock offset (time travel). run.sh marks the start of each on stdout and on stderr with
// a line "rollgate: NONCE phase NAME OFFSET_S EPOCH_MS"; the nonce is the run's own, so a
// program cannot forge a boundary by printing one.

// Phase is one phase of a run as the guest script marked it.
type Phase struct {
	Name   string // install or run
	Offset int64  // clock offset, seconds
	// Start is when the phase began (the guest's real clock, which is the host's).
	Start time.Time
}

// maxPhases bounds the phases read: the install, the first run and MaxClockOffsets reruns.
const maxPhases = MaxClockOffsets + 2

// parsePhaseLine reads one marker line; ok is false for anything else.
func parsePhaseLine(line, nonce string) (Phase, bool) {
	rest, ok := strings.CutPrefix(line, "rollgate: "+nonce+" phase ")
	if !ok || nonce == "" {
		return Phase{}, false
	}
	f := strings.Fields(rest)
	if len(f) != 3 || f[0] != "install" && f[0] != "run" {
		return Phase{}, false
	}
	off, err1 := strconv.ParseInt(f[1], 10, 64)
	ms, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || off < 0 || off > int64(MaxClockOffset/time.Second) || ms < 0 {
		return Phase{}, false
	}
	return Phase{Name: f[0], Offset: off, Start: time.UnixMilli(ms)}, true
}

// ParsePhases returns the phase markers of the guest script's stdout, in order. Only the
// first marker of each phase counts and starts must not go backwards; at most maxPhases.
func ParsePhases(stdout []byte, nonce string) []Phase {
	var out []Phase
	seen := map[Phase]bool{}
	lr := newLineReader(bytes.NewReader(stdout))
	for len(out) < maxPhases {
		line, ok := lr.next()
		if !ok {
			break
		}
		p, ok := parsePhaseLine(string(line), nonce)
		if !ok {
			continue
		}
		k := Phase{Name: p.Name, Offset: p.Offset}
		if seen[k] || len(out) > 0 && p.Start.Before(out[len(out)-1].Start) {
			continue
		}
		seen[k] = true
		out = append(out, p)
	}
	return out
}

// ParsePhasedTrace splits wine's trace at the phase markers and parses each part with
// ParseTrace, tagging every load and process with the clock offset of the phase it was first
// seen in (a load seen in several phases keeps the earliest).
func ParsePhasedTrace(stderr []byte, nonce string) Trace {
	var t Trace
	type seg struct {
		off  int64
		data []byte
	}
	var segs []seg
	off := int64(0)
	start := 0
	marker := []byte("rollgate: " + nonce + " phase ")
	for i := 0; i <= len(stderr); {
		j := bytes.Index(stderr[i:], marker)
		if j < 0 || nonce == "" {
			break
		}
		j += i
		if j > 0 && stderr[j-1] != '\n' { // not at a line start: not a marker
			i = j + len(marker)
			continue
		}
		end := bytes.IndexByte(stderr[j:], '\n')
		if end < 0 {
			end = len(stderr) - j
		}
		if p, ok := parsePhaseLine(string(stderr[j:j+end]), nonce); ok && len(segs) < maxPhases {
			segs = append(segs, seg{off, stderr[start:j]})
			off, start = p.Offset, j+end
		}
		i = j + end
	}
	segs = append(segs, seg{off, stderr[start:]})
	loads := map[inventory.DLLLoad]bool{}
	procs := map[inventory.Process]bool{}
	for _, s := range segs {
		st := ParseTrace(bytes.NewReader(s.data))
		t.Truncated = t.Truncated || st.Truncated
		for _, l := range st.DLLLoads {
			if !loads[l] && len(t.DLLLoads) < MaxEvents {
				loads[l] = true
				l.ClockOffset = s.off
				t.DLLLoads = append(t.DLLLoads, l)
			}
		}
		for _, p := range st.Processes {
			if !procs[p] && len(t.Processes) < MaxEvents {
				procs[p] = true
				p.ClockOffset = s.off
				t.Processes = append(t.Processes, p)
			}
		}
	}
	if t.DLLLoads == nil {
		t.DLLLoads = []inventory.DLLLoad{}
	}
	if t.Processes == nil {
		t.Processes = []inventory.Process{}
	}
	return t
}

// TagNetwork sets each event's ClockOffset from the phase it happened in: the sinkhole counts
// MS from its own start (sinkStart, from the engine), the phases carry the guest's real clock,
// and both containers share the host's kernel clock. With no start or no phases, offsets stay 0.
func TagNetwork(events []inventory.NetEvent, sinkStart time.Time, phases []Phase) {
	if sinkStart.IsZero() || len(phases) == 0 {
		return
	}
	for i := range events {
		at := sinkStart.Add(time.Duration(events[i].MS) * time.Millisecond)
		for _, p := range phases {
			if !at.Before(p.Start) {
				events[i].ClockOffset = p.Offset
			}
		}
	}
}

// hiveDir is where run.sh keeps its copies of the registry hives.
const hiveDir = guestDir + "/reg"

// maxHiveFiles bounds the files read from hiveDir: two hives for the base, the install and
// each run phase.
const maxHiveFiles = 2 * (maxPhases + 1)

// hiveSnapshot is one phase's pair of hives.
type hiveSnapshot struct {
	name   string // base, install, run
	offset int64
	system *Hive
	user   *Hive
}

// guestCopies is what run.sh left in hiveDir: the hive copies by "PHASE-OFFSET-HIVE" and the
// lists of files each run phase changed, by "run-OFFSET" (Unix paths in the guest).
type guestCopies struct {
	hives   map[string]*Hive
	written map[string][]string
	// sums are the SHA-256 (hex) of each hive copy as read.
	sums map[string]string
}

// ParseHiveSums reads run.sh's "rollgate: NONCE hive NAME SHA256" lines: the hash of each hive
// copy when it was taken. The first line for a name counts.
func ParseHiveSums(stdout []byte, nonce string) map[string]string {
	out := map[string]string{}
	if nonce == "" {
		return out
	}
	lr := newLineReader(bytes.NewReader(stdout))
	for len(out) < maxHiveFiles {
		line, ok := lr.next()
		if !ok {
			break
		}
		rest, ok := strings.CutPrefix(string(line), "rollgate: "+nonce+" hive ")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || len(f[1]) != 64 || !isHex(f[1]) {
			continue
		}
		if _, seen := out[f[0]]; !seen {
			out[f[0]] = strings.ToLower(f[1])
		}
	}
	return out
}

// verify drops every hive copy whose hash differs from the one run.sh printed when it took
// the copy (or that run.sh never vouched for), and says which.
func (gc *guestCopies) verify(sums map[string]string) []string {
	var bad []string
	for name := range gc.hives {
		if want, ok := sums[name]; !ok || want != gc.sums[name] {
			delete(gc.hives, name)
			bad = append(bad, name)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return []string{fmt.Sprintf("registry copies altered in the guest or not vouched for, ignored: %s", capField(strings.Join(bad, ", ")))}
}

// maxWrittenList bounds one list of changed files read (run.sh caps it at 1 MiB too).
const maxWrittenList = 1 << 20

// readHives copies hiveDir out of the stopped guest and parses each copy. What it could not
// read becomes a reason, not an error: the rest of the behaviour stands.
func readHives(ctx context.Context, c engine, id string) (guestCopies, []string) {
	res, err := c.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: hiveDir})
	if err != nil {
		return guestCopies{}, []string{"registry copies unavailable: " + capField(err.Error())}
	}
	defer res.Content.Close()
	gc, err := readHiveTar(res.Content)
	if err != nil {
		return gc, []string{"registry copies unreadable: " + capField(err.Error())}
	}
	return gc, nil
}

// readHiveTar parses a tar of hiveDir: regular files named PHASE-OFFSET-system.reg /
// -user.reg (at most maxHiveFiles) and PHASE-OFFSET-files.txt (at most maxPhases, each read
// up to maxWrittenList bytes and MaxEvents lines).
func readHiveTar(r io.Reader) (guestCopies, error) {
	gc := guestCopies{hives: map[string]*Hive{}, written: map[string][]string{}, sums: map[string]string{}}
	tr := tar.NewReader(r)
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return gc, nil
		}
		if err != nil {
			return gc, err
		}
		if n >= 4*maxHiveFiles {
			return gc, fmt.Errorf("more than %d entries", 4*maxHiveFiles)
		}
		name := path.Base(h.Name)
		if h.Typeflag != tar.TypeReg {
			continue
		}
		switch {
		case strings.HasSuffix(name, "-files.txt"):
			if len(gc.written) >= maxPhases {
				return gc, fmt.Errorf("more than %d file lists", maxPhases)
			}
			lr := newLineReader(io.LimitReader(tr, maxWrittenList))
			var list []string
			for len(list) < MaxEvents {
				line, ok := lr.next()
				if !ok {
					break
				}
				if len(line) > 0 {
					list = append(list, string(line))
				}
			}
			gc.written[strings.TrimSuffix(name, "-files.txt")] = list
		case strings.HasSuffix(name, ".reg"):
			if len(gc.hives) >= maxHiveFiles {
				return gc, fmt.Errorf("more than %d hive copies", maxHiveFiles)
			}
			if h.Size > MaxHiveBytes {
				return gc, fmt.Errorf("%s: %d bytes, more than %d", capField(name), h.Size, MaxHiveBytes)
			}
			sum := sha256.New()
			tee := io.TeeReader(tr, sum)
			hv, err := ParseHive(bufio.NewReader(tee))
			if err != nil {
				return gc, fmt.Errorf("%s: %w", capField(name), err)
			}
			if _, err := io.Copy(io.Discard, tee); err != nil { // the rest, for the hash
				return gc, fmt.Errorf("%s: %w", capField(name), err)
			}
			gc.hives[strings.TrimSuffix(name, ".reg")] = hv
			gc.sums[strings.TrimSuffix(name, ".reg")] = hex.EncodeToString(sum.Sum(nil))
		}
	}
}

// TagWrites sets the clock offset of each file write from the run phases' lists of changed
// files: the offset of the first run phase that changed the file (a file only the install
// wrote keeps 0). A file changed on the real clock and again in a rerun keeps 0.
func TagWrites(writes []inventory.FileWrite, written map[string][]string, phases []Phase) {
	first := map[string]int64{}
	for _, p := range phases {
		if p.Name != "run" {
			continue
		}
		for _, u := range written[p.Name+"-"+strconv.FormatInt(p.Offset, 10)] {
			w := strings.ToLower(WindowsGuestPath(u))
			if _, ok := first[w]; !ok {
				first[w] = p.Offset
			}
		}
	}
	for i := range writes {
		if off, ok := first[strings.ToLower(writes[i].Path)]; ok {
			writes[i].ClockOffset = off
		}
	}
}

// RegistryChanges diffs the hive copies phase after phase — the image's (base) against the
// install's, the install's against the first run's, each run against the next rerun's — and
// returns each value once (by key, name and data), from the first phase that showed it.
func RegistryChanges(hives map[string]*Hive, phases []Phase) []inventory.RegistryValue {
	out := []inventory.RegistryValue{}
	if len(hives) == 0 {
		return out
	}
	snaps := []hiveSnapshot{{name: "base"}}
	for _, p := range phases {
		snaps = append(snaps, hiveSnapshot{name: p.Name, offset: p.Offset})
	}
	for i := range snaps {
		k := snaps[i].name + "-" + strconv.FormatInt(snaps[i].offset, 10) + "-"
		snaps[i].system, snaps[i].user = hives[k+"system"], hives[k+"user"]
	}
	type seenKey struct{ key, name, value string }
	seen := map[seenKey]bool{}
	for i := 1; i < len(snaps); i++ {
		for _, pair := range [][2]*Hive{{snaps[i-1].system, snaps[i].system}, {snaps[i-1].user, snaps[i].user}} {
			if pair[0] == nil || pair[1] == nil {
				continue // a missing copy: nothing can be said about this step
			}
			for _, v := range DiffHives(pair[0], pair[1], snaps[i].name, snaps[i].offset) {
				k := seenKey{strings.ToLower(v.Key), strings.ToLower(v.Name), v.Value}
				if seen[k] || len(out) >= MaxEvents {
					continue
				}
				seen[k] = true
				out = append(out, v)
			}
		}
	}
	return out
}
