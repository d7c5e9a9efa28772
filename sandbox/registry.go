package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/rollgate/rollgate/inventory"
)

// Limits on a registry hive read back from the guest. A hive is written by wineserver on
// behalf of whatever ran in the guest, so it is hostile input like every other output.
const (
	// MaxHiveBytes bounds one hive file read (wine 8's fresh system.reg is about 1.7 MB).
	MaxHiveBytes = 64 << 20
	// MaxHiveLines bounds the lines read from one hive (a fresh system.reg has ~44,000).
	MaxHiveLines = 1 << 20
	// MaxHiveValues bounds the values kept from one hive.
	MaxHiveValues = 1 << 18
	// maxRegData bounds one value's data text kept (continuation lines included); longer
	// data is cut and compared by its first maxRegData bytes.
	maxRegData = 4 << 10
)

// Hive is one wine registry file parsed: value → data text, keyed by lower-cased key and
// value name (the registry is case-insensitive).
type Hive struct {
	values map[regID]regValue
	// Truncated reports that a cap cut the parse short (lines, values or a line's length).
	Truncated bool
}

type regID struct{ key, name string }

type regValue struct {
	key, name, data string // as written (key with its hive prefix)
}

// hiveRoot maps the root a wine .reg file names in its header line
// (";; All keys relative to REGISTRY\\Machine") to the hive prefix of its keys.
func hiveRoot(rel string) string {
	rel = strings.ToLower(strings.ReplaceAll(rel, `\\`, `\`))
	switch {
	case strings.HasSuffix(rel, `\machine`):
		return "HKLM"
	case strings.Contains(rel, `\user\.default`):
		return `HKU\.Default`
	case strings.Contains(rel, `\user\`):
		return "HKCU"
	}
	return "HKEY"
}

// ParseHive reads a wine registry file ("WINE REGISTRY Version 2", as wineserver saves
// system.reg, user.reg and userdef.reg; the format is wine's server/registry.c load_key /
// load_value: "[escaped key] mtime" section lines, `"name"=data` or `@=data` value lines,
// hex data continued on lines ending in a backslash, `#`/`;` lines are metadata). It reads
// at most MaxHiveBytes, MaxHiveLines lines of at most MaxLineBytes each and MaxHiveValues
// values; lines it does not understand are skipped, so it never fails on content. The error
// is the reader's, or ErrHiveFormat when the header is missing.
func ParseHive(r io.Reader) (*Hive, error) {
	h := &Hive{values: map[regID]regValue{}}
	lr := &io.LimitedReader{R: r, N: MaxHiveBytes}
	br := bufio.NewReaderSize(lr, MaxLineBytes)
	root, key := "HKEY", ""
	var pend *regValue // value whose hex data continues on the next line
	header := false
	for n := 0; ; n++ {
		if n >= MaxHiveLines {
			h.Truncated = true
			break
		}
		line, long, err := readHiveLine(br)
		if long {
			h.Truncated = true
		}
		if err != nil && line == "" {
			if lr.N <= 0 {
				h.Truncated = true
			}
			if errors.Is(err, io.EOF) {
				break
			}
			return h, err
		}
		if n == 0 {
			if !strings.HasPrefix(line, "WINE REGISTRY Version ") {
				return h, fmt.Errorf("%w: no WINE REGISTRY header", ErrHiveFormat)
			}
			header = true
			continue
		}
		if pend != nil {
			d := strings.TrimLeft(line, " \t")
			more := strings.HasSuffix(d, `\`)
			pend.data = capData(pend.data + strings.TrimSuffix(d, `\`))
			if !more {
				h.put(*pend)
				pend = nil
			}
			continue
		}
		switch {
		case strings.HasPrefix(line, ";; All keys relative to "):
			root = hiveRoot(strings.TrimPrefix(line, ";; All keys relative to "))
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			k, ok := regKey(line[1:])
			if !ok {
				key = ""
				continue
			}
			key = root + `\` + k
		case key == "":
		case line[0] == '@' || line[0] == '"':
			name, data, ok := regValueLine(line)
			if !ok {
				continue
			}
			v := regValue{key: key, name: name, data: capData(data)}
			if strings.HasPrefix(data, "hex") && strings.HasSuffix(data, `\`) {
				v.data = capData(strings.TrimSuffix(data, `\`))
				pend = &v
				continue
			}
			h.put(v)
		}
	}
	if pend != nil {
		h.put(*pend)
	}
	if !header {
		return h, fmt.Errorf("%w: empty", ErrHiveFormat)
	}
	return h, nil
}

// ErrHiveFormat reports a file that is not a wine registry file.
var ErrHiveFormat = errors.New("sandbox: not a wine registry file")

func (h *Hive) put(v regValue) {
	id := regID{strings.ToLower(v.key), strings.ToLower(v.name)}
	if _, ok := h.values[id]; !ok && len(h.values) >= MaxHiveValues {
		h.Truncated = true
		return
	}
	h.values[id] = v
}

// Len is the number of values in the hive.
func (h *Hive) Len() int { return len(h.values) }

// readHiveLine returns one line without its newline, at most MaxLineBytes of it (long reports
// that the rest was skipped).
func readHiveLine(br *bufio.Reader) (line string, long bool, err error) {
	b, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		line = string(b)
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		if errors.Is(err, io.EOF) {
			err = nil
		}
		return strings.TrimRight(line, "\r\n"), true, err
	}
	return strings.TrimRight(string(b), "\r\n"), false, err
}

// regKey decodes "Software\\Microsoft\\Run] 1796164012" to `Software\Microsoft\Run`.
func regKey(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ']':
			return capField(b.String()), true
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
		if b.Len() > maxField {
			return "", false
		}
	}
	return "", false
}

// regValueLine splits `"name"=data` or `@=data`; the name is unescaped (\\ and \").
func regValueLine(s string) (name, data string, ok bool) {
	if rest, found := strings.CutPrefix(s, "@="); found {
		return "", rest, true
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			rest, found := strings.CutPrefix(s[i+1:], "=")
			return capField(b.String()), rest, found
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
		if b.Len() > maxField {
			return "", "", false
		}
	}
	return "", "", false
}

func capData(s string) string {
	if len(s) > maxRegData {
		return capField(s[:maxRegData]) + "…"
	}
	return s
}

// DiffHives returns the values after has that before did not, or that it holds with other
// data ("added" / "changed"), tagged with phase and clock offset, sorted by key and name.
// before may be nil (everything is added).
func DiffHives(before, after *Hive, phase string, offset int64) []inventory.RegistryValue {
	var out []inventory.RegistryValue
	if after == nil {
		return out
	}
	for id, v := range after.values {
		kind := "added"
		if before != nil {
			if old, ok := before.values[id]; ok {
				if old.data == v.data {
					continue
				}
				kind = "changed"
			}
		}
		out = append(out, inventory.RegistryValue{Key: v.key, Name: v.name, Value: capField(v.data),
			Kind: kind, Phase: phase, ClockOffset: offset})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		return out[i].Name < out[j].Name
	})
	return out
}
